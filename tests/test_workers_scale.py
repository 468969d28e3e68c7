"""Scale-out: two Celery workers (nodes a and b) on one queue share a batch of export jobs.

Both workers run as separate processes against the same Redis and this test's
database, with LOG_FORMAT=json, so their logs are read as records: Celery's
"Task … received" (celery.worker.strategy) and "Task … succeeded" (celery.app.trace)
lines carry the task id, and exports.run returns the node that built the job.
"""

import ast
import hashlib
import json
import time
import uuid

import pytest

from config.storage import private_storage
from exports import services
from exports.models import ExportJob, ExportStatus
from tests.test_export_worker import scored_call

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JOBS = 12
ROWS = 2 * 2 * 3 + 2 * 2 + 2  # scored_call(proposals=2, experts=2): score items + scores + proposals


def records(worker, logger: str) -> list[dict]:
    """The JSON log records of one worker written by `logger` for exports.run."""
    found = []
    for line in worker.log_text().splitlines():
        if not line.startswith("{"):
            continue  # Celery's start-up banner is printed, not logged
        record = json.loads(line)
        if record["logger"] == logger and record.get("data", {}).get("name") == "exports.run":
            found.append(record)
    return found


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_two_workers_share_a_batch_of_export_jobs_and_build_each_exactly_once(celery_workers, administrator):
    started = time.monotonic()
    review = scored_call(administrator, proposals=2, experts=2)
    token = uuid.uuid4().hex[:6]
    # A short pause per row keeps each build busy for ~0.4 s, so both workers are fed while the batch lasts.
    workers = celery_workers(f"a-{token}@%h", f"b-{token}@%h", LOG_FORMAT="json", EXPORT_TEST_ROW_DELAY="0.02")
    assert len({w.node for w in workers}) == 2 and len({w.proc.pid for w in workers}) == 2

    jobs = [
        services.request_export(actor=administrator, kind="score_sheet", params={"call": review.call.code})
        for _ in range(JOBS)
    ]
    ids = {job.pk for job in jobs}
    wait_until(
        lambda: ExportJob.objects.filter(pk__in=ids, status=ExportStatus.DONE).count() == JOBS,
        60,
        "every export job to be done",
    )
    # "succeeded" is logged just after the job row is marked done.
    wait_until(lambda: sum(len(records(w, "celery.app.trace")) for w in workers) >= JOBS, 15, "the succeeded log lines")

    # Every job built exactly once, into its own complete file.
    storage = private_storage()
    for job in ExportJob.objects.filter(pk__in=ids):
        assert job.attempts == 1, (job.pk, job.attempts)
        assert job.progress == 100 and job.row_count == ROWS and job.error == ""
        with storage.open(job.file.name, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == job.sha256

    received_ids, built_by = [], {}
    for worker in workers:
        received = records(worker, "celery.worker.strategy")
        succeeded = records(worker, "celery.app.trace")
        assert all(r["level"] == "INFO" and r["timestamp"] for r in received + succeeded)
        # What a worker received, it built: same task ids, one success each.
        assert sorted(r["data"]["id"] for r in received) == sorted(r["data"]["id"] for r in succeeded)
        received_ids += [r["data"]["id"] for r in received]
        for record in succeeded:
            result = ast.literal_eval(record["data"]["return_value"])
            assert result["status"] == ExportStatus.DONE
            assert result["worker"] == worker.node  # the task names the node whose log this is
            assert result["job"] not in built_by, f"job {result['job']} built twice"
            built_by[result["job"]] = worker.node

    assert len(received_ids) == len(set(received_ids)) == JOBS  # no task delivered twice
    assert set(built_by) == ids  # every job built, each by exactly one node
    per_node = {w.node: sum(1 for node in built_by.values() if node == w.node) for w in workers}
    assert all(count >= 1 for count in per_node.values()), per_node  # spread over both workers
    assert sum(per_node.values()) == JOBS
    assert all(w.proc.poll() is None for w in workers)
    assert time.monotonic() - started < 90
