"""The review dashboard and the award decisions: administrators act, supervisors (纪检) read.

Every change goes through reviews.decisions (start review, rank, confirm winners, open the
public notice, 流榜); these views load, check who is asking, call the service and report.
The dashboard is built from a fixed number of bulk queries, whatever the number of
proposals and experts.
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

import rules
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import StyledFormMixin
from audit import page_cache
from calls.choices import CallStatus, NoticeDayKind, SupportMode
from config.html import url_maker
from experts import avoidance
from proposals.choices import ProposalStatus
from proposals.models import Proposal
from reviews import aggregation, decisions
from reviews.access import get_call_for_draws
from reviews.models import Assignment, Notice, Recommendation, Result, ScoreStatus
from reviews.notice import holiday_sets, notice_end
from reviews.views import dashboard_cache
from reviews.views.dashboard_html import tables

# Proposals shown on the dashboard: formally passed (before review starts) and everything after.
DASHBOARD_STATUSES = [
    ProposalStatus.PASSED,
    ProposalStatus.UNDER_REVIEW,
    ProposalStatus.RANKED,
    ProposalStatus.RECOMMENDED,
    ProposalStatus.AWARDED,
    ProposalStatus.NOT_AWARDED,
]


def _can_manage(user) -> bool:
    return rules.has_perm("reviews.manage_draw", user)


def _report(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- the dashboard ------------------------------------------------------------------------------
# Proposal rows of the score matrix per page (?page=); the counts, the ranking and the chart
# above and below it always cover the whole call.
MATRIX_PAGE_SIZE = 50
_CENT = Decimal("0.01")


class _Proposal(NamedTuple):
    pk: int
    title: str
    lead: str  # the lead organisation's name
    status: str
    submitted_at: datetime | None


class _Expert(NamedTuple):
    pk: int
    name: str


class _Assignment(NamedTuple):
    pk: int
    proposal_id: int
    expert_id: int
    expert_name: str
    active: bool
    score_id: int | None
    status: str | None
    total: Decimal | None
    veto: bool | None


def _reopen_url():
    """score id → the scoring pages' reopen endpoint (reviews/urls_scoring.py), or None when those
    pages are not installed."""
    try:
        return url_maker("reviews:score_reopen")
    except NoReverseMatch:
        return None


def _two_places(value) -> str:
    """Points with two decimals, rounded half up: what ``floatformat:2`` shows for them in both
    languages (decimal point, no grouping), without the template filter's cost on every cell."""
    return "—" if value is None else str(Decimal(value).quantize(_CENT, ROUND_HALF_UP))


def _cell(proposal_id, expert, assignment, conflict: bool, reopen) -> dict:
    # Ids go to the template as text: the template would localise every number it prints.
    cell = {"key": f"{proposal_id}-{expert.pk}", "state": "conflict" if conflict else "none"}
    if assignment is None or not assignment.active:
        return cell
    # A conflict recorded after routing leaves the assignment active until the panel is
    # routed again; decisions.compute still counts its score, so the cell shows both.
    cell["conflict"] = conflict
    if assignment.status == ScoreStatus.SUBMITTED:
        cell.update(state="submitted", total=_two_places(assignment.total), veto=assignment.veto)
        if reopen is not None:
            score = str(assignment.score_id)
            cell.update(score=score, reopen_url=reopen(score))
    else:
        cell["state"] = "draft" if assignment.score_id is not None else "not_started"
    return cell


def _matrix(proposals, assignments, blocked, page, reopen):
    """Columns (experts) and the cells of the proposals on this page; for every proposal of the
    dashboard, its submitted totals (chart) and the assignments still awaited (reminders)."""
    experts = sorted({_Expert(a.expert_id, a.expert_name) for a in assignments}, key=lambda e: (e.name, e.pk))
    # Active assignments come last in the ordering, so they win over ended ones for the same pair.
    pairs = {(a.proposal_id, a.expert_id): a for a in assignments}
    cells = {
        p.pk: [_cell(p.pk, e, pairs.get((p.pk, e.pk)), (e.pk, p.pk) in blocked, reopen) for e in experts] for p in page
    }
    column = {e.pk: index for index, e in enumerate(experts)}
    shown = {p.pk for p in proposals}
    totals, late = {}, []
    for a in assignments:
        if not a.active or a.proposal_id not in shown:
            continue
        if a.status == ScoreStatus.SUBMITTED:
            totals.setdefault(a.proposal_id, []).append((column[a.expert_id], a.total))
        elif (a.expert_id, a.proposal_id) not in blocked:  # a conflicted expert cannot open the sheet
            late.append(a)
    totals = {pid: [total for _column, total in sorted(values)] for pid, values in totals.items()}
    return experts, cells, totals, late


