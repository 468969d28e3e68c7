import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from calls.models import Call, Target
from config.storage import private_storage
from proposals.choices import (
    EDITABLE_STATUSES,
    AttachmentKind,
    FundingSource,
    ProposalStatus,
    TeamRole,
    UnitRole,
)
from proposals.validators import mask_id_number, validate_id_number

MONEY = {"max_digits": 12, "decimal_places": 2}


def attachment_path(instance, filename):
    # The stored name never contains anything the uploader typed.
    return f"proposals/{instance.proposal_id}/{uuid.uuid4().hex}.pdf"


class Person(models.Model):
    """A natural person, identified across proposals by ID number (application limits)."""

    id_number = models.CharField(_("ID number"), max_length=18, unique=True, validators=[validate_id_number])
    name = models.CharField(_("name"), max_length=50)
    blacklisted = models.BooleanField(_("on the misconduct list"), default=False)
    blacklist_reason = models.TextField(_("blacklist reason"), blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self):
        return f"{self.name} ({self.masked_id})"

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)


class ProposalQuerySet(models.QuerySet):
    def with_content(self):
        """Everything a proposal page, the eligibility rules and the snapshot read, in a fixed number
        of queries whatever the number of proposals, units, people and attachments (the lists are
        proposals.content.CONTENT). Units and team members come with their organisations and people
        joined (their models order them); commitments and budget lines in the order they were saved
        (ordered by id), so the snapshot of the same data stays byte-identical. For one proposal,
        proposals.content.load gives the same without compiling the queries again."""
        from proposals import content

        return self.select_related(*content.ROOT_JOINS).prefetch_related(*content.prefetches())

    def visible_to(self, user):
        """Lead and member units' applicants, the call's issuer after formal review, staff.

        Experts see proposals through their assignments (reviews app), never here.
        """
        from proposals.choices import ISSUER_VISIBLE_STATUSES

        if not user.is_authenticated:
            return self.none()
        if user.is_administrator or user.is_supervisor:
            return self.all()
        condition = Q(pk__in=[])
        if user.organization_id and user.is_applicant:
            condition |= Q(units__organization_id=user.organization_id)
        if user.organization_id and user.is_issuer:
            condition |= Q(call__issuer_id=user.organization_id, status__in=ISSUER_VISIBLE_STATUSES)
        return self.filter(condition).distinct()


class Proposal(models.Model):
    """A consortium's bid (揭榜方案) for one call."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="proposals")
    lead_organization = models.ForeignKey(
        Organization, verbose_name=_("lead unit"), on_delete=models.PROTECT, related_name="led_proposals"
    )
    title = models.CharField(_("project title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    technical_route = models.TextField(_("technical route"), blank=True)
    risks = models.TextField(_("risks and countermeasures"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT, db_index=True
    )
    # Eligibility: the latest evaluation (live on drafts, authoritative at submit).
    eligible = models.BooleanField(_("eligible"), null=True, blank=True)
    eligibility = models.JSONField(_("eligibility results"), default=list, blank=True)
    review_reason = models.TextField(_("formal review remarks"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("formal review done"), null=True, blank=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "lead_organization"],
                condition=~Q(status="withdrawn"),
                name="one_live_proposal_per_lead_per_call",
                violation_error_message=_("Your organisation already leads a proposal for this call."),
            )
        ]

    def __str__(self):
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    def budget_totals(self) -> dict:
        """{"fiscal": Decimal, "self": Decimal, "other": Decimal, "total": Decimal}."""
        totals = {source.value: Decimal("0.00") for source in FundingSource}
        for line in self.budget_lines.all():
            totals[line.source] += line.amount
        totals["total"] = sum((totals[s.value] for s in FundingSource), Decimal("0.00"))
        return totals


class ProposalUnit(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="units")
    organization = models.ForeignKey(Organization, verbose_name=_("organisation"), on_delete=models.PROTECT)
    role = models.CharField(_("role"), max_length=10, choices=UnitRole.choices)
    task_share = models.TextField(_("tasks undertaken"), blank=True)
    budget_share = models.DecimalField(
        _("budget share (10k yuan)"), default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY
    )
    confirmed_at = models.DateTimeField(_("participation confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("consortium unit")
        verbose_name_plural = _("consortium units")
        ordering = ["role", "pk"]  # "lead" sorts before "member"
        constraints = [
            models.UniqueConstraint(fields=["proposal", "organization"], name="unit_once_per_proposal"),
            models.UniqueConstraint(fields=["proposal"], condition=Q(role="lead"), name="one_lead_unit"),
        ]

    def __str__(self):
        return f"{self.organization} ({self.get_role_display()})"


class TeamMember(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="team")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    unit = models.ForeignKey(ProposalUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="people")
    role = models.CharField(_("role in the project"), max_length=10, choices=TeamRole.choices)
    title = models.CharField(_("professional title"), max_length=50, blank=True)
    duty = models.CharField(_("duty in the project"), max_length=200, blank=True)
    months_per_year = models.DecimalField(
        _("time share (months per year)"),
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("12"))],
    )

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        # The PI first, then core members, then the rest (not alphabetical by code).
        ordering = [
            models.Case(models.When(role=TeamRole.PI, then=0), models.When(role=TeamRole.CORE, then=1), default=2),
            "pk",
        ]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "person"], name="person_once_per_proposal"),
            models.UniqueConstraint(fields=["proposal"], condition=Q(role="pi"), name="one_pi_per_proposal"),
        ]

    def __str__(self):
        return f"{self.person.name} ({self.get_role_display()})"


class TargetCommitment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="commitments")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(_("committed value"), max_digits=16, decimal_places=4)
    note = models.CharField(_("how it will be reached"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("target commitment")
        verbose_name_plural = _("target commitments")
        # Saved as a whole, in the form's order: read back in that order (the frozen snapshot lists
        # them), never in whatever order the database happens to return.
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["proposal", "target"], name="one_commitment_per_target")]

    def __str__(self):
        return f"{self.target.name}: {format(self.value.normalize(), 'f')}"

    def meets_target(self) -> bool:
        target = self.target
        if target.comparator == ">=":
            return self.value >= target.value
        if target.comparator == "<=":
            return self.value <= target.value
        return self.value == target.value


class Milestone(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="milestones")
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1)])
    deliverable = models.CharField(_("deliverable"), max_length=300)
    verification = models.CharField(_("how it is verified"), max_length=300)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["month", "pk"]

    def __str__(self):
        return f"M{self.month}: {self.deliverable}"


class BudgetLine(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="budget_lines")
    source = models.CharField(_("source"), max_length=10, choices=FundingSource.choices)
    category = models.CharField(_("category"), max_length=30)
    amount = models.DecimalField(_("amount (10k yuan)"), validators=[MinValueValidator(0)], **MONEY)

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        ordering = ["pk"]  # as saved (the snapshot lists them), not as the database happens to return them
        constraints = [
            models.UniqueConstraint(fields=["proposal", "source", "category"], name="one_budget_cell"),
        ]

    def __str__(self):
        return f"{self.get_source_display()} / {self.category}: {self.amount}"


class Attachment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=30, choices=AttachmentKind.choices)
    file = models.FileField(storage=private_storage, upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=120)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Set when taken off a draft whose earlier submission still refers to it.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["kind", "uploaded_at"]

    def __str__(self):
        return self.original_name


class Submission(models.Model):
    """What was submitted, frozen: reviewers score exactly this."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="submissions")
    version = models.PositiveSmallIntegerField()
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    snapshot = models.JSONField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["proposal", "version"], name="submission_version_unique")]

    def __str__(self):
        return f"{self.proposal} v{self.version}"
