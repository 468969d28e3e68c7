"""Expert review to award, at the service level: scoring (reviews.scoring) and the
administrator's decisions (reviews.decisions) — rank, winners, public notice, objections,
finalising — checked against domain.md ("Scoring and ranking", "Public notice and objections").

Calls are built with tests.factories_reviews (direct rows where the proposal workflow is not
under test). Messages are checked in English (the source strings).
"""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone, translation

from audit.models import AuditEntry
from calls.choices import CallStatus
from calls.models import Call
from experts.choices import ConflictReason, ConflictStatus
from experts.models import Conflict
from proposals import services as proposal_services
from proposals.choices import ProposalStatus
from proposals.models import Proposal
from reviews import aggregation, decisions, routing, scoring
from reviews.models import (
    Assignment,
    Holiday,
    InvitationStatus,
    Notice,
    Objection,
    ObjectionStatus,
    Recommendation,
    Result,
    Score,
    ScoreItem,
    ScoreStatus,
)
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import ProgrammeFactory
from tests.factories_proposals import PDF_BYTES, complete_proposal, open_call
from tests.factories_reviews import (
    add_draw,
    add_rubric,
    give_score,
    points_map,
    review_call,
    score_totals,
    split,
)

pytestmark = pytest.mark.django_db

NOT_ADMINISTRATORS = ["issuer", "supervisor", "lead_applicant", "assigned_expert"]
SIX_PLACES = D("0.000001")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def review(administrator):
    return review_call(administrator, proposals=2, experts=3)


def messages_of(excinfo) -> str:
    return " ".join(excinfo.value.messages)


def audit(action, obj=None):
    entries = AuditEntry.objects.filter(action=action)
    if obj is not None:
        entries = entries.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return list(entries.order_by("seq"))


def status_of(obj):
    obj.refresh_from_db()
    return obj.status


def ranked_review(administrator, totals_by_proposal, *, experts=3, **kwargs):
    """A review whose proposals got these totals (one list per proposal), then ranked."""
    review = review_call(administrator, proposals=len(totals_by_proposal), experts=experts, **kwargs)
    for proposal, totals in zip(review.proposals, totals_by_proposal, strict=True):
        score_totals(review, proposal, totals)
    decisions.rank_call(actor=administrator, call=review.call)
    return review.refresh()


def in_notice(administrator, review, winners: dict, *, starts_on=None):
    """Confirm {proposal: amount} and open the notice (today unless starts_on)."""
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={p.pk: a for p, a in winners.items()})
    notice = decisions.open_notice(actor=administrator, call=review.call, starts_on=starts_on)
    review.refresh()
    return notice


def end_notice(notice, *, days_ago=1):
    """Move the notice period into the past (what waiting for it to end would do)."""
    today = timezone.localdate()
    Notice.objects.filter(pk=notice.pk).update(
        starts_on=today - timedelta(days=days_ago + 5), ends_on=today - timedelta(days=days_ago)
    )
    notice.refresh_from_db()
    return notice


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


# === scoring.assignment_for_expert ===============================================================
def test_expert_gets_its_own_active_assignment(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    found = scoring.assignment_for_expert(review.experts[0].user, assignment.pk)
    assert found.pk == assignment.pk


def test_another_expert_or_anybody_else_gets_404(review, administrator):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    for user in (review.experts[1].user, administrator, review.leads[0], AnonymousUser()):
        with pytest.raises(Http404):
            scoring.assignment_for_expert(user, assignment.pk)


def test_inactive_assignment_is_404(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    Assignment.objects.filter(pk=assignment.pk).update(active=False)
    with pytest.raises(Http404):
        scoring.assignment_for_expert(review.experts[0].user, assignment.pk)


@pytest.mark.parametrize(
    ("status", "blocks"),
    [(ConflictStatus.CONFIRMED, True), (ConflictStatus.POTENTIAL, True), (ConflictStatus.DISMISSED, False)],
)
def test_a_blocking_conflict_hides_the_assignment(review, status, blocks):
    expert, proposal = review.experts[0], review.proposals[0]
    assignment = review.assignment(proposal, expert)
    Conflict.objects.create(expert=expert, proposal=proposal, reason=ConflictReason.NAME_MATCH, status=status)
    if blocks:
        with pytest.raises(Http404):
            scoring.assignment_for_expert(expert.user, assignment.pk)
    else:
        assert scoring.assignment_for_expert(expert.user, assignment.pk).pk == assignment.pk
    # The expert's other proposal is unaffected.
    other = review.assignment(review.proposals[1], expert)
    assert scoring.assignment_for_expert(expert.user, other.pk).pk == other.pk


# === scoring.save_draft ===========================================================================
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-0.5", "Between 0 and 30 points."),
        ("30.01", "Between 0 and 30 points."),
        ("Infinity", "Enter a number."),
        ("12.345", "At most two decimal places."),
        ("abc", "Enter a number."),
        ("12,5", "Enter a number."),
    ],
)
def test_draft_points_are_validated_per_criterion(review, value, message):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    first, second, third = review.criteria
    with pytest.raises(ValidationError) as excinfo:
        scoring.save_draft(
            actor=review.experts[0].user,
            assignment=assignment,
            points={first.pk: "35", second.pk: value, third.pk: "20"},
            comment="意见",
        )
    assert excinfo.value.message_dict == {f"c{second.pk}": [message]}
    assert not Score.objects.filter(assignment=assignment).exists()  # nothing half-saved


@pytest.mark.parametrize("value", ["NaN", "sNaN"])
def test_not_a_number_is_a_validation_error(review, value):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    criterion = review.criteria[1]
    with pytest.raises(ValidationError) as excinfo:
        scoring.save_draft(actor=review.experts[0].user, assignment=assignment, points={criterion.pk: value})
    assert f"c{criterion.pk}" in excinfo.value.message_dict


