"""The review dashboard and the award decisions: administrators act, supervisors (纪检) read.

Every change goes through reviews.decisions (start review, rank, confirm winners, open the
public notice, 流榜); these views load, check who is asking, call the service and report.
The dashboard is built from a fixed number of bulk queries, whatever the number of
proposals and experts.
"""

from decimal import Decimal, InvalidOperation

import rules
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import StyledFormMixin
from calls.choices import CallStatus, NoticeDayKind, SupportMode
from experts import avoidance
from proposals.choices import ProposalStatus
from proposals.models import Proposal
from reviews import aggregation, decisions
from reviews.access import get_call_for_draws
from reviews.models import Assignment, Notice, Recommendation, Result, ScoreStatus
from reviews.notice import holiday_sets, notice_end

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
def _reopen_url(score) -> str | None:
    """The scoring pages' reopen endpoint (reviews/urls_scoring.py), if installed."""
    try:
        return reverse("reviews:score_reopen", args=[score.pk])
    except NoReverseMatch:
        return None


def _matrix(call, proposals, can_reopen: bool):
    """Columns (experts) and one row of cells per proposal, from two bulk queries."""
    assignments = list(
        Assignment.objects.filter(proposal__call=call).select_related("expert", "score").order_by("active", "pk")
    )
    blocked = avoidance.blocked_pairs([p.pk for p in proposals]) if proposals else set()
    # Active assignments come last in the ordering, so they win over ended ones for the same pair.
    pairs = {(a.proposal_id, a.expert_id): a for a in assignments}
    experts = sorted({a.expert_id: a.expert for a in assignments}.values(), key=lambda e: (e.name, e.pk))
    totals, late = {}, []
    rows = []
    for proposal in proposals:
        cells = []
        for expert in experts:
            assignment = pairs.get((proposal.pk, expert.pk))
            conflict = (expert.pk, proposal.pk) in blocked
            cell = {"expert": expert, "state": "conflict" if conflict else "none"}
            if assignment is not None and assignment.active:
                # A conflict recorded after routing leaves the assignment active until the panel is
                # routed again; decisions.compute still counts its score, so the cell shows both.
                cell["conflict"] = conflict
                score = getattr(assignment, "score", None)
                if score is not None and score.status == ScoreStatus.SUBMITTED:
                    cell.update(state="submitted", total=score.total, veto=score.veto, score=score)
                    totals.setdefault(proposal.pk, []).append(score.total)
                    if can_reopen:
                        cell["reopen_url"] = _reopen_url(score)
                else:
                    cell["state"] = "draft" if score is not None else "not_started"
                    if not conflict:  # a conflicted expert cannot open the sheet: no reminder
                        late.append(assignment)
            cells.append(cell)
        rows.append({"proposal": proposal, "cells": cells})
    return experts, rows, totals, late


def _ranking_rows(call, proposals_by_id):
    """The live ranking while under review (decisions.compute); the stored results afterwards."""
    rows = []
    if call.status == CallStatus.UNDER_REVIEW:
        for item in decisions.compute(call):
            agg = item.entry.aggregate
            rows.append(
                {
                    "proposal": proposals_by_id.get(item.entry.proposal_id),
                    "rank": item.rank,
                    "final": agg.final,
                    "median": agg.median,
                    "sd": agg.sd,
                    "spread": agg.spread,
                    "count": agg.count,
                    "method": agg.method,
                    "passed": item.passed,
                    "disagreement": agg.disagreement,
                    "vetoed": agg.vetoed,
                }
            )
        return rows, True
    results = Result.objects.filter(proposal__call=call).order_by(F("rank").asc(nulls_last=True), "proposal_id")
    for result in results:
        rows.append(
            {
                "proposal": proposals_by_id.get(result.proposal_id),
                "rank": result.rank,
                "final": result.final,
                "median": result.median,
                "sd": result.sd,
                "spread": result.spread,
                "count": result.count,
                "method": result.method,
                "passed": result.passed,
                "disagreement": result.disagreement,
                "vetoed": result.vetoed,
            }
        )
    return rows, False


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
                "label": f"{label} {proposal.lead_organization.name}"[:40],
                "totals": [str(t) for t in totals.get(proposal.pk, [])],
                "final": str(row["final"]) if row["final"] is not None else None,
            }
        )
    return {
        "proposals": points,
        "labels": {"totals": _("Expert totals"), "final": _("Final score"), "axis": _("Points")},
    }


def dashboard_context(call, user) -> dict:
    can_manage = _can_manage(user)
    proposals = list(
        Proposal.objects.filter(call=call, status__in=DASHBOARD_STATUSES)
        .select_related("lead_organization")
        .order_by("title", "pk")
    )
    by_id = {p.pk: p for p in proposals}
    can_reopen = can_manage and call.status == CallStatus.UNDER_REVIEW
    experts, rows, totals, late = _matrix(call, proposals, can_reopen)
    progress = decisions.progress(call)
    for row in rows:
        done, total = progress.get(row["proposal"].pk, (0, 0))
        row.update(done=done, total=total, percent=round(100 * done / total) if total else 0)
    done = sum(d for d, _t in progress.values())
    total = sum(t for _d, t in progress.values())
    ranking, live = _ranking_rows(call, by_id) if call.status != CallStatus.CLOSED else ([], True)
    return {
        "call": call,
        "can_manage": can_manage,
        "experts": experts,
        "rows": rows,
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "late_experts": len({a.expert_id for a in late}),
        "late_scores": len(late),
        "ranking": ranking,
        "live": live,
        "flagged": sum(1 for r in ranking if r["disagreement"] or r["vetoed"]),
        "chart": _chart(ranking, totals),
        "reopen_available": can_reopen and any(c.get("reopen_url") for r in rows for c in r["cells"]),
    }


@login_required
@require_GET
def dashboard(request, code):
    call = get_call_for_draws(request.user, code)
    return render(request, "reviews/decisions/dashboard.html", dashboard_context(call, request.user))


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
