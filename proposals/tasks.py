from celery import shared_task

from proposals.notifications import send_proposal_mail


@shared_task(name="proposals.notify", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_task(proposal_id: int, event: str) -> int:
    return send_proposal_mail(proposal_id, event)