def test_a_draft_stores_what_is_there_at_the_boundaries(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    first, second, third = review.criteria
    score = scoring.save_draft(
        actor=review.experts[0].user,
        assignment=assignment,
        points={first.pk: "40", second.pk: D("0"), third.pk: ""},
        comments={first.pk: "  路线清晰  "},
        comment="  初稿  ",
    )
    items = {i.criterion_id: i for i in ScoreItem.objects.filter(score=score)}
    assert items[first.pk].points == D("40") and items[first.pk].comment == "路线清晰"
    assert items[second.pk].points == D("0")
    assert items[third.pk].points is None
    score.refresh_from_db()
    assert score.status == ScoreStatus.DRAFT and score.total is None and score.comment == "初稿"
    # A later draft replaces the values.
    scoring.save_draft(
        actor=review.experts[0].user, assignment=assignment, points=points_map(review.criteria, ["12.5", "30", "0.01"])
    )
    assert [i.points for i in ScoreItem.objects.filter(score=score)] == [D("12.5"), D("30"), D("0.01")]


@pytest.mark.parametrize("status", [CallStatus.CLOSED, CallStatus.IN_NOTICE, CallStatus.AWARDED])
def test_drafts_only_while_the_call_is_under_review(review, status):
    Call.objects.filter(pk=review.call.pk).update(status=status)
    assignment = Assignment.objects.get(pk=review.assignment(review.proposals[0], review.experts[0]).pk)
    with pytest.raises(ValidationError) as excinfo:
        scoring.save_draft(
            actor=review.experts[0].user, assignment=assignment, points=points_map(review.criteria, [30, 20, 20])
        )
    assert "under review" in messages_of(excinfo)


def test_a_submitted_score_is_locked(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    give_score(assignment, [30, 20, 20])
    with pytest.raises(ValidationError) as excinfo:
        scoring.save_draft(
            actor=review.experts[0].user, assignment=assignment, points=points_map(review.criteria, [40, 30, 30])
        )
    assert "locked" in messages_of(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        scoring.submit(actor=review.experts[0].user, assignment=assignment)
    assert "already been submitted" in messages_of(excinfo)
    assert Score.objects.get(assignment=assignment).total == D("70.00")


# === scoring.submit ===============================================================================
def test_submit_names_every_missing_criterion(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    give_score(assignment, [30, None, None], submit=False)
    with pytest.raises(ValidationError) as excinfo:
        scoring.submit(actor=review.experts[0].user, assignment=assignment)
    text = messages_of(excinfo)
    assert review.criteria[1].name in text and review.criteria[2].name in text
    assert review.criteria[0].name not in text
    assert Score.objects.get(assignment=assignment).status == ScoreStatus.DRAFT


def test_submit_without_any_draft_names_all_criteria(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    with pytest.raises(ValidationError) as excinfo:
        scoring.submit(actor=review.experts[0].user, assignment=assignment)
    assert all(c.name in messages_of(excinfo) for c in review.criteria)


def test_comment_required_when_the_call_says_so(administrator):
    review = review_call(administrator, proposals=1, experts=2)
    assert review.call.comment_required
    assignment = review.assignments_of(review.proposals[0])[0]
    give_score(assignment, [30, 20, 20], comment="   ", submit=False)
    with pytest.raises(ValidationError) as excinfo:
        scoring.submit(actor=assignment.expert.user, assignment=assignment)
    assert excinfo.value.messages == ["An overall comment is required."]

    relaxed = review_call(administrator, proposals=1, experts=1, comment_required=False)
    other = relaxed.assignments_of(relaxed.proposals[0])[0]
    assert give_score(other, [30, 20, 20], comment="").status == ScoreStatus.SUBMITTED


def test_a_veto_needs_a_reason(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    give_score(assignment, [30, 20, 20], veto=True, submit=False)
    with pytest.raises(ValidationError) as excinfo:
        scoring.submit(actor=review.experts[0].user, assignment=assignment)
    assert excinfo.value.messages == ["Explain why the veto item applies."]
    give_score(assignment, [30, 20, 20], veto=True, veto_reason="业绩材料弄虚作假", submit=False)
    score = scoring.submit(actor=review.experts[0].user, assignment=assignment)
    score.refresh_from_db()
    assert score.veto and score.veto_reason == "业绩材料弄虚作假" and score.status == ScoreStatus.SUBMITTED


def test_submit_locks_the_exact_decimal_total_and_audits(review):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    before = timezone.now()
    give_score(assignment, ["33.33", "25.25", "20.42"])
    score = Score.objects.get(assignment=assignment)
    assert score.total == D("79.00")
    assert score.status == ScoreStatus.SUBMITTED and score.submitted_at >= before
    (entry,) = audit("score.submit", score)
    assert entry.actor_id == review.experts[0].user.pk
    assert entry.before == {"status": "draft"}
    assert entry.after["status"] == "submitted" and D(entry.after["total"]) == D("79.00")
    assert {k: D(v) for k, v in entry.after["items"].items()} == {
        str(review.criteria[0].pk): D("33.33"),
        str(review.criteria[1].pk): D("25.25"),
        str(review.criteria[2].pk): D("20.42"),
    }


def test_totals_never_go_through_floats(review):
    # 0.1 + 0.2 style sums: in binary floating point these would not add up exactly.
    assignment = review.assignment(review.proposals[0], review.experts[0])
    give_score(assignment, ["39.99", "29.99", "0.03"])
    assert Score.objects.get(assignment=assignment).total == D("70.01")


# === scoring.reopen ===============================================================================
@pytest.mark.parametrize("role", [*NOT_ADMINISTRATORS, "the expert"])
def test_only_administrators_reopen(review, role, request):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    score = give_score(assignment, [30, 20, 20])
    actor = review.experts[0].user if role == "the expert" else request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        scoring.reopen(actor=actor, score=score, reason="打分有误")
    assert status_of(score) == ScoreStatus.SUBMITTED


def test_reopen_needs_a_reason_and_a_submitted_score(review, administrator):
    assignment = review.assignment(review.proposals[0], review.experts[0])
    draft = give_score(assignment, [30, 20, 20], submit=False)
    with pytest.raises(ValidationError) as excinfo:
        scoring.reopen(actor=administrator, score=draft, reason="打分有误")
    assert "Only a submitted score" in messages_of(excinfo)
    score = scoring.submit(actor=review.experts[0].user, assignment=assignment)
    with pytest.raises(ValidationError) as excinfo:
        scoring.reopen(actor=administrator, score=score, reason="   ")
    assert list(excinfo.value.message_dict) == ["reason"]
    assert status_of(score) == ScoreStatus.SUBMITTED and not audit("score.reopen")


def test_reopen_then_the_expert_edits_and_resubmits(review, administrator):
    expert = review.experts[0]
    assignment = review.assignment(review.proposals[0], expert)
    score = give_score(assignment, [30, 20, 20])
    scoring.reopen(actor=administrator, score=score, reason="专家申请更正第二项分数")
    score.refresh_from_db()
    assert score.status == ScoreStatus.DRAFT and score.total is None and score.submitted_at is None
    (entry,) = audit("score.reopen", score)
    assert entry.actor_id == administrator.pk
    assert entry.reason == "专家申请更正第二项分数"
    assert entry.before["status"] == "submitted" and D(entry.before["total"]) == D("70")
    assert entry.after == {"status": "draft"}

    again = scoring.assignment_for_expert(expert.user, assignment.pk)
    give_score(again, [30, 25, 20])
    score.refresh_from_db()
    assert score.status == ScoreStatus.SUBMITTED and score.total == D("75.00")
    assert len(audit("score.submit", score)) == 2


# === scoring.declare_conflict ======================================================================
def test_declaring_a_conflict_while_scoring_withdraws_and_invites_the_next_backup(administrator):
    programme = ProgrammeFactory(min_reviewers=3)
    review = review_call(administrator, proposals=2, experts=3, programme=programme)
    draw, invitations = add_draw(review, administrator, backups=2)
    expert, proposal = review.experts[0], review.proposals[0]
    assignment = review.assignment(proposal, expert)
    give_score(assignment, [30, 20, 20], submit=False)

    scoring.declare_conflict(
        actor=expert.user, assignment=assignment, reason=ConflictReason.TEACHER_STUDENT, detail="项目负责人是我的博士生"
    )

    conflict = Conflict.objects.get(expert=expert, proposal=proposal)
    assert conflict.declared and conflict.status == ConflictStatus.CONFIRMED
    assert conflict.reason == ConflictReason.TEACHER_STUDENT and conflict.detail == "项目负责人是我的博士生"
    assert not Assignment.objects.get(pk=assignment.pk).active
    assert not Assignment.objects.filter(expert=expert, proposal=proposal, active=True).exists()  # not re-routed
    with pytest.raises(Http404):
        scoring.assignment_for_expert(expert.user, assignment.pk)
    # The other proposal stays with the expert.
    other = review.assignment(review.proposals[1], expert)
    assert scoring.assignment_for_expert(expert.user, other.pk).pk == other.pk
    (withdraw,) = audit("assignment.withdraw_for_conflict", assignment)
    assert withdraw.reason == "项目负责人是我的博士生" and withdraw.after["active"] is False
    assert withdraw.after["reason"] == ConflictReason.TEACHER_STUDENT

    # Below programme.min_reviewers: the next backup in draw order is invited, never a redraw.
    first_backup, second_backup = invitations[3], invitations[4]
    first_backup.refresh_from_db()
    second_backup.refresh_from_db()
    assert first_backup.status == InvitationStatus.PENDING and first_backup.invited_at is not None
    assert second_backup.status == InvitationStatus.WAITING
    routed = audit("routing.panel")[-1]
    assert routed.after["short"] == {str(proposal.pk): 1}
    assert routed.after["invited"] == [first_backup.pk]
    assert routed.after["ended"] == 0 and routed.after["created"] == 0


def test_declaring_a_conflict_without_a_draw_still_reroutes_and_reports(review):
    expert, proposal = review.experts[2], review.proposals[1]
    assignment = review.assignment(proposal, expert)
    scoring.declare_conflict(actor=expert.user, assignment=assignment, reason=ConflictReason.COAUTHOR)
    routed = audit("routing.panel")[-1]
    assert routed.after["proposals"] == 2 and routed.after["invited"] == []
    # Default minimum is 5 reviewers: both proposals are short, the conflicted one by one more.
    assert routed.after["short"] == {str(review.proposals[0].pk): 2, str(proposal.pk): 3}


def test_a_withdrawn_expert_neither_holds_up_ranking_nor_counts(review, administrator):
    a, b = review.proposals
    first, second, third = review.experts
    score_totals(review, a, [80, 70])  # the third expert has not scored a yet …
    scoring.declare_conflict(
        actor=third.user, assignment=review.assignment(a, third), reason=ConflictReason.RELATIVE, detail="配偶"
    )
    score_totals(review, b, [90, 60, 75])
    # … and the first one withdraws from b after submitting.
    scoring.declare_conflict(actor=first.user, assignment=review.assignment(b, first), reason=ConflictReason.OTHER)
    assert decisions.progress(review.call) == {a.pk: (2, 2), b.pk: (2, 2)}
    decisions.rank_call(actor=administrator, call=review.call)
    assert Result.objects.get(proposal=a).count == 2 and Result.objects.get(proposal=a).final == D("75")
    assert Result.objects.get(proposal=b).count == 2 and Result.objects.get(proposal=b).final == D("67.5")


# === decisions.compute / rank_call =================================================================
@pytest.mark.parametrize(
    ("method", "threshold", "totals", "used", "final"),
    [
        ("trimmed_mean", 5, ["70", "80", "90"], "mean", D("80")),
        ("trimmed_mean", 5, ["60", "70", "80", "95"], "mean", D("76.25")),
        ("trimmed_mean", 5, ["60", "70", "80", "90", "95"], "trimmed_mean", D("80")),
        ("trimmed_mean", 5, ["55", "61.5", "70", "72.25", "80", "88", "99"], "trimmed_mean", D("74.35")),
        ("mean", 5, ["60", "70", "80", "90", "95"], "mean", D("79")),
        ("mean", 5, ["55", "61.5", "70", "72.25", "80", "88", "99"], "mean", D("525.75") / 7),
        ("trimmed_mean", 3, ["70", "81", "90"], "trimmed_mean", D("81")),
        ("trimmed_mean", 4, ["60", "70", "80", "95"], "trimmed_mean", D("75")),
        ("trimmed_mean", 7, ["55", "61.5", "70", "72.25", "80", "88", "99"], "trimmed_mean", D("74.35")),
    ],
)
def test_results_follow_the_programme_aggregation(administrator, method, threshold, totals, used, final):
    programme = ProgrammeFactory(aggregation=method, trim_threshold=threshold)
    review = review_call(administrator, proposals=1, experts=len(totals), programme=programme)
    (proposal,) = review.proposals
    score_totals(review, proposal, totals)

    expected = aggregation.aggregate([D(t) for t in totals], method=method, trim_threshold=threshold)
    assert expected.method == used and expected.final == final
    (computed,) = decisions.compute(review.call)
    assert computed.entry.aggregate == expected  # exact Decimals, nothing rounded

    decisions.rank_call(actor=administrator, call=review.call)
    result = Result.objects.get(proposal=proposal)
    assert result.count == len(totals) and result.method == used
    assert result.final == final.quantize(SIX_PLACES)
    assert result.median == expected.median.quantize(SIX_PLACES)
    assert result.sd == expected.sd.quantize(SIX_PLACES)
    assert result.spread == expected.spread
    assert result.disagreement == expected.disagreement
    assert result.rank == 1 and result.passed and not result.vetoed
    assert result.key_criterion == (sum(split(t, review.criteria)[0] for t in totals) / len(totals)).quantize(
        SIX_PLACES
    )


def test_a_veto_fails_the_proposal_whatever_its_score(review, administrator):
    best, other = review.proposals
    e1, e2, e3 = review.assignments_of(best)
    give_score(e1, [40, 30, 30])
    give_score(e2, [40, 30, 28])
    give_score(e3, [40, 30, 30], veto=True, veto_reason="伪造检测报告")
    score_totals(review, other, [65, 70, 75])
    decisions.rank_call(actor=administrator, call=review.call)
    vetoed = Result.objects.get(proposal=best)
    assert vetoed.vetoed and vetoed.rank is None and not vetoed.passed
    assert vetoed.final == D("99.333333")  # still computed and shown
    winner = Result.objects.get(proposal=other)
    assert winner.rank == 1 and winner.passed


def test_pass_threshold_is_the_programme_setting(administrator):
    programme = ProgrammeFactory(pass_threshold=D("75"))
    review = ranked_review(administrator, [[75, 75, 75], [74, 75, 75.5]], programme=programme)
    first, second = (Result.objects.get(proposal=p) for p in review.proposals)
    assert first.passed and first.rank == 1
    assert not second.passed and second.rank == 2 and second.final == D("74.833333")


def _tie_scores(review, a_rows, b_rows):
    a, b = review.proposals
    for assignment, row in zip(review.assignments_of(a), a_rows, strict=True):
        give_score(assignment, row)
    for assignment, row in zip(review.assignments_of(b), b_rows, strict=True):
        give_score(assignment, row)


def test_tie_broken_by_median_first(review, administrator):
    earlier, later = review.proposals  # `earlier` also has the better key criterion
    _tie_scores(
        review,
        [[40, 30, 0], [40, 30, 0], [40, 30, 12]],  # 70, 70, 82: mean 74, median 70, key 40
        [[20, 30, 10], [30, 30, 20], [32, 30, 20]],  # 60, 80, 82: mean 74, median 80, key 27.33
    )
    ranked = decisions.rank_call(actor=administrator, call=review.call)
    assert [r.entry.proposal_id for r in ranked] == [later.pk, earlier.pk]
    assert Result.objects.get(proposal=later).final == Result.objects.get(proposal=earlier).final == D("74")
    assert Result.objects.get(proposal=later).rank == 1 and Result.objects.get(proposal=earlier).rank == 2


def test_tie_broken_by_the_key_criterion_next(review, administrator):
    earlier, later = review.proposals
    _tie_scores(
        review,
        [[30, 30, 10], [30, 30, 20], [30, 30, 30]],  # 70, 80, 90, key 30
        [[40, 30, 0], [40, 30, 10], [40, 30, 20]],  # 70, 80, 90, key 40
    )
    decisions.rank_call(actor=administrator, call=review.call)
    assert Result.objects.get(proposal=later).rank == 1
    assert Result.objects.get(proposal=later).key_criterion == D("40")
    assert Result.objects.get(proposal=earlier).rank == 2


def test_tie_broken_by_the_earlier_submission_last(review, administrator):
    first_created, second_created = review.proposals
    now = timezone.now()
    Proposal.objects.filter(pk=first_created.pk).update(submitted_at=now - timedelta(days=3))
    Proposal.objects.filter(pk=second_created.pk).update(submitted_at=now - timedelta(days=5))
    same = [[40, 30, 0], [40, 30, 10], [40, 30, 20]]
    _tie_scores(review, same, same)
    decisions.rank_call(actor=administrator, call=review.call)
    assert Result.objects.get(proposal=second_created).rank == 1  # submitted two days earlier
    assert Result.objects.get(proposal=first_created).rank == 2
    # Swap the submission times: the ranking follows them, not the database order.
    Proposal.objects.filter(pk=first_created.pk).update(submitted_at=now - timedelta(days=6))
    decisions.rank_call(actor=administrator, call=review.call)
    assert Result.objects.get(proposal=first_created).rank == 1


def test_rank_call_waits_for_every_score_unless_allowed(review, administrator):
    a, b = review.proposals
    score_totals(review, a, [80, 70, 75])
    b1, b2, _b3 = review.assignments_of(b)
    give_score(b1, split(90, review.criteria))
    give_score(b2, split(60, review.criteria), submit=False)  # a draft is not a score
    with pytest.raises(ValidationError) as excinfo:
        decisions.rank_call(actor=administrator, call=review.call)
    assert messages_of(excinfo) == "2 score(s) are still missing."
    assert not Result.objects.exists() and not audit("call.rank")
    assert {status_of(p) for p in review.proposals} == {ProposalStatus.UNDER_REVIEW}

    decisions.rank_call(actor=administrator, call=review.call, allow_incomplete=True)
    assert Result.objects.get(proposal=b).count == 1 and Result.objects.get(proposal=b).final == D("90")
    assert Result.objects.get(proposal=b).rank == 1 and Result.objects.get(proposal=a).rank == 2


def test_rank_call_stores_results_moves_proposals_and_audits(administrator):
    review = review_call(administrator, proposals=3, experts=3)
    a, b, unscored = review.proposals
    score_totals(review, a, [70, 72, 74])
    score_totals(review, b, [85, 88, 95.5])
    ranked = decisions.rank_call(actor=administrator, call=review.call, allow_incomplete=True)
    assert [(r.entry.proposal_id, r.rank, r.passed) for r in ranked] == [
        (b.pk, 1, True),
        (a.pk, 2, True),
        (unscored.pk, None, False),
    ]
    assert Result.objects.count() == 3
    empty = Result.objects.get(proposal=unscored)
    assert empty.count == 0 and empty.final is None and empty.method == "none" and empty.rank is None
    assert {status_of(p) for p in review.proposals} == {ProposalStatus.RANKED}
    assert status_of(review.call) == CallStatus.UNDER_REVIEW
    (entry,) = audit("call.rank", review.call)
    (first, second, last) = entry.after["ranking"]
    assert first[:2] == [b.pk, 1] and D(first[2]) == ranked[0].entry.aggregate.final
    assert second[:2] == [a.pk, 2] and D(second[2]) == D("72")
    assert last == [unscored.pk, None, "None"]
    assert len(audit("proposal.rank")) == 3  # one proposal transition each


def test_rank_call_only_under_review(review, administrator):
    Call.objects.filter(pk=review.call.pk).update(status=CallStatus.IN_NOTICE)
    review.call.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        decisions.rank_call(actor=administrator, call=review.call)
    assert "under review" in messages_of(excinfo)


def test_start_review_sends_only_passed_proposals_to_the_experts(issuer_org, administrator, issuer):
    call = open_call(issuer=issuer_org)
    add_rubric(call)
    leads = [UserFactory(organization=OrganizationFactory(), is_applicant=True) for _ in range(3)]
    drafts = [complete_proposal(call, lead) for lead in leads]
    submitted = [
        proposal_services.submit_proposal(actor=lead, proposal=p) for lead, p in zip(leads, drafts, strict=True)
    ]
    proposal_services.pass_review(actor=administrator, proposal=submitted[0])
    proposal_services.pass_review(actor=administrator, proposal=submitted[1])
    proposal_services.reject(actor=administrator, proposal=submitted[2], reason="牵头单位不在区内")
    Call.objects.filter(pk=call.pk).update(status=CallStatus.CLOSED)
    call.refresh_from_db()
    with pytest.raises(PermissionDenied):
        decisions.start_review(actor=issuer, call=call)
    decisions.start_review(actor=administrator, call=call)
    assert status_of(call) == CallStatus.UNDER_REVIEW
    assert [status_of(p) for p in submitted] == [
        ProposalStatus.UNDER_REVIEW,
        ProposalStatus.UNDER_REVIEW,
        ProposalStatus.REJECTED,
    ]
    assert len(audit("call.start_review", call)) == 1


# === decisions.confirm_winners =====================================================================
def test_a_single_winner_call_takes_one(administrator):
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80]])
    first, second = review.proposals
    with pytest.raises(ValidationError) as excinfo:
        decisions.confirm_winners(
            actor=administrator, call=review.call, amounts={first.pk: D("100"), second.pk: D("50")}
        )
    assert messages_of(excinfo) == "This call supports at most 1 winner(s)."
    assert not Recommendation.objects.exists()

    (recommendation,) = decisions.confirm_winners(actor=administrator, call=review.call, amounts={first.pk: D("80")})
    assert recommendation.fiscal_amount == D("80") and recommendation.confirmed_by == administrator
    assert status_of(first) == ProposalStatus.RECOMMENDED
    assert status_of(second) == ProposalStatus.RANKED
    (entry,) = audit("call.confirm_winners", review.call)
    assert entry.after == {"winners": {str(first.pk): "80"}}


def test_a_horse_race_takes_up_to_n(administrator):
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80], [65, 66, 67]], horse_race=2)
    a, b, c = review.proposals
    with pytest.raises(ValidationError) as excinfo:
        decisions.confirm_winners(
            actor=administrator, call=review.call, amounts={a.pk: D("100"), b.pk: D("100"), c.pk: D("100")}
        )
    assert messages_of(excinfo) == "This call supports at most 2 winner(s)."
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={a.pk: D("100"), b.pk: D("90.5")})
    assert [status_of(p) for p in (a, b, c)] == [
        ProposalStatus.RECOMMENDED,
        ProposalStatus.RECOMMENDED,
        ProposalStatus.RANKED,
    ]
    assert {r.proposal_id: r.fiscal_amount for r in Recommendation.objects.all()} == {a.pk: D("100"), b.pk: D("90.5")}


