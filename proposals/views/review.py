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
from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Subquery, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
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
    "eligibility",
    "review_reason",
    "submitted_at",
    "reviewed_at",
    "lead_organization__name",
    "pi_name",
)


def _when(moment) -> str:
    """A time as the queue shows it: local, to the minute (the templates' date:"Y-m-d H:i")."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _member_units(proposal_ids) -> dict[int, list[dict]]:
    """{proposal id: its member units (name, confirmed)}, in one query."""
    units: dict[int, list[dict]] = {}
    rows = (
        ProposalUnit.objects.filter(proposal_id__in=proposal_ids, role=UnitRole.MEMBER)
        .order_by("proposal_id", "pk")
        .values_list("proposal_id", "organization__name", "confirmed_at")
    )
    for proposal_id, name, confirmed_at in rows:
        units.setdefault(proposal_id, []).append({"name": name, "confirmed": confirmed_at is not None})
    return units


class _Checks:
    """The stored eligibility results of awaiting rows, described for the queue. Labels are
    translated once per page, and the rule list (the same for most rows) is rendered once per
    distinct outcome rather than once per row."""

    def __init__(self):
        self.labels = {code: str(label) for code, label in eligibility.RULE_LABELS.items()}
        self.rule_lists: dict[tuple, str] = {}

    def __call__(self, results) -> dict:
        shown = []
        for result in results or []:
            rule = result.get("rule")
            if rule and rule not in RULES_NOT_SHOWN_IN_REVIEW:
                described = eligibility.describe(result)
                described["label"] = self.labels.get(rule, rule)
                shown.append(described)
        outcome = tuple((check["rule"], check["ok"]) for check in shown)
        if outcome not in self.rule_lists:
            self.rule_lists[outcome] = render_to_string("proposals/review/_rule_list.html", {"checks": shown})
        return {
            "checked": bool(shown),
            "failed": [check for check in shown if not check["ok"]],
            "rule_list": self.rule_lists[outcome],  # safe: rendered (and escaped) by its template
        }


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

    counts = dict(proposals.order_by().values_list("status").annotate(n=Count("pk")))
    status_counts = [(s, counts.get(s.value, 0)) for s in ProposalStatus if s in QUEUE_STATUSES or counts.get(s.value)]
    # Those awaiting formal review first (oldest submission first), then the decided ones; page by
    # page, each row as plain values: the lead unit and the PI joined, the member units in one query.
    pi_name = TeamMember.objects.filter(proposal=OuterRef("pk"), role=TeamRole.PI).order_by().values("person__name")
    ordered = (
        proposals.annotate(pi_name=Subquery(pi_name[:1]))
        .order_by(
            Case(When(status=ProposalStatus.SUBMITTED, then=Value(0)), default=Value(1), output_field=IntegerField()),
            "submitted_at",
            "pk",
        )
        .values(*QUEUE_COLUMNS)
    )
    paginator = Paginator(ordered, QUEUE_PAGE_SIZE)
    paginator.count = sum(counts.values())  # known from the counts: no COUNT query of its own
    page = paginator.get_page(request.GET.get("page"))
    page_query = "" if page.number == 1 else f"?page={page.number}"
    members = _member_units([values["pk"] for values in page])
    checks = _Checks()
    awaiting, decided = [], []
    for values in page:
        pk = values["pk"]
        row = {
            "pk": pk,
            "title": values["title"],
            "url": reverse("proposals:detail", args=[pk]),
            "lead": values["lead_organization__name"],
            "members": members.get(pk, []),
            "pi": values["pi_name"],
            "submitted": _when(values["submitted_at"]),
        }
        if values["status"] == ProposalStatus.SUBMITTED:
            row.update(checks(values["eligibility"]))
            for action in DECISIONS:
                row[f"{action}_url"] = reverse("proposals:review", args=[pk, action]) + page_query
            awaiting.append(row)
        else:
            status = ProposalStatus(values["status"])
            row.update(
                status=status.value,
                status_label=status.label,
                reviewed=_when(values["reviewed_at"]),
                review_reason=values["review_reason"],
            )
            decided.append(row)
    return render(
        request,
        "proposals/review/queue.html",
        {
            "call": call,
            "status_counts": status_counts,
            "awaiting_total": counts.get(ProposalStatus.SUBMITTED.value, 0),
            "awaiting": awaiting,
            "decided": decided,
            "page": page,
            "page_query": page_query,
        },
    )


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
