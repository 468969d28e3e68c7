"""Background work of the experts app."""

from celery import shared_task
from django.db import OperationalError


# ignore_result: nobody waits for it (see proposals.tasks.notify_task).
@shared_task(
    name="experts.sync_proposal_conflicts",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def sync_proposal_conflicts(proposal_id: int) -> dict:
    """Recompute the computed conflicts (回避) of one proposal against the whole pool.

    Queued when a proposal is (re)submitted. Idempotent: a later run (or routing, which syncs
    the drawn experts again before it assigns anyone) reaches the same rows.
    """
    from experts import avoidance
    from proposals.models import Proposal

    proposals = Proposal.objects.filter(pk=proposal_id).select_related("call").prefetch_related("call__co_issuers")
    return avoidance.sync(proposals)
