"""The Celery application.

Tasks take ids, load their rows and call services (see style.md). Without
REDIS_URL every task runs eagerly in the calling process, so the embedded
set-up needs no broker.
"""

import copy
import logging
import logging.config
import os

from celery import Celery
from celery.signals import setup_logging, task_failure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("jiebang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("jiebang.celery")
_eager_announced = False


@setup_logging.connect
def use_django_logging(logfile=None, **kwargs) -> None:
    """Workers and beat log through settings.LOGGING (LOG_LEVEL, LOG_FORMAT), like the web processes.

    With a receiver on this signal Celery leaves the root logger alone (no worker_hijack_root_logger,
    no stdout redirection), so `--loglevel` has no effect: LOG_LEVEL decides. `--logfile` is honoured.
    """
    from django.conf import settings

    config = copy.deepcopy(settings.LOGGING)
    if logfile:
        console = config["handlers"]["console"]
        config["handlers"]["console"] = {
            "class": "logging.FileHandler",
            "filename": logfile,
            "encoding": "utf-8",
            **({"formatter": console["formatter"]} if "formatter" in console else {}),
        }
    logging.config.dictConfig(config)


# Tasks whose first argument is an ExportJob id.
_JOB_TASKS = frozenset({"exports.run"})


def _job_id(name, args, kwargs):
    """The ExportJob a failed task worked on (its `job_id` argument), else None."""
    if kwargs and "job_id" in kwargs:
        return kwargs["job_id"]
    if name in _JOB_TASKS and args:
        return args[0]
    return None


@task_failure.connect
def log_task_failure(sender=None, task_id=None, exception=None, args=None, kwargs=None, **extra) -> None:
    """Every failed task leaves one ERROR line naming the task, its id and the job it worked on."""
    name = getattr(sender, "name", None) or repr(sender)
    job_id = _job_id(name, args, kwargs)
    fields = {"task_name": name, "task_id": task_id, "job_id": job_id}
    if job_id is None:
        logger.error("Task %s[%s] failed: %r", name, task_id, exception, extra=fields)
    else:
        logger.error("Task %s[%s] failed for job %s: %r", name, task_id, job_id, exception, extra=fields)


def announce_mode() -> None:
    """Log once per process that tasks run eagerly, so nobody waits for a worker."""
    global _eager_announced
    if app.conf.task_always_eager and not _eager_announced:
        _eager_announced = True
        logger.info("REDIS_URL is not set: Celery tasks run eagerly in-process.")


@app.task(name="ops.ping")
def ping(payload: str) -> dict:
    """Round-trip check used by operators and tests: proves a worker consumed it."""
    import socket

    return {"payload": payload, "hostname": socket.gethostname(), "pid": os.getpid()}
