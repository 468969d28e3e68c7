"""Scoring: drafts, submission (locked), reopening, and conflicts declared while scoring."""

from decimal import Decimal, InvalidOperation

import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from calls.choices import CallStatus
from experts import avoidance
from reviews.models import Assignment, Score, ScoreItem, ScoreStatus


def assignment_for_expert(user, pk: int) -> Assignment:
    """reviews.access.get_assignment_for_expert, answering 404 (not 403) to non-experts too,
    so the scoring pages reveal nothing about who reviews what."""
    from django.core.exceptions import PermissionDenied as Denied
    from django.http import Http404

    from reviews.access import get_assignment_for_expert

    try:
        return get_assignment_for_expert(user, pk)
    except Denied:
        raise Http404 from None


def _score_for(assignment: Assignment) -> Score:
    score, _created = Score.objects.get_or_create(assignment=assignment)
    return score


def _parse(value, criterion) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        points = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({f"c{criterion.pk}": [_("Enter a number.")]}) from None
    if not points.is_finite():
        raise ValidationError({f"c{criterion.pk}": [_("Enter a number.")]})
    if points < 0 or points > criterion.max_points:
        raise ValidationError(
            {
                f"c{criterion.pk}": [
                    _("Between 0 and %(max)s points.") % {"max": format(criterion.max_points.normalize(), "f")}
                ]
            }
        )
    if points.as_tuple().exponent < -2:
        raise ValidationError({f"c{criterion.pk}": [_("At most two decimal places.")]})
    return points


def save_draft(
    *,
    actor,
    assignment: Assignment,
    points: dict,
    comments: dict | None = None,
    comment: str = "",
    veto: bool = False,
    veto_reason: str = "",
) -> Score:
    """Autosave: stores what is there, validated per criterion; nothing is locked yet."""
    call = assignment.proposal.call
    if call.status != CallStatus.UNDER_REVIEW:
        raise ValidationError(_("Scoring is open only while the call is under review."))
    criteria = list(call.criteria.all())
    comments = comments or {}
    with transaction.atomic():
        score = Score.objects.select_for_update().get(pk=_score_for(assignment).pk)
        if score.status != ScoreStatus.DRAFT:
            raise ValidationError(_("This score has been submitted and is locked."))
        for criterion in criteria:
            value = _parse(points.get(criterion.pk), criterion)
            ScoreItem.objects.update_or_create(
                score=score,
                criterion=criterion,
                defaults={"points": value, "comment": (comments.get(criterion.pk) or "").strip()},
            )
        if veto and not call.veto_item:
            raise ValidationError(_("This call has no veto item."))
        score.comment, score.veto, score.veto_reason = comment.strip(), bool(veto), veto_reason.strip()
        score.save()
    return score


def submit(*, actor, assignment: Assignment) -> Score:
    """Lock the score: every criterion scored, comments where required, a reason for a veto."""
    call = assignment.proposal.call
    if call.status != CallStatus.UNDER_REVIEW:
        raise ValidationError(_("Scoring is open only while the call is under review."))
    with transaction.atomic():
        score = Score.objects.select_for_update().get(pk=_score_for(assignment).pk)
        if score.status != ScoreStatus.DRAFT:
            raise ValidationError(_("This score has already been submitted."))
        items = {i.criterion_id: i for i in score.items.all()}
        problems = []
        for criterion in call.criteria.all():
            item = items.get(criterion.pk)
            if item is None or item.points is None:
                problems.append(_("Score “%(name)s”.") % {"name": criterion.name})
            elif not 0 <= item.points <= criterion.max_points:  # the rubric may have changed since the draft
                problems.append(
                    _("Score “%(name)s” again: at most %(max)s points.")
                    % {"name": criterion.name, "max": format(criterion.max_points.normalize(), "f")}
                )
        if call.comment_required and not score.comment:
            problems.append(_("An overall comment is required."))
        if score.veto and not score.veto_reason:
            problems.append(_("Explain why the veto item applies."))
        if problems:
            raise ValidationError(problems)
        score.total = sum((i.points for i in items.values()), Decimal(0))
        score.status, score.submitted_at = ScoreStatus.SUBMITTED, timezone.now()
        score.save()
        record(
            actor=actor,
            action="score.submit",
            obj=score,
            before={"status": "draft"},
            after={
                "status": "submitted",
                "total": score.total,
                "veto": score.veto,
                "items": {str(k): v.points for k, v in items.items()},
            },
        )
    return score


def reopen(*, actor, score: Score, reason: str) -> Score:
    if not rules.has_perm("reviews.manage_draw", actor):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for reopening.")]})
    with transaction.atomic():
        score = (
            Score.objects.select_for_update(of=("self",)).select_related("assignment__proposal__call").get(pk=score.pk)
        )
        if score.status != ScoreStatus.SUBMITTED:
            raise ValidationError(_("Only a submitted score can be reopened."))
        if score.assignment.proposal.call.status != CallStatus.UNDER_REVIEW:
            raise ValidationError(
                _("Scores can be reopened only while the call is under review (before ranking is published).")
            )
        before = {"status": score.status, "total": score.total}
        score.status, score.submitted_at, score.total = ScoreStatus.DRAFT, None, None
        score.save()
        record(actor=actor, action="score.reopen", obj=score, before=before, after={"status": "draft"}, reason=reason)
    return score


def declare_conflict(*, actor, assignment: Assignment, reason: str, detail: str = "") -> None:
    """The expert withdraws from this proposal; the panel is routed again (backups if needed)."""
    from reviews.routing import reroute_panel

    with transaction.atomic():
        conflict = avoidance.declare(
            actor=actor, expert=assignment.expert, proposal=assignment.proposal, reason=reason, detail=detail
        )
        Assignment.objects.filter(pk=assignment.pk).update(active=False)
        record(
            actor=actor,
            action="assignment.withdraw_for_conflict",
            obj=assignment,
            before={"active": True},
            after={"active": False, "conflict": conflict.pk, "reason": reason},
            reason=detail or reason,
        )
    reroute_panel(assignment.proposal.call, actor=None)
