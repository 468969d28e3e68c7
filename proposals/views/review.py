"""Formal review (形式审查) by administrators, and the issuer's view of proposals to its calls.

Every decision goes through proposals.services; these views only load, check
who is asking, call the service and report the outcome.
"""

from itertools import groupby

import rules
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Organization
from audit import page_cache
from calls.access import get_call_for_user
from proposals import services
from proposals.access import get_proposal_for_user
from proposals.choices import ISSUER_VISIBLE_STATUSES, ProposalStatus, TeamRole, UnitRole
from proposals.models import Proposal, ProposalUnit, TeamMember
from proposals.views.queue_rows import QueueRows, join, status_badge

# The queue lists what has reached formal review: drafts and withdrawn bids are
# the applicants' business.
QUEUE_EXCLUDED = [ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN]
# Shown as counts at the top of the queue even when zero.
QUEUE_STATUSES = [ProposalStatus.SUBMITTED, ProposalStatus.RETURNED, ProposalStatus.PASSED, ProposalStatus.REJECTED]

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
    """Lead unit, member units and PI for each proposal, in three queries whatever the number of
    rows (only the columns shown: names and confirmation)."""
    return queryset.select_related("lead_organization").prefetch_related(
        Prefetch(
            "units",
            queryset=ProposalUnit.objects.filter(role=UnitRole.MEMBER)
            .select_related("organization")
            .only("proposal", "confirmed_at", "organization__name")
            .order_by("pk"),
            to_attr="member_units",
        ),
        Prefetch(
            "team",
            queryset=TeamMember.objects.filter(role=TeamRole.PI)
            .select_related("person")
            .only("proposal", "person__name"),
            to_attr="pis",
        ),
    )


def _row(proposal: Proposal) -> dict:
    """A proposal loaded with _with_consortium, as the issuer's list shows it (_consortium.html)."""
    return {
        "proposal": proposal,
        "lead": proposal.lead_organization.name,
        "members": [{"name": u.organization.name, "confirmed": bool(u.confirmed_at)} for u in proposal.member_units],
        "pi": proposal.pis[0].person.name if proposal.pis else None,
    }


# --- the queue --------------------------------------------------------------------------------------
# The queue's page size: a call with many proposals is read and decided page by page.
QUEUE_PAGE_SIZE = 50
# What a queue row shows (the big text fields stay in the database).
QUEUE_COLUMNS = (
    "pk",
    "title",
    "status",
    "review_reason",
    "submitted_at",
    "reviewed_at",
    "lead_name",
    "pi_name",
    "eligibility_text",
)


def _name_of(organization_field: str) -> Subquery:
    """An organization's name, looked up by primary key row by row. Joined instead, PostgreSQL reads
    (or hashes) the whole organization table for the fifty names of a page."""
    return Subquery(Organization.objects.filter(pk=OuterRef(organization_field)).order_by().values("name"))


# The queue's expressions, built once rather than on every request: building them was a noticeable
# part of the page's time. (The ORM copies an expression when a query uses it, so sharing is safe.)
_WAITING = Q(status=ProposalStatus.SUBMITTED)
_WAITING_FIRST = Case(When(_WAITING, then=Value(0)), default=Value(1), output_field=IntegerField())
_LEAD_NAME = _name_of("lead_organization_id")
_PI_NAME = Subquery(
    TeamMember.objects.filter(proposal=OuterRef("pk"), role=TeamRole.PI).order_by().values("person__name")[:1]
)
# The stored eligibility results only of the rows that show them (the waiting ones), and as their
# JSON text: QueueRows decodes each distinct text once, and most rows share one.
_ELIGIBILITY_TEXT = Case(When(_WAITING, then=Cast("eligibility", TextField())), default=None)
_UNIT_NAME = _name_of("organization_id")
_CONFIRMED = ExpressionWrapper(Q(confirmed_at__isnull=False), output_field=BooleanField())


def _queue_values(proposals):
    """The queue's rows as plain values (QUEUE_COLUMNS), in its order: those awaiting formal review
    first (oldest submission first), then the decided ones."""
    return (
        proposals.annotate(lead_name=_LEAD_NAME, pi_name=_PI_NAME, eligibility_text=_ELIGIBILITY_TEXT)
        .order_by(_WAITING_FIRST, "submitted_at", "pk")
        .values(*QUEUE_COLUMNS)
    )


