"""Expert review over the REST API: draws, assignments, scores and call rankings.

The same services, access helpers and rules as the pages:
- draws: administrators act (commit, perform, route the call's panel), supervisors read,
  everybody else 403 (reviews.access);
- invitations: reviews/api_invitations.py;
- assignments: an expert sees its own active assignments that no conflict blocks
  (404 for any other) and declares a conflict on one; administrators and supervisors read them all;
- scores: only the assigned expert writes its sheet (reviews.scoring); administrators
  and supervisors read every sheet, administrators reopen one with a reason;
- rankings: administrators and supervisors, and the call's issuer once the public
  notice has begun (reviews.visibility).
"""

import re

import rules
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from calls.access import get_call_for_user
from calls.choices import CallStatus, TechField
from calls.models import Call
from experts.choices import DECLARED_REASONS, ConflictReason
from reviews import draw as draw_service
from reviews import scoring
from reviews.access import (
    assignments_of,
    get_assignment_for_expert,
    get_draw_for_user,
    get_expert_for_user,
    require_draw_reader,
)
from reviews.models import (
    Assignment,
    Draw,
    DrawStatus,
    Invitation,
    InvitationStatus,
    Result,
    Score,
    ScoreItem,
    ScoreStatus,
)
from reviews.routing import route_panel
from reviews.visibility import RESULTS_PUBLISHED


def state_field(choices, **kwargs):
    """A read-only state as a plain string listing its values (not an enum component: many
    resources have a "status" with different choices, which drf-spectacular cannot name apart)."""
    return serializers.CharField(read_only=True, help_text=" | ".join(choices.values), **kwargs)


def _staff_reader(user) -> bool:
    """Administrators and supervisors: they read the whole review (the draw and dashboard pages)."""
    return rules.has_perm("reviews.view_draw", user)


# --- draws ----------------------------------------------------------------------------------------------
class InvitationSerializer(serializers.ModelSerializer):
    expert_name = serializers.CharField(source="expert.name", read_only=True)
    status = state_field(InvitationStatus)

    class Meta:
        model = Invitation
        fields = ["id", "rank", "expert", "expert_name", "status", "replaces", "invited_at", "respond_by"]
        fields += ["responded_at", "reason"]
        read_only_fields = fields


class DrawSerializer(serializers.ModelSerializer):
    call = serializers.CharField(source="call.code", read_only=True, help_text=_("Call code"))
    seed = serializers.CharField(
        source="revealed_seed", read_only=True, help_text=_("The secret seed, revealed once the draw is made.")
    )
    fields = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=_("fields drawn from"))
    pool = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text=_("frozen pool (expert ids)")
    )
    ranking = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text=_("ranking (expert ids)")
    )
    status = state_field(DrawStatus)
    invitations = InvitationSerializer(many=True, read_only=True)

    class Meta:
        model = Draw
        fields = [
            "id",
            "call",
            "fields",
            "panel_size",
            "backups",
            "rule_version",
            "commitment",
            "seed",
            "status",
            "pool",
            "pool_hash",
            "ranking",
            "committed_at",
            "drawn_at",
            "invitations",
        ]
        read_only_fields = fields


class CommitDrawSerializer(serializers.Serializer):
    call = serializers.CharField(help_text=_("Code of the closed call the experts are drawn for."))
    panel_size = serializers.IntegerField(min_value=1, max_value=200, help_text=_("panel size"))
    backups = serializers.IntegerField(min_value=0, max_value=200, default=3, help_text=_("backups"))
    # Plain strings, checked below: the same choices as a call's "field" would get a second enum name.
    fields = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        allow_empty=False,
        help_text=_(
            "Technical field codes (as a call's field); experts of any of them are eligible. Default: the call's field."
        ),
    )

    def validate_fields(self, codes):
        unknown = sorted(set(codes) - set(TechField.values))
        if unknown:
            raise serializers.ValidationError(_("Unknown technical fields: %(codes)s.") % {"codes": ", ".join(unknown)})
        return sorted(set(codes))

    def validate_call(self, code):
        call = Call.objects.select_related("programme").filter(code=code.strip()).first()
        if call is None:
            raise serializers.ValidationError(_("No call has this code."))
        return call