# What a ranking row shows, from decisions.compute's aggregates or the stored results alike.
_RANKING_FIELDS = ("final", "median", "sd", "spread", "count", "method", "disagreement", "vetoed")


def _ranking_rows(call, proposals, submitted, blocked):
    """The live ranking while under review (decisions.compute); the stored results afterwards."""
    if call.status == CallStatus.UNDER_REVIEW:
        rows = [
            {
                "proposal_id": item.entry.proposal_id,
                "rank": item.rank,
                "passed": item.passed,
                **{name: getattr(item.entry.aggregate, name) for name in _RANKING_FIELDS},
            }
            for item in decisions.compute(
                call,
                submitted=submitted,
                blocked=blocked,
                proposals=[(p.pk, p.submitted_at) for p in proposals.values() if p.status in decisions.RANKABLE],
            )
        ]
    else:
        rows = list(
            Result.objects.filter(proposal__call=call)
            .order_by(F("rank").asc(nulls_last=True), "proposal_id")
            .values("proposal_id", "rank", "passed", *_RANKING_FIELDS)
        )
    for row in rows:
        proposal = proposals.get(row["proposal_id"])
        # What the table prints, as text (the template would localise and format every number).
        row.update(
            proposal=proposal,
            key=str(proposal.pk) if proposal else "",
            shown={name: _two_places(row[name]) for name in ("final", "median", "sd", "spread")},
        )
    return rows, call.status == CallStatus.UNDER_REVIEW


def _chart(ranking, totals) -> dict:
    """Each proposal's individual totals and its final score, in ranking order (Decimals as text)."""
    points = []
    for position, row in enumerate(ranking, start=1):
        proposal = row["proposal"]
        if proposal is None:
            continue
        label = f"#{row['rank']}" if row["rank"] else f"({position})"
        points.append(
            {
                "label": f"{label} {proposal.lead}"[:40],
                "totals": [str(t) for t in totals.get(proposal.pk, [])],
                "final": _two_places(row["final"]) if row["final"] is not None else None,
            }
        )
    return {
        "proposals": points,
        "labels": {"totals": _("Expert totals"), "final": _("Final score"), "axis": _("Points")},
    }


def _pager(page) -> dict:
    """What the template reads of the matrix's page, as plain values (the dashboard is cached:
    the page object would carry every proposal of the call with it)."""
    return {
        "number": page.number,
        "count": page.paginator.count,
        "ellipsis": str(page.paginator.ELLIPSIS),
        "has_other_pages": page.has_other_pages(),
        "has_previous": page.has_previous(),
        "has_next": page.has_next(),
        "previous_page_number": page.number - 1,
        "next_page_number": page.number + 1,
        "start_index": page.start_index(),
        "end_index": page.end_index(),
    }


