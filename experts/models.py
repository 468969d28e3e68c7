from datetime import date

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.validators import validate_credit_code
from calls.choices import TechField
from experts.choices import ConflictReason, ConflictStatus, ExpertType
from proposals.validators import mask_id_number, validate_id_number

# The 3-year rule: a former employer counts for this long after leaving.
FORMER_EMPLOYER_YEARS = 3


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class Expert(models.Model):
    """A registered reviewer in the pool (专家库)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="expert_profile"
    )
    name = models.CharField(_("name"), max_length=50)
    id_number = models.CharField(_("ID number"), max_length=18, unique=True, validators=[validate_id_number])
    title = models.CharField(_("professional title"), max_length=50, blank=True)
    expert_type = models.CharField(_("expert type"), max_length=20, choices=ExpertType.choices)
    fields = models.JSONField(_("technical fields"), default=list, help_text=_("Codes of the fields reviewed."))
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    yearly_cap = models.PositiveSmallIntegerField(_("yearly review cap"), default=10, validators=[MinValueValidator(1)])
    no_show_count = models.PositiveSmallIntegerField(_("no-shows"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("expert")
        verbose_name_plural = _("experts")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def field_labels(self) -> list[str]:
        labels = dict(TechField.choices)
        return [str(labels.get(code, code)) for code in self.fields]

    def employers_within(self, on: date | None = None) -> set[int]:
        """Organisation ids employing the expert now or within FORMER_EMPLOYER_YEARS of ``on``."""
        since = years_before(on or timezone.localdate(), FORMER_EMPLOYER_YEARS)
        return {e.organization_id for e in self.employments.all() if e.ended_on is None or e.ended_on >= since}

    @property
    def current_employment(self):
        return next((e for e in self.employments.all() if e.ended_on is None), None)


class EmploymentQuerySet(models.QuerySet):
    def relevant(self, on: date | None = None):
        since = years_before(on or timezone.localdate(), FORMER_EMPLOYER_YEARS)
        return self.filter(Q(ended_on__isnull=True) | Q(ended_on__gte=since))


class Employment(models.Model):
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="employments")
    organization = models.ForeignKey(Organization, verbose_name=_("employer"), on_delete=models.PROTECT)
    started_on = models.DateField(_("from"), null=True, blank=True)
    ended_on = models.DateField(_("until"), null=True, blank=True, help_text=_("Empty: still employed."))

    objects = EmploymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employment history")
        ordering = ["-started_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["expert"], condition=Q(ended_on__isnull=True), name="one_current_employer")
        ]

    def __str__(self):
        return f"{self.expert} @ {self.organization}"


class AvoidUnit(models.Model):
    """A unit the expert declared it must not review (by credit code; may be unregistered)."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="avoid_units")
    credit_code = models.CharField(_("credit code"), max_length=18, validators=[validate_credit_code])
    name = models.CharField(_("name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("unit to avoid")
        verbose_name_plural = _("units to avoid")
        constraints = [models.UniqueConstraint(fields=["expert", "credit_code"], name="avoid_unit_once")]

    def __str__(self):
        return self.name or self.credit_code


class AvoidPerson(models.Model):
    """A person the expert declared it must not review (by ID number, or by name only)."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="avoid_people")
    name = models.CharField(_("name"), max_length=50)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True, validators=[validate_id_number])

    class Meta:
        verbose_name = _("person to avoid")
        verbose_name_plural = _("people to avoid")

    def __str__(self):
        return self.name


class UnsuitableExpert(models.Model):
    """An expert the applicant asked to keep off its proposal (at most 3)."""

    MAX_PER_PROPOSAL = 3

    proposal = models.ForeignKey("proposals.Proposal", on_delete=models.CASCADE, related_name="unsuitable_experts")
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)

    class Meta:
        verbose_name = _("expert named as unsuitable")
        verbose_name_plural = _("experts named as unsuitable")
        constraints = [models.UniqueConstraint(fields=["proposal", "expert"], name="unsuitable_once")]

    def __str__(self):
        return f"{self.proposal_id}: {self.expert}"


class Conflict(models.Model):
    """One avoidance hit for an expert × proposal, with its reason code.

    Computed hits are refreshed when consortia or employments change; declared
    ones and administrators' decisions on possible (name-only) matches stay.
    """

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="conflicts")
    proposal = models.ForeignKey("proposals.Proposal", on_delete=models.CASCADE, related_name="conflicts")
    reason = models.CharField(_("reason"), max_length=20, choices=ConflictReason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ConflictStatus.choices)
    declared = models.BooleanField(_("declared by the expert"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        constraints = [
            models.UniqueConstraint(fields=["expert", "proposal", "reason"], name="conflict_once_per_reason")
        ]
        indexes = [models.Index(fields=["proposal", "status"])]

    def __str__(self):
        return f"{self.expert} × {self.proposal_id}: {self.get_reason_display()}"

    @property
    def blocks(self) -> bool:
        """Confirmed hits block, and so do possible ones until an administrator dismisses them."""
        return self.status != ConflictStatus.DISMISSED