def test_only_ranked_passed_and_not_vetoed_proposals_win(administrator):
    review = review_call(administrator, proposals=3, experts=3, horse_race=3)
    good, weak, vetoed = review.proposals
    score_totals(review, good, [80, 80, 80])
    score_totals(review, weak, [50, 55, 59])
    score_totals(review, vetoed, [90, 90])
    give_score(review.assignment(vetoed, review.experts[2]), [40, 30, 20], veto=True, veto_reason="抄袭")
    decisions.rank_call(actor=administrator, call=review.call)
    stranger = review_call(administrator, proposals=1, experts=1).proposals[0]  # another call's proposal

    for pid in (weak.pk, vetoed.pk, stranger.pk, 999999):
        with pytest.raises(ValidationError) as excinfo:
            decisions.confirm_winners(actor=administrator, call=review.call, amounts={good.pk: D("50"), pid: D("50")})
        assert messages_of(excinfo) == f"Proposal {pid} is not ranked above the pass threshold."
    assert not Recommendation.objects.exists()
    assert status_of(good) == ProposalStatus.RANKED


def test_an_unranked_proposal_cannot_win(review, administrator):
    a, _b = review.proposals
    score_totals(review, a, [80, 80, 80])
    with pytest.raises(ValidationError) as excinfo:
        decisions.confirm_winners(actor=administrator, call=review.call, amounts={a.pk: D("50")})
    assert "not ranked" in messages_of(excinfo)


