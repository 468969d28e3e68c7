"""From scores to awards: start review, rank, confirm winners, public notice, objections, finalise."""

from collections import defaultdict
from decimal import Decimal

import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from calls import services as call_services
from calls.choices import CallStatus, SupportMode
from calls.models import Call
from experts import avoidance
from proposals import services as proposal_services
from proposals.choices import FundingSource, ProposalStatus
from proposals.models import Proposal
from reviews import aggregation
from reviews.models import (
    Assignment,
    Notice,
    Objection,
    ObjectionStatus,
    Recommendation,
    Result,
    ScoreItem,
    ScoreStatus,
)
from reviews.notice import holiday_sets, notice_end
from reviews.tasks import remind_late_experts


def _admin(actor):
    if not rules.has_perm("reviews.manage_draw", actor):
        raise PermissionDenied


def start_review(*, actor, call):
    """Closed call → under review; its formally passed proposals go to the experts."""
    _admin(actor)
    with transaction.atomic():
        call = call_services.start_review(actor=actor, call=call)
        for proposal in Proposal.objects.filter(call=call, status=ProposalStatus.PASSED):
            proposal_services.advance(actor=actor, proposal=proposal, action="start_review")
    return call


def progress(call, *, assignments=None, blocked=None) -> dict:
    """{proposal id: (submitted scores, active assignments)}.

    A caller that has already loaded them (the review dashboard) passes the call's active
    assignments as (expert id, proposal id, score status) and the blocked pairs of their
    proposals; otherwise they are loaded here.
    """
    counts = defaultdict(lambda: [0, 0])
    if assignments is None:
        assignments = list(
            Assignment.objects.filter(proposal__call=call, active=True).values_list(
                "expert_id", "proposal_id", "score__status"
            )
        )
    if blocked is None:
        blocked = avoidance.blocked_pairs({pid for _e, pid, _s in assignments})
    for expert_id, proposal_id, status in assignments:
        if (expert_id, proposal_id) in blocked:  # a conflict found after routing: not counted
            continue
        counts[proposal_id][1] += 1
        if status == ScoreStatus.SUBMITTED:
            counts[proposal_id][0] += 1
    return {pid: tuple(c) for pid, c in counts.items()}


def compute(call, *, submitted=None, blocked=None, proposals=None) -> list[aggregation.Ranked]:
    """Aggregate the submitted scores of active assignments and rank (nothing stored).

    A caller that has already loaded them (the review dashboard) passes the active assignments
    with a submitted score as (assignment id, expert id, proposal id, total, veto) in assignment
    id order, the blocked pairs of their proposals, and the call's rankable proposals as
    (proposal id, submitted at); whatever is not passed is loaded here.
    """
    programme = call.programme
    totals, key_points, vetoes = defaultdict(list), defaultdict(list), defaultdict(bool)
    rows = submitted
    if rows is None:
        rows = list(
            Assignment.objects.filter(proposal__call=call, active=True, score__status=ScoreStatus.SUBMITTED)
            .order_by("pk")  # a fixed order: outlier flags refer to positions in it
            .values_list("pk", "expert_id", "proposal_id", "score__total", "score__veto")
        )
    if blocked is None:
        blocked = avoidance.blocked_pairs({proposal_id for _pk, _e, proposal_id, _t, _v in rows})
    counted = set()
    for pk, expert_id, proposal_id, total, veto in rows:
        if (expert_id, proposal_id) in blocked:
            continue
        counted.add(pk)
        totals[proposal_id].append(total)
        vetoes[proposal_id] |= veto
    if counted:
        # The key (first) criterion's points of the counted sheets: the call's submitted sheets of
        # active assignments are read by a join (no list of ids to send) and filtered here.
        key = call.criteria.order_by("order", "pk").values("pk")[:1]
        for assignment_id, proposal_id, points in (
            ScoreItem.objects.filter(
                criterion_id=Subquery(key),
                score__status=ScoreStatus.SUBMITTED,
                score__assignment__active=True,
                score__assignment__proposal__call=call,
            )
            .order_by("score__assignment_id")
            .values_list("score__assignment_id", "score__assignment__proposal_id", "points")
        ):
            if assignment_id in counted:
                key_points[proposal_id].append(points)
    if proposals is None:
        proposals = Proposal.objects.filter(call=call, status__in=RANKABLE).values_list("pk", "submitted_at")
    entries = []
    for proposal_id, submitted_at in proposals:
        agg = aggregation.aggregate(
            totals[proposal_id],
            method=programme.aggregation,
            trim_threshold=programme.trim_threshold,
            vetoed=vetoes[proposal_id],
        )
        points = key_points[proposal_id]
        entries.append(aggregation.Entry(proposal_id, agg, sum(points) / len(points) if points else None, submitted_at))
    return aggregation.rank(entries, pass_threshold=programme.pass_threshold)


