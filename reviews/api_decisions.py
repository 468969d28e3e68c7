"""Award decisions, public notices and objections over the REST API (reviews.decisions).

Decisions are POST actions on ``/api/v1/decisions/<call code>/…`` — start_review, remind
(e-mail the experts whose scores are missing), rank (``allow_incomplete``), confirm_winners
(``{"winners": {"<proposal id>": "500.00"}}``), open_notice (``{"starts_on"?}``),
withdraw_recommendation (``{"proposal", "reason"}``: a winner taken off the list, e.g. after
an upheld objection), finalise and fail (``{"reason"}``); GET
``/api/v1/decisions/<code>/`` reads the call's recommendations and notice. The rules are
the decision pages': a call the user may not see answers 404 (calls.access); administrators
act, supervisors read (403 for actions), anybody else 403.

- notices: public, like the public notice page: the recommended awards only, no scores;
- objections: logged-in users object during the notice (decisions.submit_objection), signed
  with the real name, or with the unit's name and its sealed letter (a PDF, sent as
  multipart/form-data); administrators and supervisors list and read them (and the sealed
  letter at ``seal/``); administrators handle them.
"""

from decimal import Decimal, InvalidOperation

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from calls.access import get_call_for_user
from calls.choices import PUBLIC_STATUSES, CallStatus
from calls.models import Call
from config.api import PDFRenderer
from config.files import serve_private_file
from proposals.choices import TeamRole, UnitRole
from proposals.models import Proposal, ProposalUnit, TeamMember
from reviews import decisions
from reviews.access import require_draw_reader
from reviews.api import state_field
from reviews.models import Notice, Objection, ObjectionStatus, Recommendation
from reviews.views.notice import recommendations_of


# --- shared pieces --------------------------------------------------------------------------------------
class NoticePeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notice
        fields = ["starts_on", "ends_on", "published_at", "finalised_at"]
        read_only_fields = fields


class RecommendationSerializer(serializers.ModelSerializer):
    proposal_title = serializers.CharField(source="proposal.title", read_only=True)
    lead_organization = serializers.IntegerField(source="proposal.lead_organization_id", read_only=True)
    lead_organization_name = serializers.CharField(source="proposal.lead_organization.name", read_only=True)

    class Meta:
        model = Recommendation
        fields = ["proposal", "proposal_title", "lead_organization", "lead_organization_name", "fiscal_amount"]
        fields += ["confirmed_at"]
        read_only_fields = fields


# --- decisions ------------------------------------------------------------------------------------------
class DecisionSerializer(serializers.ModelSerializer):
    call = serializers.CharField(source="code", read_only=True, help_text=_("Call code"))
    status = state_field(CallStatus)
    recommendations = RecommendationSerializer(
        source="recommendation_rows", many=True, read_only=True, help_text=_("Confirmed winners (拟立项)")
    )
    notice = serializers.SerializerMethodField(help_text=_("The public notice, once opened."))
    scores_submitted = serializers.SerializerMethodField(help_text=_("Submitted scores of active assignments"))
    scores_expected = serializers.SerializerMethodField(help_text=_("Active assignments"))

    class Meta:
        model = Call
        fields = ["call", "title", "status", "fiscal_cap", "max_winners", "support_mode", "recommendations"]
        fields += ["notice", "scores_submitted", "scores_expected"]
        read_only_fields = fields

    @extend_schema_field(NoticePeriodSerializer(allow_null=True))
    def get_notice(self, call):
        notice = Notice.objects.filter(call=call).first()
        return NoticePeriodSerializer(notice).data if notice else None

    def _progress(self, call):
        if not hasattr(call, "_progress"):
            call._progress = decisions.progress(call)
        return call._progress

    def get_scores_submitted(self, call) -> int:
        return sum(done for done, _total in self._progress(call).values())

    def get_scores_expected(self, call) -> int:
        return sum(total for _done, total in self._progress(call).values())


class RankRequestSerializer(serializers.Serializer):
    allow_incomplete = serializers.BooleanField(
        default=False, help_text=_("Rank even though some scores are still missing.")
    )


