"""Who may open the draw pages and the expert's review pages.

Draw pages are for administrators (act) and supervisors (read): anybody else
gets 403, as the pages are not about one person's objects. Expert pages are
only for users with an Expert profile (403 otherwise); an expert asking for an
invitation or assignment that is not its own, or that a conflict blocks, gets
404 — it must not even learn that the object exists.
"""

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404

from calls.access import get_call_for_user
from calls.models import Call
from experts import avoidance
from experts.models import Employment, Expert
from reviews.models import Assignment, Draw, Invitation, InvitationStatus


def require_draw_reader(user, *, write: bool = False) -> None:
    if not rules.has_perm("reviews.view_draw", user):
        raise PermissionDenied
    if write and not rules.has_perm("reviews.manage_draw", user):
        raise PermissionDenied


def get_call_for_draws(user, code: str, *, write: bool = False) -> Call:
    """The call whose draws are shown (404 if none); 403 unless administrator (act) or supervisor (read)."""
    require_draw_reader(user, write=write)
    return get_call_for_user(user, code)


def current_employers(path: str = "employments") -> Prefetch:
    """Prefetch the current employment (with its organisation) of experts, in one query."""
    return Prefetch(
        path,
        queryset=Employment.objects.filter(ended_on__isnull=True).select_related("organization"),
        to_attr="current_employments",
    )


def get_draw_for_user(user, pk: int, *, write: bool = False) -> Draw:
    """The draw with its call and its invitations (with their experts) loaded; reviews.draw.verify reads them."""
    require_draw_reader(user, write=write)
    invitations = Invitation.objects.select_related("expert")
    draw = (
        Draw.objects.select_related("call__programme", "created_by")
        .prefetch_related(Prefetch("invitations", queryset=invitations))
        .filter(pk=pk)
        .first()
    )
    if draw is None:
        raise Http404
    return draw


# --- experts ------------------------------------------------------------------------------------
def get_expert_for_user(user) -> Expert:
    """The user's own Expert profile; 403 for anybody without one."""
    expert = Expert.objects.filter(user_id=user.pk).first() if user.is_authenticated else None
    if expert is None:
        raise PermissionDenied
    return expert


def invitations_of(expert: Expert):
    """The invitations the expert has received (backups not yet invited are not shown to it)."""
    return (
        Invitation.objects.filter(expert=expert)
        .exclude(status=InvitationStatus.WAITING)
        .select_related("draw__call")
        .order_by("-invited_at", "-pk")
    )


def get_invitation_for_expert(user, pk: int) -> Invitation:
    expert = get_expert_for_user(user)
    invitation = Invitation.objects.select_related("expert", "draw__call").filter(pk=pk, expert=expert).first()
    if invitation is None or invitation.status == InvitationStatus.WAITING:
        raise Http404
    return invitation


def assignments_of(expert: Expert) -> list[Assignment]:
    """The expert's active assignments, without those a conflict now blocks (two queries)."""
    assignments = list(
        Assignment.objects.filter(expert=expert, active=True)
        .select_related("proposal__call")
        .order_by("proposal__call__code", "proposal__title", "pk")
    )
    blocked = avoidance.blocked_pairs({a.proposal_id for a in assignments}) if assignments else set()
    return [a for a in assignments if (a.expert_id, a.proposal_id) not in blocked]


def get_assignment_for_expert(user, pk: int) -> Assignment:
    """The expert's own active assignment, unless a conflict blocks the pair (404 then)."""
    expert = get_expert_for_user(user)
    assignment = (
        Assignment.objects.select_related("expert", "proposal__call__programme")
        .filter(pk=pk, expert=expert, active=True)
        .first()
    )
    if assignment is None or (expert.pk, assignment.proposal_id) in avoidance.blocked_pairs([assignment.proposal_id]):
        raise Http404
    return assignment
