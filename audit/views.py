from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.access import get_entry_for_user, require_audit_reader
from audit.filters import AuditEntryFilter
from audit.models import AuditEntry
from audit.services import verify_chain

PAGE_SIZE = 50


@login_required
@require_GET
def entry_list(request):
    require_audit_reader(request.user)
    entries = AuditEntry.objects.select_related("actor").order_by("-seq")
    filterset = AuditEntryFilter(request.GET, queryset=entries)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/entry_list.html",
        {"filter": filterset, "page": page, "query": query.urlencode()},
    )


@login_required
@require_GET
def entry_detail(request, seq: int):
    entry = get_entry_for_user(request.user, seq)
    keys = sorted(set((entry.before or {}).keys()) | set((entry.after or {}).keys()))
    changes = [
        {
            "field": key,
            "before": (entry.before or {}).get(key),
            "after": (entry.after or {}).get(key),
            "changed": (entry.before or {}).get(key) != (entry.after or {}).get(key),
        }
        for key in keys
    ]
    return render(request, "audit/entry_detail.html", {"entry": entry, "changes": changes})


@login_required
@require_GET
def chain_status(request):
    require_audit_reader(request.user)
    return render(request, "audit/chain_status.html", {"report": verify_chain()})
