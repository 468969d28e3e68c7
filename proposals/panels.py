"""Dashboard panels contributed by the proposals app. Each costs a fixed number of queries."""

from django.db.models import Count, Min

from accounts.dashboard import Panel, register
from accounts.models import Role
from proposals.choices import EDITABLE_STATUSES, ISSUER_VISIBLE_STATUSES, ProposalStatus
from proposals.models import Proposal

TO_CONTINUE_SHOWN = 8


def administrator_context(user) -> dict:
    """Per call, the proposals awaiting formal review (oldest waiting call first)."""
    rows = (
        Proposal.objects.filter(status=ProposalStatus.SUBMITTED)
        .order_by()
        .values("call__code", "call__title")
        .annotate(n=Count("pk"), oldest=Min("submitted_at"))
        .order_by("oldest", "call__code")
    )
    awaiting = [{"code": r["call__code"], "title": r["call__title"], "count": r["n"]} for r in rows]
    return {"awaiting": awaiting, "awaiting_total": sum(r["count"] for r in awaiting)}


def applicant_context(user) -> dict:
    """My organisation's proposals (as lead or member) by status; the lead's drafts and returned ones."""
    counts = dict(
        Proposal.objects.filter(units__organization_id=user.organization_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    to_continue = list(
        Proposal.objects.filter(lead_organization_id=user.organization_id, status__in=EDITABLE_STATUSES)
        .select_related("call")
        .order_by("call__deadline", "pk")[:TO_CONTINUE_SHOWN]
    )
    return {
        "proposal_counts": [(s, counts[s.value]) for s in ProposalStatus if counts.get(s.value)],
        "drafts": [p for p in to_continue if p.status == ProposalStatus.DRAFT],
        "returned": [p for p in to_continue if p.status == ProposalStatus.RETURNED],
    }


def issuer_context(user) -> dict:
    counts = (
        Proposal.objects.filter(call__issuer_id=user.organization_id, status__in=ISSUER_VISIBLE_STATUSES)
        .order_by()
        .aggregate(proposals=Count("pk"), calls=Count("call_id", distinct=True))
    )
    return {"visible_proposals": counts["proposals"], "visible_calls": counts["calls"]}


def register_panels() -> None:
    register(Panel(Role.ADMINISTRATOR, "proposals/review/panels/administrator.html", administrator_context, 6))
    register(Panel(Role.APPLICANT, "proposals/review/panels/applicant.html", applicant_context, 20))
    register(Panel(Role.ISSUER, "proposals/review/panels/issuer.html", issuer_context, 20))