RANKABLE = [ProposalStatus.UNDER_REVIEW, ProposalStatus.RANKED, ProposalStatus.RECOMMENDED]
# 流榜 also ends proposals that passed formal review but never reached the experts.
UNFINISHED = [ProposalStatus.PASSED, *RANKABLE]


def rank_call(*, actor, call, allow_incomplete: bool = False) -> list[aggregation.Ranked]:
    """Fix the results and ranks. Every active assignment must have submitted its score."""
    _admin(actor)
    call = Call.objects.get(pk=call.pk)  # the status may have moved since the caller loaded it
    if call.status != CallStatus.UNDER_REVIEW:
        raise ValidationError(_("Only a call under review can be ranked."))
    # The active assignments and their conflicts, read once for the check and the ranking.
    active = list(
        Assignment.objects.filter(proposal__call=call, active=True)
        .order_by("pk")  # compute's fixed order: outlier flags refer to positions in it
        .values_list("pk", "expert_id", "proposal_id", "score__status", "score__total", "score__veto")
    )
    blocked = avoidance.blocked_pairs({pid for _pk, _e, pid, *_rest in active})
    counts = progress(call, assignments=[(e, pid, status) for _pk, e, pid, status, *_rest in active], blocked=blocked)
    missing = sum(total - done for done, total in counts.values())
    if missing and not allow_incomplete:
        raise ValidationError(_("%(n)d score(s) are still missing.") % {"n": missing})
    submitted = [
        (pk, e, pid, total, veto) for pk, e, pid, status, total, veto in active if status == ScoreStatus.SUBMITTED
    ]
    ranked = compute(call, submitted=submitted, blocked=blocked)
    with transaction.atomic():
        for item in ranked:
            agg = item.entry.aggregate
            Result.objects.update_or_create(
                proposal_id=item.entry.proposal_id,
                defaults={
                    "count": agg.count,
                    "final": agg.final,
                    "method": agg.method,
                    "median": agg.median,
                    "sd": agg.sd,
                    "spread": agg.spread,
                    "key_criterion": item.entry.key_criterion,
                    "disagreement": agg.disagreement,
                    "vetoed": agg.vetoed,
                    "rank": item.rank,
                    "passed": item.passed,
                },
            )
        for proposal in Proposal.objects.filter(call=call, status=ProposalStatus.UNDER_REVIEW):
            proposal_services.advance(actor=actor, proposal=proposal, action="rank")
        record(
            actor=actor,
            action="call.rank",
            obj=call,
            after={"ranking": [[r.entry.proposal_id, r.rank, str(r.entry.aggregate.final)] for r in ranked]},
        )
    return ranked