class WinnersSerializer(serializers.Serializer):
    winners = serializers.DictField(
        child=serializers.CharField(max_length=20),
        allow_empty=False,
        help_text=_('Fiscal amount (10k yuan) per winning proposal id, e.g. {"12": "500.00"}.'),
    )

    def validate_winners(self, winners):
        amounts, problems = {}, {}
        for key, text in winners.items():
            try:
                pid = int(key)
                amount = Decimal(text.strip())
            except (ValueError, InvalidOperation):
                problems[key] = [_("Give a proposal id and an amount with at most two decimals.")]
                continue
            amounts[pid] = amount
        if problems:
            raise serializers.ValidationError(problems)
        return amounts


class OpenNoticeSerializer(serializers.Serializer):
    starts_on = serializers.DateField(required=False, help_text=_("First day of the notice (default: today)."))


class FailSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("Why no proposal is awarded (流榜)."))


class WithdrawRecommendationSerializer(serializers.Serializer):
    proposal = serializers.IntegerField(help_text=_("The recommended proposal taken off the list."))
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text=_("Why it is withdrawn, e.g. the upheld objection (required)."),
    )


class RemindResultSerializer(serializers.Serializer):
    reminded = serializers.IntegerField(help_text=_("Experts reminded by e-mail (0: every score is in)."))


class FinaliseResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["awarded", "failed"], read_only=True)
    decision = DecisionSerializer(read_only=True)


class DecisionViewSet(viewsets.GenericViewSet):
    """Award decisions per call (评审决策), by call code: administrators act, supervisors read."""

    serializer_class = DecisionSerializer
    lookup_field = "code"
    lookup_value_regex = "[A-Z0-9-]+"

    def get_queryset(self):
        return Recommendation.objects.none()  # the resource is the call: see _call()

    def _call(self, code, *, write=False):
        call = get_call_for_user(self.request.user, code)  # 404 for calls the user may not see
        require_draw_reader(self.request.user, write=write)  # 403: administrators act, supervisors read
        return call

    def _data(self, code):
        call = get_call_for_user(self.request.user, code)
        call.recommendation_rows = list(
            Recommendation.objects.filter(call=call)
            .select_related("proposal__lead_organization")
            .order_by("proposal__result__rank", "proposal_id")
        )
        return DecisionSerializer(call, context=self.get_serializer_context()).data

    def _payload(self, serializer_class):
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    @extend_schema(responses=DecisionSerializer, summary="The call's winners, notice and scoring progress")
    def retrieve(self, request, code=None):
        self._call(code)
        return Response(self._data(code))

    @extend_schema(request=None, responses=DecisionSerializer, summary="Start the expert review of a closed call")
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, code=None):
        decisions.start_review(actor=request.user, call=self._call(code, write=True))
        return Response(self._data(code))

    @extend_schema(
        request=None,
        responses=RemindResultSerializer,
        summary="Remind the experts whose scores are still missing (the review dashboard's button)",
    )
    @action(detail=True, methods=["post"])
    def remind(self, request, code=None):
        reminded = decisions.remind_late(actor=request.user, call=self._call(code, write=True))
        return Response({"reminded": reminded})

    @extend_schema(request=RankRequestSerializer, responses=DecisionSerializer, summary="Fix the results and ranks")
    @action(detail=True, methods=["post"])
    def rank(self, request, code=None):
        call = self._call(code, write=True)
        data = self._payload(RankRequestSerializer)
        decisions.rank_call(actor=request.user, call=call, allow_incomplete=data["allow_incomplete"])
        return Response(self._data(code))

    @extend_schema(request=WinnersSerializer, responses=DecisionSerializer, summary="Confirm the winners and amounts")
    @action(detail=True, methods=["post"], url_path="confirm-winners")
    def confirm_winners(self, request, code=None):
        call = self._call(code, write=True)
        data = self._payload(WinnersSerializer)
        decisions.confirm_winners(actor=request.user, call=call, amounts=data["winners"])
        return Response(self._data(code))

    @extend_schema(request=OpenNoticeSerializer, responses=DecisionSerializer, summary="Open the public notice")
    @action(detail=True, methods=["post"], url_path="open-notice")
    def open_notice(self, request, code=None):
        call = self._call(code, write=True)
        data = self._payload(OpenNoticeSerializer)
        decisions.open_notice(actor=request.user, call=call, starts_on=data.get("starts_on"))
        return Response(self._data(code))

    @extend_schema(
        request=WithdrawRecommendationSerializer,
        responses=DecisionSerializer,
        summary="Withdraw a recommended proposal (e.g. after an upheld objection)",
    )
    @action(detail=True, methods=["post"], url_path="withdraw-recommendation")
    def withdraw_recommendation(self, request, code=None):
        call = self._call(code, write=True)
        data = self._payload(WithdrawRecommendationSerializer)
        proposal = Proposal.objects.filter(pk=data["proposal"], call=call, recommendation__isnull=False).first()
        if proposal is None:
            raise serializers.ValidationError({"proposal": [_("This proposal is not recommended in this call.")]})
        decisions.withdraw_recommendation(actor=request.user, proposal=proposal, reason=data.get("reason", ""))
        return Response(self._data(code))

    @extend_schema(request=None, responses=FinaliseResultSerializer, summary="Finalise after the notice period")
    @action(detail=True, methods=["post"])
    def finalise(self, request, code=None):
        outcome = decisions.finalise(actor=request.user, call=self._call(code, write=True))
        return Response({"outcome": outcome, "decision": self._data(code)})

    @extend_schema(request=FailSerializer, responses=DecisionSerializer, summary="Declare the call failed (流榜)")
    @action(detail=True, methods=["post"])
    def fail(self, request, code=None):
        call = self._call(code, write=True)
        data = self._payload(FailSerializer)
        decisions.fail_without_winner(actor=request.user, call=call, reason=data["reason"])
        return Response(self._data(code))