@pytest.mark.parametrize("amount", [D("0"), D("-10"), D("100.01"), D("150")])
def test_the_amount_is_positive_and_within_the_fiscal_request(administrator, amount):
    review = ranked_review(administrator, [[80, 85, 90]])
    (proposal,) = review.proposals
    with pytest.raises(ValidationError) as excinfo:
        decisions.confirm_winners(actor=administrator, call=review.call, amounts={proposal.pk: amount})
    assert messages_of(excinfo) == (
        f"The amount for “{proposal.title}” must be more than 0 and at most its fiscal request (100.00)."
    )
    assert not Recommendation.objects.exists()
    # The whole request is fine.
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={proposal.pk: D("100.00")})
    assert status_of(proposal) == ProposalStatus.RECOMMENDED


def test_the_total_stays_within_the_call_cap(administrator):
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80]], horse_race=2, fiscal_cap=D("150.00"))
    a, b = review.proposals
    with pytest.raises(ValidationError) as excinfo:
        decisions.confirm_winners(actor=administrator, call=review.call, amounts={a.pk: D("100.00"), b.pk: D("60.00")})
    assert messages_of(excinfo) == "The amounts add up to 160.00, above the call's cap of 150.00."
    assert not Recommendation.objects.exists()
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={a.pk: D("100.00"), b.pk: D("50.00")})
    assert Recommendation.objects.count() == 2


