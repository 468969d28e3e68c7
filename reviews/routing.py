"""Routing proposals to reviewers.

Panel mode (default): every accepted panel member reviews every proposal of
the call except its conflicted pairs; a proposal left with fewer than the
programme's minimum brings in the next backups, in draw order.
Assignment mode (large calls): each proposal gets k reviewers by min-cost flow
(reviews.assignment), with caps, balance, field preference and no two
reviewers from one employer.
"""

from dataclasses import dataclass, field

import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import record
from experts import avoidance
from experts.models import Expert
from proposals.choices import ProposalStatus
from proposals.models import Proposal
from reviews.draw import invite_next_backup
from reviews.models import Assignment, Draw, DrawStatus, Invitation, InvitationStatus

REVIEWABLE = [ProposalStatus.PASSED, ProposalStatus.UNDER_REVIEW]


@dataclass
class RoutingReport:
    proposals: int = 0
    created: int = 0
    ended: int = 0
    short: dict = field(default_factory=dict)  # proposal id → reviewers still missing
    invited: list = field(default_factory=list)  # backup invitation ids


def reviewable_proposals(call):
    return (
        Proposal.objects.filter(call=call, status__in=REVIEWABLE)
        .select_related("call")
        .prefetch_related("call__co_issuers")
    )


def route_panel(*, actor, call) -> RoutingReport:
    """An administrator routes the call's proposals to the panel of its draws (page and API)."""
    if not rules.has_perm("reviews.manage_draw", actor):
        raise PermissionDenied
    if not Draw.objects.filter(call=call, status=DrawStatus.DRAWN).exists():
        raise ValidationError(_("Make a draw before routing proposals to the panel."))
    return reroute_panel(call, actor=actor)


def reroute_panel(call, *, actor=None) -> RoutingReport:
    """Routing itself, also run on behalf of the system after an expert's late conflict."""
    report = RoutingReport()
    proposals = list(reviewable_proposals(call))
    report.proposals = len(proposals)
    draws = Draw.objects.filter(call=call, status=DrawStatus.DRAWN)
    drawn_experts = Expert.objects.filter(invitations__draw__in=draws).distinct()
    avoidance.sync(proposals, experts=drawn_experts)
    blocked = avoidance.blocked_pairs([p.pk for p in proposals])
    accepted = {
        i.expert_id: i
        for i in Invitation.objects.filter(draw__in=draws, status=InvitationStatus.ACCEPTED).order_by("rank")
    }
    minimum = call.programme.min_reviewers
    with transaction.atomic():
        active = Assignment.objects.filter(proposal__in=proposals, active=True)
        # A late conflict ends the assignment: the expert no longer sees that proposal.
        ended = [a.pk for a in active.only("pk", "expert_id", "proposal_id") if (a.expert_id, a.proposal_id) in blocked]
        report.ended = Assignment.objects.filter(pk__in=ended).update(active=False)
        have = set(
            Assignment.objects.filter(proposal__in=proposals, active=True).values_list("expert_id", "proposal_id")
        )
        new = [
            Assignment(proposal=p, expert_id=e, invitation=inv)
            for p in proposals
            for e, inv in accepted.items()
            if (e, p.pk) not in blocked and (e, p.pk) not in have
        ]
        Assignment.objects.bulk_create(new)
        report.created = len(new)
        counts = {p.pk: 0 for p in proposals}
        for _e, pid in Assignment.objects.filter(proposal__in=proposals, active=True).values_list(
            "expert_id", "proposal_id"
        ):
            counts[pid] += 1
        report.short = {pid: minimum - n for pid, n in counts.items() if n < minimum}
        if report.short:
            pending = Invitation.objects.filter(draw__in=draws, status=InvitationStatus.PENDING).count()
            needed = max(report.short.values()) - pending
            for draw in draws.order_by("committed_at"):
                while needed > 0:
                    invitation = invite_next_backup(draw=draw, actor=actor)
                    if invitation is None:
                        break
                    report.invited.append(invitation.pk)
                    needed -= 1
        record(
            actor=actor,
            action="routing.panel",
            object_type="calls.call",
            object_id=call.pk,
            object_repr=str(call),
            after={
                "proposals": report.proposals,
                "created": report.created,
                "ended": report.ended,
                "short": report.short,
                "invited": report.invited,
            },
        )
    return report


def route_assignment(*, actor, call, k) -> RoutingReport:
    """Assignment mode: store the min-cost-flow solution for the call (reviews.assignment).

    Idempotent: active assignments that the solution keeps stay as they are,
    the others are deactivated, missing pairs are created; one audit entry per run.
    Raises reviews.assignment.AssignmentError (nothing stored) when k cannot be met.
    """
    from calls.models import Call
    from reviews.assignment import plan_call

    if not rules.has_perm("reviews.manage_draw", actor):
        raise PermissionDenied
    report = RoutingReport()
    with transaction.atomic():
        # One routing run per call at a time (no-op on SQLite, which serialises writers anyway).
        Call.objects.select_for_update().filter(pk=call.pk).first()
        plan = plan_call(call, k)
        report.proposals = len(plan.problem.proposals)
        wanted = {(e, pid) for pid, experts in plan.solution.items() for e in experts}
        have = {
            (e, pid): pk
            for pk, e, pid in Assignment.objects.filter(
                proposal_id__in=plan.problem.proposals, active=True
            ).values_list("pk", "expert_id", "proposal_id")
        }
        ended = [pk for pair, pk in have.items() if pair not in wanted]
        for start in range(0, len(ended), 5000):
            report.ended += Assignment.objects.filter(pk__in=ended[start : start + 5000]).update(active=False)
        new = [Assignment(proposal_id=pid, expert_id=e) for e, pid in sorted(wanted - have.keys())]
        Assignment.objects.bulk_create(new, batch_size=2000)
        report.created = len(new)
        loads = {}
        for e, _pid in wanted:
            loads[e] = loads.get(e, 0) + 1
        record(
            actor=actor,
            action="routing.assignment",
            object_type="calls.call",
            object_id=call.pk,
            object_repr=str(call),
            after={
                "k": k,
                "proposals": report.proposals,
                "pool": plan.problem.pool,
                "pool_size": len(plan.problem.experts),
                "blocked_pairs": len(plan.problem.blocked),
                "created": report.created,
                "ended": report.ended,
                "kept": len(wanted) - report.created,
                "reviewers": len(loads),
                "max_load": max(loads.values(), default=0),
                "min_load": min(loads.values(), default=0),
            },
        )
    return report
