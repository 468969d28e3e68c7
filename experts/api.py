"""The expert pool (专家库) over the REST API: the pool pages' rules and experts.services' audited writes.

- administrators list, read, create and update experts, full ID numbers included;
- supervisors (纪检) list and read them with ID numbers masked (experts.view_id_numbers);
- an expert reads its own record at ``/api/v1/experts/me/`` (ID numbers masked);
- administrators import the pool spreadsheet at ``/api/v1/experts/import/`` (the import page);
- anybody else: 403.

Conflicts of interest (``/api/v1/conflicts/``): administrators and supervisors read them,
administrators confirm or dismiss possible (name-only) ones (experts.avoidance.decide), as on
the draw page.

Writes go through experts.services.upsert_expert, as the spreadsheet import does: every
change is audited, an employer change keeps the former employment in the history (the
3-year avoidance rule reads it), and a changed employer or avoid-list recomputes the
expert's conflicts with the proposals in flight once the change commits.
"""

import rules
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import Organization, User
from accounts.validators import mask_id_number, validate_credit_code
from calls.choices import TechField
from experts import avoidance, excel, services
from experts.access import get_expert_for_user, require_pool_permission
from experts.choices import ConflictReason, ConflictStatus, ExpertType
from experts.filters import ExpertFilter
from experts.forms import ImportForm
from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert
from proposals.validators import validate_id_number as check_id_number
from reviews.access import require_draw_reader

MAX_LIST = 100  # units or people on one avoid-list
MAX_CAP = 32767  # PositiveSmallIntegerField


def with_details(queryset):
    """Experts with user, employment history (with organisations) and avoid-lists: four queries in all."""
    return queryset.select_related("user").prefetch_related(
        Prefetch("employments", queryset=Employment.objects.select_related("organization")),
        "avoid_units",
        "avoid_people",
    )


def _history(expert) -> list[Employment]:
    """Current employer first, then the most recently ended (as the pool's detail page)."""
    return sorted(
        expert.employments.all(),
        key=lambda e: (e.ended_on is not None, -(e.ended_on.toordinal() if e.ended_on else 0), -e.pk),
    )


# --- reading --------------------------------------------------------------------------------------------
class EmploymentSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    credit_code = serializers.CharField(source="organization.credit_code", read_only=True)

    class Meta:
        model = Employment
        fields = ["organization", "organization_name", "credit_code", "started_on", "ended_on"]
        read_only_fields = fields


class AvoidUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = AvoidUnit
        fields = ["credit_code", "name"]
        read_only_fields = fields


class AvoidPersonSerializer(serializers.ModelSerializer):
    id_number = serializers.SerializerMethodField(help_text=_("Masked unless you are an administrator; may be blank."))

    class Meta:
        model = AvoidPerson
        fields = ["name", "id_number"]
        read_only_fields = fields

    def get_id_number(self, person) -> str:
        if self.context.get("show_ids") or not person.id_number:
            return person.id_number
        return mask_id_number(person.id_number)


class ExpertSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, help_text=_("Login name"))
    id_number = serializers.SerializerMethodField(
        help_text=_("Masked (e.g. 150102**********12) unless you are an administrator.")
    )
    expert_type = serializers.ChoiceField(choices=ExpertType.choices, read_only=True)
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=TechField.choices), read_only=True, help_text=_("Technical fields")
    )
    # A plain string: the address may be blank, which an "email" format would not allow.
    email = serializers.CharField(read_only=True, help_text=_("E-mail address (may be blank)"))
    employer = serializers.SerializerMethodField(help_text=_("The current employer, if any."))
    employments = serializers.SerializerMethodField(
        help_text=_("Employment history, current employer first (the 3-year avoidance rule reads it).")
    )
    avoid_units = AvoidUnitSerializer(many=True, read_only=True, help_text=_("Units the expert declared to avoid"))
    avoid_people = AvoidPersonSerializer(many=True, read_only=True, help_text=_("People the expert declared to avoid"))

    class Meta:
        model = Expert
        fields = ["id", "username", "name", "id_number", "title", "expert_type", "fields", "phone", "email"]
        fields += ["active", "yearly_cap", "no_show_count", "employer", "employments", "avoid_units", "avoid_people"]
        fields += ["updated_at"]
        read_only_fields = fields

    def get_id_number(self, expert) -> str:
        return expert.id_number if self.context.get("show_ids") else expert.masked_id

    @extend_schema_field(EmploymentSerializer(allow_null=True))
    def get_employer(self, expert):
        current = expert.current_employment
        return EmploymentSerializer(current).data if current else None

    @extend_schema_field(EmploymentSerializer(many=True))
    def get_employments(self, expert):
        return EmploymentSerializer(_history(expert), many=True).data


