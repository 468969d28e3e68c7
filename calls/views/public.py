"""Pages anybody may open: the call list and a call's page."""

from types import SimpleNamespace

import rules
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from accounts.regions import Region
from calls.access import get_call_for_user
from calls.choices import PUBLIC_STATUSES, CallStatus, TechField
from calls.filters import CallFilter
from calls.models import Call
from calls.services import close_overdue
from calls.workflow import available_actions

PAGE_SIZE = 20


# What a card shows, read as plain values: no model instances (a call, its programme and
# its issuer per row) and none of the long texts or JSON columns.
LIST_COLUMNS = ("code", "title", "field", "status", "fiscal_cap", "support_mode", "max_winners", "deadline")
LIST_RELATED = {
    "programme_name": F("programme__name"),
    "issuer_name": F("issuer__name"),
    "issuer_region": F("issuer__region"),
}
_FIELD_LABELS = dict(TechField.choices)
_STATUS_LABELS = dict(CallStatus.choices)
_REGION_LABELS = dict(Region.choices)


@require_GET
def call_list(request):
    close_overdue()  # a stopped beat never leaves a call shown as open
    filterset = CallFilter(request.GET, queryset=Call.objects.public())
    calls = filterset.qs  # validates the form: cleaned_data below is what was applied

    # Per-status counts under every filter except the status itself. They also give the
    # number of matches, so the paginator does not count a second time.
    facet_qs = filterset.filter_queryset(Call.objects.public(), exclude=("status", "sort")).order_by()
    counts = dict(facet_qs.values_list("status").annotate(n=Count("pk")))
    status_counts = [(s, counts.get(s.value, 0)) for s in CallStatus if s in PUBLIC_STATUSES]
    total = sum(counts.values())
    status = filterset.form.cleaned_data.get("status")

    paginator = Paginator(calls.values(*LIST_COLUMNS, **LIST_RELATED), PAGE_SIZE)
    paginator.count = counts.get(status, 0) if status else total
    page = paginator.get_page(request.GET.get("page"))
    # Rows stay dicts (the template's first lookup), with labels from plain dicts
    # (Model.get_FOO_display() rebuilds its choice map on every call) and the card's link.
    page.object_list = rows = list(page.object_list)
    for call in rows:
        call["field_label"] = _FIELD_LABELS.get(call["field"], call["field"])
        call["status_label"] = _STATUS_LABELS.get(call["status"], call["status"])
        call["region_label"] = _REGION_LABELS.get(call["issuer_region"], call["issuer_region"])
        call["support_label"] = Call.support_label.fget(SimpleNamespace(**call))
        call["url"] = reverse("calls:detail", args=[call["code"]])

    query = request.GET.copy()
    query.pop("page", None)
    status_query = query.copy()
    status_query.pop("status", None)
    return render(
        request,
        "calls/list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "status_query": status_query.urlencode(),
            "status_counts": status_counts,
            "total": total,
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
