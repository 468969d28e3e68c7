"""Keep avoidance current: a (re)submitted proposal is checked against the pool."""

from django.dispatch import receiver

from proposals.signals import proposal_submitted


@receiver(proposal_submitted)
def recompute_for_proposal(sender, proposal, **kwargs):
    from experts import avoidance
    from proposals.models import Proposal

    avoidance.sync(Proposal.objects.filter(pk=proposal.pk).select_related("call").prefetch_related("call__co_issuers"))