def test_confirming_again_replaces_the_winners(administrator):
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80]], horse_race=2)
    a, b = review.proposals
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={a.pk: D("100")})
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={b.pk: D("80")})
    assert status_of(a) == ProposalStatus.RANKED and status_of(b) == ProposalStatus.RECOMMENDED
    assert list(Recommendation.objects.values_list("proposal_id", "fiscal_amount")) == [(b.pk, D("80"))]
    assert len(audit("proposal.unrecommend", a)) == 1
    # Same winner, new amount: updated in place, status unchanged.
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={b.pk: D("95")})
    assert list(Recommendation.objects.values_list("proposal_id", "fiscal_amount")) == [(b.pk, D("95"))]
    assert status_of(b) == ProposalStatus.RECOMMENDED
    assert len(audit("call.confirm_winners", review.call)) == 3


def test_winners_are_confirmed_only_under_review(administrator):
    review = ranked_review(administrator, [[80, 85, 90]])
    Call.objects.filter(pk=review.call.pk).update(status=CallStatus.CLOSED)
    review.call.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        decisions.confirm_winners(actor=administrator, call=review.call, amounts={review.proposals[0].pk: D("1")})
    assert "under review" in messages_of(excinfo)


# === decisions.open_notice =========================================================================
def test_notice_needs_winners(review, administrator):
    with pytest.raises(ValidationError) as excinfo:
        decisions.open_notice(actor=administrator, call=review.call)
    assert "Confirm the winners first" in messages_of(excinfo)
    assert status_of(review.call) == CallStatus.UNDER_REVIEW and not Notice.objects.exists()


NATIONAL_DAY = [date(2026, 10, d) for d in range(1, 8)]


