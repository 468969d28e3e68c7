import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404

from proposals.content import load as load_content
from proposals.models import Proposal


def get_proposal_for_user(user, pk: int, *, write: bool = False, content: bool = True) -> Proposal:
    """The proposal if this user may see it (404 otherwise); 403 when it may see but not change it.

    content=True loads everything a page shows (proposals.content.load). content=False loads the
    proposal with its call, programme, issuer and lead unit only, for requests that just need the
    permission: the POSTs that hand the proposal to a service (which locks and reloads what it reads)
    and downloads.
    The same rules decide in both cases; what they read that is not loaded is queried on demand.
    """
    proposal = load_content(pk, lists=content)
    if proposal is None or not rules.has_perm("proposals.view_proposal", user, proposal):
        raise Http404
    if write and not rules.has_perm("proposals.change_proposal", user, proposal):
        raise PermissionDenied
    return proposal
