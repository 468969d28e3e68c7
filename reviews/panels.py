"""Dashboard panels contributed by the reviews app. Each costs a fixed number of queries."""

from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.dashboard import Panel, register
from accounts.models import Role
from calls.choices import CallStatus
from calls.models import Call
from experts.models import Expert
from proposals.models import Proposal
from reviews.access import assignments_of
from reviews.models import Assignment, Draw, Invitation, InvitationStatus, Objection, ObjectionStatus, ScoreStatus
from reviews.visibility import RESULTS_PUBLISHED

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


# A notice ending within this many days is "ending soon".
ENDING_SOON = timedelta(days=3)


def _count(queryset, path: str):
    """A correlated COUNT(*) of `queryset` rows whose `path` is the outer call."""
    return Subquery(
        queryset.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(n=Count("pk")).values("n")[:1]
    )


def administrator_review_context(user) -> dict:
    """Calls under review with their scoring progress, open notices with their open objections
    (one query: counts are subqueries, so they never multiply each other)."""
    active = Assignment.objects.filter(active=True)
    rows = list(
        Call.objects.filter(
            Q(status=CallStatus.UNDER_REVIEW) | Q(status=CallStatus.IN_NOTICE, notice__finalised_at__isnull=True)
        )
        .annotate(
            assigned=_count(active, "proposal__call"),
            submitted=_count(active.filter(score__status=ScoreStatus.SUBMITTED), "proposal__call"),
            open_objections=_count(Objection.objects.filter(status=ObjectionStatus.OPEN), "notice__call"),
        )
        .order_by("status", "notice__ends_on", "deadline", "code")
        .values("code", "title", "status", "notice__ends_on", "assigned", "submitted", "open_objections")[
            : 2 * SHOWN + 1
        ]
    )
    today = timezone.localdate()
    reviews, notices = [], []
    for row in rows:
        if row["status"] == CallStatus.UNDER_REVIEW:
            assigned, submitted = row["assigned"] or 0, row["submitted"] or 0
            row.update(assigned=assigned, submitted=submitted)
            row["percent"] = round(100 * submitted / assigned) if assigned else 0
            reviews.append(row)
        else:
            ends_on = row["ends_on"] = row["notice__ends_on"]
            row["open_objections"] = row["open_objections"] or 0
            row["over"] = ends_on < today
            row["soon"] = not row["over"] and ends_on <= today + ENDING_SOON
            notices.append(row)
    return {
        "reviews": reviews[:SHOWN],
        "reviews_more": len(reviews) > SHOWN or len(rows) > 2 * SHOWN,
        "notices": notices[:SHOWN],
        "notices_more": len(notices) > SHOWN or len(rows) > 2 * SHOWN,
    }


def applicant_results_context(user) -> dict:
    """My organisation's proposals whose review results are published (one query)."""
    if not user.organization_id:
        return {"results": []}
    results = list(
        Proposal.objects.filter(
            units__organization_id=user.organization_id,
            call__status__in=RESULTS_PUBLISHED,
            result__isnull=False,
        )
        .select_related("call")
        .order_by("-call__closed_at", "call__code", "pk")[: SHOWN + 1]
    )
    return {"results": results[:SHOWN], "results_more": len(results) > SHOWN}


def register_panels() -> None:
    register(Panel(Role.ADMINISTRATOR, "reviews/panels/administrator.html", administrator_context, 7))
    register(Panel(Role.ADMINISTRATOR, "reviews/panels/administrator_review.html", administrator_review_context, 8))
    register(Panel(Role.APPLICANT, "reviews/panels/applicant_results.html", applicant_results_context, 25))
    register(Panel(Role.EXPERT, "reviews/panels/expert.html", expert_context, 5))