@pytest.mark.parametrize(
    ("days", "kind", "ends_on"),
    [
        (5, "calendar", date(2026, 10, 4)),  # holidays count as calendar days
        (7, "calendar", date(2026, 10, 6)),
        (1, "working", date(2026, 9, 30)),  # the start day counts
        (3, "working", date(2026, 10, 9)),  # Wed 30th, then Oct 1–7 skipped, Thu 8, Fri 9
        (4, "working", date(2026, 10, 10)),  # Saturday the 10th is an adjusted working day (调休)
        (5, "working", date(2026, 10, 12)),
    ],
)
def test_notice_period_follows_the_programme_and_the_holiday_table(administrator, days, kind, ends_on, monkeypatch):
    # A notice may not start in the past: decide it on the day before, whatever today is.
    monkeypatch.setattr(decisions.timezone, "localdate", lambda *args: date(2026, 9, 29))
    for day in NATIONAL_DAY:
        Holiday.objects.create(date=day, name="国庆节")
    Holiday.objects.create(date=date(2026, 9, 27), name="国庆节调休", working_day=True)
    Holiday.objects.create(date=date(2026, 10, 10), name="国庆节调休", working_day=True)
    programme = ProgrammeFactory(notice_days=days, notice_day_kind=kind)
    review = ranked_review(administrator, [[80, 85, 90]], programme=programme)
    notice = in_notice(administrator, review, {review.proposals[0]: D("100")}, starts_on=date(2026, 9, 30))
    assert (notice.starts_on, notice.ends_on) == (date(2026, 9, 30), ends_on)
    assert review.call.status == CallStatus.IN_NOTICE
    (entry,) = audit("notice.open", notice)
    assert entry.after == {"starts_on": "2026-09-30", "ends_on": ends_on.isoformat()}


def test_a_notice_cannot_start_in_the_past(administrator):
    review = ranked_review(administrator, [[80, 85, 90]])
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={review.proposals[0].pk: D("100")})
    with pytest.raises(ValidationError):
        decisions.open_notice(actor=administrator, call=review.call, starts_on=timezone.localdate() - timedelta(days=1))


def test_notice_starts_today_by_default_and_mails_the_winners(administrator, django_capture_on_commit_callbacks):
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80], [66, 66, 66]], horse_race=2)
    a, b, c = review.proposals
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={a.pk: D("100"), b.pk: D("100")})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notice = decisions.open_notice(actor=administrator, call=review.call)
    assert len(callbacks) == 2
    assert notice.starts_on == timezone.localdate()
    assert notice.ends_on == timezone.localdate() + timedelta(days=4)  # default: 5 calendar days
    assert recipients() == sorted([review.leads[0].email, review.leads[1].email])
    assert all("拟立项" in m.subject for m in mail.outbox)
    assert {m.subject.split("：", 1)[1] for m in mail.outbox} == {a.title, b.title}
    assert review.leads[2].email not in recipients()


def test_notice_only_from_under_review(administrator):
    review = ranked_review(administrator, [[80, 85, 90]])
    in_notice(administrator, review, {review.proposals[0]: D("100")})
    with pytest.raises(ValidationError):
        decisions.open_notice(actor=administrator, call=review.call)
    assert Notice.objects.count() == 1


# === objections ====================================================================================
@pytest.fixture
def notice(administrator):
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80]])
    notice = in_notice(administrator, review, {review.proposals[0]: D("100")})
    notice.review = review
    return notice


