"""Export jobs (导出任务): one row per requested workbook, its progress and its private file."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.storage import private_storage


class ExportKind(models.TextChoices):
    AWARD_LIST = "award_list", _("Award list (拟立项名单)")
    SCORE_SHEET = "score_sheet", _("Score sheet")
    DRAW_RECORD = "draw_record", _("Draw record")
    FORMAL_REVIEW = "formal_review", _("Formal-review results")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ExportJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Administrators see every job; anybody else only the jobs they requested."""
        if not user.is_authenticated:
            return self.none()
        if user.is_administrator:
            return self.all()
        return self.filter(requested_by=user)

    def expired(self, now):
        return self.filter(Q(expires_at__lte=now), ~Q(status=ExportStatus.EXPIRED))


class ExportJob(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=ExportKind.choices)
    params = models.JSONField(_("parameters"), default=dict)
    # What the parameters point at, for the jobs page (e.g. "JB-2025-007" or "2025 专项").
    label = models.CharField(_("subject"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING, db_index=True
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    # Set only once the complete file has been renamed into place: a partial file is never referenced.
    file = models.FileField(_("file"), storage=private_storage, upload_to="exports/", max_length=200, blank=True)
    filename = models.CharField(_("download name"), max_length=200, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.label} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (ExportStatus.PENDING, ExportStatus.RUNNING)

    @property
    def downloadable(self) -> bool:
        return self.status == ExportStatus.DONE and bool(self.file)

    @property
    def expected_restart(self):
        """When a job still "running" past the task's hard time limit will be started again, or None.

        Only a worker that died mid-build leaves such a job; Redis hands its unacknowledged task to
        another worker once visibility_timeout has passed (checked every unacked_restore_interval).
        """
        from exports.tasks import TIME_LIMIT

        if self.status != ExportStatus.RUNNING or self.started_at is None:
            return None
        if timezone.now() - self.started_at <= timedelta(seconds=TIME_LIMIT):
            return None
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        return self.started_at + timedelta(seconds=options["visibility_timeout"] + options["unacked_restore_interval"])
