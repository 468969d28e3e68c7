from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from calls.models import Call
from config.storage import private_storage
from experts.models import Expert


class DrawStatus(models.TextChoices):
    COMMITTED = "committed", _("Commitment published")
    DRAWN = "drawn", _("Drawn")


class Draw(models.Model):
    """A verifiable random draw (随机抽取) of experts for a call.

    1. commit: a secret seed is generated; only its SHA-256 is shown.
    2. draw: the eligible pool is frozen (ids + hash + rule version), experts
       are ranked by HMAC-SHA256(seed, expert id), the seed is revealed.
    Anyone with the pool, the seed and the rule version can recompute it.
    """

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="draws")
    fields = models.JSONField(_("fields drawn from"), default=list)
    panel_size = models.PositiveSmallIntegerField(_("panel size"))
    backups = models.PositiveSmallIntegerField(_("backups"))
    rule_version = models.CharField(_("rule version"), max_length=20)
    commitment = models.CharField(_("commitment (SHA-256 of the seed)"), max_length=64)
    seed = models.CharField(_("seed"), max_length=64)  # secret until drawn
    status = models.CharField(_("status"), max_length=12, choices=DrawStatus.choices, default=DrawStatus.COMMITTED)
    pool = models.JSONField(_("frozen pool (expert ids)"), default=list)
    pool_hash = models.CharField(_("pool hash"), max_length=64, blank=True)
    ranking = models.JSONField(_("ranking (expert ids)"), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    committed_at = models.DateTimeField(_("committed"), auto_now_add=True)
    drawn_at = models.DateTimeField(_("drawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("expert draw")
        verbose_name_plural = _("expert draws")
        ordering = ["-committed_at"]

    def __str__(self):
        return f"{self.call.code} #{self.pk}"

    @property
    def revealed_seed(self) -> str:
        return self.seed if self.status == DrawStatus.DRAWN else ""


class InvitationStatus(models.TextChoices):
    WAITING = "waiting", _("Backup, not invited")
    PENDING = "pending", _("Invited, awaiting answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    NO_SHOW = "no_show", _("No-show")
    CONFLICT = "conflict", _("Withdrawn for a conflict")


class Invitation(models.Model):
    """One ranked place of a draw: panel places are invited at once, backups in order."""

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="invitations")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="invitations")
    rank = models.PositiveIntegerField(_("rank"))
    status = models.CharField(_("status"), max_length=12, choices=InvitationStatus.choices)
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invited_at = models.DateTimeField(_("invited"), null=True, blank=True)
    respond_by = models.DateTimeField(_("answer by"), null=True, blank=True)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    reminded_at = models.DateTimeField(_("last reminder"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["draw", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "rank"], name="invitation_rank_unique"),
            models.UniqueConstraint(fields=["draw", "expert"], name="invitation_expert_unique"),
        ]

    def __str__(self):
        return f"{self.draw} #{self.rank} {self.expert}"


class Assignment(models.Model):
    """An expert reviews a proposal (never a conflicted pair)."""

    proposal = models.ForeignKey("proposals.Proposal", on_delete=models.CASCADE, related_name="assignments")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="assignments")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "expert"], condition=Q(active=True), name="one_active_assignment_per_pair"
            )
        ]

    def __str__(self):
        return f"{self.expert} → {self.proposal_id}"