def sealed_letter(content=PDF_BYTES, name="盖章异议书.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_a_signed_objection_within_the_period_is_recorded(notice, outsider_applicant):
    winner = notice.review.proposals[0]
    objection = decisions.submit_objection(
        actor=outsider_applicant, notice=notice, text="  牵头单位业绩造假。  ", real_name=" 张三 ", proposal=winner
    )
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.OPEN
    assert (objection.real_name, objection.text, objection.proposal_id) == ("张三", "牵头单位业绩造假。", winner.pk)
    assert objection.submitted_by == outsider_applicant and not objection.seal
    (entry,) = audit("objection.submit", objection)
    assert entry.after == {"real_name": "张三", "unit": "", "proposal": winner.pk}


@pytest.mark.parametrize("real_name", ["", "   "])
def test_anonymous_objections_are_refused(notice, outsider_applicant, real_name):
    with pytest.raises(ValidationError) as excinfo:
        decisions.submit_objection(
            actor=outsider_applicant, notice=notice, text="有问题", real_name=real_name, unit_name="某公司"
        )
    assert "Anonymous objections are not accepted" in messages_of(excinfo)
    assert not Objection.objects.exists()


def test_objections_need_a_logged_in_author(notice):
    with pytest.raises(PermissionDenied):
        decisions.submit_objection(actor=AnonymousUser(), notice=notice, text="有问题", real_name="张三")


def test_objections_need_a_text(notice, outsider_applicant):
    with pytest.raises(ValidationError) as excinfo:
        decisions.submit_objection(actor=outsider_applicant, notice=notice, text="  ", real_name="张三")
    assert list(excinfo.value.message_dict) == ["text"]


def test_objections_before_the_period_are_refused_with_the_dates(administrator, outsider_applicant):
    review = ranked_review(administrator, [[80, 85, 90]])
    start = timezone.localdate() + timedelta(days=3)
    notice = in_notice(administrator, review, {review.proposals[0]: D("100")}, starts_on=start)
    with pytest.raises(ValidationError) as excinfo:
        decisions.submit_objection(actor=outsider_applicant, notice=notice, text="有问题", real_name="张三")
    assert messages_of(excinfo) == (
        f"Objections are accepted only during the notice period ({start} to {start + timedelta(days=4)})."
    )


def test_late_objections_are_refused_with_the_dates(notice, outsider_applicant):
    end_notice(notice)
    with pytest.raises(ValidationError) as excinfo:
        decisions.submit_objection(actor=outsider_applicant, notice=notice, text="有问题", real_name="张三")
    assert str(notice.starts_on) in messages_of(excinfo) and str(notice.ends_on) in messages_of(excinfo)
    assert not Objection.objects.exists()


def test_the_last_day_still_counts(notice, outsider_applicant):
    Notice.objects.filter(pk=notice.pk).update(ends_on=timezone.localdate())
    notice.refresh_from_db()
    decisions.submit_objection(actor=outsider_applicant, notice=notice, text="有问题", real_name="张三")
    assert Objection.objects.count() == 1


def test_a_unit_sealed_pdf_replaces_the_real_name(notice, outsider_applicant):
    objection = decisions.submit_objection(
        actor=outsider_applicant,
        notice=notice,
        text="联合体协议未盖章。",
        unit_name="无关单位有限公司",
        seal=sealed_letter(),
    )
    objection.refresh_from_db()
    assert objection.real_name == "" and objection.unit_name == "无关单位有限公司"
    with objection.seal.open("rb") as stored:
        assert stored.read() == PDF_BYTES


def test_a_seal_needs_the_unit_name(notice, outsider_applicant):
    with pytest.raises(ValidationError) as excinfo:
        decisions.submit_objection(actor=outsider_applicant, notice=notice, text="有问题", seal=sealed_letter())
    assert list(excinfo.value.message_dict) == ["seal"]


@pytest.mark.parametrize(
    "content", [b"\x89PNG\r\n\x1a\n" + b"\0" * 64, b"just text, not a letter", b"PK\x03\x04" + b"\0" * 64]
)
def test_a_seal_that_is_not_a_pdf_is_refused(notice, outsider_applicant, content):
    with pytest.raises(ValidationError) as excinfo:
        decisions.submit_objection(
            actor=outsider_applicant,
            notice=notice,
            text="有问题",
            real_name="张三",
            unit_name="无关单位有限公司",
            seal=sealed_letter(content, name="letter.pdf"),
        )
    assert list(excinfo.value.message_dict) == ["seal"]
    assert not Objection.objects.exists()


def test_handling_an_objection(notice, outsider_applicant, administrator):
    objection = decisions.submit_objection(actor=outsider_applicant, notice=notice, text="有问题", real_name="张三")
    with pytest.raises(ValidationError) as excinfo:
        decisions.handle_objection(actor=administrator, objection=objection, upheld=False, result="  ")
    assert list(excinfo.value.message_dict) == ["result"]
    assert status_of(objection) == ObjectionStatus.OPEN

    decisions.handle_objection(actor=administrator, objection=objection, upheld=True, result="经核查属实")
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.UPHELD and objection.result == "经核查属实"
    assert objection.handled_by == administrator and objection.handled_at is not None
    (entry,) = audit("objection.handle", objection)
    assert entry.reason == "经核查属实"
    assert entry.before == {"status": "open"} and entry.after == {"status": "upheld"}


# === decisions.finalise / fail_without_winner ======================================================
def test_finalise_waits_for_the_end_of_the_period(notice, administrator):
    call = notice.review.call
    with pytest.raises(ValidationError) as excinfo:
        decisions.finalise(actor=administrator, call=call)
    assert messages_of(excinfo) == f"The notice period runs until {notice.ends_on}."
    Notice.objects.filter(pk=notice.pk).update(ends_on=timezone.localdate())  # the last day itself
    with pytest.raises(ValidationError):
        decisions.finalise(actor=administrator, call=call)
    assert status_of(call) == CallStatus.IN_NOTICE


def test_finalise_only_for_a_call_in_notice(review, administrator):
    with pytest.raises(ValidationError) as excinfo:
        decisions.finalise(actor=administrator, call=review.call)
    assert "not in public notice" in messages_of(excinfo)


def test_finalise_waits_for_every_objection(notice, administrator, outsider_applicant):
    call, (winner, _other) = notice.review.call, notice.review.proposals
    objection = decisions.submit_objection(
        actor=outsider_applicant, notice=notice, text="有问题", real_name="张三", proposal=winner
    )
    end_notice(notice)
    with pytest.raises(ValidationError) as excinfo:
        decisions.finalise(actor=administrator, call=call)
    assert messages_of(excinfo) == "Every objection needs a recorded result first."
    decisions.handle_objection(actor=administrator, objection=objection, upheld=False, result="经核查不属实")
    assert decisions.finalise(actor=administrator, call=call) == "awarded"


def test_an_upheld_objection_against_a_winner_blocks_finalising(notice, administrator, outsider_applicant):
    call, (winner, _other) = notice.review.call, notice.review.proposals
    objection = decisions.submit_objection(
        actor=outsider_applicant, notice=notice, text="业绩造假", real_name="张三", proposal=winner
    )
    decisions.handle_objection(actor=administrator, objection=objection, upheld=True, result="经核查属实")
    end_notice(notice)
    with pytest.raises(ValidationError) as excinfo:
        decisions.finalise(actor=administrator, call=call)
    assert "was upheld" in messages_of(excinfo)
    assert status_of(call) == CallStatus.IN_NOTICE and status_of(winner) == ProposalStatus.RECOMMENDED


def test_an_upheld_objection_against_a_non_winner_does_not_block(notice, administrator, outsider_applicant):
    call, (_winner, other) = notice.review.call, notice.review.proposals
    objection = decisions.submit_objection(
        actor=outsider_applicant, notice=notice, text="有问题", real_name="张三", proposal=other
    )
    decisions.handle_objection(actor=administrator, objection=objection, upheld=True, result="属实，但不影响立项")
    end_notice(notice)
    assert decisions.finalise(actor=administrator, call=call) == "awarded"


def test_finalise_awards_the_winners_and_tells_everybody(administrator, django_capture_on_commit_callbacks):
    review = review_call(administrator, proposals=3, experts=3, horse_race=2)
    winner, runner_up, vetoed = review.proposals
    score_totals(review, winner, [80, 85, 90])
    score_totals(review, runner_up, [70, 72, 74])
    score_totals(review, vetoed, [90, 90])
    give_score(review.assignment(vetoed, review.experts[2]), [40, 30, 20], veto=True, veto_reason="抄袭")
    decisions.rank_call(actor=administrator, call=review.call)
    notice = in_notice(administrator, review, {winner: D("100")})
    end_notice(notice)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = decisions.finalise(actor=administrator, call=review.call)
    assert outcome == "awarded"
    assert status_of(review.call) == CallStatus.AWARDED
    assert [status_of(p) for p in review.proposals] == [
        ProposalStatus.AWARDED,
        ProposalStatus.NOT_AWARDED,
        ProposalStatus.NOT_AWARDED,
    ]
    notice.refresh_from_db()
    assert notice.finalised_at is not None
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert "已立项" in subjects[review.leads[0].email]
    assert "评审结果" in subjects[review.leads[1].email] and "评审结果" in subjects[review.leads[2].email]
    assert len(audit("call.award", review.call)) == 1
    # A finalised notice takes no more objections.
    with pytest.raises(ValidationError):
        decisions.submit_objection(actor=review.leads[1], notice=notice, text="有问题", real_name="李四")


def test_a_call_whose_winners_were_all_removed_fails(notice, administrator, outsider_applicant):
    call, (winner, other) = notice.review.call, notice.review.proposals
    objection = decisions.submit_objection(
        actor=outsider_applicant, notice=notice, text="业绩造假", real_name="张三", proposal=winner
    )
    decisions.handle_objection(actor=administrator, objection=objection, upheld=True, result="经核查属实")
    # The winner is taken off the list (what confirm_winners does for a replaced winner).
    proposal_services.advance(actor=administrator, proposal=winner, action="unrecommend", reason="异议成立")
    Recommendation.objects.filter(proposal=winner).delete()
    end_notice(notice)
    assert decisions.finalise(actor=administrator, call=call) == "failed"
    assert status_of(call) == CallStatus.FAILED
    assert status_of(winner) == ProposalStatus.NOT_AWARDED and status_of(other) == ProposalStatus.NOT_AWARDED
    (entry,) = audit("call.fail", call)
    assert "流榜" in entry.reason


def test_winners_can_be_changed_after_an_upheld_objection(administrator, outsider_applicant):
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80]], horse_race=2)
    a, b = review.proposals
    notice = in_notice(administrator, review, {a: D("100"), b: D("100")})
    objection = decisions.submit_objection(
        actor=outsider_applicant, notice=notice, text="业绩造假", real_name="张三", proposal=a
    )
    decisions.handle_objection(actor=administrator, objection=objection, upheld=True, result="经核查属实")
    decisions.withdraw_recommendation(actor=administrator, proposal=a, reason="异议成立")
    end_notice(notice)
    assert decisions.finalise(actor=administrator, call=review.call) == "awarded"
    assert status_of(b) == ProposalStatus.AWARDED and status_of(a) == ProposalStatus.NOT_AWARDED


