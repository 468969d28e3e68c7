"""gunicorn settings for the web service:  gunicorn -c python:config.gunicorn config.wsgi

Every value can be overridden by the environment (GUNICORN_* below, or gunicorn's own
GUNICORN_CMD_ARGS). Sync workers: the pages are short database-bound requests, and large
private files leave through nginx (PRIVATE_ACCEL_REDIRECT), so no worker waits on a slow client.
"""

import multiprocessing
import os


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} must be an integer.") from None
    if value < minimum:
        raise SystemExit(f"{name}={raw!r} must be at least {minimum}.")
    return value


def default_workers(cpus: int) -> int:
    """gunicorn's rule of thumb, (2 × cores) + 1, capped so a large host does not exhaust PostgreSQL connections."""
    return min(2 * cpus + 1, 17)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", default_workers(multiprocessing.cpu_count()))
# A request that takes longer than this is killed and logged; exports run in Celery, not here.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so slow leaks cannot build up; jitter keeps them from restarting together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = max_requests // 10
# Heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn heartbeat, not data
# nginx on the same host sets X-Forwarded-Proto; trust it only from there.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "jiebang-web"


def post_worker_init(worker):
    """Load the URLconf (every view module, the API and its schema tools) and build the URL
    resolver's reverse tables for each language before the worker takes its first request.
    Otherwise the first request after each start or recycle (max_requests) pays for it: about
    half a second on a small host."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    resolver = get_resolver()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            resolver.reverse_dict  # noqa: B018 - built on first access, per language
