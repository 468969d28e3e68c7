"""The parts of a proposal over the REST API: what the editor's steps change on the pages.

Nested under /api/v1/proposals/<proposal_pk>/ (mounted by config.api.build_urls):

    units/                       GET list · POST add a member unit (by organisation id or credit code)
    units/<id>/                  GET · PATCH task and budget share · DELETE a member unit
    team/                        GET list · POST add (or update) a person by ID number
    team/<id>/                   GET · PATCH unit, role, title, duty, time share · DELETE
    commitments/                 GET list · PUT the committed values, one per call target
    milestones/                  GET list · PUT the whole list
    budget/                      GET list of lines · PUT the whole table (source × category)
    attachments/                 GET list · POST multipart PDF upload with its kind
    attachments/<id>/            GET · DELETE
    attachments/<id>/download/   GET the PDF

Reading follows the proposal's visibility (proposals.access.get_proposal_for_user: 404 for
anyone who may not see it). Changing needs proposals.change_proposal — the lead unit's
applicants while the proposal is a draft or returned — else 403, as PATCHing the basics.
Every write is the service the page calls (proposals.services), so the same rules apply and
the same audit entries are written; their ValidationErrors answer 400 (config.api).
Commitments, milestones and the budget are saved as a whole, as on their pages.
"""

from decimal import Decimal

import rules
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.models import Organization
from config.api import PDFRenderer
from config.files import serve_private_file
from proposals import services
from proposals.access import get_proposal_for_user
from proposals.api import (
    AttachmentSerializer,
    BudgetLineSerializer,
    CommitmentSerializer,
    MilestoneSerializer,
    TeamMemberSerializer,
    UnitSerializer,
)
from proposals.choices import FundingSource
from proposals.models import Attachment, BudgetLine, Milestone, ProposalUnit, TargetCommitment, TeamMember


# --- consortium units -------------------------------------------------------------------------------------
class UnitSharesSerializer(serializers.Serializer):
    task_share = serializers.CharField(
        required=False, allow_blank=True, help_text=_("The tasks this unit undertakes in the project.")
    )
    budget_share = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("This unit's share of the budget, in 10k yuan."),
    )


class UnitAddSerializer(UnitSharesSerializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(),
        required=False,
        help_text=_("Id of the member organisation; or give its credit_code instead."),
    )
    credit_code = serializers.CharField(
        required=False,
        max_length=18,
        help_text=_("Unified social credit code of the member organisation (registered in the system)."),
    )

    def validate(self, data):
        if ("organization" in data) == bool(data.get("credit_code", "").strip()):
            raise serializers.ValidationError(_("Give either the organisation's id or its credit code."))
        return data


# --- team ---------------------------------------------------------------------------------------------------
class TeamMemberChangeSerializer(serializers.Serializer):
    """A member's row; the person (name and ID number) stays as it is."""

    unit = serializers.PrimaryKeyRelatedField(
        queryset=ProposalUnit.objects.none(), help_text=_("Id of the consortium unit the person works for.")
    )
    # A plain string in the schema: another enum named "role" would collide with the units' and the team's
    # (TeamMemberRoleEnum, UnitRoleEnum). The service checks the value.
    role = serializers.CharField(max_length=10, help_text=_("Role in the project: pi, core or member."))
    months_per_year = serializers.DecimalField(
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal("12"),
        help_text=_("Time share in months per year, 0.5 to 12."),
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=50, help_text=_("Professional title."))
    duty = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text=_("Duty in the project."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        proposal = self.context.get("proposal")
        if proposal is not None:
            self.fields["unit"].queryset = ProposalUnit.objects.filter(proposal=proposal).select_related("organization")


class TeamMemberAddSerializer(TeamMemberChangeSerializer):
    name = serializers.CharField(max_length=50, help_text=_("The person's name, as on the ID card."))
    id_number = serializers.CharField(
        max_length=18,
        help_text=_("Resident ID number (18 characters). A person already on the team is updated, not added twice."),
    )


# --- commitments, milestones, budget (saved as a whole) -------------------------------------------------------
class CommitmentRowSerializer(serializers.Serializer):
    target = serializers.IntegerField(help_text=_("Id of one of the call's targets."))
    value = serializers.DecimalField(max_digits=16, decimal_places=4, help_text=_("The committed value."))
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=300, help_text=_("How the value will be reached.")
    )


class CommitmentsSerializer(serializers.Serializer):
    commitments = CommitmentRowSerializer(
        many=True, help_text=_("Every commitment of the proposal; targets left out have none.")
    )

    def validate_commitments(self, rows):
        targets = [row["target"] for row in rows]
        if len(set(targets)) != len(targets):
            raise serializers.ValidationError(_("Each target can be answered only once."))
        return rows


