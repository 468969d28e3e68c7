from celery import shared_task

from proposals.notifications import send_proposal_mail


# ignore_result: nobody reads the outcome, and with a result backend every queued task without it
# also costs a round trip to subscribe to its result (celery.backends.redis on_task_call).
@shared_task(name="proposals.notify", autoretry_for=(OSError,), retry_backoff=True, max_retries=5, ignore_result=True)
def notify_task(proposal_id: int, event: str) -> int:
    return send_proposal_mail(proposal_id, event)