# --- writing --------------------------------------------------------------------------------------------
class AvoidPersonInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(
        max_length=18, required=False, allow_blank=True, help_text=_("ID number, if known (blank: by name only).")
    )

    def validate_id_number(self, value):
        value = value.strip().replace("x", "X")
        if value:
            check_id_number(value)
        return value


class ExpertUpdateSerializer(serializers.Serializer):
    """What an administrator may change, as a row of the pool spreadsheet does. Lists replace the
    expert's lists as a whole."""

    name = serializers.CharField(max_length=50, help_text=_("Full name"))
    id_number = serializers.CharField(max_length=18, help_text=_("Resident ID number (18 characters)"))
    title = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text=_("Professional title"))
    expert_type = serializers.ChoiceField(choices=ExpertType.choices)
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=TechField.choices),
        required=False,
        max_length=len(TechField.choices),
        help_text=_("Technical fields"),
    )
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, help_text=_("Inactive experts are never drawn."))
    yearly_cap = serializers.IntegerField(
        min_value=1, max_value=MAX_CAP, required=False, help_text=_("Yearly review cap")
    )
    employer = serializers.CharField(
        max_length=18, help_text=_("Credit code of the current employer (a registered unit).")
    )
    employer_since = serializers.DateField(
        required=False,
        write_only=True,
        help_text=_("When a new employer takes over (default: today); the former one ends the day before."),
    )
    avoid_units = serializers.ListField(
        child=serializers.CharField(max_length=18),
        required=False,
        max_length=MAX_LIST,
        help_text=_("Credit codes of the units to avoid (replaces the list)."),
    )
    avoid_people = AvoidPersonInputSerializer(
        many=True, required=False, max_length=MAX_LIST, help_text=_("People to avoid (replaces the list).")
    )

    def validate_id_number(self, value):
        value = value.strip().replace("x", "X")
        check_id_number(value)
        return value

    def validate_fields(self, codes):
        return list(dict.fromkeys(codes))

    def validate_employer(self, code):
        code = code.strip()
        organization = Organization.objects.filter(credit_code=code).first()
        if organization is None:
            validate_credit_code(code)
            message = _("No unit with this credit code is registered; register the unit first.")
            raise serializers.ValidationError(message)
        return organization

    def validate_employer_since(self, day):
        if day > timezone.localdate():
            raise serializers.ValidationError(_("The date cannot be in the future."))
        return day

    def validate_avoid_units(self, codes):
        codes = list(dict.fromkeys(code.strip() for code in codes))
        registered = set(Organization.objects.filter(credit_code__in=codes).values_list("credit_code", flat=True))
        problems = []
        for code in codes:
            if code not in registered:
                try:
                    validate_credit_code(code)
                except DjangoValidationError as exc:
                    problems.append(f"{code}: {' '.join(exc.messages)}")
        if problems:
            raise serializers.ValidationError(problems)
        return codes

    def validate_avoid_people(self, people):
        return list(dict.fromkeys((p["name"].strip(), p.get("id_number", "")) for p in people))


class ExpertCreateSerializer(ExpertUpdateSerializer):
    username = serializers.CharField(
        max_length=150,
        help_text=_(
            "Login name of the expert's account. A new login name creates the account without a usable "
            "password (an administrator sends a password reset)."
        ),
    )

    def validate_username(self, username):
        username = username.strip()
        User.username_validator(username)
        if Expert.objects.filter(user__username=username).exists():
            raise serializers.ValidationError(_("This login name already belongs to an expert of the pool."))
        return username