def remind_late(*, actor, call) -> int:
    """Queue one e-mail per expert with an active, unconflicted assignment not yet submitted;
    the reminder is recorded in the audit trail. Returns the number of experts reminded
    (0: nobody is late, nothing is sent or recorded)."""
    _admin(actor)
    if call.status != CallStatus.UNDER_REVIEW:
        raise ValidationError(_("Reminders are sent while the call is under review."))
    late = list(
        Assignment.objects.filter(proposal__call=call, active=True)
        .exclude(score__status=ScoreStatus.SUBMITTED)
        .values_list("pk", "expert_id", "proposal_id")
    )
    blocked = avoidance.blocked_pairs({pid for _pk, _eid, pid in late}) if late else set()
    late = [(pk, eid) for pk, eid, pid in late if (eid, pid) not in blocked]
    if not late:
        return 0
    ids = sorted(pk for pk, _eid in late)
    experts = sorted({eid for _pk, eid in late})
    with transaction.atomic():
        record(actor=actor, action="review.remind_late", obj=call, after={"experts": experts, "assignments": ids})
        transaction.on_commit(lambda: remind_late_experts.delay(ids))
    return len(experts)


def fiscal_request(proposal) -> Decimal:
    return sum((b.amount for b in proposal.budget_lines.all() if b.source == FundingSource.FISCAL), Decimal(0))


def confirm_winners(*, actor, call, amounts: dict[int, Decimal]) -> list[Recommendation]:
    """The administrator's decision: which ranked proposals are recommended, and with how much.

    At most the call's number of winners, each ranked above the threshold and not vetoed, each
    amount within its fiscal request, and the total never above the call's fiscal cap.
    """
    _admin(actor)
    call = Call.objects.get(pk=call.pk)  # the status may have moved since the caller loaded it
    if call.status != CallStatus.UNDER_REVIEW:
        raise ValidationError(_("Winners are confirmed while the call is under review."))
    limit = call.max_winners if call.support_mode == SupportMode.HORSE_RACE else 1
    if len(amounts) > limit:
        raise ValidationError(_("This call supports at most %(n)d winner(s).") % {"n": limit})
    proposals = {
        p.pk: p
        for p in Proposal.objects.filter(call=call, pk__in=amounts)
        .select_related("result")
        .prefetch_related("budget_lines")
    }
    problems = []
    for amount in amounts.values():
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount.as_tuple().exponent < -2:
            raise ValidationError(_("Amounts are in 10k yuan with at most two decimals."))
    for pid, amount in amounts.items():
        proposal = proposals.get(pid)
        result = getattr(proposal, "result", None) if proposal else None
        if proposal is None or result is None or result.rank is None or not result.passed:
            problems.append(_("Proposal %(id)s is not ranked above the pass threshold.") % {"id": pid})
            continue
        if amount <= 0 or amount > fiscal_request(proposal):
            problems.append(
                _("The amount for “%(title)s” must be more than 0 and at most its fiscal request (%(request)s).")
                % {"title": proposal.title, "request": fiscal_request(proposal)}
            )
    total = sum(amounts.values(), Decimal(0))
    if total > call.fiscal_cap:
        problems.append(
            _("The amounts add up to %(total)s, above the call's cap of %(cap)s.")
            % {"total": total, "cap": call.fiscal_cap}
        )
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        for old in Recommendation.objects.filter(call=call).exclude(proposal_id__in=amounts):
            proposal_services.advance(actor=actor, proposal=old.proposal, action="unrecommend")
            old.delete()
        created = []
        for pid, amount in amounts.items():
            recommendation, _new = Recommendation.objects.update_or_create(
                proposal_id=pid, defaults={"call": call, "fiscal_amount": amount, "confirmed_by": actor}
            )
            if proposals[pid].status == ProposalStatus.RANKED:
                proposal_services.advance(actor=actor, proposal=proposals[pid], action="recommend")
            created.append(recommendation)
        record(
            actor=actor,
            action="call.confirm_winners",
            obj=call,
            after={"winners": {str(k): v for k, v in amounts.items()}},
        )
    return created