def dashboard_context(call, user, page=None) -> dict:
    """Everything the dashboard shows (the matrix for one page of proposals), from four queries
    whatever the size of the call: the proposals; their assignments with the scores, which feed
    the matrix, the progress, the reminders and the live ranking alike; the blocked pairs, read
    once; and the ranking's own (key-criterion points for decisions.compute, or the stored results).
    Not the call: the view adds it (the dict is cached, the call is loaded anyway).
    """
    can_manage = _can_manage(user)
    proposals = [
        _Proposal(*values)
        for values in Proposal.objects.filter(call=call, status__in=DASHBOARD_STATUSES)
        .order_by("title", "pk")
        .values_list("pk", "title", "lead_organization__name", "status", "submitted_at")
    ]
    by_id = {p.pk: p for p in proposals}
    page = Paginator(proposals, MATRIX_PAGE_SIZE).get_page(page)
    assignments = [
        _Assignment(*values)
        for values in Assignment.objects.filter(proposal__call=call)
        .order_by("active", "pk")
        .values_list(
            "pk",
            "proposal_id",
            "expert_id",
            "expert__name",
            "active",
            "score__pk",
            "score__status",
            "score__total",
            "score__veto",
        )
    ]
    # Every conflict of the call's proposals, once, for the matrix, the progress and the ranking.
    blocked = avoidance.blocked_pairs(Proposal.objects.filter(call=call).values("pk")) if assignments else set()
    reopen = _reopen_url() if can_manage and call.status == CallStatus.UNDER_REVIEW else None
    experts, cells, totals, late = _matrix(proposals, assignments, blocked, page, reopen)
    active = [a for a in assignments if a.active]
    progress = decisions.progress(
        call, assignments=[(a.expert_id, a.proposal_id, a.status) for a in active], blocked=blocked
    )
    rows = []
    for proposal in page:
        done, total = progress.get(proposal.pk, (0, 0))
        rows.append(
            {
                "proposal": proposal,
                "cells": cells[proposal.pk],
                "done": done,
                "total": total,
                "percent": round(100 * done / total) if total else 0,
            }
        )
    done = sum(d for d, _t in progress.values())
    total = sum(t for _d, t in progress.values())
    ranking, live = [], True
    if call.status != CallStatus.CLOSED:
        submitted = [
            (a.pk, a.expert_id, a.proposal_id, a.total, a.veto) for a in active if a.status == ScoreStatus.SUBMITTED
        ]
        ranking, live = _ranking_rows(call, by_id, submitted, blocked)
    return {
        "can_manage": can_manage,
        "experts": experts,
        "page": _pager(page),
        "page_links": [
            n if isinstance(n, int) else str(n)  # the ellipsis, translated
            for n in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        ],
        "proposal_count": len(proposals),
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "late_experts": len({a.expert_id for a in late}),
        "late_scores": len(late),
        "live": live,
        "flagged": sum(1 for r in ranking if r["disagreement"] or r["vetoed"]),
        "chart": _chart(ranking, totals),
        **tables(rows, ranking),
        # Administrators reopen a submitted score, while the call is under review, through one form.
        "reopen_available": reopen is not None and any(a.status == ScoreStatus.SUBMITTED for a in active),
    }


@login_required
@require_GET
def dashboard(request, code):
    call = get_call_for_draws(request.user, code)
    page = page_cache.page_number(request)
    context = dashboard_cache.fetch(
        call,
        page=page,
        viewer="manage" if _can_manage(request.user) else "read",
        build=lambda: dashboard_context(call, request.user, page),
    )
    return render(request, "reviews/decisions/dashboard.html", {**context, "call": call})