class CommitmentsResultSerializer(serializers.Serializer):
    commitments = CommitmentSerializer(many=True)


class MilestoneRowSerializer(serializers.Serializer):
    month = serializers.IntegerField(min_value=1, help_text=_("Project month, 1 to the call's period."))
    deliverable = serializers.CharField(max_length=300, help_text=_("Deliverable"))
    verification = serializers.CharField(max_length=300, help_text=_("How it is verified"))


class MilestonesSerializer(serializers.Serializer):
    milestones = MilestoneRowSerializer(many=True, help_text=_("Every milestone of the proposal."))


class MilestonesResultSerializer(serializers.Serializer):
    milestones = MilestoneSerializer(many=True)


class BudgetCellSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=FundingSource.choices, help_text=_("Funding source."))
    category = serializers.CharField(
        max_length=30, help_text=_("Budget category code of the call's programme, e.g. equipment.")
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, help_text=_("Amount in 10k yuan."))


class BudgetSerializer(serializers.Serializer):
    lines = BudgetCellSerializer(many=True, help_text=_("The whole budget: cells left out or zero are removed."))

    def validate_lines(self, lines):
        cells = [(line["source"], line["category"]) for line in lines]
        if len(set(cells)) != len(cells):
            raise serializers.ValidationError(_("Each source and category can appear only once."))
        return lines


class BudgetResultSerializer(serializers.Serializer):
    lines = BudgetLineSerializer(many=True)


# --- attachments --------------------------------------------------------------------------------------------
class AttachmentUploadSerializer(serializers.Serializer):
    # A plain string, as in AttachmentSerializer; proposals.services.add_attachment checks the value.
    kind = serializers.CharField(help_text=_("integrity_pledge, consortium_agreement, matching_funds or other"))
    file = serializers.FileField(help_text=_("The PDF file (its content is checked, not its name)."))


