"""Proposals over the REST API: the same services, access helpers and rules as the pages.

Invisible proposals answer 404 (proposals.access.get_proposal_for_user); visible ones the
user may not change or move answer 403; refused transitions (TransitionError, a
ValidationError) answer 400 with their reasons.
"""

import rules
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from calls.models import Call
from proposals import services
from proposals.access import get_proposal_for_user
from proposals.choices import ProposalStatus
from proposals.models import (
    Attachment,
    BudgetLine,
    Milestone,
    Proposal,
    ProposalUnit,
    TargetCommitment,
    TeamMember,
)
from proposals.rules import is_lead_applicant
from proposals.workflow import available_actions


# --- nested content (read-only) -------------------------------------------------------------------
class UnitSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    credit_code = serializers.CharField(source="organization.credit_code", read_only=True)

    class Meta:
        model = ProposalUnit
        fields = ["id", "organization", "organization_name", "credit_code", "role", "task_share", "budget_share"]
        fields += ["confirmed_at"]
        read_only_fields = fields


class TeamMemberSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="person.name", read_only=True)
    id_number = serializers.SerializerMethodField(
        help_text=_("Resident ID number; masked unless the user may see full ID numbers (administrators).")
    )
    organization_name = serializers.CharField(source="unit.organization.name", read_only=True)

    class Meta:
        model = TeamMember
        fields = ["id", "name", "id_number", "unit", "organization_name", "role", "title", "duty", "months_per_year"]
        read_only_fields = fields

    def get_id_number(self, member) -> str:
        if self.context.get("show_ids"):
            return member.person.id_number
        return member.person.masked_id


class CommitmentSerializer(serializers.ModelSerializer):
    target_name = serializers.CharField(source="target.name", read_only=True)
    comparator = serializers.CharField(source="target.comparator", read_only=True)
    target_value = serializers.DecimalField(source="target.value", max_digits=16, decimal_places=4, read_only=True)
    unit = serializers.CharField(source="target.unit", read_only=True)
    meets_target = serializers.SerializerMethodField(help_text=_("The committed value reaches the call's target."))

    class Meta:
        model = TargetCommitment
        fields = ["id", "target", "target_name", "comparator", "target_value", "unit", "value", "note"]
        fields += ["meets_target"]
        read_only_fields = fields

    def get_meets_target(self, commitment) -> bool:
        return commitment.meets_target()


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "month", "deliverable", "verification"]
        read_only_fields = fields


class BudgetLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = BudgetLine
        fields = ["id", "source", "category", "amount"]
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    """Names only: files are downloaded at attachments/<id>/download/ (api_parts.py) or on the proposal page."""

    # A plain string in the schema: an enum named "kind" would collide with the calls' amendment kinds.
    kind = serializers.CharField(
        read_only=True, help_text=_("integrity_pledge, consortium_agreement, matching_funds or other")
    )

    class Meta:
        model = Attachment
        fields = ["id", "kind", "original_name", "size", "uploaded_at"]
        read_only_fields = fields


# Totals by funding source (fiscal, self, other) and overall, in 10k yuan.
BudgetTotalsSerializer = type(
    "BudgetTotalsSerializer",
    (serializers.Serializer,),
    {
        "__module__": __name__,
        **{name: serializers.DecimalField(max_digits=14, decimal_places=2) for name in ("fiscal", "self", "other")},
        "total": serializers.DecimalField(max_digits=14, decimal_places=2),
    },
)