def test_fail_without_winner(administrator, django_capture_on_commit_callbacks):
    review = ranked_review(administrator, [[50, 55, 58], [40, 45, 59]])
    with pytest.raises(ValidationError):
        decisions.fail_without_winner(actor=administrator, call=review.call, reason="  ")
    assert status_of(review.call) == CallStatus.UNDER_REVIEW  # nothing half-done
    assert {status_of(p) for p in review.proposals} == {ProposalStatus.RANKED}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.fail_without_winner(actor=administrator, call=review.call, reason="无方案达到及格线")
    assert status_of(review.call) == CallStatus.FAILED
    assert {status_of(p) for p in review.proposals} == {ProposalStatus.NOT_AWARDED}
    assert recipients() == sorted(lead.email for lead in review.leads)
    assert all("评审结果" in m.subject for m in mail.outbox)
    (entry,) = audit("call.fail", review.call)
    assert entry.reason == "无方案达到及格线"


def test_the_whole_way_through_the_services(administrator, outsider_applicant):
    """complete_proposal → submit → pass → start_review → score → rank → confirm → notice → award."""
    review = review_call(administrator, proposals=2, experts=3, workflow=True)
    assert {p.status for p in review.proposals} == {ProposalStatus.UNDER_REVIEW}
    assert review.call.status == CallStatus.UNDER_REVIEW
    a, b = review.proposals
    score_totals(review, a, [88, 90, 92])
    score_totals(review, b, [70, 71, 72])
    decisions.rank_call(actor=administrator, call=review.call)
    assert decisions.fiscal_request(a) == D("100.00")
    notice = in_notice(administrator, review, {a: D("100.00")})
    decisions.submit_objection(actor=outsider_applicant, notice=notice, text="请核查", real_name="张三", proposal=a)
    objection = Objection.objects.get()
    decisions.handle_objection(actor=administrator, objection=objection, upheld=False, result="不属实")
    end_notice(notice)
    assert decisions.finalise(actor=administrator, call=review.call) == "awarded"
    assert status_of(a) == ProposalStatus.AWARDED and status_of(b) == ProposalStatus.NOT_AWARDED


# === permissions ===================================================================================
@pytest.fixture
def decided(administrator, outsider_applicant):
    """A call with a confirmed winner in public notice, one objection, one submitted score."""
    review = ranked_review(administrator, [[80, 85, 90], [70, 75, 80]])
    notice = in_notice(administrator, review, {review.proposals[0]: D("100")})
    objection = decisions.submit_objection(actor=outsider_applicant, notice=notice, text="有问题", real_name="张三")
    end_notice(notice)
    return review, objection


ADMIN_ONLY = {
    "start_review": lambda actor, review, objection: decisions.start_review(actor=actor, call=review.call),
    "rank_call": lambda actor, review, objection: decisions.rank_call(actor=actor, call=review.call),
    "confirm_winners": lambda actor, review, objection: decisions.confirm_winners(
        actor=actor, call=review.call, amounts={review.proposals[1].pk: D("10")}
    ),
    "open_notice": lambda actor, review, objection: decisions.open_notice(actor=actor, call=review.call),
    "handle_objection": lambda actor, review, objection: decisions.handle_objection(
        actor=actor, objection=objection, upheld=True, result="属实"
    ),
    "finalise": lambda actor, review, objection: decisions.finalise(actor=actor, call=review.call),
    "fail_without_winner": lambda actor, review, objection: decisions.fail_without_winner(
        actor=actor, call=review.call, reason="流榜"
    ),
    "reopen": lambda actor, review, objection: scoring.reopen(
        actor=actor, score=Score.objects.filter(status=ScoreStatus.SUBMITTED).first(), reason="重评"
    ),
    "route_panel": lambda actor, review, objection: routing.route_panel(actor=actor, call=review.call),
}


@pytest.mark.parametrize("action", list(ADMIN_ONLY))
def test_decisions_are_for_administrators_only(decided, action, request):
    review, objection = decided
    actors = [request.getfixturevalue(role) for role in NOT_ADMINISTRATORS]
    actors += [review.experts[0].user, review.leads[0], AnonymousUser(), None]
    entries = AuditEntry.objects.count()
    for actor in actors:
        with pytest.raises(PermissionDenied):
            ADMIN_ONLY[action](actor, review, objection)
    assert AuditEntry.objects.count() == entries
    assert status_of(review.call) == CallStatus.IN_NOTICE
    assert status_of(objection) == ObjectionStatus.OPEN
    assert Score.objects.filter(status=ScoreStatus.SUBMITTED).count() == 6
    assert [status_of(p) for p in review.proposals] == [ProposalStatus.RECOMMENDED, ProposalStatus.RANKED]


def test_administrators_maintain_holidays_in_the_admin_site(client, administrator):
    administrator.is_superuser = True
    administrator.save()
    client.force_login(administrator)
    response = client.post("/admin/reviews/holiday/add/", {"date": "2027-10-01", "name": "国庆节"})
    assert response.status_code == 302 and Holiday.objects.filter(date=date(2027, 10, 1)).exists()
    from audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="holiday.create").exists()


def test_the_call_pages_review_stage_buttons_move_the_proposals_too(administrator, client_for):
    """calls:action start_notice / award run the review decisions, not a bare call transition."""
    from django.urls import reverse

    review = ranked_review(administrator, [[90, 88, 86], [70, 72, 74]])
    winner, loser = review.proposals
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={winner.pk: D("100")})
    client = client_for(administrator)
    client.post(reverse("calls:action", args=[review.call.code, "start_notice"]))
    assert status_of(review.call) == CallStatus.IN_NOTICE and Notice.objects.filter(call=review.call).exists()

    end_notice(Notice.objects.get(call=review.call))
    client.post(reverse("calls:action", args=[review.call.code, "award"]))
    assert status_of(review.call) == CallStatus.AWARDED
    assert (status_of(winner), status_of(loser)) == (ProposalStatus.AWARDED, ProposalStatus.NOT_AWARDED)