class AttachmentRowSerializer(AttachmentSerializer):
    download_url = serializers.SerializerMethodField(help_text=_("Where the PDF is downloaded."))

    class Meta(AttachmentSerializer.Meta):
        fields = [*AttachmentSerializer.Meta.fields, "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment) -> str:
        url = reverse("proposal-attachment-download", args=[attachment.proposal_id, attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


# --- views ----------------------------------------------------------------------------------------------------
def _pick(items, pk):
    """The item of this proposal with that id (from its loaded content); 404 otherwise."""
    for item in items:
        if item.pk == pk:
            return item
    raise Http404


class ProposalPartViewSet(viewsets.GenericViewSet):
    """One kind of part of the proposal in the URL (proposal_pk)."""

    model = None  # the part's model, for the schema

    def get_proposal(self, *, write: bool = False, content: bool = True):
        """The proposal in the URL: 404 if this user may not see it, 403 (write) if it may not change it.
        content=False when only the permission is needed: lists (rows() queries the part itself),
        saves handed to a service, downloads. Reading one part picks it from the loaded content."""
        return get_proposal_for_user(self.request.user, self.kwargs["proposal_pk"], write=write, content=content)

    def rows(self, proposal):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.rows(self.get_proposal(content=False))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["show_ids"] = rules.has_perm("proposals.view_id_numbers", self.request.user)
        return context

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _answer(self, instance, code=status.HTTP_200_OK):
        return Response(self.get_serializer(instance).data, status=code)


class UnitViewSet(ProposalPartViewSet):
    """The consortium: the lead unit (added when the proposal is started) and member units.
    Member units' applicants confirm their participation with POST /proposals/<id>/confirm/."""

    model = ProposalUnit
    serializer_class = UnitSerializer

    def rows(self, proposal):
        return ProposalUnit.objects.filter(proposal=proposal).select_related("organization").order_by("role", "pk")

    @extend_schema(summary="The consortium's units")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One consortium unit")
    def retrieve(self, request, proposal_pk, pk):
        return self._answer(_pick(self.get_proposal().units.all(), pk))

    @extend_schema(request=UnitAddSerializer, responses={201: UnitSerializer}, summary="Add a member unit")
    def create(self, request, proposal_pk):
        proposal = self.get_proposal(write=True, content=False)
        payload = UnitAddSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        organization = data.get("organization")
        try:
            unit = services.add_member_unit(
                actor=request.user,
                proposal=proposal,
                credit_code=organization.credit_code if organization else data["credit_code"],
                task_share=data.get("task_share", ""),
                budget_share=data.get("budget_share", 0),
            )
        except ValidationError as error:
            if organization and "credit_code" in getattr(error, "error_dict", {}):
                # The client named the organisation by id: report the error on that field.
                raise ValidationError({"organization": error.message_dict["credit_code"]}) from None
            raise
        return self._answer(unit, status.HTTP_201_CREATED)

    @extend_schema(request=UnitSharesSerializer, summary="Change a unit's task and budget share")
    def partial_update(self, request, proposal_pk, pk):
        proposal = self.get_proposal(write=True, content=False)
        unit = _pick(proposal.units.all(), pk)
        payload = UnitSharesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        unit = services.update_unit(
            actor=request.user,
            unit=unit,
            task_share=data.get("task_share", unit.task_share),
            budget_share=data.get("budget_share", unit.budget_share),
        )
        return self._answer(ProposalUnit.objects.select_related("organization").get(pk=unit.pk))

    @extend_schema(responses={204: None}, summary="Remove a member unit (and its team members)")
    def destroy(self, request, proposal_pk, pk):
        proposal = self.get_proposal(write=True, content=False)
        services.remove_unit(actor=request.user, unit=_pick(proposal.units.all(), pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamViewSet(ProposalPartViewSet):
    """The team: the principal investigator and members, each a person identified by ID number.
    Full ID numbers are shown to administrators only; everybody else reads them masked."""

    model = TeamMember
    serializer_class = TeamMemberSerializer

    def rows(self, proposal):
        return TeamMember.objects.filter(proposal=proposal).select_related("person", "unit__organization")

    @extend_schema(summary="The team")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One team member")
    def retrieve(self, request, proposal_pk, pk):
        return self._answer(_pick(self.get_proposal().team.all(), pk))

    def _save(self, request, proposal, *, id_number, name, data):
        return services.set_team_member(
            actor=request.user,
            proposal=proposal,
            id_number=id_number,
            name=name,
            unit=data["unit"],
            role=data["role"],
            months_per_year=data["months_per_year"],
            title=data.get("title", ""),
            duty=data.get("duty", ""),
        )

    @extend_schema(
        request=TeamMemberAddSerializer,
        responses={201: TeamMemberSerializer, 200: TeamMemberSerializer},
        summary="Add a team member (201), or update the row of a person already on the team (200)",
    )
    def create(self, request, proposal_pk):
        proposal = self.get_proposal(write=True, content=False)
        on_team = {member.person_id for member in proposal.team.all()}
        payload = TeamMemberAddSerializer(data=request.data, context={"proposal": proposal})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        member = self._save(request, proposal, id_number=data["id_number"], name=data["name"], data=data)
        return self._answer(member, status.HTTP_200_OK if member.person_id in on_team else status.HTTP_201_CREATED)

    @extend_schema(request=TeamMemberChangeSerializer, summary="Change a team member's row")
    def partial_update(self, request, proposal_pk, pk):
        proposal = self.get_proposal(write=True, content=False)
        member = _pick(proposal.team.all(), pk)
        payload = TeamMemberChangeSerializer(data=request.data, partial=True, context={"proposal": proposal})
        payload.is_valid(raise_exception=True)
        current = {
            "unit": member.unit,
            "role": member.role,
            "months_per_year": member.months_per_year,
            "title": member.title,
            "duty": member.duty,
        }
        # As on the page: the person is kept, so a full ID number never has to be sent back.
        person = member.person
        member = self._save(
            request, proposal, id_number=person.id_number, name=person.name, data=current | payload.validated_data
        )
        return self._answer(member)

    @extend_schema(responses={204: None}, summary="Remove a team member")
    def destroy(self, request, proposal_pk, pk):
        proposal = self.get_proposal(write=True, content=False)
        services.remove_team_member(actor=request.user, member=_pick(proposal.team.all(), pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommitmentViewSet(ProposalPartViewSet):
    """The committed value for each target of the call (考核指标)."""

    model = TargetCommitment
    parser_classes = [JSONParser]  # a list of rows: JSON only
    serializer_class = CommitmentSerializer

    def rows(self, proposal):
        return TargetCommitment.objects.filter(proposal=proposal).select_related("target").order_by("target")

    @extend_schema(summary="The target commitments")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=CommitmentsSerializer,
        responses=CommitmentsResultSerializer,
        summary="Save the target commitments (all of them: targets left out have none)",
    )
    def replace(self, request, proposal_pk):
        proposal = self.get_proposal(write=True, content=False)
        payload = CommitmentsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = {row["target"]: (row["value"], row.get("note", "")) for row in payload.validated_data["commitments"]}
        services.set_commitments(actor=request.user, proposal=proposal, values=values)
        rows = self.get_serializer(self.rows(proposal), many=True).data
        return Response({"commitments": rows})


class MilestoneViewSet(ProposalPartViewSet):
    """Milestones: project month, deliverable and how it is verified."""

    model = Milestone
    parser_classes = [JSONParser]  # a list of rows: JSON only
    serializer_class = MilestoneSerializer

    def rows(self, proposal):
        return Milestone.objects.filter(proposal=proposal)

    @extend_schema(summary="The milestones")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=MilestonesSerializer, responses=MilestonesResultSerializer, summary="Save the milestones (all of them)"
    )
    def replace(self, request, proposal_pk):
        proposal = self.get_proposal(write=True, content=False)
        payload = MilestonesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.set_milestones(
            actor=request.user, proposal=proposal, rows=[dict(row) for row in payload.validated_data["milestones"]]
        )
        return Response({"milestones": self.get_serializer(self.rows(proposal), many=True).data})


class BudgetViewSet(ProposalPartViewSet):
    """The budget in 10k yuan: one line per funding source and category of the programme.
    Totals by source are on the proposal (budget_totals)."""

    model = BudgetLine
    parser_classes = [JSONParser]  # a list of rows: JSON only
    serializer_class = BudgetLineSerializer

    def rows(self, proposal):
        return BudgetLine.objects.filter(proposal=proposal).order_by("pk")

    @extend_schema(summary="The budget lines")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=BudgetSerializer, responses=BudgetResultSerializer, summary="Save the budget (the whole table)"
    )
    def replace(self, request, proposal_pk):
        proposal = self.get_proposal(write=True, content=False)
        payload = BudgetSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        amounts = {(line["source"], line["category"]): line["amount"] for line in payload.validated_data["lines"]}
        services.set_budget(actor=request.user, proposal=proposal, amounts=amounts)
        return Response({"lines": self.get_serializer(self.rows(proposal), many=True).data})


class AttachmentViewSet(ProposalPartViewSet):
    """PDF attachments: integrity pledge, consortium agreement, matching-funds commitment, others."""

    model = Attachment
    serializer_class = AttachmentRowSerializer
    parser_classes = [MultiPartParser, FormParser]

    def rows(self, proposal):
        return Attachment.objects.filter(proposal=proposal, removed_at__isnull=True).order_by("kind", "uploaded_at")

    def get_renderers(self):
        if self.action == "download":
            return [JSONRenderer(), PDFRenderer()]
        return super().get_renderers()

    @extend_schema(summary="The attachments")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One attachment")
    def retrieve(self, request, proposal_pk, pk):
        return self._answer(_pick(self.get_proposal().attachments.all(), pk))

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentRowSerializer},
        summary="Upload a PDF attachment",
    )
    def create(self, request, proposal_pk):
        proposal = self.get_proposal(write=True, content=False)
        payload = AttachmentUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        attachment = services.add_attachment(
            actor=request.user,
            proposal=proposal,
            kind=payload.validated_data["kind"],
            upload=payload.validated_data["file"],
        )
        return self._answer(attachment, status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, summary="Remove an attachment")
    def destroy(self, request, proposal_pk, pk):
        proposal = self.get_proposal(write=True, content=False)
        # Through the proposal's manager (the attachment keeps the proposal); removed ones are not found.
        attachment = _pick(proposal.attachments.filter(removed_at__isnull=True), pk)
        services.remove_attachment(actor=request.user, attachment=attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file."),
        },
        summary="Download an attachment's PDF",
    )
    def download(self, request, proposal_pk, pk):
        # The same check and lookup as the page download (proposals/views/files.py): whoever may read
        # the proposal; removed attachments stay readable for the submission that used them.
        proposal = self.get_proposal(content=False)
        attachment = Attachment.objects.filter(proposal=proposal, pk=pk).first()
        if attachment is None:
            raise Http404
        return serve_private_file(attachment.file, filename=attachment.original_name, content_type="application/pdf")


def part_urls():
    """The routes above, relative to /api/v1/ (config.api.build_urls includes them)."""
    collection = {"get": "list", "post": "create"}
    item = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
    whole = {"get": "list", "put": "replace"}
    base = "proposals/<int:proposal_pk>/"
    return [
        path(f"{base}units/", UnitViewSet.as_view(collection), name="proposal-unit-list"),
        path(f"{base}units/<int:pk>/", UnitViewSet.as_view(item), name="proposal-unit-detail"),
        path(f"{base}team/", TeamViewSet.as_view(collection), name="proposal-team-list"),
        path(f"{base}team/<int:pk>/", TeamViewSet.as_view(item), name="proposal-team-detail"),
        path(f"{base}commitments/", CommitmentViewSet.as_view(whole), name="proposal-commitments"),
        path(f"{base}milestones/", MilestoneViewSet.as_view(whole), name="proposal-milestones"),
        path(f"{base}budget/", BudgetViewSet.as_view(whole), name="proposal-budget"),
        path(f"{base}attachments/", AttachmentViewSet.as_view(collection), name="proposal-attachment-list"),
        path(
            f"{base}attachments/<int:pk>/",
            AttachmentViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
            name="proposal-attachment-detail",
        ),
        path(
            f"{base}attachments/<int:pk>/download/",
            AttachmentViewSet.as_view({"get": "download"}),
            name="proposal-attachment-download",
        ),
    ]
