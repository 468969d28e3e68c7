"""The lead unit's multi-step proposal editor: one URL per step, every POST saved by a service.

A step handler takes (request, proposal) and returns either a response (a redirect after a
successful save) or the context for its template. On a ValidationError the bound forms are
shown again with the errors, so nothing the applicant typed is lost.
"""

from dataclasses import dataclass
from decimal import Decimal

import rules
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.templatetags.jiebang import plain
from calls.forms import formset_rows
from proposals import eligibility, services
from proposals.access import get_proposal_for_user
from proposals.choices import AttachmentKind, TeamRole, UnitRole
from proposals.forms import (
    AttachmentForm,
    BasicsForm,
    BudgetForm,
    CommitmentsForm,
    MemberUnitForm,
    MilestoneFormSet,
    TeamMemberForm,
    UnitSharesForm,
    apply_service_errors,
    budget_table,
    cell_name,
    stored_amounts,
)
from proposals.rules import is_lead_applicant


@dataclass(frozen=True)
class Step:
    slug: str
    label: Promise


STEPS = [
    Step("basics", gettext_lazy("Basics")),
    Step("consortium", gettext_lazy("Consortium")),
    Step("team", gettext_lazy("Team")),
    Step("targets", gettext_lazy("Targets")),
    Step("milestones", gettext_lazy("Milestones")),
    Step("budget", gettext_lazy("Budget")),
    Step("attachments", gettext_lazy("Attachments")),
    Step("check", gettext_lazy("Check and submit")),
]
SLUGS = [step.slug for step in STEPS]


def _next_step(slug: str) -> str:
    index = SLUGS.index(slug)
    return SLUGS[min(index + 1, len(SLUGS) - 1)]


def _saved(request, proposal, slug, *, stay=False, message=None):
    messages.success(request, message or _("Saved."))
    return redirect("proposals:edit", pk=proposal.pk, step=slug if stay else _next_step(slug))


def _pick(items, raw_pk):
    """The item of this proposal with that primary key; anything else is not found."""
    try:
        pk = int(raw_pk)
    except (TypeError, ValueError):
        raise Http404 from None
    for item in items:
        if item.pk == pk:
            return item
    raise Http404


def _required_kinds(proposal) -> list:
    """The attachments the completeness rule asks for (mirrors eligibility.check_complete)."""
    kinds = [AttachmentKind.INTEGRITY_PLEDGE, AttachmentKind.MATCHING_FUNDS]
    if any(u.role == UnitRole.MEMBER for u in proposal.units.all()):
        kinds.append(AttachmentKind.CONSORTIUM_AGREEMENT)
    return kinds


def _progress(proposal) -> dict[str, bool]:
    """A tick per step in the step navigation, from the data already loaded (no queries)."""
    units, team = list(proposal.units.all()), list(proposal.team.all())
    committed = {c.target_id for c in proposal.commitments.all()}
    kinds = {a.kind for a in proposal.attachments.all()}
    return {
        "basics": bool(proposal.title.strip() and proposal.technical_route.strip()),
        "consortium": all(u.confirmed_at for u in units),
        "team": any(m.role == TeamRole.PI for m in team),
        "targets": all(t.pk in committed for t in proposal.call.targets.all()),
        "milestones": bool(list(proposal.milestones.all())),
        "budget": bool(list(proposal.budget_lines.all())),
        "attachments": all(kind in kinds for kind in _required_kinds(proposal)),
        "check": proposal.eligible is True,
    }


