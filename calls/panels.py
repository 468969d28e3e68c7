"""Dashboard panels contributed by the calls app."""

from django.db.models import Count

from accounts.dashboard import Panel, register
from accounts.models import Role
from calls.choices import CallStatus
from calls.models import Call


def issuer_context(user) -> dict:
    calls = Call.objects.filter(issuer_id=user.organization_id)
    counts = dict(calls.order_by().values_list("status").annotate(n=Count("pk")))
    returned = list(calls.filter(status=CallStatus.DRAFT).exclude(return_reason="").values_list("code", "title")[:5])
    return {
        "call_counts": [(s, counts[s.value]) for s in CallStatus if counts.get(s.value)],
        "returned": returned,
    }


def administrator_context(user) -> dict:
    counts = dict(Call.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return {
        "pending_count": counts.get(CallStatus.PENDING, 0),
        "closed_count": counts.get(CallStatus.CLOSED, 0),
        "open_count": counts.get(CallStatus.PUBLISHED, 0),
    }


def register_panels() -> None:
    register(Panel(Role.ISSUER, "calls/panels/issuer.html", issuer_context, 5))
    register(Panel(Role.ADMINISTRATOR, "calls/panels/administrator.html", administrator_context, 5))
