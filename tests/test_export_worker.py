"""Exports through a real Celery worker on Redis: end to end, and a worker killed mid-export.

The kill test runs its workers with a short visibility_timeout
(CELERY_VISIBILITY_TIMEOUT=6, CELERY_UNACKED_RESTORE_INTERVAL=1): Redis hands
the killed worker's unacknowledged task to the next worker after about 6–7 s.
Production keeps 1800 s + 10 s (see config/settings.py).
"""

import io
import os
import signal
import time
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from config.storage import private_storage
from exports import builders, services
from exports.models import ExportJob, ExportStatus
from reviews.models import Result, Score, ScoreItem, ScoreStatus
from tests.factories_reviews import review_call

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def node(role: str) -> str:
    return f"export-{role}-{uuid.uuid4().hex[:6]}@%h"  # unique, should another run share this Redis


def scored_call(administrator, *, proposals: int, experts: int):
    review = review_call(administrator, proposals=proposals, experts=experts)
    for assignment in review.assignments.values():
        score = Score.objects.create(
            assignment=assignment, status=ScoreStatus.SUBMITTED, total=Decimal("75"), submitted_at=timezone.now()
        )
        ScoreItem.objects.bulk_create(
            ScoreItem(score=score, criterion=c, points=Decimal("25"), comment="意见") for c in review.criteria
        )
    for rank, proposal in enumerate(review.proposals, start=1):
        Result.objects.create(proposal=proposal, count=experts, final=Decimal("75"), method="mean", rank=rank)
    return review


def wait_for(job, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if condition(job):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job.pk} stuck: status={job.status} progress={job.progress} error={job.error!r}")


def reference_bytes(job) -> bytes:
    out = io.BytesIO()
    builders.build(job.kind, job.params, out)
    return out.getvalue()


def test_a_worker_builds_an_export_end_to_end(celery_workers, administrator, client_for):
    review = scored_call(administrator, proposals=2, experts=2)
    (worker,) = celery_workers(node("only"))
    job = services.request_export(actor=administrator, kind="score_sheet", params={"call": review.call.code})
    wait_for(job, lambda j: j.status == ExportStatus.DONE, 30)
    assert job.progress == 100 and job.row_count == 2 * 2 * 3 + 4 + 2 and job.attempts == 1
    response = client_for(administrator).get(reverse("exports:download", args=[job.pk]))
    data = b"".join(response.streaming_content)
    assert data == reference_bytes(job)  # the worker's file is the in-process build, byte for byte
    assert worker.proc.poll() is None


def test_a_killed_worker_leaves_no_partial_file_and_the_next_worker_finishes(celery_workers, administrator, client_for):
    started = time.monotonic()
    review = scored_call(administrator, proposals=3, experts=4)  # 36 + 12 + 3 = 51 rows
    short = {"CELERY_VISIBILITY_TIMEOUT": "6", "CELERY_UNACKED_RESTORE_INTERVAL": "1"}
    (slow,) = celery_workers(node("slow"), EXPORT_TEST_ROW_DELAY="0.4", **short)
    job = services.request_export(actor=administrator, kind="score_sheet", params={"call": review.call.code})
    wait_for(job, lambda j: j.status == ExportStatus.RUNNING and j.progress >= 10, 30)
    slow.proc.send_signal(signal.SIGKILL)  # no warm shutdown: the task stays unacknowledged
    slow.proc.wait(timeout=10)

    job.refresh_from_db()
    assert job.status == ExportStatus.RUNNING and 10 <= job.progress < 100 and not job.file
    client = client_for(administrator)
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404
    folder = private_storage().path(services.FOLDER)
    assert [n for n in os.listdir(folder) if not n.startswith(services.TEMP_PREFIX)] == []

    killed_at = time.monotonic()
    celery_workers(node("next"), **short)
    wait_for(job, lambda j: j.status == ExportStatus.DONE, 45)
    recovery = time.monotonic() - killed_at
    assert job.attempts == 2 and job.row_count == 51 and job.progress == 100
    data = b"".join(client.get(reverse("exports:download", args=[job.pk])).streaming_content)
    assert data == reference_bytes(job)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["评分明细"] and book.worksheets[0].max_row == 2 + 51
    assert ExportJob.objects.get(pk=job.pk).file.name.endswith(f"-{job.pk}.xlsx")
    assert recovery < 40, recovery
    assert time.monotonic() - started < 90
