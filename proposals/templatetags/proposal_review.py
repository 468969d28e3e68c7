"""{% formal_review_link call %}: the administrator's way from a call to its formal-review queue."""

from django import template
from django.db.models import Count

from calls.choices import CallStatus
from proposals.choices import ProposalStatus

register = template.Library()

# Proposals can be submitted while a call is published and are reviewed until expert review ends.
REVIEW_CALL_STATUSES = {CallStatus.PUBLISHED, CallStatus.CLOSED, CallStatus.UNDER_REVIEW}


def _awaiting_counts(request) -> dict[int, int]:
    """{call id: submitted proposals}, one query per request however many calls a page lists."""
    counts = getattr(request, "_formal_review_counts", None)
    if counts is None:
        from proposals.models import Proposal

        counts = dict(
            Proposal.objects.filter(status=ProposalStatus.SUBMITTED)
            .order_by()
            .values_list("call_id")
            .annotate(n=Count("pk"))
        )
        request._formal_review_counts = counts
    return counts


@register.inclusion_tag("proposals/review/_queue_link.html", takes_context=True)
def formal_review_link(context, call, block=False):
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or not (user and user.is_authenticated and user.is_administrator):
        return {"show": False}
    if call.status not in REVIEW_CALL_STATUSES:
        return {"show": False}
    return {"show": True, "block": block, "call": call, "count": _awaiting_counts(request).get(call.pk, 0)}
