from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, OrganizationType
from calls.choices import (
    PUBLIC_STATUSES,
    Aggregation,
    AmendmentKind,
    CallStatus,
    Comparator,
    NoticeDayKind,
    SupportMode,
    TechField,
)
from calls.locks import lock_settings_for_change
from calls.rubric import DEFAULT_BANDS, DEFAULT_TEMPLATE, validate_bands, validate_criteria
from config.storage import private_storage

MONEY = {"max_digits": 12, "decimal_places": 2}


def default_budget_categories():
    return [
        {"code": "equipment", "name": "设备费"},
        {"code": "operating", "name": "业务费"},
        {"code": "labour", "name": "劳务费"},
        {"code": "indirect", "name": "间接费用"},
    ]


def default_lead_types():
    return [t.value for t in OrganizationType]


def default_rubric_template():
    return [dict(c) for c in DEFAULT_TEMPLATE]


def default_bands():
    return [dict(b) for b in DEFAULT_BANDS]


class Programme(models.Model):
    """A funding line (专项). Holds every rule that varies between programmes."""

    name = models.CharField(_("name"), max_length=100)
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000)])
    description = models.TextField(_("description"), blank=True)
    # Eligibility
    matching_ratio = models.DecimalField(
        _("minimum self-raised ÷ fiscal ratio"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("2.00"),
        validators=[MinValueValidator(0)],
    )
    min_in_region_share = models.DecimalField(
        _("minimum share of in-region units (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("60.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    in_region_institute_required = models.BooleanField(
        _("at least one in-region research institute required"), default=False
    )
    lead_must_be_in_region = models.BooleanField(_("lead unit must be in-region"), default=True)
    allowed_lead_types = models.JSONField(_("organisation types allowed to lead"), default=default_lead_types)
    max_member_units = models.PositiveSmallIntegerField(
        _("maximum member units"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    pi_active_limit = models.PositiveSmallIntegerField(
        _("active proposals a PI may lead per programme year"), default=1, validators=[MinValueValidator(1)]
    )
    person_proposal_limit = models.PositiveSmallIntegerField(
        _("proposals a person may be on"), default=2, validators=[MinValueValidator(1)]
    )
    # Public notice
    notice_days = models.PositiveSmallIntegerField(
        _("public-notice days"), default=5, validators=[MinValueValidator(1)]
    )
    notice_day_kind = models.CharField(
        _("notice days are"), max_length=10, choices=NoticeDayKind.choices, default=NoticeDayKind.CALENDAR
    )
    # Review
    aggregation = models.CharField(
        _("score aggregation"), max_length=20, choices=Aggregation.choices, default=Aggregation.TRIMMED_MEAN
    )
    trim_threshold = models.PositiveSmallIntegerField(
        _("trim when at least this many scores"), default=5, validators=[MinValueValidator(3)]
    )
    pass_threshold = models.DecimalField(
        _("pass threshold (points)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("60.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    min_reviewers = models.PositiveSmallIntegerField(
        _("minimum reviewers per proposal"), default=5, validators=[MinValueValidator(1)]
    )
    budget_categories = models.JSONField(_("budget categories"), default=default_budget_categories)
    rubric_template = models.JSONField(_("rubric template"), default=default_rubric_template)
    rubric_bands = models.JSONField(_("score bands"), default=default_bands, blank=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["-year", "name"]
        constraints = [models.UniqueConstraint(fields=["name", "year"], name="programme_name_year_unique")]

    def __str__(self):
        return f"{self.year} {self.name}"

    def save(self, *args, **kwargs):
        """A change waits for the submits checking the settings, and holds them off until it commits
        (calls.locks)."""
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            if self.pk is not None:
                lock_settings_for_change(using, self.pk)
            super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        try:
            validate_criteria(self.rubric_template)
        except ValidationError as exc:
            errors["rubric_template"] = exc.messages
        try:
            validate_bands(self.rubric_bands)
        except ValidationError as exc:
            errors["rubric_bands"] = exc.messages
        unknown = set(self.allowed_lead_types or []) - {t.value for t in OrganizationType}
        if unknown or not self.allowed_lead_types:
            errors["allowed_lead_types"] = [_("Choose at least one known organisation type.")]
        categories = self.budget_categories or []
        if not categories or any(not c.get("code") or not c.get("name") for c in categories):
            errors["budget_categories"] = [_("Each budget category needs a code and a name.")]
        if errors:
            raise ValidationError(errors)


def support_label(support_mode: str, max_winners: int) -> str:
    """How a call supports its winners (Call.support_label; also for rows read as plain values)."""
    if support_mode == SupportMode.HORSE_RACE:
        return gettext("Horse race (%(n)d teams)") % {"n": max_winners}
    return gettext("Single winner")


class CallQuerySet(models.QuerySet):
    def public(self):
        return self.filter(status__in=PUBLIC_STATUSES)

    def visible_to(self, user):
        """Public calls for everyone; drafts and pending calls for their issuer and staff."""
        if user.is_authenticated and (user.is_administrator or user.is_supervisor):
            return self.all()
        condition = Q(status__in=PUBLIC_STATUSES)
        if user.is_authenticated and user.is_issuer and user.organization_id:
            condition |= Q(issuer_id=user.organization_id)
        return self.filter(condition)

    def due_for_closing(self, now=None):
        return self.filter(status=CallStatus.PUBLISHED, deadline__lte=now or timezone.now())


class Call(models.Model):
    """A challenge call (榜单)."""

    code = models.CharField(
        _("call code"),
        max_length=32,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$", _("Use capitals, digits and hyphens, e.g. JB-2025-007."))
        ],
    )
    title = models.CharField(_("title"), max_length=200)
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="calls"
    )
    issuer = models.ForeignKey(
        Organization, verbose_name=_("issuer"), on_delete=models.PROTECT, related_name="issued_calls"
    )
    co_issuers = models.ManyToManyField(
        Organization, verbose_name=_("co-issuers"), blank=True, related_name="co_issued_calls"
    )
    field = models.CharField(_("technical field"), max_length=30, choices=TechField.choices)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True, help_text=_("Separate with commas."))
    background = models.TextField(_("background"))
    research_tasks = models.TextField(_("research tasks"))
    period_months = models.PositiveSmallIntegerField(
        _("period (months)"), validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    fiscal_cap = models.DecimalField(_("fiscal funding cap (10k yuan)"), validators=[MinValueValidator(0)], **MONEY)
    issuer_contribution = models.DecimalField(
        _("issuer contribution (10k yuan)"), validators=[MinValueValidator(0)], default=Decimal("0"), **MONEY
    )
    support_mode = models.CharField(
        _("support mode"), max_length=20, choices=SupportMode.choices, default=SupportMode.SINGLE
    )
    max_winners = models.PositiveSmallIntegerField(_("maximum winners"), default=1, validators=[MinValueValidator(1)])
    bidder_conditions = models.TextField(_("conditions for bidders"), blank=True)
    ip_terms = models.TextField(_("intellectual property terms"), blank=True)
    deadline = models.DateTimeField(_("application deadline"))
    bureau_deadline = models.DateTimeField(_("deadline for recommending bureaus"), null=True, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    # Rubric extras (criteria are RubricCriterion rows)
    rubric_bands = models.JSONField(_("score bands"), default=list, blank=True)
    veto_item = models.CharField(
        _("veto item"), max_length=200, blank=True, help_text=_("e.g. 弄虚作假: fails the proposal whatever its score.")
    )
    comment_required = models.BooleanField(_("experts must comment"), default=True)
    # Workflow
    status = models.CharField(
        _("status"), max_length=20, choices=CallStatus.choices, default=CallStatus.DRAFT, db_index=True
    )
    return_reason = models.TextField(_("reason for return"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["deadline", "code"]

    def __str__(self):
        return f"{self.code} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == CallStatus.PUBLISHED and timezone.now() < self.deadline

    @property
    def total_funding(self) -> Decimal:
        return self.fiscal_cap + self.issuer_contribution

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.replace("，", ",").replace("、", ",").split(",") if k.strip()]

    @property
    def support_label(self) -> str:
        return support_label(self.support_mode, self.max_winners)

    def clean(self):
        errors = {}
        if self.support_mode == SupportMode.SINGLE and self.max_winners != 1:
            errors["max_winners"] = [_("A single-winner call has exactly one winner.")]
        if self.support_mode == SupportMode.HORSE_RACE and (self.max_winners or 0) < 2:
            errors["max_winners"] = [_("A horse-race call lets at least 2 teams win.")]
        if self.bureau_deadline and self.deadline and self.bureau_deadline > self.deadline:
            errors["bureau_deadline"] = [_("The bureaus' deadline cannot be after the application deadline.")]
        if self.rubric_bands:
            try:
                validate_bands(self.rubric_bands)
            except ValidationError as exc:
                errors["rubric_bands"] = exc.messages
        if errors:
            raise ValidationError(errors)


class Target(models.Model):
    """A quantified target (考核指标) that every proposal must answer."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="targets")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("target"), max_length=200)
    comparator = models.CharField(
        _("comparison"), max_length=2, choices=Comparator.choices, default=Comparator.AT_LEAST
    )
    value = models.DecimalField(_("target value"), max_digits=16, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["order", "pk"]

    def __str__(self):
        return f"{self.name} {self.get_comparator_display()} {format(self.value.normalize(), 'f')} {self.unit}".strip()


class RubricCriterion(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="criteria")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("criterion"), max_length=200)
    max_points = models.DecimalField(_("maximum points"), max_digits=5, decimal_places=2)
    guidance = models.TextField(_("guidance for experts"), blank=True)

    class Meta:
        verbose_name = _("rubric criterion")
        verbose_name_plural = _("rubric criteria")
        ordering = ["order", "pk"]

    def __str__(self):
        return f"{self.name} ({format(self.max_points.normalize(), 'f')})"


def call_document_path(instance, filename):
    return f"calls/{instance.call_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class CallDocument(models.Model):
    """A PDF attached to a call. Served only through a permission-checked view."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=call_document_path, storage=private_storage)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("call document")
        verbose_name_plural = _("call documents")
        ordering = ["uploaded_at", "pk"]

    def __str__(self):
        return self.title

    @property
    def download_name(self) -> str:
        """The file name a download is served under: the title, ending in .pdf."""
        return self.title if self.title.lower().endswith(".pdf") else f"{self.title}.pdf"


class Amendment(models.Model):
    """A supplementary notice (补充通知) to a published call."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="amendments")
    kind = models.CharField(_("kind"), max_length=20, choices=AmendmentKind.choices)
    text = models.TextField(_("notice text"))
    old_deadline = models.DateTimeField(_("previous deadline"), null=True, blank=True)
    new_deadline = models.DateTimeField(_("new deadline"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)

    class Meta:
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.call.code} {self.get_kind_display()}"
