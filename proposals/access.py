import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from proposals.models import Proposal


def get_proposal_for_user(user, pk: int, *, write: bool = False) -> Proposal:
    """The proposal with its content if this user may see it (404 otherwise);
    403 when it may see but not change it."""
    proposal = Proposal.objects.with_content().filter(pk=pk).first()
    if proposal is None or not rules.has_perm("proposals.view_proposal", user, proposal):
        raise Http404
    if write and not rules.has_perm("proposals.change_proposal", user, proposal):
        raise PermissionDenied
    return proposal
