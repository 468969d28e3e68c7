"""Keep avoidance current: a (re)submitted proposal is checked against the pool."""

import logging

from django.dispatch import receiver
from kombu.exceptions import OperationalError as BrokerError

from config.deferred import after_response
from proposals.signals import proposal_submitted

logger = logging.getLogger(__name__)


@receiver(proposal_submitted)
def recompute_for_proposal(sender, proposal, **kwargs):
    """Sent once the submission has committed. The sync (about ten queries) runs in a Celery task,
    off the applicant's request: nothing between submission and routing needs the rows at once —
    routing and the assignment draw sync the pool again before they assign, and every assignment
    path checks blocked_pairs. Eager Celery (the embedded default, tests) runs it right here."""
    after_response(lambda: _queue_sync(proposal.pk))  # the applicant's answer does not wait for the queuing


def _queue_sync(proposal_id: int) -> None:
    from experts.tasks import sync_proposal_conflicts

    try:
        sync_proposal_conflicts.delay(proposal_id)
    except BrokerError:  # broker unreachable: the submission is committed, so sync in-process
        logger.warning("Broker unreachable; syncing conflicts of proposal %s in-process.", proposal_id)
        sync_proposal_conflicts(proposal_id)
