"""Helpers for expert review: experts, a call under review with its assignments, scores.

`review_call(administrator, proposals=N, experts=M)` builds a call under review whose N
proposals are each assigned to every one of the M experts (active Assignment rows, no
draw), with a rubric of three criteria (40 / 30 / 30 points, the first one is the key
criterion of the tie-break chain).

- workflow=True: the proposals go the applicant's and the administrator's way
  (complete_proposal → submit_proposal → pass_review, then close_call and
  reviews.decisions.start_review). Needs PRIVATE_MEDIA_ROOT pointed at a temporary
  folder (tests/conftest.py does that for every test).
- workflow=False (default, much faster): proposals, their lead unit and a fiscal budget
  line are created directly in the state start_review leaves them (under review). Use it
  where the test is not about the proposal workflow.

`give_score(assignment, [p1, p2, p3])` fills in and submits a score sheet through
reviews.scoring, as the expert does; `split(total)` spreads a total over the criteria.
"""

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from calls import services as call_services
from calls.choices import CallStatus, SupportMode
from calls.models import Call, Programme, RubricCriterion
from experts.models import Employment, Expert
from proposals import services as proposal_services
from proposals.choices import FundingSource, ProposalStatus, UnitRole
from proposals.models import BudgetLine, Proposal, ProposalUnit
from reviews import decisions, scoring
from reviews.models import Assignment, Draw, DrawStatus, Invitation, InvitationStatus, Score
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import ProgrammeFactory, in_days
from tests.factories_proposals import complete_proposal, new_person_id, open_call, person_name

CRITERIA = (("技术路线先进性与可行性", "40"), ("团队实力与研究基础", "30"), ("经费预算与配套", "30"))

_titles = itertools.count(1)


# --- experts --------------------------------------------------------------------------------------
def make_expert(employer=None, *, name=None, fields=("energy_storage",)) -> Expert:
    """An expert (with its own user) employed by `employer` (a fresh organisation if None)."""
    user = UserFactory(is_expert=True)
    id_number = new_person_id()
    expert = Expert.objects.create(
        user=user,
        name=name or person_name(id_number),
        id_number=id_number,
        expert_type="technical",
        fields=list(fields),
        email=user.email,
    )
    Employment.objects.create(expert=expert, organization=employer or OrganizationFactory())
    return expert


# --- the call under review ------------------------------------------------------------------------
@dataclass
class Review:
    call: Call
    proposals: list[Proposal]
    experts: list[Expert]
    criteria: list[RubricCriterion]
    leads: list[User]  # the lead applicant of each proposal, same order
    assignments: dict = field(default_factory=dict)  # (proposal id, expert id) → Assignment

    @property
    def programme(self) -> Programme:
        return self.call.programme

    def assignment(self, proposal, expert) -> Assignment:
        return self.assignments[(proposal.pk, expert.pk)]

    def assignments_of(self, proposal) -> list[Assignment]:
        """The proposal's assignments, in the order of self.experts."""
        return [self.assignments[(proposal.pk, e.pk)] for e in self.experts]

    def refresh(self) -> "Review":
        self.call.refresh_from_db()
        for proposal in self.proposals:
            proposal.refresh_from_db()
        return self


def add_rubric(call, criteria=CRITERIA) -> list[RubricCriterion]:
    return [
        RubricCriterion.objects.create(call=call, order=order, name=name, max_points=Decimal(points))
        for order, (name, points) in enumerate(criteria)
    ]


def _direct_proposal(call, lead_user, *, fiscal: Decimal, submitted_at) -> Proposal:
    proposal = Proposal.objects.create(
        call=call,
        lead_organization=lead_user.organization,
        title=f"{call.title}揭榜方案{next(_titles)}",
        status=ProposalStatus.UNDER_REVIEW,
        eligible=True,
        created_by=lead_user,
        submitted_at=submitted_at,
        reviewed_at=submitted_at + timedelta(hours=1),
    )
    ProposalUnit.objects.create(proposal=proposal, organization=lead_user.organization, role=UnitRole.LEAD)
    category = call.programme.budget_categories[0]["code"]
    BudgetLine.objects.create(proposal=proposal, source=FundingSource.FISCAL, category=category, amount=fiscal)
    BudgetLine.objects.create(proposal=proposal, source=FundingSource.SELF_RAISED, category=category, amount=fiscal * 2)
    return proposal