def _member_units(proposal_ids) -> dict[int, list[tuple[str, bool]]]:
    """{proposal id: its member units as (name, confirmed)}, in one query."""
    units: dict[int, list[tuple[str, bool]]] = {}
    rows = (
        ProposalUnit.objects.filter(proposal_id__in=proposal_ids, role=UnitRole.MEMBER)
        .order_by("proposal_id", "pk")
        .values_list("proposal_id", _UNIT_NAME, _CONFIRMED)
    )
    for proposal_id, name, confirmed in rows:
        units.setdefault(proposal_id, []).append((name, confirmed))
    return units


def _page_query(request) -> str:
    """The "?page=n" of the queue page a form was sent from (a decision returns there), or ""."""
    page = request.GET.get("page", "")
    return f"?page={int(page)}" if page.isdigit() and int(page) > 1 else ""


def _back_to_queue(request, call):
    return redirect(reverse("proposals:review_queue", args=[call.code]) + _page_query(request))


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

    number = page_cache.page_number(request)
    # Cached until the audit head moves (every change the queue shows is audited: submissions,
    # decisions, re-checks, consortium and name changes); the CSRF token goes in afterwards.
    context = page_cache.fetch("review-queue", f"{call.pk}:{call.status}:{number}", lambda: _queue(proposals, number))
    csrf_input = f'value="{get_token(request)}"'
    return render(
        request,
        "proposals/review/queue.html",
        {
            **context,
            "call": call,
            "awaiting_rows": mark_safe(context["awaiting_rows"].replace(_CSRF_MARK, csrf_input)),  # noqa: S308
            "decided_rows": mark_safe(context["decided_rows"].replace(_CSRF_MARK, csrf_input)),  # noqa: S308
        },
    )


# Stands for the CSRF token in the cached rows (the token differs per request).
_CSRF_PLACEHOLDER = "\x00csrf\x00"
_CSRF_MARK = f'value="{_CSRF_PLACEHOLDER}"'


def _queue(proposals, number: str) -> dict:
    """What the queue page shows of the call's proposals, page ``number``, without the call."""
    counts = dict(proposals.order_by().values_list("status").annotate(n=Count("pk")))
    # (status, count, its badge): the badge built in Python like the rows' (queue_rows.status_badge).
    status_counts = [
        (s.value, counts.get(s.value, 0), status_badge(s.value, s.label))
        for s in ProposalStatus
        if s in QUEUE_STATUSES or counts.get(s.value)
    ]
    paginator = Paginator(_queue_values(proposals), QUEUE_PAGE_SIZE)
    paginator.count = sum(counts.values())  # known from the counts: no COUNT query of its own
    page = paginator.get_page(number)
    page_query = "" if page.number == 1 else f"?page={page.number}"
    members = _member_units([values["pk"] for values in page])
    # The rows are built in Python (queue_rows.py): through the template engine they cost most of the page.
    rows = QueueRows(csrf_token=_CSRF_PLACEHOLDER, page_query=page_query)
    awaiting, decided = [], []
    for values in page:
        if values["status"] == ProposalStatus.SUBMITTED:
            awaiting.append(rows.awaiting(values, members.get(values["pk"], [])))
        else:
            decided.append(rows.decided(values, members.get(values["pk"], [])))
    return {
        "status_counts": status_counts,
        "awaiting_total": counts.get(ProposalStatus.SUBMITTED.value, 0),
        "awaiting_rows": str(join(awaiting)),
        "decided_rows": str(join(decided)),
        "page": {
            "number": page.number,
            "num_pages": paginator.num_pages,
            "has_other_pages": page.has_other_pages(),
            "has_previous": page.has_previous(),
            "has_next": page.has_next(),
            "previous_page_number": page.number - 1,
            "next_page_number": page.number + 1,
        },
        "page_query": page_query,
    }


@login_required
@require_POST
def decide(request, pk, action):
    if action not in DECISIONS:
        raise Http404
    # 404 for those who may not even see it; the service locks and reads the proposal itself.
    proposal = get_proposal_for_user(request.user, pk, content=False)
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
    return _back_to_queue(request, proposal.call)


@login_required
@require_POST
def bulk_pass(request, code):
    _require_administrator(request.user)
    call = get_call_for_user(request.user, code)
    ids = sorted({int(value) for value in request.POST.getlist("ids") if value.isdigit()})
    if not ids:
        messages.error(request, _("Select the proposals to pass first."))
        return _back_to_queue(request, call)
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
    return _back_to_queue(request, call)


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
