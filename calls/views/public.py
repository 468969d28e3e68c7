"""Pages anybody may open: the call list and a call's page."""

import rules
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from calls.access import get_call_for_user
from calls.choices import PUBLIC_STATUSES, CallStatus
from calls.filters import CallFilter
from calls.models import Call
from calls.services import close_overdue
from calls.workflow import available_actions

PAGE_SIZE = 20


@require_GET
def call_list(request):
    close_overdue()  # a stopped beat never leaves a call shown as open
    base = Call.objects.public().select_related("programme", "issuer")
    filterset = CallFilter(request.GET, queryset=base)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))

    # Per-status counts under every filter except the status itself.
    without_status = request.GET.copy()
    without_status.pop("status", None)
    facet_qs = CallFilter(without_status, queryset=Call.objects.public()).qs.order_by()
    counts = dict(facet_qs.values_list("status").annotate(n=Count("pk")))
    status_counts = [(s, counts.get(s.value, 0)) for s in CallStatus if s in PUBLIC_STATUSES]

    query = request.GET.copy()
    query.pop("page", None)
    status_query = without_status.copy()
    status_query.pop("page", None)
    return render(
        request,
        "calls/list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "status_query": status_query.urlencode(),
            "status_counts": status_counts,
            "total": sum(counts.values()),
        },
    )


def _apply_url(call):
    try:
        return reverse("proposals:start", args=[call.code])
    except NoReverseMatch:
        return None  # the proposals module is not installed yet


@require_GET
def call_detail(request, code):
    call = get_call_for_user(request.user, code)
    call = (
        Call.objects.select_related("programme", "issuer")
        .prefetch_related("co_issuers", "targets", "criteria", "documents", "amendments")
        .get(pk=call.pk)
    )
    user = request.user
    return render(
        request,
        "calls/detail.html",
        {
            "call": call,
            "can_apply": call.is_open and user.is_authenticated and user.is_applicant,
            "apply_url": _apply_url(call),
            "can_edit": rules.has_perm("calls.change_call", user, call),
            "can_amend": rules.has_perm("calls.amend_call", user, call) and call.is_open,
            "actions": available_actions(user, call) if user.is_authenticated else [],
        },
    )
