"""The expert's own pages: invitations, assignments, the frozen proposal, declaring a conflict.

An expert sees exactly its own invitations and assignments, and a proposal only
while it holds an active assignment that no conflict blocks (404 otherwise).
"""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import OrganizationType
from proposals.choices import AttachmentKind, FundingSource, TeamRole, UnitRole
from proposals.models import Submission
from reviews import draw as draw_service
from reviews import scoring
from reviews.access import (
    assignments_of,
    get_assignment_for_expert,
    get_expert_for_user,
    get_invitation_for_expert,
    invitations_of,
)
from reviews.forms import DeclareConflictForm, DeclineForm
from reviews.models import InvitationStatus

ANSWERS = ("accept", "decline")


@login_required
@require_GET
def my_reviews(request):
    expert = get_expert_for_user(request.user)
    invitations = list(invitations_of(expert))
    return render(
        request,
        "reviews/mine.html",
        {
            "expert": expert,
            "pending": [i for i in invitations if i.status == InvitationStatus.PENDING],
            "answered": [i for i in invitations if i.status != InvitationStatus.PENDING],
            "assignments": assignments_of(expert),
            "decline_form": DeclineForm(),
        },
    )


@login_required
@require_POST
def respond(request, pk, answer):
    if answer not in ANSWERS:
        raise Http404
    invitation = get_invitation_for_expert(request.user, pk)
    call = invitation.draw.call
    reason = ""
    if answer == "decline":
        form = DeclineForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Please say why you decline."))
            return redirect("reviews:mine")
        reason = form.cleaned_data["reason"]
    try:
        draw_service.respond(actor=request.user, invitation=invitation, accept=answer == "accept", reason=reason)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if answer == "accept":
            messages.success(
                request,
                _("You accepted to review %(code)s. Proposals will appear here once they are routed to you.")
                % {"code": call.code},
            )
        else:
            messages.success(
                request, _("You declined to review %(code)s. Thank you for telling us.") % {"code": call.code}
            )
    return redirect("reviews:mine")


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return Decimal("0")


def _readable(snapshot: dict, programme) -> dict:
    """The frozen snapshot with codes turned into labels, for display only."""
    org_types = dict(OrganizationType.choices)
    unit_roles = dict(UnitRole.choices)
    team_roles = dict(TeamRole.choices)
    sources = dict(FundingSource.choices)
    kinds = dict(AttachmentKind.choices)
    categories = {c.get("code"): c.get("name") for c in programme.budget_categories or []}
    budget = [
        {
            "source": sources.get(b.get("source"), b.get("source")),
            "category": categories.get(b.get("category"), b.get("category")),
            "amount": _decimal(b.get("amount")),
        }
        for b in snapshot.get("budget", [])
    ]
    totals = {}
    for line in snapshot.get("budget", []):
        label = sources.get(line.get("source"), line.get("source"))
        totals[label] = totals.get(label, Decimal("0.00")) + _decimal(line.get("amount"))
    return {
        **snapshot,
        "units": [
            {
                **u,
                "type_label": org_types.get(u.get("type"), u.get("type")),
                "role_label": unit_roles.get(u.get("role"), u.get("role")),
            }
            for u in snapshot.get("units", [])
        ],
        "team": [{**m, "role_label": team_roles.get(m.get("role"), m.get("role"))} for m in snapshot.get("team", [])],
        "budget": budget,
        "budget_totals": sorted(totals.items()),
        "budget_total": sum(totals.values(), Decimal("0.00")),
        "attachments": [
            {**a, "kind_label": kinds.get(a.get("kind"), a.get("kind"))} for a in snapshot.get("attachments", [])
        ],
    }


def _assignment_page(request, assignment, form):
    proposal = assignment.proposal
    submission = Submission.objects.filter(proposal_id=proposal.pk).order_by("-version").first()
    return render(
        request,
        "reviews/assignment.html",
        {
            "assignment": assignment,
            "proposal": proposal,
            "call": proposal.call,
            "submission": submission,
            "snapshot": _readable(submission.snapshot, proposal.call.programme) if submission else None,
            "form": form,
        },
    )


@login_required
@require_GET
def assignment_detail(request, pk):
    assignment = get_assignment_for_expert(request.user, pk)
    return _assignment_page(request, assignment, DeclareConflictForm())


@login_required
@require_POST
def declare_conflict(request, pk):
    """Declare a conflict with the assigned proposal: recorded, the assignment ends at once and
    the panel is routed again (backups are invited if the proposal drops below the minimum)."""
    assignment = get_assignment_for_expert(request.user, pk)
    form = DeclareConflictForm(request.POST)
    if not form.is_valid():
        return _assignment_page(request, assignment, form)
    scoring.declare_conflict(
        actor=request.user,
        assignment=assignment,
        reason=form.cleaned_data["reason"],
        detail=form.cleaned_data["detail"],
    )
    messages.success(
        request,
        _(
            "Your conflict with “%(title)s” is recorded and the proposal has been withdrawn from you; "
            "it goes to another reviewer."
        )
        % {"title": assignment.proposal.title},
    )
    return redirect("reviews:mine")