def review_call(
    administrator,
    *,
    proposals: int = 2,
    experts: int = 3,
    programme: Programme | None = None,
    workflow: bool = False,
    fiscal: Decimal = Decimal("100"),
    criteria=CRITERIA,
    horse_race: int | None = None,
    **call_fields,
) -> Review:
    """A call under review with `proposals` proposals, each assigned to all `experts` experts.

    horse_race=N makes it a 赛马制 call with at most N winners. Extra keyword arguments
    go to the call (fiscal_cap, comment_required, veto_item, …).
    """
    programme = programme or ProgrammeFactory()
    if horse_race:
        call_fields.update(support_mode=SupportMode.HORSE_RACE, max_winners=horse_race)
    call_fields.setdefault("veto_item", "弄虚作假")
    call = open_call(programme, **call_fields)
    rubric = add_rubric(call, criteria)
    leads = [UserFactory(organization=OrganizationFactory(), is_applicant=True) for _ in range(proposals)]

    if workflow:
        built = []
        for lead in leads:
            draft = complete_proposal(call, lead, fiscal=fiscal, self_raised=fiscal * 2)
            submitted = proposal_services.submit_proposal(actor=lead, proposal=draft)
            built.append(proposal_services.pass_review(actor=administrator, proposal=submitted))
        Call.objects.filter(pk=call.pk).update(deadline=in_days(-1))
        call.refresh_from_db()
        call = call_services.close_call(actor=administrator, call=call)
        call = decisions.start_review(actor=administrator, call=call)
    else:
        Call.objects.filter(pk=call.pk).update(
            deadline=in_days(-1), status=CallStatus.UNDER_REVIEW, closed_at=in_days(-1)
        )
        call.refresh_from_db()
        start = in_days(-10)
        built = [
            _direct_proposal(call, lead, fiscal=fiscal, submitted_at=start + timedelta(minutes=i))
            for i, lead in enumerate(leads)
        ]
    built = [Proposal.objects.get(pk=p.pk) for p in built]

    panel = [make_expert() for _ in range(experts)]
    review = Review(call=call, proposals=built, experts=panel, criteria=rubric, leads=leads)
    for proposal in built:
        for expert in panel:
            review.assignments[(proposal.pk, expert.pk)] = Assignment.objects.create(proposal=proposal, expert=expert)
    return review


def add_draw(review: Review, administrator, *, backups: int = 2) -> tuple[Draw, list[Invitation]]:
    """A made draw whose panel is the review's experts (accepted, ranks 1…M, linked to their
    assignments), followed by `backups` fresh experts waiting in rank order."""
    waiting = [make_expert() for _ in range(backups)]
    ranking = [e.pk for e in review.experts] + [e.pk for e in waiting]
    draw = Draw.objects.create(
        call=review.call,
        fields=[review.call.field],
        panel_size=len(review.experts),
        backups=backups,
        rule_version="draw-v1",
        commitment="0" * 64,
        seed="1" * 64,
        status=DrawStatus.DRAWN,
        pool=sorted(ranking),
        ranking=ranking,
        created_by=administrator,
        drawn_at=timezone.now(),
    )
    now = timezone.now()
    invitations = []
    for rank, expert in enumerate([*review.experts, *waiting], start=1):
        accepted = rank <= len(review.experts)
        invitations.append(
            Invitation.objects.create(
                draw=draw,
                expert=expert,
                rank=rank,
                status=InvitationStatus.ACCEPTED if accepted else InvitationStatus.WAITING,
                invited_at=now if accepted else None,
                responded_at=now if accepted else None,
            )
        )
    for (_pid, expert_id), assignment in review.assignments.items():
        invitation = next(i for i in invitations if i.expert_id == expert_id)
        Assignment.objects.filter(pk=assignment.pk).update(invitation=invitation)
    return draw, invitations


# --- scores ---------------------------------------------------------------------------------------
def split(total, criteria) -> list[Decimal]:
    """Points per criterion adding up to `total`: each criterion filled up in turn."""
    remaining = Decimal(str(total))
    points = []
    for criterion in criteria:
        take = min(remaining, criterion.max_points)
        points.append(take)
        remaining -= take
    if remaining:
        raise ValueError(f"{total} is more than the rubric allows")
    return points


def points_map(criteria, values) -> dict:
    return {c.pk: v for c, v in zip(criteria, values, strict=True)}


def give_score(
    assignment: Assignment,
    values,
    *,
    comment: str = "方案可行，团队较强。",
    veto: bool = False,
    veto_reason: str = "",
    submit: bool = True,
) -> Score:
    """The expert saves `values` (one per criterion, in rubric order) and, with submit, submits."""
    criteria = list(assignment.proposal.call.criteria.order_by("order", "pk"))
    actor = assignment.expert.user
    score = scoring.save_draft(
        actor=actor,
        assignment=assignment,
        points=points_map(criteria, values),
        comment=comment,
        veto=veto,
        veto_reason=veto_reason,
    )
    if submit:
        score = scoring.submit(actor=actor, assignment=assignment)
    return score


def score_totals(review: Review, proposal, totals, **kwargs) -> list[Score]:
    """The proposal's first len(totals) experts submit these totals (spread with split)."""
    assignments = review.assignments_of(proposal)
    if len(totals) > len(assignments):
        raise ValueError("more totals than experts")
    return [give_score(a, split(t, review.criteria), **kwargs) for a, t in zip(assignments, totals, strict=False)]
