"""Dashboard panels contributed by the reviews app. Each costs a fixed number of queries."""

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery

from accounts.dashboard import Panel, register
from accounts.models import Role
from calls.choices import CallStatus
from calls.models import Call
from experts.models import Expert
from reviews.access import assignments_of
from reviews.models import Draw, Invitation, InvitationStatus

SHOWN = 8


def expert_context(user) -> dict:
    """Pending invitations (with links) and the number of proposals assigned (four queries)."""
    expert = Expert.objects.filter(user_id=user.pk).first()
    if expert is None:
        return {"expert": None}
    pending = list(
        Invitation.objects.filter(expert=expert, status=InvitationStatus.PENDING)
        .select_related("draw__call")
        .order_by("respond_by", "pk")
    )
    return {
        "expert": expert,
        "pending_count": len(pending),
        "pending": pending[:SHOWN],
        "assigned_count": len(assignments_of(expert)),
    }


def administrator_context(user) -> dict:
    """Closed calls nobody has drawn experts for yet, and calls whose draws wait for answers (one query)."""
    pending = Invitation.objects.filter(draw__call=OuterRef("pk"), status=InvitationStatus.PENDING)
    rows = list(
        Call.objects.annotate(
            has_draw=Exists(Draw.objects.filter(call=OuterRef("pk"))),
            pending=Subquery(pending.order_by().values("draw__call").annotate(n=Count("pk")).values("n")[:1]),
            waiting_draw=Subquery(pending.order_by("draw__drawn_at", "draw_id").values("draw_id")[:1]),
        )
        .filter(Q(status=CallStatus.CLOSED, has_draw=False) | Q(pending__gt=0))
        .order_by(F("pending").desc(nulls_last=True), "deadline", "code")
        .values("code", "title", "pending", "waiting_draw")[: 2 * SHOWN + 1]
    )
    undrawn = [r for r in rows if not r["pending"]]
    waiting = [r for r in rows if r["pending"]]
    return {
        "undrawn": undrawn[:SHOWN],
        "undrawn_more": len(undrawn) > SHOWN or len(rows) > 2 * SHOWN,
        "waiting": waiting[:SHOWN],
        "waiting_more": len(waiting) > SHOWN,
    }


def register_panels() -> None:
    register(Panel(Role.ADMINISTRATOR, "reviews/panels/administrator.html", administrator_context, 7))
    register(Panel(Role.EXPERT, "reviews/panels/expert.html", expert_context, 5))
