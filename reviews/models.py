from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from calls.models import Call
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
