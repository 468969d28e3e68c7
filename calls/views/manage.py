"""Issuer workspace and administrator pages: drafting, approval, lifecycle, amendments."""

import rules
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.templatetags.jiebang import plain
from calls import services
from calls.access import get_call_for_user
from calls.choices import CallStatus
from calls.forms import (
    AmendmentForm,
    CallForm,
    CriterionFormSet,
    DocumentForm,
    ReasonForm,
    TargetFormSet,
    formset_rows,
)
from calls.models import Call
from calls.workflow import TRANSITIONS, available_actions


def _status_summary(queryset):
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("pk")))
    return [(status, counts.get(status.value, 0)) for status in CallStatus]


@login_required
def my_calls(request):
    user = request.user
    if not (user.is_issuer and user.organization_id):
        raise PermissionDenied
    calls = (
        Call.objects.filter(issuer_id=user.organization_id)
        .select_related("programme")
        .order_by("status", "-updated_at")
    )
    status = request.GET.get("status")
    if status in CallStatus.values:
        calls = calls.filter(status=status)
    return render(
        request,
        "calls/mine.html",
        {
            "rows": [(call, available_actions(user, call)) for call in calls],
            "status_counts": _status_summary(Call.objects.filter(issuer_id=user.organization_id)),
            "current_status": status,
        },
    )


@login_required
def review_queue(request):
    if not request.user.is_administrator:
        raise PermissionDenied
    pending = list(
        Call.objects.filter(status=CallStatus.PENDING)
        .select_related("programme", "issuer")
        .prefetch_related("targets", "criteria")
        .order_by("submitted_at")
    )
    problems = {call.pk: services.readiness_problems(call) for call in pending}
    in_progress = (
        Call.objects.filter(status__in=[CallStatus.CLOSED, CallStatus.UNDER_REVIEW, CallStatus.IN_NOTICE])
        .select_related("programme", "issuer")
        .order_by("deadline")
    )
    return render(
        request,
        "calls/review_queue.html",
        {
            "pending": [(call, problems[call.pk], available_actions(request.user, call)) for call in pending],
            "in_progress": [(call, available_actions(request.user, call)) for call in in_progress],
            "status_counts": _status_summary(Call.objects.all()),
            "reason_form": ReasonForm(),
        },
    )


def _edit_page(request, call, form, targets, criteria):
    return render(
        request,
        "calls/edit.html",
        {
            "call": call,
            "form": form,
            "targets": targets,
            "criteria": criteria,
            "document_form": DocumentForm(),
            "call_actions": available_actions(request.user, call) if call else [],
            "problems": services.readiness_problems(call) if call else [],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def create_call(request):
    user = request.user
    if not rules.has_perm("calls.add_call", user):
        raise PermissionDenied
    if request.method == "POST":
        form = CallForm(request.POST)
        targets = TargetFormSet(request.POST, prefix="targets")
        criteria = CriterionFormSet(request.POST, prefix="criteria")
        if form.is_valid() and targets.is_valid() and criteria.is_valid():
            fields = {k: v for k, v in form.cleaned_data.items() if k != "programme"}
            rows = formset_rows(criteria)
            try:
                call = services.create_call(
                    actor=user,
                    programme=form.cleaned_data["programme"],
                    issuer=user.organization,
                    fields=fields,
                    targets=formset_rows(targets),
                    criteria=rows or None,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Draft saved. Complete it and submit it for approval."))
                return redirect("calls:edit", code=call.code)
    else:
        form = CallForm()
        targets = TargetFormSet(prefix="targets")
        criteria = CriterionFormSet(prefix="criteria")
    return _edit_page(request, None, form, targets, criteria)


@login_required
@require_http_methods(["GET", "POST"])
def edit_call(request, code):
    call = get_call_for_user(request.user, code, write=True)
    if request.method == "POST":
        form = CallForm(request.POST, instance=call)
        targets = TargetFormSet(request.POST, prefix="targets")
        criteria = CriterionFormSet(request.POST, prefix="criteria")
        if form.is_valid() and targets.is_valid() and criteria.is_valid():
            fields = {k: v for k, v in form.cleaned_data.items() if k != "programme"}
            try:
                services.update_call(
                    actor=request.user,
                    call=call,
                    fields=fields,
                    targets=formset_rows(targets),
                    criteria=formset_rows(criteria),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("calls:edit", code=call.code)
        call.refresh_from_db()
    else:
        form = CallForm(instance=call)
        targets = TargetFormSet(
            prefix="targets",
            initial=[
                {"name": t.name, "comparator": t.comparator, "value": plain(t.value), "unit": t.unit}
                for t in call.targets.all()
            ],
        )
        criteria = CriterionFormSet(
            prefix="criteria",
            initial=[
                {"name": c.name, "max_points": plain(c.max_points), "guidance": c.guidance} for c in call.criteria.all()
            ],
        )
    return _edit_page(request, call, form, targets, criteria)


@login_required
@require_POST
def call_action(request, code, action):
    if action not in TRANSITIONS:
        raise Http404
    call = get_call_for_user(request.user, code)
    form = ReasonForm(request.POST)
    reason = form.data.get("reason", "")
    try:
        call = services.perform(actor=request.user, call=call, action=action, reason=reason)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        # From the outcome, not the table: confirming the award may end in 流榜 when no winner is left.
        messages.success(request, _("Done: the call is now “%(status)s”.") % {"status": call.get_status_display()})
    next_url = request.POST.get("next")
    if next_url in ("mine", "review", "edit"):
        return redirect(
            f"calls:{'edit' if next_url == 'edit' else next_url}", **({"code": code} if next_url == "edit" else {})
        )
    return redirect("calls:detail", code=code)


@login_required
@require_http_methods(["GET", "POST"])
def amend_call(request, code):
    call = get_call_for_user(request.user, code)
    if not rules.has_perm("calls.amend_call", request.user, call):
        raise PermissionDenied
    form = AmendmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.amend_call(
                actor=request.user,
                call=call,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                new_deadline=form.cleaned_data["new_deadline"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("The supplementary notice is published on the call page."))
            return redirect("calls:detail", code=call.code)
    return render(request, "calls/amend.html", {"call": call, "form": form})
