"""Work that can wait until the answer has been sent: queuing background tasks.

Publishing a Celery task costs about a millisecond of the request (kombu builds and sends the
message to Redis); a submit queues two (the e-mail, the avoidance sync), after its commit. Queued
with ``after_response`` they are published when the WSGI server closes the response, which it does
once the last byte is written: the applicant's answer no longer waits for them. Nothing is less
safe than with ``transaction.on_commit`` alone — a process that dies after the commit loses its
queued work either way — and a failed publish is logged instead of turning a committed change into
an error page. Outside a request (shell, Celery worker, tests calling services) the work runs at once.

Only for work whose outcome the answer does not show; keep using on_commit for anything else. The
work runs after Django has closed the request's database connection (request_finished), so work
that reads the database (eager Celery in the embedded default, the avoidance sync's broker-down
fallback) opens one, kept or closed at the start of the next request as DB_CONN_MAX_AGE says.
"""

import logging
import threading

from django.core.signals import request_finished, request_started

logger = logging.getLogger(__name__)
_state = threading.local()  # one request at a time per thread (sync workers, runserver's threads)


def after_response(work) -> None:
    """Run ``work()`` when the current response has been sent, or now when there is no request."""
    pending = getattr(_state, "pending", None)
    if pending is None:
        work()
    else:
        pending.append(work)


def _start(**kwargs) -> None:
    # Work left from a request whose response was never closed (a streamed test response nobody
    # read) runs now rather than being dropped.
    _run(getattr(_state, "pending", None) or [])
    _state.pending = []


def _finish(**kwargs) -> None:
    pending, _state.pending = getattr(_state, "pending", None) or [], None
    _run(pending)


def _run(pending) -> None:
    for work in pending:
        try:
            work()
        except Exception:  # the change is committed and answered; the log is where this can go
            logger.exception("Deferred work %r failed after the response was sent.", work)


request_started.connect(_start, dispatch_uid="config.deferred.start")
request_finished.connect(_finish, dispatch_uid="config.deferred.finish")