def _current_values(expert) -> dict:
    """The expert as the pool holds it, in the terms of ExpertUpdateSerializer."""
    current = expert.current_employment
    return {
        "name": expert.name,
        "id_number": expert.id_number,
        "title": expert.title,
        "expert_type": expert.expert_type,
        "fields": list(expert.fields),
        "phone": expert.phone,
        "email": expert.email,
        "active": expert.active,
        "yearly_cap": expert.yearly_cap,
        "employer": current.organization if current else None,
        "avoid_units": [u.credit_code for u in expert.avoid_units.all()],
        "avoid_people": [(p.name, p.id_number) for p in expert.avoid_people.all()],
    }


def _expert_data(username: str, values: dict) -> services.ExpertData:
    return services.ExpertData(
        username=username,
        name=values["name"],
        id_number=values["id_number"],
        employer=values["employer"],
        expert_type=values["expert_type"],
        title=values.get("title", ""),
        fields=tuple(values.get("fields", ())),
        phone=values.get("phone", ""),
        email=values.get("email", ""),
        active=values.get("active", True),
        yearly_cap=values.get("yearly_cap", 10),
        avoid_units=tuple(values.get("avoid_units", ())),
        avoid_people=tuple(tuple(p) for p in values.get("avoid_people", ())),
    )


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=_("The pool spreadsheet (.xlsx, the template's columns); nothing changes unless every row is valid.")
    )

    def validate_file(self, upload):
        # The import page's rules (name and size), from its own form.
        form = ImportForm(data={}, files={"file": upload})
        if not form.is_valid():
            raise serializers.ValidationError(form.errors["file"])
        return form.cleaned_data["file"]


class ImportProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("Spreadsheet row (0: the file as a whole)."))
    column = serializers.CharField(help_text=_("Column header (blank: the file or the whole row)."))
    reason = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    problems = ImportProblemSerializer(many=True, help_text=_("Why nothing was imported (400)."))


# --- the resource ---------------------------------------------------------------------------------------
class ExpertApiFilter(ExpertFilter):
    """The pool page's filters; "active" as the API's true/false."""

    active = filters.BooleanFilter(field_name="active", help_text=_("true: active experts only; false: inactive only."))


class ExpertViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The expert pool (专家库): administrators list, read, add and update experts (employer and
    avoid-lists included: the expert's conflicts are recomputed); supervisors read it with ID
    numbers masked; an expert reads its own record at me/. Anybody else: 403."""

    serializer_class = ExpertSerializer
    filterset_class = ExpertApiFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Expert.objects.none()
        require_pool_permission(self.request.user, "experts.view_pool")
        return with_details(Expert.objects.all()).order_by("name", "pk")

    def get_object(self):
        return get_expert_for_user(self.request.user, int(self.kwargs["pk"]))  # 403 for non-readers, 404

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["show_ids"] = rules.has_perm("experts.view_id_numbers", self.request.user)
        return context

    def _data(self, pk: int):
        return ExpertSerializer(with_details(Expert.objects).get(pk=pk), context=self.get_serializer_context()).data

    @extend_schema(request=ExpertCreateSerializer, responses={201: ExpertSerializer}, summary="Add an expert")
    def create(self, request, *args, **kwargs):
        require_pool_permission(request.user, "experts.import_pool")
        payload = ExpertCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        expert, _outcome = services.upsert_expert(
            actor=request.user, data=_expert_data(data["username"], data), on=data.get("employer_since")
        )
        return Response(self._data(expert.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=ExpertUpdateSerializer, responses=ExpertSerializer, summary="Update an expert")
    def update(self, request, *args, **kwargs):
        expert = self.get_object()
        require_pool_permission(request.user, "experts.import_pool")
        payload = ExpertUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        payload.is_valid(raise_exception=True)
        values = {**_current_values(expert), **payload.validated_data}
        if values["employer"] is None:
            raise serializers.ValidationError({"employer": [_("Give the expert's current employer.")]})
        services.upsert_expert(
            actor=request.user,
            data=_expert_data(expert.user.username, values),
            on=payload.validated_data.get("employer_since"),
        )
        return Response(self._data(expert.pk))

    @extend_schema(request=ExpertUpdateSerializer, responses=ExpertSerializer, summary="Update part of an expert")
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        request={"multipart/form-data": ImportSerializer},
        responses={
            200: ImportResultSerializer,
            400: OpenApiResponse(
                description=_(
                    "The file is refused (errors under file), or rows have problems: nothing is imported "
                    "and the import result lists them under problems."
                )
            ),
        },
        summary="Import the pool spreadsheet (all rows or none)",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
        filter_backends=[],
        pagination_class=None,
    )
    def import_pool(self, request):
        """The import page (experts.excel.import_pool): administrators only. Every change is audited;
        with any problem nothing is written and the problems answer 400."""
        require_pool_permission(request.user, "experts.import_pool")
        payload = ImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = excel.import_pool(payload.validated_data["file"], actor=request.user)
        data = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "problems": [{"row": p.row, "column": p.column, "reason": p.reason} for p in result.problems],
        }
        return Response(data, status=status.HTTP_200_OK if result.ok else status.HTTP_400_BAD_REQUEST)

    @extend_schema(responses=ExpertSerializer, summary="Your own record in the expert pool")
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def me(self, request):
        expert = Expert.objects.filter(user_id=request.user.pk).values_list("pk", flat=True).first()
        if expert is None:
            raise PermissionDenied
        return Response(self._data(expert))


# --- conflicts of interest (回避) ----------------------------------------------------------------------------
class ConflictSerializer(serializers.ModelSerializer):
    expert_name = serializers.CharField(source="expert.name", read_only=True)
    proposal_title = serializers.CharField(source="proposal.title", read_only=True)
    call = serializers.CharField(source="proposal.call.code", read_only=True, help_text=_("Call code"))
    # Plain strings listing their values (several resources have a "status" or "reason" of their own).
    reason = serializers.CharField(read_only=True, help_text=" | ".join(ConflictReason.values))
    status = serializers.CharField(read_only=True, help_text=" | ".join(ConflictStatus.values))

    class Meta:
        model = Conflict
        fields = ["id", "expert", "expert_name", "proposal", "proposal_title", "call", "reason", "detail"]
        fields += ["status", "declared", "decided_by", "decided_at", "created_at"]
        read_only_fields = fields


class ConflictFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="proposal__call__code", help_text=_("Call code"))
    status = filters.ChoiceFilter(choices=ConflictStatus.choices)
    reason = filters.ChoiceFilter(choices=ConflictReason.choices)

    class Meta:
        model = Conflict
        fields = ["call", "proposal", "expert", "status", "reason"]


class ConflictViewSet(viewsets.ReadOnlyModelViewSet):
    """Conflicts of interest (回避) between experts and proposals: administrators and supervisors
    read them; administrators confirm or dismiss a possible (name-only) one, as on the draw page,
    and that decision sticks. Hard conflicts are not up for decision (400). Anybody else: 403."""

    serializer_class = ConflictSerializer
    filterset_class = ConflictFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Conflict.objects.none()
        require_draw_reader(self.request.user)
        return Conflict.objects.select_related("expert", "proposal__call").order_by("proposal_id", "expert_id", "pk")

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=int(self.kwargs["pk"]))

    def _decide(self, request, *, confirm: bool):
        conflict = self.get_object()  # 403 for non-readers, 404 for unknown ids
        require_draw_reader(request.user, write=True)  # supervisors read, never decide
        avoidance.decide(actor=request.user, conflict=conflict, confirm=confirm)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=None, responses=ConflictSerializer, summary="Confirm a possible conflict (never assigned)")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._decide(request, confirm=True)

    @extend_schema(request=None, responses=ConflictSerializer, summary="Dismiss a possible conflict (not a conflict)")
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._decide(request, confirm=False)
