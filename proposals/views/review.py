"""Formal review (形式审查) by administrators, and the issuer's view of proposals to its calls.

Every decision goes through proposals.services; these views only load, check
who is asking, call the service and report the outcome.
"""

from itertools import groupby

import rules
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, IntegerField, Prefetch, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls.access import get_call_for_user
from proposals import eligibility, services
from proposals.access import get_proposal_for_user
from proposals.choices import ISSUER_VISIBLE_STATUSES, ProposalStatus, TeamRole, UnitRole
from proposals.models import Proposal, ProposalUnit, TeamMember

# The queue lists what has reached formal review: drafts and withdrawn bids are
# the applicants' business.
QUEUE_EXCLUDED = [ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN]
# Shown as counts at the top of the queue even when zero.
QUEUE_STATUSES = [ProposalStatus.SUBMITTED, ProposalStatus.RETURNED, ProposalStatus.PASSED, ProposalStatus.REJECTED]
# Formal review runs after the deadline, when the live "before the deadline"
# rule fails for everyone; whether the bid came in on time was settled at submit
# (the submitted time is shown next to it).
RULES_NOT_SHOWN_IN_REVIEW = {"deadline"}

DECISIONS = {
    "pass": (services.pass_review, gettext_lazy("“%(title)s” passed formal review.")),
    "return": (
        services.return_for_correction,
        gettext_lazy("“%(title)s” was returned for correction; the applicant can read your reason."),
    ),
    "reject": (services.reject, gettext_lazy("“%(title)s” was rejected in formal review.")),
}


def _require_administrator(user) -> None:
    if not rules.has_perm("proposals.review_proposal", user):
        raise PermissionDenied


def _with_consortium(queryset):
    """Lead unit, member units and PI for each row, in three queries whatever the number of rows."""
    return queryset.select_related("lead_organization").prefetch_related(
        Prefetch("units", queryset=ProposalUnit.objects.select_related("organization").order_by("role", "pk")),
        Prefetch(
            "team",
            queryset=TeamMember.objects.filter(role=TeamRole.PI).select_related("person"),
            to_attr="pis",
        ),
    )


def _row(proposal: Proposal) -> dict:
    units = list(proposal.units.all())
    results = [eligibility.describe(r) for r in proposal.eligibility or [] if r.get("rule")]
    shown = [r for r in results if r["rule"] not in RULES_NOT_SHOWN_IN_REVIEW]
    return {
        "proposal": proposal,
        "members": [u for u in units if u.role == UnitRole.MEMBER],
        "pi": proposal.pis[0].person if proposal.pis else None,
        "checks": shown,
        "failed": [r for r in shown if not r["ok"]],
        "checked": bool(shown),
    }


@login_required
@require_http_methods(["GET", "POST"])
def queue(request, code):
    _require_administrator(request.user)
    call = get_call_for_user(request.user, code)
    proposals = Proposal.objects.filter(call=call).exclude(status__in=QUEUE_EXCLUDED)

    # Re-checking writes (eligibility, audit), so it is a POST, never a link.
    if request.method == "POST" and request.POST.get("recheck") == "1":
        checked, marked = services.recheck_call(actor=request.user, call=call)
        messages.info(
            request,
            ngettext(
                "Eligibility checked again for %(count)d submitted proposal.",
                "Eligibility checked again for %(count)d submitted proposals.",
                checked,
            )
            % {"count": checked}
            + " "
            + ngettext(
                "%(count)d proposal in this programme breaks an application limit.",
                "%(count)d proposals in this programme break an application limit.",
                marked,
            )
            % {"count": marked},
        )
        # Reloading the page must not run the checks again.
        return redirect("proposals:review_queue", code=call.code)

    counts = dict(proposals.order_by().values_list("status").annotate(n=Count("pk")))
    status_counts = [(s, counts.get(s.value, 0)) for s in ProposalStatus if s in QUEUE_STATUSES or counts.get(s.value)]
    ordered = _with_consortium(proposals).order_by(
        Case(When(status=ProposalStatus.SUBMITTED, then=Value(0)), default=Value(1), output_field=IntegerField()),
        "submitted_at",
        "pk",
    )
    rows = [_row(p) for p in ordered]
    return render(
        request,
        "proposals/review/queue.html",
        {
            "call": call,
            "status_counts": status_counts,
            "awaiting": [r for r in rows if r["proposal"].status == ProposalStatus.SUBMITTED],
            "decided": [r for r in rows if r["proposal"].status != ProposalStatus.SUBMITTED],
        },
    )


@login_required
@require_POST
def decide(request, pk, action):
    if action not in DECISIONS:
        raise Http404
    proposal = get_proposal_for_user(request.user, pk)  # 404 for those who may not even see it
    _require_administrator(request.user)
    service, done = DECISIONS[action]
    try:
        if action == "pass":
            service(actor=request.user, proposal=proposal)
        else:
            service(actor=request.user, proposal=proposal, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{proposal.title}: {message}")
    else:
        messages.success(request, str(done) % {"title": proposal.title})
    return redirect("proposals:review_queue", code=proposal.call.code)


@login_required
@require_POST
def bulk_pass(request, code):
    _require_administrator(request.user)
    call = get_call_for_user(request.user, code)
    ids = sorted({int(value) for value in request.POST.getlist("ids") if value.isdigit()})
    if not ids:
        messages.error(request, _("Select the proposals to pass first."))
        return redirect("proposals:review_queue", code=call.code)
    try:
        passed = services.bulk_pass(actor=request.user, call=call, proposal_ids=ids)
    except ValidationError as exc:
        # Each pass is its own transaction: those before the failure stay passed.
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d proposal passed formal review.",
                "%(count)d proposals passed formal review.",
                passed,
            )
            % {"count": passed},
        )
    return redirect("proposals:review_queue", code=call.code)


@login_required
@require_GET
def issuer_list(request):
    """Proposals to the calls of the issuer's organisation, once formal review has passed them."""
    user = request.user
    if not (user.is_issuer and user.organization_id):
        raise PermissionDenied
    proposals = (
        _with_consortium(
            Proposal.objects.filter(call__issuer_id=user.organization_id, status__in=ISSUER_VISIBLE_STATUSES)
        )
        .select_related("call")
        .order_by("call__deadline", "call__code", "submitted_at", "pk")
    )
    groups = [(call, [_row(p) for p in rows]) for call, rows in groupby(proposals, key=lambda p: p.call)]
    return render(request, "proposals/review/issuer_list.html", {"groups": groups})
