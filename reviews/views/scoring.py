"""The expert's score sheet: the frozen proposal on the left, the rubric on the right.

Only the assigned expert ever opens it (reviews.scoring.assignment_for_expert: 404 for
everybody else, administrators included), and it shows only that expert's own sheet.
Every write goes through reviews.scoring: drafts are autosaved with htmx (a small
partial answers "saved at …" or the errors), submitting locks the sheet, and only an
administrator reopens it, with a reason.
"""

import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from calls.choices import CallStatus
from proposals.models import Submission
from reviews import scoring
from reviews.access import require_draw_reader
from reviews.forms import DeclareConflictForm
from reviews.models import Assignment, Score, ScoreStatus
from reviews.views.expert import _readable

CENT = Decimal("0.01")
CRITERION_KEY = re.compile(r"c\d+")  # how reviews.scoring keys a criterion's errors


def _plain(value: Decimal) -> str:
    """Points as people write them: 40, 22.5, 0.75 (no exponent, no trailing zeros)."""
    text = format(value.quantize(CENT), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _decimal_or_none(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return value if value.is_finite() else None


@dataclass
class Band:
    label: str
    share: Decimal
    min_points: Decimal

    @property
    def min_text(self) -> str:
        return _plain(self.min_points)

    @property
    def percent(self) -> str:
        return _plain(self.share * 100)


@dataclass
class Row:
    """One criterion of the sheet as the page shows it."""

    criterion: object
    value: str = ""
    comment: str = ""
    errors: list = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)

    @property
    def max_text(self) -> str:
        return _plain(self.criterion.max_points)

    @property
    def points(self) -> Decimal | None:
        value = _decimal_or_none(self.value.strip()) if self.value else None
        if value is None or value < 0 or value > self.criterion.max_points:
            return None
        return value

    @property
    def band(self) -> str:
        """The band the current value falls in (bands go from the highest share down)."""
        points = self.points
        if points is None:
            return ""
        return next((b.label for b in self.bands if points >= b.min_points), "")


def _bands_for(call, criterion) -> list[Band]:
    bands = []
    for band in call.rubric_bands or []:
        share = _decimal_or_none(str(band.get("min_share", "")))
        if share is not None:
            # Points have two decimals at most, so "≥ the share rounded up to a cent" is exact.
            threshold = (share * criterion.max_points).quantize(CENT, rounding=ROUND_CEILING)
            bands.append(Band(str(band.get("label", "")), share, threshold))
    return bands


# --- reading the posted sheet ------------------------------------------------------------------
def _posted(request, call, criteria) -> dict:
    """The keyword arguments of scoring.save_draft, from the form's fields."""
    veto = bool(call.veto_item) and request.POST.get("veto") == "on"
    return {
        "points": {c.pk: request.POST.get(f"c{c.pk}", "").strip() for c in criteria},
        "comments": {c.pk: request.POST.get(f"comment-c{c.pk}", "") for c in criteria},
        "comment": request.POST.get("comment", ""),
        "veto": veto,
        "veto_reason": request.POST.get("veto_reason", "") if call.veto_item else "",
    }


def _split_errors(exc: ValidationError) -> tuple[dict, list]:
    """({"c<criterion id>": [messages]}, [messages for the whole sheet])."""
    if hasattr(exc, "error_dict"):
        by_key = exc.message_dict
        general = list(by_key.pop(NON_FIELD_ERRORS, []))
        for key in [k for k in by_key if not CRITERION_KEY.fullmatch(k)]:
            general += by_key.pop(key)
        return by_key, general
    return {}, exc.messages


def _has_sheet(request, criteria) -> bool:
    return any(f"c{c.pk}" in request.POST for c in criteria)


# --- the page ----------------------------------------------------------------------------------
def _sheet(assignment: Assignment, *, data=None, field_errors=None, errors=None):
    call = assignment.proposal.call
    score = Score.objects.filter(assignment=assignment).prefetch_related("items").first()
    criteria = list(call.criteria.all())
    items = {i.criterion_id: i for i in score.items.all()} if score else {}
    field_errors = field_errors or {}
    rows = []
    for criterion in criteria:
        item = items.get(criterion.pk)
        if data is not None:
            value = data["points"].get(criterion.pk, "")
            comment = data["comments"].get(criterion.pk, "")
        else:
            value = "" if item is None or item.points is None else format(item.points, "f")
            comment = item.comment if item else ""
        rows.append(
            Row(
                criterion=criterion,
                value=value,
                comment=comment,
                errors=field_errors.get(f"c{criterion.pk}", []),
                bands=_bands_for(call, criterion),
            )
        )
    sheet = {
        "comment": data["comment"] if data is not None else (score.comment if score else ""),
        "veto": data["veto"] if data is not None else bool(score and score.veto),
        "veto_reason": data["veto_reason"] if data is not None else (score.veto_reason if score else ""),
    }
    submitted = bool(score and score.status == ScoreStatus.SUBMITTED)
    return {
        "assignment": assignment,
        "call": call,
        "score": score,
        "rows": rows,
        "sheet": sheet,
        "live_total": _plain(sum((r.points or Decimal(0) for r in rows), Decimal(0))),
        "max_total": _plain(sum((c.max_points for c in criteria), Decimal(0))),
        "submitted": submitted,
        "open_for_scoring": call.status == CallStatus.UNDER_REVIEW,
        "editable": not submitted and call.status == CallStatus.UNDER_REVIEW,
        "errors": errors or [],
    }


def _page(request, assignment, **kwargs):
    proposal = assignment.proposal
    submission = Submission.objects.filter(proposal_id=proposal.pk).order_by("-version").first()
    context = _sheet(assignment, **kwargs)
    context.update(
        proposal=proposal,
        submission=submission,
        snapshot=_readable(submission.snapshot, proposal.call.programme) if submission else None,
        declare_form=DeclareConflictForm(),
    )
    return render(request, "reviews/score.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def score_sheet(request, pk):
    """GET: the sheet. POST: save the draft without JavaScript (the same as autosave)."""
    assignment = scoring.assignment_for_expert(request.user, pk)
    if request.method == "GET":
        return _page(request, assignment)
    criteria = list(assignment.proposal.call.criteria.all())
    data = _posted(request, assignment.proposal.call, criteria)
    try:
        scoring.save_draft(actor=request.user, assignment=assignment, **data)
    except ValidationError as exc:
        field_errors, errors = _split_errors(exc)
        return _page(request, assignment, data=data, field_errors=field_errors, errors=errors)
    messages.success(request, _("Your draft is saved."))
    return redirect("reviews:score", pk=assignment.pk)


@login_required
@require_POST
def autosave(request, pk):
    """htmx: store the draft; answer with "saved at …" or the errors (never a whole page)."""
    assignment = scoring.assignment_for_expert(request.user, pk)
    criteria = list(assignment.proposal.call.criteria.all())
    field_errors, errors, score = {}, [], None
    try:
        score = scoring.save_draft(
            actor=request.user, assignment=assignment, **_posted(request, assignment.proposal.call, criteria)
        )
    except ValidationError as exc:
        field_errors, errors = _split_errors(exc)
    return render(
        request,
        "reviews/_score_autosave.html",
        {
            "score": score,
            "errors": errors,
            "rows": [Row(criterion=c, errors=field_errors.get(f"c{c.pk}", [])) for c in criteria],
            "failed": bool(field_errors or errors),
        },
    )


@login_required
@require_POST
def submit(request, pk):
    """Save what the form holds (if it was posted with the sheet), then lock the score."""
    assignment = scoring.assignment_for_expert(request.user, pk)
    criteria = list(assignment.proposal.call.criteria.all())
    data = None
    try:
        if _has_sheet(request, criteria):
            data = _posted(request, assignment.proposal.call, criteria)
            scoring.save_draft(actor=request.user, assignment=assignment, **data)
        score = scoring.submit(actor=request.user, assignment=assignment)
    except ValidationError as exc:
        field_errors, errors = _split_errors(exc)
        return _page(request, assignment, data=data, field_errors=field_errors, errors=errors)
    messages.success(
        request,
        _("Your score (%(total)s points) is submitted and locked.") % {"total": _plain(score.total)},
    )
    return redirect("reviews:score", pk=assignment.pk)


# --- administrators ----------------------------------------------------------------------------
def _back(request) -> str:
    """Where the administrator came from, if that is this site; the review index otherwise."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("reviews:index")


@login_required
@require_POST
def reopen(request, pk):
    """An administrator reopens a submitted score, with a reason (audited as score.reopen)."""
    require_draw_reader(request.user, write=True)  # 403 for all but administrators, before any lookup
    score = get_object_or_404(Score, pk=pk)
    try:
        scoring.reopen(actor=request.user, score=score, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The score is reopened: the expert can change it and submit it again."))
    return redirect(_back(request))