# --- steps ---------------------------------------------------------------------------------------
def basics(request, proposal):
    if request.method == "POST":
        form = BasicsForm(request.POST)
        if form.is_valid():
            try:
                services.update_basics(actor=request.user, proposal=proposal, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _saved(request, proposal, "basics")
    else:
        form = BasicsForm(initial={name: getattr(proposal, name) for name in services.BASIC_FIELDS})
    return {"form": form}


def consortium(request, proposal):
    units = list(proposal.units.all())
    add_form = MemberUnitForm(prefix="add")
    share_forms = {
        unit.pk: UnitSharesForm(
            prefix=f"unit-{unit.pk}",
            initial={"task_share": unit.task_share, "budget_share": unit.budget_share},
        )
        for unit in units
    }
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            add_form = MemberUnitForm(request.POST, prefix="add")
            if add_form.is_valid():
                data = add_form.cleaned_data
                try:
                    services.add_member_unit(
                        actor=request.user,
                        proposal=proposal,
                        credit_code=data["credit_code"],
                        task_share=data["task_share"],
                        budget_share=data["budget_share"] or Decimal("0"),
                    )
                except ValidationError as exc:
                    apply_service_errors(add_form, exc)
                else:
                    return _saved(
                        request,
                        proposal,
                        "consortium",
                        stay=True,
                        message=_("Member unit added. Its applicants must now confirm participation."),
                    )
        elif action == "remove":
            unit = _pick(units, request.POST.get("unit"))
            try:
                services.remove_unit(actor=request.user, unit=unit)
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                return redirect("proposals:edit", pk=proposal.pk, step="consortium")
            return _saved(request, proposal, "consortium", stay=True, message=_("Member unit removed."))
        elif action == "update":
            unit = _pick(units, request.POST.get("unit"))
            form = UnitSharesForm(request.POST, prefix=f"unit-{unit.pk}")
            if form.is_valid():
                try:
                    services.update_unit(
                        actor=request.user,
                        unit=unit,
                        task_share=form.cleaned_data["task_share"],
                        budget_share=form.cleaned_data["budget_share"] or Decimal("0"),
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    return _saved(request, proposal, "consortium", stay=True)
            share_forms[unit.pk] = form
        else:
            return HttpResponseBadRequest()
    return {"unit_rows": [(unit, share_forms[unit.pk]) for unit in units], "add_form": add_form}


def team(request, proposal):
    units = list(proposal.units.all())
    members = list(proposal.team.all())
    if request.method == "POST" and request.POST.get("action") == "remove":
        member = _pick(members, request.POST.get("member"))
        try:
            services.remove_team_member(actor=request.user, member=member)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("proposals:edit", pk=proposal.pk, step="team")
        return _saved(request, proposal, "team", stay=True, message=_("Team member removed."))

    raw_member = request.POST.get("member") if request.method == "POST" else request.GET.get("member")
    editing = _pick(members, raw_member) if raw_member else None
    if request.method == "POST":
        form = TeamMemberForm(request.POST, units=units, editing=editing is not None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.set_team_member(
                    actor=request.user,
                    proposal=proposal,
                    # Editing keeps the person: the full ID number never travels to the browser.
                    id_number=editing.person.id_number if editing else data["id_number"],
                    name=data["name"],
                    unit=_pick(units, data["unit"]),
                    role=data["role"],
                    months_per_year=data["months_per_year"],
                    title=data["title"],
                    duty=data["duty"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _saved(request, proposal, "team", stay=True)
    elif editing:
        form = TeamMemberForm(
            units=units,
            editing=True,
            initial={
                "name": editing.person.name,
                "unit": editing.unit_id,
                "role": editing.role,
                "title": editing.title,
                "duty": editing.duty,
                "months_per_year": plain(editing.months_per_year),
            },
        )
    else:
        has_pi = any(m.role == TeamRole.PI for m in members)
        lead = next((u for u in units if u.role == UnitRole.LEAD), None)
        form = TeamMemberForm(
            units=units,
            initial={"unit": lead.pk if lead else None, "role": TeamRole.MEMBER if has_pi else TeamRole.PI},
        )
    return {"members": members, "form": form, "editing": editing}


def targets(request, proposal):
    call_targets = list(proposal.call.targets.all())
    commitments = {c.target_id: c for c in proposal.commitments.all()}
    if request.method == "POST":
        form = CommitmentsForm(request.POST, targets=call_targets)
        if form.is_valid():
            try:
                services.set_commitments(actor=request.user, proposal=proposal, values=form.values())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _saved(request, proposal, "targets")
    else:
        initial = {}
        for target_pk, commitment in commitments.items():
            initial[f"value_{target_pk}"] = plain(commitment.value)
            initial[f"note_{target_pk}"] = commitment.note
        form = CommitmentsForm(initial=initial, targets=call_targets)
    rows = [(target, value, note, commitments.get(target.pk)) for target, value, note in form.rows()]
    return {"form": form, "target_rows": rows}


def milestones(request, proposal):
    step_errors = []
    if request.method == "POST":
        formset = MilestoneFormSet(request.POST, prefix="milestones")
        if formset.is_valid():
            try:
                services.set_milestones(actor=request.user, proposal=proposal, rows=formset_rows(formset))
            except ValidationError as exc:
                step_errors = exc.messages
            else:
                return _saved(request, proposal, "milestones")
    else:
        formset = MilestoneFormSet(
            prefix="milestones",
            initial=[
                {"month": m.month, "deliverable": m.deliverable, "verification": m.verification}
                for m in proposal.milestones.all()
            ],
        )
    return {"formset": formset, "step_errors": step_errors, "period": proposal.call.period_months}


def budget(request, proposal):
    categories = proposal.call.programme.budget_categories
    if request.method == "POST":
        form = BudgetForm(request.POST, categories=categories)
        if form.is_valid():
            try:
                services.set_budget(actor=request.user, proposal=proposal, amounts=form.amounts())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _saved(request, proposal, "budget")
        amounts = form.posted_amounts()
    else:
        amounts = stored_amounts(proposal)
        form = BudgetForm(
            initial={cell_name(source, category): amount for (source, category), amount in amounts.items()},
            categories=categories,
        )
    return {"form": form, "budget": budget_table(call=proposal.call, amounts=amounts, form=form)}


def attachments(request, proposal):
    if request.method != "GET":  # uploads and removals post to views/files.py
        return HttpResponseNotAllowed(["GET"])
    present = {a.kind for a in proposal.attachments.all()}
    return {
        "attachments": list(proposal.attachments.all()),
        "form": AttachmentForm(),
        "required": [(AttachmentKind(kind).label, kind in present) for kind in _required_kinds(proposal)],
        "max_mb": settings.ATTACHMENT_MAX_MB,
    }


def check(request, proposal):
    if request.method != "GET":  # submitting posts to proposals:submit
        return HttpResponseNotAllowed(["GET"])
    # The page loaded its content; the check leaves the proposal's verdict as stored.
    results = services.check_eligibility(proposal, loaded=proposal)
    checklist = [eligibility.describe(result) for result in results]
    return {"checklist": checklist, "all_ok": proposal.eligible}


HANDLERS = {
    "basics": basics,
    "consortium": consortium,
    "team": team,
    "targets": targets,
    "milestones": milestones,
    "budget": budget,
    "attachments": attachments,
    "check": check,
}
assert list(HANDLERS) == SLUGS, "every step needs a handler, in order"
# Steps whose POST reads nothing of the proposal's content beyond its call (the service locks the
# proposal and loads what it changes): the access check loads the proposal alone, and its content
# only when the form comes back with errors. The consortium and team steps pick units and members
# from the content, so they load it first.
SAVED_WITHOUT_CONTENT = {"basics", "targets", "milestones", "budget"}


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk, step):
    if step not in HANDLERS:
        raise Http404
    user = request.user
    light = request.method == "POST" and step in SAVED_WITHOUT_CONTENT
    proposal = get_proposal_for_user(user, pk, content=not light)  # 404 for anyone who may not see it
    if not rules.has_perm("proposals.change_proposal", user, proposal):
        if is_lead_applicant(user, proposal):
            # The lead unit, but the proposal is submitted (or later): its content is frozen.
            messages.info(request, _("This proposal cannot be changed in its current state."))
            return redirect("proposals:detail", pk=proposal.pk)
        raise PermissionDenied  # member units and others who may only read
    result = HANDLERS[step](request, proposal)
    if not isinstance(result, dict):
        return result
    if light:  # the form is shown again with its errors: the page needs the whole proposal
        proposal = get_proposal_for_user(user, pk)
    progress = _progress(proposal)
    return render(
        request,
        "proposals/applicant/edit.html",
        {
            "proposal": proposal,
            "call": proposal.call,
            "step": step,
            "steps": [(s, progress[s.slug]) for s in STEPS],
            "step_template": f"proposals/applicant/steps/{step}.html",
            "next_step": _next_step(step) if step != SLUGS[-1] else None,
            "deadline_passed": timezone.now() >= proposal.call.deadline,
            **result,
        },
    )