# --- public notices -------------------------------------------------------------------------------------
class AwardSerializer(serializers.ModelSerializer):
    """One proposed award as the notice publishes it: no score, no rank, no expert."""

    proposal_title = serializers.CharField(source="proposal.title", read_only=True)
    lead_organization_name = serializers.CharField(source="proposal.lead_organization.name", read_only=True)
    member_units = serializers.SerializerMethodField()
    principal_investigators = serializers.SerializerMethodField()

    class Meta:
        model = Recommendation
        fields = ["proposal", "proposal_title", "lead_organization_name", "member_units"]
        fields += ["principal_investigators", "fiscal_amount"]
        read_only_fields = fields

    def get_member_units(self, recommendation) -> list[str]:
        return [u.organization.name for u in recommendation.proposal.member_units]

    def get_principal_investigators(self, recommendation) -> list[str]:
        return [m.person.name for m in recommendation.proposal.pis]


class NoticeSerializer(serializers.ModelSerializer):
    call = serializers.CharField(source="call.code", read_only=True, help_text=_("Call code"))
    call_title = serializers.CharField(source="call.title", read_only=True)
    issuer_name = serializers.CharField(source="call.issuer.name", read_only=True)
    support_mode = serializers.CharField(source="call.support_mode", read_only=True)
    accepting_objections = serializers.SerializerMethodField()
    awards = AwardSerializer(source="call.award_rows", many=True, read_only=True)

    class Meta:
        model = Notice
        fields = ["call", "call_title", "issuer_name", "support_mode", "starts_on", "ends_on", "finalised_at"]
        fields += ["accepting_objections", "awards"]
        read_only_fields = fields

    def get_accepting_objections(self, notice) -> bool:
        return notice.call.status == CallStatus.IN_NOTICE and not notice.finalised_at


class NoticeFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="call__code", help_text=_("Call code"))

    class Meta:
        model = Notice
        fields = ["call"]