def open_notice(*, actor, call, starts_on=None) -> Notice:
    """Publish the recommended awards for the programme's notice period."""
    _admin(actor)
    if not Recommendation.objects.filter(call=call).exists():
        raise ValidationError(_("Confirm the winners first (or declare the call failed)."))
    today = timezone.localdate()
    starts_on = starts_on or today
    if starts_on < today:
        # A notice that has already run would leave nobody the chance to object.
        raise ValidationError(_("The notice cannot start in the past."))
    programme = call.programme
    holidays, worked = holiday_sets()
    ends_on = notice_end(
        starts_on,
        programme.notice_days,
        working=programme.notice_day_kind == "working",
        holidays=holidays,
        adjusted_working_days=worked,
    )
    with transaction.atomic():
        call_services.start_notice(actor=actor, call=call)
        notice = Notice.objects.create(call=call, starts_on=starts_on, ends_on=ends_on, published_by=actor)
        record(actor=actor, action="notice.open", obj=notice, after={"starts_on": starts_on, "ends_on": ends_on})
        for recommendation in Recommendation.objects.filter(call=call).select_related("proposal"):
            proposal_services.queue_mail(recommendation.proposal_id, "recommended")
    return notice


MAX_SEAL_BYTES = 10 * 1024 * 1024  # an objection's sealed letter (PDF)