# --- scoring ------------------------------------------------------------------------------------
class ScoreStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class Score(models.Model):
    """One expert's score sheet for one proposal (through its assignment)."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="score")
    status = models.CharField(_("status"), max_length=10, choices=ScoreStatus.choices, default=ScoreStatus.DRAFT)
    total = models.DecimalField(_("total"), max_digits=6, decimal_places=2, null=True, blank=True)
    comment = models.TextField(_("overall comment"), blank=True)
    veto = models.BooleanField(_("veto item applies"), default=False)
    veto_reason = models.TextField(_("veto reason"), blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")

    def __str__(self):
        return f"{self.assignment} {self.total}"


class ScoreItem(models.Model):
    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="items")
    criterion = models.ForeignKey("calls.RubricCriterion", on_delete=models.PROTECT, related_name="+")
    points = models.DecimalField(_("points"), max_digits=5, decimal_places=2, null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("score item")
        verbose_name_plural = _("score items")
        ordering = ["criterion__order", "criterion_id"]
        constraints = [models.UniqueConstraint(fields=["score", "criterion"], name="score_item_once")]

    def __str__(self):
        return f"{self.criterion_id}: {self.points}"


class Result(models.Model):
    """A proposal's aggregate and rank, fixed when the administrator ranks the call."""

    proposal = models.OneToOneField("proposals.Proposal", on_delete=models.CASCADE, related_name="result")
    count = models.PositiveSmallIntegerField(_("scores"))
    final = models.DecimalField(_("final score"), max_digits=12, decimal_places=6, null=True)
    method = models.CharField(_("method"), max_length=20)
    median = models.DecimalField(_("median"), max_digits=12, decimal_places=6, null=True)
    sd = models.DecimalField(_("standard deviation"), max_digits=12, decimal_places=6, null=True)
    spread = models.DecimalField(_("range"), max_digits=12, decimal_places=6, null=True)
    key_criterion = models.DecimalField(_("key criterion (mean)"), max_digits=12, decimal_places=6, null=True)
    disagreement = models.BooleanField(_("experts disagree"), default=False)
    vetoed = models.BooleanField(_("vetoed"), default=False)
    rank = models.PositiveSmallIntegerField(_("rank"), null=True)
    passed = models.BooleanField(_("above the pass threshold"), default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("result")
        verbose_name_plural = _("results")
        ordering = ["rank"]

    def __str__(self):
        return f"{self.proposal_id}: #{self.rank} {self.final}"


# --- decisions, public notice, objections -------------------------------------------------------
class Holiday(models.Model):
    """Public holidays skipped when notice periods are counted in working days (maintained yearly)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=50)
    working_day = models.BooleanField(
        _("adjusted working day (调休)"), default=False, help_text=_("A weekend day that is worked instead.")
    )

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"


class Recommendation(models.Model):
    """A winner confirmed by the administrator (拟立项), with its fiscal amount."""

    proposal = models.OneToOneField("proposals.Proposal", on_delete=models.CASCADE, related_name="recommendation")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="recommendations")
    fiscal_amount = models.DecimalField(_("fiscal funding (10k yuan)"), max_digits=12, decimal_places=2)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self):
        return f"{self.call.code}: {self.proposal_id}"


class Notice(models.Model):
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="notice")
    starts_on = models.DateField(_("notice starts"))
    ends_on = models.DateField(_("notice ends (inclusive)"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(auto_now_add=True)
    finalised_at = models.DateTimeField(_("finalised"), null=True, blank=True)

    class Meta:
        verbose_name = _("public notice")
        verbose_name_plural = _("public notices")

    def __str__(self):
        return f"{self.call.code} {self.starts_on}–{self.ends_on}"


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("Awaiting handling")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


class Objection(models.Model):
    """A signed, written objection (异议) during the notice period."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="objections")
    proposal = models.ForeignKey(
        "proposals.Proposal", null=True, blank=True, on_delete=models.SET_NULL, related_name="objections"
    )
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    real_name = models.CharField(_("real name"), max_length=50, blank=True)
    unit_name = models.CharField(_("unit"), max_length=200, blank=True)
    seal = models.FileField(
        _("unit's sealed letter (PDF)"), storage=private_storage, upload_to="objections/", blank=True
    )
    text = models.TextField(_("objection"))
    submitted_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN)
    result = models.TextField(_("handling result"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["submitted_at"]

    def __str__(self):
        return f"{self.notice} #{self.pk}"
