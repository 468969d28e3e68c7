"""Applicant pages: my proposals, starting a draft from a call, the read-only proposal page and
the transitions an applicant triggers (confirm participation, submit, withdraw).

The multi-step editor lives in applicant_steps.py; `edit` is re-exported here for urls.py.
Every write goes through proposals.services; every object is loaded through the access helpers.
"""

import rules
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from calls.access import get_call_for_user
from proposals import eligibility, services
from proposals.access import get_proposal_for_user
from proposals.choices import UnitRole
from proposals.forms import WithdrawForm, budget_table, stored_amounts
from proposals.models import Proposal, ProposalUnit
from proposals.rules import is_lead_applicant
from proposals.views.applicant_steps import edit
from proposals.workflow import available_actions

__all__ = ["confirm", "detail", "edit", "my_proposals", "start", "submit", "withdraw"]

# The transitions an applicant triggers from these pages; formal review has its own views.
APPLICANT_ACTIONS = ("submit", "withdraw")


@login_required
@require_GET
def my_proposals(request):
    user = request.user
    if not (user.is_applicant and user.organization_id):
        raise PermissionDenied
    org = user.organization_id
    proposals = (
        Proposal.objects.visible_to(user)
        # Only the rows this user sees as an applicant (not as an issuer or staff).
        .filter(units__organization_id=org)
        .select_related("call__programme", "lead_organization")
        .prefetch_related(
            Prefetch("units", queryset=ProposalUnit.objects.filter(organization_id=org), to_attr="my_units")
        )
        .order_by("-updated_at", "-pk")
    )
    rows = []
    for proposal in proposals:
        unit = proposal.my_units[0] if proposal.my_units else None
        rows.append(
            {
                "proposal": proposal,
                "is_lead": proposal.lead_organization_id == org,
                "unit": unit,
                "can_confirm": unit is not None and unit.role == UnitRole.MEMBER and unit.confirmed_at is None,
            }
        )
    return render(request, "proposals/applicant/mine.html", {"rows": rows})


@login_required
@require_POST
def start(request, code):
    """The 揭榜 button on a call page: creates the organisation's draft, or finds the existing one."""
    call = get_call_for_user(request.user, code)
    try:
        proposal, created = services.start_proposal(actor=request.user, call=call)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("calls:detail", code=call.code)
    if created:
        messages.success(request, _("Your draft proposal has been created. Every step is saved as you go."))
    else:
        messages.info(request, _("Your organisation already has a proposal for this call; here it is."))
    return redirect("proposals:edit", pk=proposal.pk, step="basics")


def _commitment_rows(proposal):
    commitments = {c.target_id: c for c in proposal.commitments.all()}
    return [(target, commitments.get(target.pk)) for target in proposal.call.targets.all()]


@login_required
@require_GET
def detail(request, pk):
    user = request.user
    proposal = get_proposal_for_user(user, pk)
    own_member_unit = None
    if user.is_applicant and user.organization_id:
        own_member_unit = next(
            (
                u
                for u in proposal.units.all()
                if u.role == UnitRole.MEMBER and u.organization_id == user.organization_id
            ),
            None,
        )
    deadline_passed = timezone.now() >= proposal.call.deadline
    actions = [] if deadline_passed else [a for a in available_actions(user, proposal) if a in APPLICANT_ACTIONS]
    return render(
        request,
        "proposals/applicant/detail.html",
        {
            "proposal": proposal,
            "call": proposal.call,
            "commitment_rows": _commitment_rows(proposal),
            "budget": budget_table(call=proposal.call, amounts=stored_amounts(proposal)),
            "submissions": list(proposal.submissions.defer("snapshot")),
            "checklist": [eligibility.describe(result) for result in proposal.eligibility],
            "actions": actions,
            "deadline_passed": deadline_passed,
            "can_edit": rules.has_perm("proposals.change_proposal", user, proposal),
            "can_confirm": own_member_unit is not None and own_member_unit.confirmed_at is None,
            "show_ids": rules.has_perm("proposals.view_id_numbers", user),
            "withdraw_form": WithdrawForm(),
        },
    )


@login_required
@require_POST
def confirm(request, pk):
    proposal = get_proposal_for_user(request.user, pk, content=False)
    services.confirm_participation(actor=request.user, proposal=proposal)  # PermissionDenied → 403
    messages.success(request, _("Your unit's participation is confirmed."))
    return redirect("proposals:detail", pk=proposal.pk)


def _lead_proposal(user, pk) -> Proposal:
    """The proposal for a transition only its lead unit may trigger: member units and issuers get 403.
    Without its content: the service locks the proposal and loads what it reads itself."""
    proposal = get_proposal_for_user(user, pk, content=False)
    if not is_lead_applicant(user, proposal):
        raise PermissionDenied
    return proposal


@login_required
@require_POST
def submit(request, pk):
    proposal = _lead_proposal(request.user, pk)
    try:
        services.submit_proposal(actor=request.user, proposal=proposal)
    except ValidationError as exc:  # TransitionError: each failed rule, the deadline, or the state
        for message in exc.messages:
            messages.error(request, message)
        if proposal.is_editable:
            # The service kept the failed evaluation: the checklist shows what to fix.
            return redirect("proposals:edit", pk=proposal.pk, step="check")
        return redirect("proposals:detail", pk=proposal.pk)
    messages.success(request, _("Your proposal has been submitted. It now waits for formal review by the department."))
    return redirect("proposals:detail", pk=proposal.pk)


@login_required
@require_POST
def withdraw(request, pk):
    proposal = _lead_proposal(request.user, pk)
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.withdraw_proposal(actor=request.user, proposal=proposal, reason=reason)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Your proposal has been withdrawn."))
    return redirect("proposals:detail", pk=proposal.pk)