class RouteRequestSerializer(serializers.Serializer):
    call = serializers.CharField(help_text=_("Code of the call whose proposals are routed to its drawn panel."))

    def validate_call(self, code):
        return CommitDrawSerializer().validate_call(code)


class ShortProposalSerializer(serializers.Serializer):
    proposal = serializers.IntegerField(read_only=True)
    missing = serializers.IntegerField(read_only=True, help_text=_("Reviewers still missing"))


class RoutingReportSerializer(serializers.Serializer):
    proposals = serializers.IntegerField(read_only=True, help_text=_("Proposals routed"))
    created = serializers.IntegerField(read_only=True, help_text=_("Assignments created"))
    ended = serializers.IntegerField(read_only=True, help_text=_("Assignments ended by a conflict"))
    short = ShortProposalSerializer(
        many=True, read_only=True, help_text=_("Proposals with fewer reviewers than the programme's minimum")
    )
    invited = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text=_("Backup invitations sent (ids)")
    )
    exhausted = serializers.BooleanField(
        read_only=True, help_text=_("Reviewers are missing and no backup is left: make a new draw.")
    )


def _routing_report(report) -> dict:
    return {
        "proposals": report.proposals,
        "created": report.created,
        "ended": report.ended,
        "short": [{"proposal": pid, "missing": n} for pid, n in sorted(report.short.items())],
        "invited": list(report.invited),
        "exhausted": bool(report.short) and not report.invited,
    }


VerifySerializer = inline_serializer(
    "DrawVerification",
    {
        "ok": serializers.BooleanField(help_text=_("The draw recomputes exactly from what is stored.")),
        "problems": serializers.ListField(child=serializers.CharField()),
    },
)


class DrawFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="call__code", help_text=_("Call code"))
    status = filters.ChoiceFilter(choices=DrawStatus.choices)

    class Meta:
        model = Draw
        fields = ["call", "status"]


class DrawViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Verifiable random draws of experts (随机抽取): administrators commit and perform them,
    supervisors read them; anyone may recompute a draw with verify."""

    serializer_class = DrawSerializer
    filterset_class = DrawFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Draw.objects.none()
        require_draw_reader(self.request.user)
        return (
            Draw.objects.select_related("call")
            .prefetch_related(Prefetch("invitations", queryset=Invitation.objects.select_related("expert")))
            .order_by("-committed_at", "-pk")
        )

    def get_object(self):
        return get_draw_for_user(self.request.user, int(self.kwargs["pk"]))

    @extend_schema(
        request=CommitDrawSerializer,
        responses={201: DrawSerializer},
        summary="Commit a draw (publish the hash of a fresh secret seed)",
    )
    def create(self, request, *args, **kwargs):
        require_draw_reader(request.user, write=True)
        payload = CommitDrawSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        draw = draw_service.commit(
            actor=request.user,
            call=data["call"],
            panel_size=data["panel_size"],
            backups=data["backups"],
            fields=data.get("fields"),
        )
        return Response(self._data(draw), status=status.HTTP_201_CREATED)

    def _data(self, draw):
        return DrawSerializer(get_draw_for_user(self.request.user, draw.pk), context=self.get_serializer_context()).data

    @extend_schema(request=None, responses=DrawSerializer, summary="Make the draw: rank the pool, reveal the seed")
    @action(detail=True, methods=["post"])
    def perform(self, request, pk=None):
        draw = get_draw_for_user(request.user, int(pk), write=True)
        draw = draw_service.perform(actor=request.user, draw=draw)
        return Response(self._data(draw))

    @extend_schema(request=None, responses=VerifySerializer, summary="Recompute the draw from what is stored")
    @action(detail=True, methods=["get"])
    def verify(self, request, pk=None):
        draw = self.get_object()
        problems = [str(problem) for problem in draw_service.verify(draw)]
        return Response({"ok": not problems, "problems": problems})

    @extend_schema(
        request=RouteRequestSerializer,
        responses=RoutingReportSerializer,
        summary="Route the call's proposals to its drawn panel (backups are invited where reviewers are missing)",
    )
    @action(detail=False, methods=["post"])
    def route(self, request):
        require_draw_reader(request.user, write=True)
        payload = RouteRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        report = route_panel(actor=request.user, call=payload.validated_data["call"])
        return Response(_routing_report(report))


# --- assignments --------------------------------------------------------------------------------------
class AssignmentSerializer(serializers.ModelSerializer):
    proposal_title = serializers.CharField(source="proposal.title", read_only=True)
    call = serializers.CharField(source="proposal.call.code", read_only=True, help_text=_("Call code"))
    expert_name = serializers.CharField(source="expert.name", read_only=True)
    score = serializers.SerializerMethodField(help_text=_("The score sheet's id, once the expert has saved one."))
    score_status = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "proposal", "proposal_title", "call", "expert", "expert_name", "active", "created_at"]
        fields += ["score", "score_status"]
        read_only_fields = fields

    @staticmethod
    def _score(assignment):
        try:
            return assignment.score
        except Score.DoesNotExist:
            return None

    def get_score(self, assignment) -> int | None:
        score = self._score(assignment)
        return score.pk if score else None

    @extend_schema_field(serializers.ChoiceField(choices=ScoreStatus.choices, allow_null=True))
    def get_score_status(self, assignment):
        score = self._score(assignment)
        return score.status if score else None


# The kinds of conflict an expert declares (settings.SPECTACULAR_SETTINGS names their enum).
DECLARED_REASON_CHOICES = [(r.value, r.label) for r in DECLARED_REASONS]


class DeclareConflictSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DECLARED_REASON_CHOICES)
    detail = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text=_("Required for another kind of conflict.")
    )

    def validate(self, attrs):
        # The rule of the page's form (reviews.forms.DeclareConflictForm).
        if attrs["reason"] == ConflictReason.OTHER and not attrs.get("detail", "").strip():
            raise serializers.ValidationError({"detail": [_("Please describe the conflict.")]})
        return attrs


class AssignmentFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="proposal__call__code", help_text=_("Call code"))

    class Meta:
        model = Assignment
        fields = ["call", "proposal", "expert", "active"]


class AssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Assignments (评审任务): an expert sees its own active ones that no conflict blocks;
    administrators and supervisors see them all. Anybody else: 403."""

    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        queryset = Assignment.objects.select_related("proposal__call", "expert", "score").order_by(
            "proposal__call__code", "proposal_id", "pk"
        )
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        user = self.request.user
        if _staff_reader(user):
            return queryset
        expert = get_expert_for_user(user)  # 403 without an Expert profile
        return queryset.filter(pk__in=[a.pk for a in assignments_of(expert)])

    @extend_schema(
        request=DeclareConflictSerializer,
        responses=AssignmentSerializer,
        summary="Declare a conflict with the assigned proposal (the assignment ends, the panel is routed again)",
    )
    @action(detail=True, methods=["post"], url_path="declare-conflict")
    def declare_conflict(self, request, pk=None):
        try:
            assignment = get_assignment_for_expert(request.user, int(pk))
        except (Http404, PermissionDenied):
            if not _staff_reader(request.user):
                raise
            if Assignment.objects.filter(pk=pk).exists():
                raise PermissionDenied from None  # staff see it; only its expert declares
            raise Http404 from None
        payload = DeclareConflictSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        scoring.declare_conflict(
            actor=request.user, assignment=assignment, reason=data["reason"], detail=data.get("detail", "")
        )
        fresh = Assignment.objects.select_related("proposal__call", "expert", "score").get(pk=assignment.pk)
        return Response(AssignmentSerializer(fresh, context=self.get_serializer_context()).data)


