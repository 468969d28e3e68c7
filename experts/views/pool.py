"""The expert pool (专家库): list and detail for administrators and supervisors,
spreadsheet template, export and import."""

import rules
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import record
from experts import excel
from experts.access import get_expert_for_user, require_pool_permission
from experts.filters import ExpertFilter
from experts.forms import ImportForm
from experts.models import Employment, Expert
from proposals.validators import mask_id_number

PAGE_SIZE = 25


@login_required
@require_GET
def pool_list(request):
    require_pool_permission(request.user, "experts.view_pool")
    experts = Expert.objects.select_related("user").prefetch_related(
        Prefetch(
            "employments",
            queryset=Employment.objects.filter(ended_on__isnull=True).select_related("organization"),
            to_attr="current_employments",
        )
    )
    filterset = ExpertFilter(request.GET, queryset=experts.order_by("name", "pk"))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    user = request.user
    return render(
        request,
        "experts/list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "can_import": rules.has_perm("experts.import_pool", user),
            "can_export": rules.has_perm("experts.export_pool", user),
        },
    )


@login_required
@require_GET
def expert_detail(request, pk: int):
    expert = get_expert_for_user(request.user, pk)
    show_ids = rules.has_perm("experts.view_id_numbers", request.user)
    return render(
        request,
        "experts/detail.html",
        {
            "expert": expert,
            "id_number": expert.id_number if show_ids else expert.masked_id,
            # Current employer first, then the most recently ended.
            "employments": sorted(
                expert.employments.all(),
                key=lambda e: (e.ended_on is not None, -(e.ended_on.toordinal() if e.ended_on else 0), -e.pk),
            ),
            "avoid_people": [
                (person.name, person.id_number if show_ids else mask_id_number(person.id_number))
                for person in expert.avoid_people.all()
            ],
            "can_import": rules.has_perm("experts.import_pool", request.user),
        },
    )


@login_required
@require_GET
def download_template(request):
    require_pool_permission(request.user, "experts.import_pool")
    return _xlsx(excel.template(), "专家库导入模板.xlsx")


@login_required
@require_GET
def export_pool(request):
    require_pool_permission(request.user, "experts.export_pool")
    masked = not rules.has_perm("experts.view_id_numbers", request.user)
    content = excel.export(mask_ids=masked)
    # Who took a copy of the pool's personal data, and whether with full ID numbers.
    record(
        actor=request.user,
        action="expert.export",
        object_type=Expert._meta.label_lower,
        object_repr=excel.SHEET,
        after={"masked_id_numbers": masked},
    )
    return _xlsx(content, f"专家库-{timezone.localdate():%Y%m%d}.xlsx")


@login_required
@require_http_methods(["GET", "POST"])
def import_pool(request):
    require_pool_permission(request.user, "experts.import_pool")
    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = excel.import_pool(form.cleaned_data["file"], actor=request.user)
    return render(
        request,
        "experts/import.html",
        {"form": form, "result": result, "columns": excel.COLUMNS},
    )


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=excel.CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Cache-Control"] = "no-store"  # personal data: never kept by a shared cache
    return response