# --- proposals ------------------------------------------------------------------------------------
class ProposalListSerializer(serializers.ModelSerializer):
    call = serializers.CharField(source="call.code", read_only=True, help_text=_("Call code"))
    call_title = serializers.CharField(source="call.title", read_only=True)
    lead_organization_name = serializers.CharField(source="lead_organization.name", read_only=True)
    # A plain string (not an enum component): several resources have a "status" with their own values.
    status = serializers.CharField(read_only=True, help_text=" | ".join(ProposalStatus.values))

    class Meta:
        model = Proposal
        fields = [
            "id",
            "call",
            "call_title",
            "lead_organization",
            "lead_organization_name",
            "title",
            "status",
            "eligible",
            "submitted_at",
            "reviewed_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProposalSerializer(ProposalListSerializer):
    units = UnitSerializer(many=True, read_only=True)
    team = TeamMemberSerializer(many=True, read_only=True)
    commitments = CommitmentSerializer(many=True, read_only=True)
    milestones = MilestoneSerializer(many=True, read_only=True)
    budget_lines = BudgetLineSerializer(many=True, read_only=True)
    budget_totals = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField(help_text=_("Transitions this user may trigger now."))

    class Meta(ProposalListSerializer.Meta):
        fields = [
            *ProposalListSerializer.Meta.fields,
            "summary",
            "technical_route",
            "risks",
            "review_reason",
            "eligibility",
            "units",
            "team",
            "commitments",
            "milestones",
            "budget_lines",
            "budget_totals",
            "attachments",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(BudgetTotalsSerializer)
    def get_budget_totals(self, proposal):
        return BudgetTotalsSerializer(proposal.budget_totals()).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, proposal):
        user = self.context["request"].user
        return available_actions(user, proposal)


def _call_of(serializer, code):
    """The call with this code, if the requesting user may see it (400 otherwise)."""
    call = Call.objects.visible_to(serializer.context["request"].user).filter(code=code.strip()).first()
    if call is None:
        raise serializers.ValidationError(_("No call has this code."))
    return call


class StartSerializer(serializers.Serializer):
    call = serializers.CharField(help_text=_("Code of the open call to apply for (揭榜), e.g. JB-2026-001."))

    def validate_call(self, code):
        return _call_of(self, code)


class BasicsSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text=_("Project title"))
    summary = serializers.CharField(required=False, allow_blank=True, help_text=_("Summary"))
    technical_route = serializers.CharField(required=False, allow_blank=True, help_text=_("Technical route"))
    risks = serializers.CharField(required=False, allow_blank=True, help_text=_("Risks and countermeasures"))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Required to return or reject; optional to withdraw.")
    )


class RecheckSerializer(serializers.Serializer):
    call = serializers.CharField(help_text=_("Code of the call whose submitted proposals are checked again."))

    def validate_call(self, code):
        return _call_of(self, code)


class RecheckResultSerializer(serializers.Serializer):
    checked = serializers.IntegerField(help_text=_("Submitted proposals of the call checked again."))
    limit_breaches = serializers.IntegerField(
        help_text=_("Proposals of the programme that break an application limit (限项).")
    )


class BulkPassSerializer(serializers.Serializer):
    call = serializers.CharField(help_text=_("Code of the call in formal review."))
    proposals = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=1000,
        help_text=_("Ids of the submitted proposals of this call that pass formal review."),
    )

    def validate_call(self, code):
        return _call_of(self, code)

    def validate(self, attrs):
        ids = sorted(set(attrs["proposals"]))
        found = set(Proposal.objects.filter(call=attrs["call"], pk__in=ids).values_list("pk", flat=True))
        unknown = [str(pk) for pk in ids if pk not in found]
        if unknown:
            message = _("Not proposals of this call: %(ids)s.") % {"ids": ", ".join(unknown)}
            raise serializers.ValidationError({"proposals": [message]})
        attrs["proposals"] = ids
        return attrs


class BulkPassResultSerializer(serializers.Serializer):
    passed = serializers.IntegerField(help_text=_("How many proposals passed formal review now."))
    proposals = ProposalListSerializer(many=True, help_text=_("The proposals named, as they are now."))


class ProposalFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="call__code", help_text=_("Call code"))
    status = filters.ChoiceFilter(choices=ProposalStatus.choices)

    class Meta:
        model = Proposal
        fields = ["call", "status", "lead_organization"]


class ProposalViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Proposals (揭榜方案): lead and member units' applicants, the call's issuer once formal
    review has passed them, administrators and supervisors see them. The lead unit starts,
    edits and submits; member units confirm; administrators do the formal review."""

    filterset_class = ProposalFilter
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            Proposal.objects.visible_to(self.request.user)
            .select_related("call", "lead_organization")
            .order_by("-updated_at", "-pk")
        )

    def get_serializer_class(self):
        return {
            "list": ProposalListSerializer,
            "create": StartSerializer,
            "partial_update": BasicsSerializer,
        }.get(self.action, ProposalSerializer)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["show_ids"] = rules.has_perm("proposals.view_id_numbers", self.request.user)
        return context

    def get_object(self, *, content: bool = True):
        """The proposal in the URL (404 if this user may not see it); content=False for actions that
        only need the permission: the service they call locks and loads what it reads."""
        return get_proposal_for_user(self.request.user, int(self.kwargs["pk"]), content=content)

    def _detail(self, proposal, code=status.HTTP_200_OK):
        proposal = get_proposal_for_user(self.request.user, proposal.pk)
        return Response(ProposalSerializer(proposal, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request=StartSerializer,
        responses={200: ProposalSerializer, 201: ProposalSerializer},
        summary="揭榜：开始方案 / Start a proposal (or get the organisation's existing one)",
    )
    def create(self, request, *args, **kwargs):
        payload = StartSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        proposal, created = services.start_proposal(actor=request.user, call=payload.validated_data["call"])
        return self._detail(proposal, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=BasicsSerializer, responses=ProposalSerializer, summary="Edit the basics of a proposal")
    def partial_update(self, request, *args, **kwargs):
        proposal = get_proposal_for_user(request.user, int(kwargs["pk"]), write=True, content=False)
        payload = BasicsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if payload.validated_data:
            services.update_basics(actor=request.user, proposal=proposal, **payload.validated_data)
        return self._detail(proposal)

    # --- the lead unit ---------------------------------------------------------------------------
    def _lead_proposal(self):
        """Transitions only the lead unit triggers: member units, issuers and staff get 403."""
        proposal = self.get_object(content=False)
        if not is_lead_applicant(self.request.user, proposal):
            raise PermissionDenied
        return proposal

    @extend_schema(request=None, responses=ProposalSerializer, summary="Submit (the authoritative eligibility check)")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        proposal = self._lead_proposal()
        services.submit_proposal(actor=request.user, proposal=proposal)
        return self._detail(proposal)

    @extend_schema(request=ReasonSerializer, responses=ProposalSerializer, summary="Withdraw the proposal")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        proposal = self._lead_proposal()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.withdraw_proposal(
            actor=request.user, proposal=proposal, reason=payload.validated_data.get("reason", "")
        )
        return self._detail(proposal)

    @extend_schema(request=None, responses=ProposalSerializer, summary="A member unit confirms its participation")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        proposal = self.get_object(content=False)
        services.confirm_participation(actor=request.user, proposal=proposal)  # PermissionDenied → 403
        return self._detail(proposal)

    # --- formal review (administrators) ------------------------------------------------------------
    def _review(self, request, service, *, with_reason: bool):
        proposal = self.get_object(content=False)
        self._require_reviewer()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if with_reason:
            service(actor=request.user, proposal=proposal, reason=payload.validated_data.get("reason", ""))
        else:
            service(actor=request.user, proposal=proposal)
        return self._detail(proposal)

    @extend_schema(
        request=None,
        responses=ProposalSerializer,
        summary="Check the eligibility rules now (the editor's check step; nothing is submitted)",
    )
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        """The lead unit, while it may change the proposal: the checklist is stored in eligibility."""
        proposal = get_proposal_for_user(request.user, int(pk), write=True)  # with what the rules read
        services.check_eligibility(proposal, actor=request.user, loaded=proposal)  # leaves it as stored
        return Response(ProposalSerializer(proposal, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=ProposalSerializer, summary="Formal review: pass")
    @action(detail=True, methods=["post"], url_path="pass")
    def pass_(self, request, pk=None):
        return self._review(request, services.pass_review, with_reason=False)

    @extend_schema(request=ReasonSerializer, responses=ProposalSerializer, summary="Formal review: return")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        return self._review(request, services.return_for_correction, with_reason=True)

    @extend_schema(request=ReasonSerializer, responses=ProposalSerializer, summary="Formal review: reject")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._review(request, services.reject, with_reason=True)

    def _require_reviewer(self):
        if not rules.has_perm("proposals.review_proposal", self.request.user):
            raise PermissionDenied

    @extend_schema(
        request=BulkPassSerializer,
        responses=BulkPassResultSerializer,
        summary="Formal review: pass several submitted proposals of a call",
    )
    @action(detail=False, methods=["post"], url_path="bulk-pass", filter_backends=[], pagination_class=None)
    def bulk_pass(self, request):
        """Each pass is its own audited transition; a proposal no longer awaiting formal review is
        skipped. 400 when none of them awaits it."""
        self._require_reviewer()
        payload = BulkPassSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        call, ids = payload.validated_data["call"], payload.validated_data["proposals"]
        if not Proposal.objects.filter(call=call, pk__in=ids, status=ProposalStatus.SUBMITTED).exists():
            raise serializers.ValidationError({"proposals": [_("None of these proposals is awaiting formal review.")]})
        passed = services.bulk_pass(actor=request.user, call=call, proposal_ids=ids)
        rows = self.get_queryset().filter(pk__in=ids).order_by("pk")
        return Response(
            {"passed": passed, "proposals": ProposalListSerializer(rows, many=True, context={"request": request}).data}
        )

    @extend_schema(
        request=RecheckSerializer,
        responses=RecheckResultSerializer,
        summary="Formal review: check the submitted proposals of a call again (and mark limit breaches)",
    )
    @action(detail=False, methods=["post"], url_path="recheck-eligibility", filter_backends=[], pagination_class=None)
    def recheck_eligibility(self, request):
        """The review queue's "check again" button: administrators only."""
        self._require_reviewer()
        payload = RecheckSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        checked, marked = services.recheck_call(actor=request.user, call=payload.validated_data["call"])
        return Response({"checked": checked, "limit_breaches": marked})