# --- scores ---------------------------------------------------------------------------------------------
class ScoreItemSerializer(serializers.ModelSerializer):
    criterion_name = serializers.CharField(source="criterion.name", read_only=True)
    max_points = serializers.DecimalField(source="criterion.max_points", max_digits=5, decimal_places=2, read_only=True)

    class Meta:
        model = ScoreItem
        fields = ["criterion", "criterion_name", "max_points", "points", "comment"]
        read_only_fields = fields


class ScoreSerializer(serializers.ModelSerializer):
    proposal = serializers.IntegerField(source="assignment.proposal_id", read_only=True)
    expert = serializers.IntegerField(source="assignment.expert_id", read_only=True)
    status = state_field(ScoreStatus)
    items = ScoreItemSerializer(many=True, read_only=True)

    class Meta:
        model = Score
        fields = ["id", "assignment", "proposal", "expert", "status", "total", "comment", "veto", "veto_reason"]
        fields += ["submitted_at", "updated_at", "items"]
        read_only_fields = fields


class ScoreDraftSerializer(serializers.Serializer):
    """What the expert saves: points and comments per criterion (by criterion id), the overall
    comment and the veto item. Criteria left out keep what was saved before."""

    points = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True, max_length=20),
        required=False,
        help_text=_('Points per criterion id, e.g. {"12": "32.50"}; "" or null clears one.'),
    )
    comments = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, help_text=_("Comment per criterion id.")
    )
    comment = serializers.CharField(required=False, allow_blank=True, help_text=_("Overall comment"))
    veto = serializers.BooleanField(required=False, help_text=_("The call's veto item applies."))
    veto_reason = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        criteria = self.context["criteria"]
        for name in ("points", "comments"):
            unknown = [key for key in attrs.get(name, {}) if not key.isdigit() or int(key) not in criteria]
            if unknown:
                raise serializers.ValidationError(
                    {name: {key: [_("Not a criterion of this call's rubric.")] for key in unknown}}
                )
        return attrs


class ScoreCreateSerializer(ScoreDraftSerializer):
    assignment = serializers.IntegerField(help_text=_("Your assignment the score sheet is for."))


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, help_text=_("Why the score is reopened."))


CRITERION_KEY = re.compile(r"c(\d+)")  # how reviews.scoring keys a criterion's errors


def _save_draft(user, assignment, data) -> Score:
    """reviews.scoring.save_draft with what was saved before, so criteria left out are kept."""
    score = Score.objects.filter(assignment=assignment).prefetch_related("items").first()
    items = {i.criterion_id: i for i in score.items.all()} if score else {}
    points = {pk: (None if i.points is None else str(i.points)) for pk, i in items.items()}
    comments = {pk: i.comment for pk, i in items.items()}
    points.update({int(k): v for k, v in data.get("points", {}).items()})
    comments.update({int(k): v for k, v in data.get("comments", {}).items()})
    try:
        return scoring.save_draft(
            actor=user,
            assignment=assignment,
            points=points,
            comments=comments,
            comment=data.get("comment", score.comment if score else ""),
            veto=data.get("veto", score.veto if score else False),
            veto_reason=data.get("veto_reason", score.veto_reason if score else ""),
        )
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        by_key = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        per_criterion = {m[1]: by_key.pop(k) for k in list(by_key) if (m := CRITERION_KEY.fullmatch(k))}
        if per_criterion:
            raise serializers.ValidationError({"points": per_criterion, **by_key}) from None
        raise


class ScoreFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="assignment__proposal__call__code", help_text=_("Call code"))
    proposal = filters.NumberFilter(field_name="assignment__proposal_id")
    status = filters.ChoiceFilter(choices=ScoreStatus.choices)

    class Meta:
        model = Score
        fields = ["call", "proposal", "status"]


class ScoreViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Score sheets (评分表). The assigned expert saves drafts (POST with its assignment, then
    PATCH) and submits, which locks the sheet; administrators and supervisors read every sheet;
    administrators reopen a submitted one with a reason."""

    serializer_class = ScoreSerializer
    filterset_class = ScoreFilter
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = (
            Score.objects.select_related("assignment")
            .prefetch_related(Prefetch("items", queryset=ScoreItem.objects.select_related("criterion")))
            .order_by("assignment__proposal__call__code", "assignment__proposal_id", "pk")
        )
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        user = self.request.user
        if _staff_reader(user):
            return queryset
        expert = get_expert_for_user(user)  # 403 without an Expert profile
        return queryset.filter(assignment_id__in=[a.pk for a in assignments_of(expert)])

    def _scores(self):
        return Score.objects.select_related("assignment").prefetch_related(
            Prefetch("items", queryset=ScoreItem.objects.select_related("criterion"))
        )

    def get_object(self):
        """Staff read any sheet; an expert only its own, on an active unblocked assignment (404 otherwise)."""
        user, pk = self.request.user, int(self.kwargs["pk"])
        if not _staff_reader(user):
            assignment_id = Score.objects.filter(pk=pk).values_list("assignment_id", flat=True).first()
            if assignment_id is None:
                raise Http404
            scoring.assignment_for_expert(user, assignment_id)
        return get_object_or_404(self._scores(), pk=pk)

    def _own_assignment(self, score):
        """The expert's own assignment of a sheet it may see; staff who are not its expert get 403."""
        try:
            return scoring.assignment_for_expert(self.request.user, score.assignment_id)
        except Http404:
            raise PermissionDenied from None

    def _draft_payload(self, serializer_class, assignment):
        criteria = {c.pk for c in assignment.proposal.call.criteria.all()}
        payload = serializer_class(data=self.request.data, context={"criteria": criteria})
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    @extend_schema(
        request=ScoreCreateSerializer,
        responses={200: ScoreSerializer, 201: ScoreSerializer},
        summary="Save a draft score sheet for one of your assignments",
    )
    def create(self, request, *args, **kwargs):
        assignment_id = request.data.get("assignment") if hasattr(request.data, "get") else None
        try:
            assignment_id = int(assignment_id)
        except (TypeError, ValueError):
            raise serializers.ValidationError({"assignment": [_("Give the id of your assignment.")]}) from None
        try:
            assignment = scoring.assignment_for_expert(request.user, assignment_id)
        except Http404:
            if _staff_reader(request.user) and Assignment.objects.filter(pk=assignment_id).exists():
                raise PermissionDenied from None  # staff see it, only its expert scores it
            raise serializers.ValidationError({"assignment": [_("You have no such assignment.")]}) from None
        existed = Score.objects.filter(assignment=assignment).exists()
        score = _save_draft(request.user, assignment, self._draft_payload(ScoreCreateSerializer, assignment))
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(ScoreSerializer(self._scores().get(pk=score.pk)).data, status=code)

    @extend_schema(request=ScoreDraftSerializer, responses=ScoreSerializer, summary="Save the draft score sheet")
    def partial_update(self, request, *args, **kwargs):
        score = self.get_object()
        assignment = self._own_assignment(score)
        score = _save_draft(request.user, assignment, self._draft_payload(ScoreDraftSerializer, assignment))
        return Response(ScoreSerializer(self._scores().get(pk=score.pk)).data)

    @extend_schema(request=None, responses=ScoreSerializer, summary="Submit the score sheet (locks it)")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        score = self.get_object()
        assignment = self._own_assignment(score)
        score = scoring.submit(actor=request.user, assignment=assignment)
        return Response(ScoreSerializer(self._scores().get(pk=score.pk)).data)

    @extend_schema(request=ReopenSerializer, responses=ScoreSerializer, summary="Reopen a submitted score sheet")
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        score = self.get_object()
        if not rules.has_perm("reviews.manage_draw", request.user):
            raise PermissionDenied
        payload = ReopenSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        score = scoring.reopen(actor=request.user, score=score, reason=payload.validated_data.get("reason", ""))
        return Response(ScoreSerializer(self._scores().get(pk=score.pk)).data)


