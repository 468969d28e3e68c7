"""Requesting, running, retrying and expiring export jobs (one place for each state change).

pending → running → done | failed;  failed → pending (retry);  done → expired (cleanup).
A killed worker leaves a job "running": the broker redelivers its task, which
starts the job again from the beginning (the build is idempotent).
"""

import hashlib
import logging
import os
import tempfile
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from config.storage import is_local, private_storage
from exports import builders
from exports.access import check_request
from exports.models import ExportJob, ExportKind, ExportStatus

logger = logging.getLogger("jiebang.exports")
FOLDER = "exports"
TEMP_PREFIX = ".tmp-"
# Database hiccups are worth retrying; anything else is a fault in the data or the code.
TRANSIENT = (OperationalError, InterfaceError)


def ttl() -> timedelta:
    return timedelta(hours=getattr(settings, "EXPORT_TTL_HOURS", 72))


def _enqueue(job_id: int) -> None:
    from exports.tasks import run_export

    queue = getattr(settings, "EXPORT_QUEUE", None)  # tests route to their private worker
    run_export.apply_async(args=[job_id], **({"queue": queue} if queue else {}))


def _may_see_names(actor) -> bool:
    return actor.has_perm("exports.see_expert_names")


def _checked_subject(actor, kind: str, params: dict) -> builders.Subject:
    """What the parameters name (SubjectMissing if it is gone), if this actor may export it
    (PermissionDenied otherwise): for a request, and again for a retry."""
    subject = builders.resolve(kind, params)
    check_request(actor, kind, subject)
    return subject


def request_export(*, actor, kind: str, params: dict) -> ExportJob:
    """Check the request, record it and queue the build; returns the pending job.

    Raises ValidationError for unknown kinds or parameters (SubjectMissing when
    the call or programme does not exist) and PermissionDenied.
    """
    if kind not in ExportKind.values:
        raise ValidationError(_("Unknown export kind “%(kind)s”.") % {"kind": kind})
    params = dict(params or {})
    if kind == ExportKind.SCORE_SHEET:
        # Decided by who asks, never by what the form says.
        params["names"] = _may_see_names(actor)
    subject = _checked_subject(actor, kind, params)
    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=kind, params=subject.params, label=subject.label, filename=subject.filename, requested_by=actor
        )
        record(actor=actor, action="export.request", obj=job, after={"kind": kind, "params": subject.params})
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def retry_export(*, actor, job: ExportJob) -> ExportJob:
    """A failed (or expired) job starts again with the same parameters, checked again as things
    stand now: SubjectMissing (a ValidationError) if its call or programme is gone, PermissionDenied
    if the actor may no longer request it (an issuer that no longer issues the call, say); a score
    sheet names the experts only if the actor may still see their names."""
    _checked_subject(actor, job.kind, job.params)
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (ExportStatus.FAILED, ExportStatus.EXPIRED):
            raise ValidationError(_("Only a failed or expired export can be run again."))
        before = {"status": job.status, "params": job.params}
        job.status, job.progress, job.error = ExportStatus.PENDING, 0, ""
        # Names off if the actor may not see them; never on: that would put them in another's file.
        if job.params.get("names") and not _may_see_names(actor):
            job.params = {**job.params, "names": False}
        job.save(update_fields=["status", "progress", "error", "params"])
        after = {"status": job.status, "params": job.params}
        record(actor=actor, action="export.retry", obj=job, before=before, after=after)
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _temp_folder() -> str:
    """Temporary files go beside the final file on a local store (so the rename is atomic),
    else to the system's temporary folder before the upload."""
    storage = private_storage()
    return storage.path(FOLDER) if is_local(storage) else tempfile.gettempdir()


def _final_name(job: ExportJob) -> str:
    return f"{FOLDER}/{job.kind}-{job.pk}.xlsx"


