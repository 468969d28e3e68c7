"""Thin tasks: load by id, call the service (see services.run_job)."""

from celery import shared_task

from exports import services

SOFT_TIME_LIMIT = 840  # seconds; the hard limit must stay below the broker's visibility_timeout
TIME_LIMIT = 900
MAX_RETRIES = 5


@shared_task(
    name="exports.run",
    bind=True,
    acks_late=True,  # acknowledged only after the build: a killed worker's job is redelivered
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
    autoretry_for=services.TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def run_export(self, job_id: int) -> dict:
    job = services.run_job(job_id, last_attempt=self.request.retries >= MAX_RETRIES)
    # The node that built it (e.g. "b@host"): shown in the worker's "succeeded" log line and the result.
    return {"job": job_id, "status": getattr(job, "status", None), "worker": self.request.hostname}


@shared_task(name="exports.cleanup")
def cleanup_exports() -> int:
    return services.cleanup()