# --- rankings -------------------------------------------------------------------------------------------
class ResultStatisticsSerializer(serializers.ModelSerializer):
    class Meta:
        model = Result
        fields = ["count", "method", "median", "sd", "spread", "key_criterion", "disagreement", "vetoed"]
        read_only_fields = fields


class RankingRowSerializer(serializers.ModelSerializer):
    proposal_title = serializers.CharField(source="proposal.title", read_only=True)
    lead_organization = serializers.IntegerField(source="proposal.lead_organization_id", read_only=True)
    lead_organization_name = serializers.CharField(source="proposal.lead_organization.name", read_only=True)
    proposal_status = serializers.CharField(source="proposal.status", read_only=True)
    statistics = serializers.SerializerMethodField(
        help_text=_("Aggregate statistics: administrators and supervisors only (null for others).")
    )

    class Meta:
        model = Result
        fields = ["rank", "proposal", "proposal_title", "lead_organization", "lead_organization_name", "final"]
        fields += ["passed", "proposal_status", "statistics"]
        read_only_fields = fields

    @extend_schema_field(ResultStatisticsSerializer(allow_null=True))
    def get_statistics(self, result):
        if not self.context.get("staff"):
            return None
        return ResultStatisticsSerializer(result).data


class RankingSerializer(serializers.ModelSerializer):
    call = serializers.CharField(source="code", read_only=True, help_text=_("Call code"))
    status = state_field(CallStatus)
    results = serializers.SerializerMethodField(help_text=_("In rank order; vetoed and unscored proposals last."))

    class Meta:
        model = Call
        fields = ["call", "title", "status", "results"]
        read_only_fields = fields

    @extend_schema_field(RankingRowSerializer(many=True))
    def get_results(self, call):
        return RankingRowSerializer(call.ranked_results, many=True, context=self.context).data


class RankingViewSet(viewsets.ReadOnlyModelViewSet):
    """Call rankings (final scores and ranks, no expert data), by call code: administrators
    and supervisors at any time; the call's issuer once the public notice has begun."""

    serializer_class = RankingSerializer
    filterset_fields = ["status", "programme"]
    lookup_field = "code"
    lookup_value_regex = "[A-Z0-9-]+"

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["staff"] = _staff_reader(self.request.user)
        return context

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Call.objects.none()
        user = self.request.user
        calls = Call.objects.filter(proposals__result__isnull=False).distinct()
        if not _staff_reader(user):
            if not (user.is_issuer and user.organization_id):
                return Call.objects.none()
            calls = calls.filter(Q(issuer_id=user.organization_id) & Q(status__in=RESULTS_PUBLISHED))
        return calls.order_by("-closed_at", "code")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self._attach(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        call = get_call_for_user(request.user, kwargs["code"])  # 404 for calls it may not see
        if not rules.has_perm("reviews.view_ranking", request.user, call):
            raise PermissionDenied
        self._attach([call])
        return Response(self.get_serializer(call).data)

    @staticmethod
    def _attach(calls):
        """Each call's results in rank order, in one query for the whole page."""
        by_call = {call.pk: call for call in calls}
        for call in calls:
            call.ranked_results = []
        results = (
            Result.objects.filter(proposal__call_id__in=by_call)
            .select_related("proposal__lead_organization")
            .order_by(F("rank").asc(nulls_last=True), "proposal_id")
        )
        for result in results:
            by_call[result.proposal.call_id].ranked_results.append(result)