class NoticeViewSet(viewsets.ReadOnlyModelViewSet):
    """Public notices of proposed awards (公示), by call code: anybody reads them."""

    serializer_class = NoticeSerializer
    filterset_class = NoticeFilter
    permission_classes = [AllowAny]
    lookup_field = "call__code"
    lookup_url_kwarg = "code"
    lookup_value_regex = "[A-Z0-9-]+"

    def get_queryset(self):
        return (
            Notice.objects.filter(call__status__in=PUBLIC_STATUSES)
            .select_related("call__issuer")
            .order_by("-starts_on", "call__code")
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self._attach(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        notice = self.get_object()
        self._attach([notice])
        return Response(self.get_serializer(notice).data)

    @staticmethod
    def _attach(notices):
        """Each notice's awards (as reviews.views.notice.recommendations_of), in five queries for the page."""
        by_call = {n.call_id: n.call for n in notices}
        for call in by_call.values():
            call.award_rows = []
        rows = (
            Recommendation.objects.filter(call_id__in=by_call)
            .select_related("proposal__lead_organization")
            .prefetch_related(
                Prefetch(
                    "proposal__units",
                    queryset=ProposalUnit.objects.filter(role=UnitRole.MEMBER).select_related("organization"),
                    to_attr="member_units",
                ),
                Prefetch(
                    "proposal__team",
                    queryset=TeamMember.objects.filter(role=TeamRole.PI).select_related("person"),
                    to_attr="pis",
                ),
            )
            .order_by("proposal__result__rank", "proposal_id")
        )
        for row in rows:
            by_call[row.call_id].award_rows.append(row)


# --- objections -----------------------------------------------------------------------------------------
class ObjectionSerializer(serializers.ModelSerializer):
    call = serializers.CharField(source="notice.call.code", read_only=True, help_text=_("Call code"))
    status = state_field(ObjectionStatus)
    has_seal = serializers.SerializerMethodField(help_text=_("A sealed letter is attached (download it at seal/)."))

    class Meta:
        model = Objection
        fields = ["id", "call", "proposal", "submitted_by", "real_name", "unit_name", "text", "submitted_at"]
        fields += ["has_seal", "status", "result", "handled_by", "handled_at"]
        read_only_fields = fields

    def get_has_seal(self, objection) -> bool:
        return bool(objection.seal)


class ObjectionCreateSerializer(serializers.Serializer):
    call = serializers.CharField(help_text=_("Code of the call whose public notice is objected to."))
    text = serializers.CharField(max_length=5000, allow_blank=True, help_text=_("The objection and its facts."))
    real_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    unit_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    proposal = serializers.IntegerField(
        required=False, allow_null=True, help_text=_("The recommended proposal concerned (default: the whole notice).")
    )
    seal = serializers.FileField(
        required=False,
        allow_null=True,
        help_text=_("The unit's sealed letter (PDF, at most 10 MB; multipart/form-data), with unit_name."),
    )


class HandleSerializer(serializers.Serializer):
    upheld = serializers.BooleanField(help_text=_("true: upheld; false: dismissed."))
    result = serializers.CharField(max_length=5000, allow_blank=True, help_text=_("Handling result"))


class ObjectionFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="notice__call__code", help_text=_("Call code"))
    status = filters.ChoiceFilter(choices=ObjectionStatus.choices)

    class Meta:
        model = Objection
        fields = ["call", "status"]


class ObjectionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Objections to public notices (异议): logged-in users submit them during the notice period,
    administrators and supervisors read them, administrators record the handling result."""

    serializer_class = ObjectionSerializer
    filterset_class = ObjectionFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Objection.objects.none()
        require_draw_reader(self.request.user)
        return Objection.objects.select_related("notice__call").order_by("-submitted_at", "-pk")

    @extend_schema(
        request=ObjectionCreateSerializer, responses={201: ObjectionSerializer}, summary="Object to a public notice"
    )
    def create(self, request, *args, **kwargs):
        payload = ObjectionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        notice = (
            Notice.objects.select_related("call").filter(call__code=data["call"], call__status__in=PUBLIC_STATUSES)
        ).first()
        if notice is None:
            raise serializers.ValidationError({"call": [_("This call has no public notice.")]})
        proposal = None
        if data.get("proposal") is not None:
            recommended = {r.proposal_id: r.proposal for r in recommendations_of(notice.call)}
            proposal = recommended.get(data["proposal"])
            if proposal is None:
                raise serializers.ValidationError({"proposal": [_("That proposal is not part of this notice.")]})
        objection = decisions.submit_objection(
            actor=request.user,
            notice=notice,
            text=data["text"],
            real_name=data.get("real_name", ""),
            unit_name=data.get("unit_name", ""),
            seal=data.get("seal") or None,
            proposal=proposal,
        )
        return Response(ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The PDF file."))},
        summary="Download the objection's sealed letter",
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PDFRenderer])
    def seal(self, request, pk=None):
        """Administrators and supervisors, as the notice administration page (404 without a letter)."""
        objection = self.get_object()
        return serve_private_file(
            objection.seal, filename=f"objection-{objection.pk}-seal.pdf", content_type="application/pdf"
        )

    @extend_schema(request=HandleSerializer, responses=ObjectionSerializer, summary="Record the handling result")
    @action(detail=True, methods=["post"])
    def handle(self, request, pk=None):
        objection = self.get_object()
        if not rules.has_perm("reviews.manage_draw", request.user):
            raise PermissionDenied
        payload = HandleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        decisions.handle_objection(
            actor=request.user, objection=objection, upheld=data["upheld"], result=data["result"]
        )
        return Response(ObjectionSerializer(self.get_queryset().get(pk=objection.pk)).data)