@login_required
@require_POST
def start_review(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    try:
        decisions.start_review(actor=request.user, call=call)
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(request, _("The call is under review: its formally passed proposals go to the experts."))
    return redirect("reviews:dashboard", code=call.code)


@login_required
@require_POST
def rank(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    allow_incomplete = request.POST.get("allow_incomplete") in ("1", "on", "true")
    try:
        ranked = decisions.rank_call(actor=request.user, call=call, allow_incomplete=allow_incomplete)
    except ValidationError as exc:
        _report(request, exc)
        return redirect("reviews:dashboard", code=call.code)
    messages.success(
        request,
        ngettext("Ranked %(n)d proposal.", "Ranked %(n)d proposals.", len(ranked)) % {"n": len(ranked)},
    )
    return redirect("reviews:decisions", code=call.code)


@login_required
@require_POST
def remind(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    try:
        count = decisions.remind_late(actor=request.user, call=call)
    except ValidationError as exc:
        _report(request, exc)
    else:
        if count:
            messages.success(
                request,
                ngettext(
                    "Reminded %(n)d expert whose score is still missing.",
                    "Reminded %(n)d experts whose scores are still missing.",
                    count,
                )
                % {"n": count},
            )
        else:
            messages.info(request, _("Every expert has submitted: nobody to remind."))
    return redirect("reviews:dashboard", code=call.code)


# --- decisions ----------------------------------------------------------------------------------
class OpenNoticeForm(StyledFormMixin, forms.Form):
    starts_on = forms.DateField(
        label=gettext_lazy("notice starts on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class FailForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


def _winner_limit(call) -> int:
    return call.max_winners if call.support_mode == SupportMode.HORSE_RACE else 1


def _decision_rows(call, posted=None):
    """Ranked proposals with the default (or posted) selection and amounts."""
    results = list(
        Result.objects.filter(proposal__call=call)
        .select_related("proposal__lead_organization")
        .prefetch_related("proposal__budget_lines")
        .order_by(F("rank").asc(nulls_last=True), "proposal_id")
    )
    recommended = dict(Recommendation.objects.filter(call=call).values_list("proposal_id", "fiscal_amount"))
    ranked = [aggregation.Ranked(aggregation.Entry(r.proposal_id, None, None, None), r.rank, r.passed) for r in results]
    selected = set(recommended) or set(aggregation.default_winners(ranked, _winner_limit(call)))
    remaining = call.fiscal_cap - sum(recommended.values(), Decimal(0))
    rows = []
    for result in results:
        proposal = result.proposal
        request_amount = decisions.fiscal_request(proposal)
        eligible = result.rank is not None and result.passed
        amount = recommended.get(proposal.pk)
        if amount is None and eligible:
            amount = max(min(request_amount, remaining), Decimal(0))
            if proposal.pk in selected:
                remaining -= amount
        row = {
            "result": result,
            "proposal": proposal,
            "request": request_amount,
            "eligible": eligible,
            "selected": proposal.pk in selected,
            "amount": amount,
            "recommended": proposal.pk in recommended,
        }
        if posted is not None:
            row["selected"] = str(proposal.pk) in posted.getlist("winner")
            row["amount"] = posted.get(f"amount_{proposal.pk}", "")
        rows.append(row)
    return rows, recommended


def _decisions_page(request, call, *, posted=None, errors=None, notice_form=None, fail_form=None, status=200):
    rows, recommended = _decision_rows(call, posted)
    programme = call.programme
    working = programme.notice_day_kind == NoticeDayKind.WORKING
    holidays, worked = holiday_sets()
    today = timezone.localdate()
    notice = Notice.objects.filter(call=call).first()
    return render(
        request,
        "reviews/decisions/decisions.html",
        {
            "call": call,
            "can_manage": _can_manage(request.user),
            "rows": rows,
            "ranked": bool(rows),
            "recommended_total": sum(recommended.values(), Decimal(0)),
            "has_recommendations": bool(recommended),
            "limit": _winner_limit(call),
            "errors": errors or [],
            "notice": notice,
            "notice_days": programme.notice_days,
            "working": working,
            "preview_start": today,
            "preview_end": notice_end(
                today, programme.notice_days, working=working, holidays=holidays, adjusted_working_days=worked
            ),
            "notice_form": notice_form or OpenNoticeForm(initial={"starts_on": today}),
            "fail_form": fail_form or FailForm(),
            "can_decide": call.status == CallStatus.UNDER_REVIEW,
            "can_fail": call.status in (CallStatus.CLOSED, CallStatus.UNDER_REVIEW, CallStatus.IN_NOTICE),
        },
        status=status,
    )


@login_required
@require_GET
def decisions_page(request, code):
    call = get_call_for_draws(request.user, code)
    return _decisions_page(request, call)


def _posted_amounts(call, post) -> tuple[dict, list[str]]:
    eligible = set(Result.objects.filter(proposal__call=call).values_list("proposal_id", flat=True))
    amounts, problems = {}, []
    for raw in post.getlist("winner"):
        try:
            pid = int(raw)
        except ValueError:
            pid = None
        if pid not in eligible:
            problems.append(_("Choose winners among the ranked proposals."))
            continue
        text = (post.get(f"amount_{pid}") or "").strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount.as_tuple().exponent < -2:
            problems.append(
                _("Enter the fiscal amount of every winner as a number with at most two decimals (10k yuan).")
            )
            continue
        amounts[pid] = amount
    return amounts, problems


@login_required
@require_POST
def confirm(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    amounts, problems = _posted_amounts(call, request.POST)
    if not problems:
        try:
            created = decisions.confirm_winners(actor=request.user, call=call, amounts=amounts)
        except ValidationError as exc:
            problems = exc.messages
        else:
            messages.success(
                request,
                ngettext("%(n)d winner confirmed.", "%(n)d winners confirmed.", len(created)) % {"n": len(created)},
            )
            return redirect("reviews:decisions", code=call.code)
    return _decisions_page(request, call, posted=request.POST, errors=problems)


@login_required
@require_POST
def open_notice(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    form = OpenNoticeForm(request.POST)
    if form.is_valid():
        try:
            notice = decisions.open_notice(actor=request.user, call=call, starts_on=form.cleaned_data["starts_on"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("The public notice runs from %(start)s to %(end)s.")
                % {"start": notice.starts_on.isoformat(), "end": notice.ends_on.isoformat()},
            )
            return redirect("reviews:notice_admin", code=call.code)
    return _decisions_page(request, call, notice_form=form)


@login_required
@require_POST
def fail(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    form = FailForm(request.POST)
    if form.is_valid():
        try:
            decisions.fail_without_winner(actor=request.user, call=call, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The call is declared failed (流榜): no proposal is awarded."))
            return redirect("reviews:dashboard", code=call.code)
    return _decisions_page(request, call, fail_form=form)