def submit_objection(
    *, actor, notice: Notice, text: str, real_name: str = "", unit_name: str = "", seal=None, proposal=None
) -> Objection:
    """Written, signed (real name or the unit's seal), within the period — or refused with the reason."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied
    if proposal is not None and proposal.call_id != notice.call_id:
        raise ValidationError({"proposal": [_("That proposal is not part of this notice.")]})
    today = timezone.localdate()
    if today < notice.starts_on or today > notice.ends_on or notice.finalised_at:
        raise ValidationError(
            _("Objections are accepted only during the notice period (%(start)s to %(end)s).")
            % {"start": notice.starts_on, "end": notice.ends_on}
        )
    text, real_name, unit_name = (text or "").strip(), (real_name or "").strip(), (unit_name or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write the objection and the facts it rests on.")]})
    if not real_name and seal is None:
        raise ValidationError(
            _("Anonymous objections are not accepted: sign with your real name, or attach the unit's sealed letter.")
        )
    if seal is not None:
        import filetype

        if seal.size > MAX_SEAL_BYTES:
            raise ValidationError({"seal": [_("The sealed letter may be at most 10 MB.")]})
        head = seal.read(2048)
        seal.seek(0)
        kind = filetype.guess(head)
        if kind is None or kind.mime != "application/pdf" or not unit_name:
            raise ValidationError({"seal": [_("Attach the sealed letter as a PDF and name the unit.")]})
    with transaction.atomic():
        objection = Objection(
            notice=notice, proposal=proposal, submitted_by=actor, real_name=real_name, unit_name=unit_name, text=text
        )
        if seal is not None:
            objection.seal.save("seal.pdf", seal, save=False)
        objection.save()
        record(
            actor=actor,
            action="objection.submit",
            obj=objection,
            after={"real_name": real_name, "unit": unit_name, "proposal": getattr(proposal, "pk", None)},
        )
    return objection


def handle_objection(*, actor, objection: Objection, upheld: bool, result: str) -> Objection:
    _admin(actor)
    result = (result or "").strip()
    if not result:
        raise ValidationError({"result": [_("Record the handling result.")]})
    with transaction.atomic():
        objection = Objection.objects.select_for_update(of=("self",)).select_related("notice").get(pk=objection.pk)
        if objection.status != ObjectionStatus.OPEN or objection.notice.finalised_at:
            raise ValidationError(_("This objection has already been handled."))
        before = objection.status
        objection.status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
        objection.result, objection.handled_by, objection.handled_at = result, actor, timezone.now()
        objection.save()
        record(
            actor=actor,
            action="objection.handle",
            obj=objection,
            before={"status": before},
            after={"status": objection.status},
            reason=result,
        )
    return objection


def finalise(*, actor, call) -> str:
    """After the period, with every objection resolved: winners awarded, others not; or 流榜."""
    _admin(actor)
    call = Call.objects.get(pk=call.pk)  # the status may have moved since the caller loaded it
    notice = Notice.objects.filter(call=call).first()
    if notice is None or call.status != CallStatus.IN_NOTICE:
        raise ValidationError(_("The call is not in public notice."))
    if timezone.localdate() <= notice.ends_on:
        raise ValidationError(_("The notice period runs until %(end)s.") % {"end": notice.ends_on})
    if notice.objections.filter(status=ObjectionStatus.OPEN).exists():
        raise ValidationError(_("Every objection needs a recorded result first."))
    upheld_on_winner = notice.objections.filter(
        status=ObjectionStatus.UPHELD, proposal__status=ProposalStatus.RECOMMENDED
    ).exists()
    if upheld_on_winner:
        raise ValidationError(
            _("An objection against a recommended proposal was upheld: change the winners before finalising.")
        )
    with transaction.atomic():
        winners = list(Proposal.objects.filter(call=call, status=ProposalStatus.RECOMMENDED))
        for proposal in winners:
            proposal_services.advance(actor=actor, proposal=proposal, action="award", notify="awarded")
        for proposal in Proposal.objects.filter(
            call=call, status__in=[ProposalStatus.RANKED, ProposalStatus.UNDER_REVIEW]
        ):
            proposal_services.advance(actor=actor, proposal=proposal, action="not_award", notify="not_awarded")
        notice.finalised_at = timezone.now()
        notice.save(update_fields=["finalised_at"])
        if winners:
            call_services.award_call(actor=actor, call=call)
            return "awarded"
        call_services.fail_call(actor=actor, call=call, reason=_("No eligible winner (流榜)."))
        return "failed"


def withdraw_recommendation(*, actor, proposal, reason: str):
    """During the notice: an upheld objection takes a winner off the list (the rest stand).
    A replacement winner would need a notice of its own, so none is added here."""
    _admin(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason (e.g. the upheld objection).")]})
    with transaction.atomic():
        proposal_services.advance(actor=actor, proposal=proposal, action="unrecommend", reason=reason)
        Recommendation.objects.filter(proposal=proposal).delete()
        record(
            actor=actor,
            action="call.withdraw_recommendation",
            obj=proposal.call,
            after={"proposal": proposal.pk},
            reason=reason,
        )


def fail_without_winner(*, actor, call, reason: str):
    """流榜: no proposal can be awarded (before or during the notice)."""
    _admin(actor)
    if Objection.objects.filter(notice__call=call, status=ObjectionStatus.OPEN).exists():
        raise ValidationError(_("Every objection needs a recorded result first."))
    with transaction.atomic():
        Recommendation.objects.filter(call=call).delete()
        for proposal in Proposal.objects.filter(call=call, status__in=UNFINISHED):
            proposal_services.advance(actor=actor, proposal=proposal, action="not_award", notify="not_awarded")
        Notice.objects.filter(call=call, finalised_at__isnull=True).update(finalised_at=timezone.now())
        return call_services.fail_call(actor=actor, call=call, reason=reason)


def register_with_calls() -> None:
    """The call page's and /api/v1/calls/' review-stage buttons run these, with the proposals."""

    def notice(actor, call, reason):
        open_notice(actor=actor, call=call)
        return Call.objects.get(pk=call.pk)

    def award(actor, call, reason):
        finalise(actor=actor, call=call)
        return Call.objects.get(pk=call.pk)

    call_services.register_review_stage(
        start_review=lambda actor, call, reason: start_review(actor=actor, call=call),
        start_notice=notice,
        award=award,
        fail=lambda actor, call, reason: fail_without_winner(actor=actor, call=call, reason=reason),
    )
