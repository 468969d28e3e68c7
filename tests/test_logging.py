"""LOG_FORMAT=json|plain, Celery processes keeping that configuration, and failed tasks logged with their ids.

Formats are checked in fresh processes (settings are read once at start-up), with
the environment an operator would set; no override_settings.
"""

import json
import logging
import os
import subprocess
import sys
import uuid
from datetime import datetime

import pytest

from config.celery import log_task_failure, ping
from exports import builders
from exports import services as export_services
from exports.models import ExportJob, ExportStatus
from exports.tasks import run_export
from tests.conftest import ROOT

PROBE = """
import logging, os, sys
import django
django.setup()
if sys.argv[1:] == ["celery"]:
    from config.celery import app
    app.log.setup(loglevel="WARNING", logfile=os.environ.get("PROBE_LOGFILE") or None)  # as `celery worker` does
logging.getLogger("jiebang.probe").info("导出任务 %s 已完成", 7, extra={"job_id": 7})
logging.getLogger("celery.app.trace").info("Task exports.run[abc] succeeded")
"""


def run_probe(*args, **env):
    drop = {"LOG_FORMAT", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE", "REDIS_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in drop}
    environment.update({"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def json_lines(text: str) -> dict[str, dict]:
    """Every line must be a JSON object; keyed by logger (the probe logs once per logger)."""
    return {record["logger"]: record for record in map(json.loads, filter(str.strip, text.splitlines()))}


def test_json_format_writes_one_json_object_a_line_with_level_logger_message_and_timestamp():
    result = run_probe(LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stderr)  # every line parses, nothing else is written
    probe = records["jiebang.probe"]
    assert probe["level"] == "INFO"
    assert probe["logger"] == "jiebang.probe"
    assert probe["message"] == "导出任务 7 已完成"
    assert probe["job_id"] == 7  # extra fields become keys
    stamp = datetime.fromisoformat(probe["timestamp"])
    assert stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(stamp.tzinfo) - stamp).total_seconds()) < 60
    assert records["celery.app.trace"]["message"] == "Task exports.run[abc] succeeded"


def test_plain_is_the_default_and_other_values_stop_start_up():
    result = run_probe()
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "jiebang.probe" in line]
    assert line.endswith(" INFO jiebang.probe 导出任务 7 已完成")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    refused = run_probe(LOG_FORMAT="xml")
    assert refused.returncode != 0
    assert "LOG_FORMAT='xml' must be one of ['json', 'plain']" in refused.stderr


def test_celery_logging_set_up_keeps_the_django_configuration(tmp_path):
    """What `celery worker` / `celery beat` do at start: they must not replace our handler or level."""
    result = run_probe("celery", LOG_FORMAT="json", LOG_LEVEL="INFO")
    assert result.returncode == 0, result.stderr
    # Celery's loglevel WARNING did not win: LOG_LEVEL=INFO decides, and the lines are still JSON.
    assert {"jiebang.probe", "celery.app.trace"} <= set(json_lines(result.stderr))

    logfile = tmp_path / "worker.log"
    result = run_probe("celery", LOG_FORMAT="json", PROBE_LOGFILE=str(logfile))
    assert result.returncode == 0 and "jiebang.probe" not in result.stderr  # --logfile is honoured ...
    assert json_lines(logfile.read_text(encoding="utf-8"))["jiebang.probe"]["message"] == "导出任务 7 已完成"


# --- failed tasks -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_failed_export_task_is_logged_with_task_name_task_id_and_job_id(administrator, caplog, monkeypatch):
    # A fault outside the build (run_job records build failures on the job itself): the task fails.
    def broken(*args, **kwargs):
        raise RuntimeError("job table unreadable")

    monkeypatch.setattr(export_services, "run_job", broken)
    job = ExportJob.objects.create(kind="formal_review", params={}, requested_by=administrator)
    task_id = f"test-{uuid.uuid4()}"
    with caplog.at_level(logging.ERROR, logger="jiebang.celery"):
        # Celery's own tracer, in this process; throw=False so task_failure is sent as in a worker.
        result = run_export.apply(args=[job.pk], task_id=task_id, throw=False)
    assert result.failed() and "job table unreadable" in str(result.result)
    (failure,) = [r for r in caplog.records if r.name == "jiebang.celery"]
    assert failure.levelno == logging.ERROR
    assert (failure.task_name, failure.task_id, failure.job_id) == ("exports.run", task_id, job.pk)
    message = failure.getMessage()
    assert "exports.run" in message and task_id in message and f"job {job.pk}" in message


@pytest.mark.django_db
def test_an_export_whose_build_fails_is_logged_with_its_job_id(administrator, caplog, monkeypatch):
    def broken_builder(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(builders, "build", broken_builder)
    job = ExportJob.objects.create(kind="formal_review", params={"call": "JB-0000-001"}, requested_by=administrator)
    with caplog.at_level(logging.WARNING):
        result = run_export.apply_async(args=[job.pk]).get()
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and "RuntimeError" in job.error and result["status"] == "failed"
    (failure,) = [r for r in caplog.records if r.name == "jiebang.exports"]
    assert failure.job_id == job.pk and f"export job {job.pk} failed" in failure.getMessage()
    assert failure.exc_info[0] is RuntimeError
    assert not [r for r in caplog.records if r.name == "jiebang.celery"]  # handled: the task itself succeeded


def test_a_task_without_a_job_is_logged_with_its_name_and_id(caplog):
    boom = RuntimeError("boom")
    with caplog.at_level(logging.ERROR, logger="jiebang.celery"):
        log_task_failure(sender=ping, task_id="t-1", exception=boom, args=["x"], kwargs={})
        log_task_failure(sender=run_export, task_id="t-2", exception=boom, args=[], kwargs={"job_id": 9})
    first, second = caplog.records
    assert first.getMessage() == "Task ops.ping[t-1] failed: RuntimeError('boom')" and first.job_id is None
    assert second.getMessage() == "Task exports.run[t-2] failed for job 9: RuntimeError('boom')"
    assert second.job_id == 9
