"""The Celery application.

Tasks take ids, load their rows and call services (see style.md). Without
REDIS_URL every task runs eagerly in the calling process, so the embedded
set-up needs no broker.
"""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("jiebang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("jiebang.celery")
_eager_announced = False


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
