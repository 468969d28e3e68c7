"""Pages anybody may open: the call list and a call's page."""

import rules
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from accounts.regions import Region
from calls.access import get_call_for_user
from calls.choices import PUBLIC_STATUSES, CallStatus, TechField
from calls.filters import CallFilter
from calls.models import Call, support_label
from calls.services import close_overdue
from calls.workflow import available_actions
from config.html import text, url_maker

PAGE_SIZE = 20


# What a card shows, read as plain values: no model instances (a call, its programme and
# its issuer per row) and none of the long texts or JSON columns.
LIST_COLUMNS = ("code", "title", "field", "status", "fiscal_cap", "support_mode", "max_winners", "deadline")
LIST_RELATED = {
    "programme_name": F("programme__name"),
    "issuer_name": F("issuer__name"),
    "issuer_region": F("issuer__region"),
}
# Labels from plain dicts: Model.get_FOO_display() rebuilds its choice map on every call.
_FIELD_LABELS = dict(TechField.choices)
_STATUS_LABELS = dict(CallStatus.choices)
_REGION_LABELS = dict(Region.choices)

# A call's card on the list. It is built here rather than in the template because the
# template engine costs several microseconds per variable and filter, and a page of twenty
# cards has some three hundred of them: a third of the page's time. Every value is escaped
# (config.html.text), as the template's autoescaping did.
CARD_HTML = """
        <article class="card call-card mb-3" data-testid="call-{code}">
          <div class="card-body">
            <div class="d-flex justify-content-between flex-wrap gap-2">
              <span class="text-muted small"><code>{code}</code> · {programme} · {field}</span>
              <span class="badge status-{status}">{status_label}</span>
            </div>
            <h2 class="h5 mt-2"><a href="{url}">{title}</a></h2>
            <div class="small text-muted mb-2">{issuer} · {region}</div>
            <div class="row small">
              <div class="col-sm-4">{fiscal_cap_label}: <span class="money">{fiscal_cap}</span> {unit_label}</div>
              <div class="col-sm-4">{support_label}: {support}</div>
              <div class="col-sm-4">{deadline_label}: {deadline}</div>
            </div>
          </div>
        </article>
"""


def _cards(rows):
    """The HTML of each row's card (see CARD_HTML)."""
    detail_url = url_maker("calls:detail")  # reversed once, not per card
    tz = timezone.get_current_timezone()
    labels = {  # the messages the template used, translated and escaped once per page
        "fiscal_cap_label": text(gettext("Fiscal cap")),
        "unit_label": text(gettext("10k yuan")),
        "support_label": text(gettext("Support")),
        "deadline_label": text(gettext("Deadline")),
    }
    cards = []
    for call in rows:
        values = {
            "code": call["code"],
            "programme": call["programme_name"],
            "field": _FIELD_LABELS.get(call["field"], call["field"]),
            "status": call["status"],
            "status_label": _STATUS_LABELS.get(call["status"], call["status"]),
            "url": detail_url(call["code"]),
            "title": call["title"],
            "issuer": call["issuer_name"],
            "region": _REGION_LABELS.get(call["issuer_region"], call["issuer_region"]),
            # What {{ value|floatformat:2 }} gave for these two-decimal numbers (numeric(12, 2)),
            # at half its cost, and {{ value|date:"Y-m-d H:i" }} in local time.
            "fiscal_cap": number_format(call["fiscal_cap"], 2),
            "support": support_label(call["support_mode"], call["max_winners"]),
            "deadline": call["deadline"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        }
        escaped = {name: text(value) for name, value in values.items()}
        cards.append(mark_safe(CARD_HTML.format_map(escaped | labels)))  # noqa: S308 (all escaped)
    return cards


@require_GET
def call_list(request):
    close_overdue()  # a stopped beat never leaves a call shown as open
    filterset = CallFilter(request.GET, queryset=Call.objects.public())
    calls = filterset.qs  # validates the form: cleaned_data below is what was applied

    # Per-status counts under every filter except the status itself. They also give the
    # number of matches, so the paginator does not count a second time.
    facet_qs = filterset.filter_queryset(Call.objects.public(), exclude=("status", "sort")).order_by()
    counts = dict(facet_qs.values_list("status").annotate(n=Count("pk")))
    # Plain (value, label, count) tuples and the status asked for, read once here rather than
    # through the form's bound field for every pill.
    status_counts = [(s.value, s.label, counts.get(s.value, 0)) for s in CallStatus if s in PUBLIC_STATUSES]
    total = sum(counts.values())
    status = filterset.form.cleaned_data.get("status")

    paginator = Paginator(calls.values(*LIST_COLUMNS, **LIST_RELATED), PAGE_SIZE)
    paginator.count = counts.get(status, 0) if status else total
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # one query, rows as dicts

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
            "cards": _cards(page.object_list),
            "query": query.urlencode(),
            "status_query": status_query.urlencode(),
            "status_counts": status_counts,
            "current_status": status or "",
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