def build_file(kind: str, params: dict, out_path: str, *, progress=None) -> int:
    """Build into a temporary file beside out_path and rename it into place: never a partial file."""
    folder = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(folder, exist_ok=True)
    temp = os.path.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}.xlsx")
    try:
        rows = builders.build(kind, params, temp, progress=progress)
        os.replace(temp, out_path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return rows


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_job(job_id: int, *, last_attempt: bool = True) -> ExportJob | None:
    """Build the job's workbook (called by the task). Idempotent: a done job is left alone,
    a job left "running" by a killed worker is built again from the start."""
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or job.status in (ExportStatus.DONE, ExportStatus.EXPIRED):
        return job
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, progress=0, error="", started_at=timezone.now(), attempts=F("attempts") + 1
    )

    total = 0

    def report(rows: int) -> None:
        percent = min(99, rows * 100 // total) if total else 0
        ExportJob.objects.filter(pk=job.pk).update(progress=percent, row_count=rows)

    name = _final_name(job)
    try:
        # Inside the try: a failing count must fail the job too, never leave it "running".
        total = builders.module(job.kind).count(job.params)
        rows, size, sha256 = _build_and_store(job, name, report)
    except TRANSIENT as exc:
        if not last_attempt:
            ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.PENDING, error=str(exc)[:500])
            raise
        return _fail(job, _("The database was unavailable; try again later."), exc)
    except SoftTimeLimitExceeded as exc:
        return _fail(job, _("The export took too long and was stopped."), exc)
    except ValidationError as exc:
        return _fail(job, " ".join(exc.messages), exc)
    except Exception as exc:  # noqa: BLE001 - any other fault: the job records it instead of hanging "running"
        return _fail(job, _("The export failed: %(error)s") % {"error": exc.__class__.__name__}, exc)
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        progress=100,
        row_count=rows,
        file=name,
        size=size,
        sha256=sha256,
        error="",
        finished_at=now,
        expires_at=now + ttl(),
    )
    job.refresh_from_db()
    return job


def _build_and_store(job: ExportJob, name: str, report) -> tuple[int, int, str]:
    """Build the workbook and put it in the private store under `name`: by an atomic rename on a
    local or mounted folder, or by one upload to an S3 bucket (an object appears whole or not at
    all). Returns rows, size and SHA-256."""
    storage = private_storage()
    if is_local(storage):
        path = storage.path(name)
        rows = build_file(job.kind, job.params, path, progress=report)
        return rows, os.path.getsize(path), _sha256(path)
    path = os.path.join(tempfile.gettempdir(), f"{TEMP_PREFIX}{uuid.uuid4().hex}.xlsx")
    try:  # already a private temporary file, uploaded only once complete: no second temp-and-rename
        rows = builders.build(job.kind, job.params, path, progress=report)
        size, digest = os.path.getsize(path), _sha256(path)
        with open(path, "rb") as handle:
            stored = storage.save(name, File(handle))
        if stored != name:  # the bucket must overwrite, or the job would point at an older file
            raise RuntimeError(f"private storage saved {name} as {stored}")
    finally:
        if os.path.exists(path):
            os.remove(path)
    return rows, size, digest


def _fail(job: ExportJob, message: str, exc: BaseException) -> ExportJob:
    logger.warning("export job %s failed: %s", job.pk, message, exc_info=exc, extra={"job_id": job.pk})
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.FAILED, error=message, finished_at=timezone.now(), file=""
    )
    job.refresh_from_db()
    return job


def cleanup(*, now=None, stale_temp: timedelta = timedelta(hours=6)) -> int:
    """Delete the files of expired jobs and mark them expired; remove temporary files left by killed workers."""
    now = now or timezone.now()
    storage = private_storage()
    expired = 0
    for job in ExportJob.objects.expired(now).filter(status__in=[ExportStatus.DONE, ExportStatus.FAILED]):
        if job.file and storage.exists(job.file.name):
            storage.delete(job.file.name)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.EXPIRED, file="")
        expired += 1
    folder = _temp_folder()
    if os.path.isdir(folder):
        oldest = now.timestamp() - stale_temp.total_seconds()
        for entry in os.scandir(folder):  # the name first: no stat() for the finished files
            if entry.name.startswith(TEMP_PREFIX) and entry.stat().st_mtime < oldest:
                os.remove(entry.path)
    return expired
