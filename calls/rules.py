"""Who may do what with a call. Used by views, services and (later) the API."""

import rules

from accounts.rules import is_administrator, is_supervisor
from calls.choices import PUBLIC_STATUSES, CallStatus


@rules.predicate
def is_call_issuer(user, call):
    return bool(
        user
        and user.is_authenticated
        and user.is_issuer
        and call is not None
        and user.organization_id == call.issuer_id
    )


@rules.predicate
def is_public_call(user, call):
    return call is not None and call.status in PUBLIC_STATUSES


@rules.predicate
def is_editable_state(user, call):
    return call is not None and call.status == CallStatus.DRAFT


@rules.predicate
def is_before_publication(user, call):
    return call is not None and call.status in (CallStatus.DRAFT, CallStatus.PENDING)


can_view_call = is_public_call | is_call_issuer | is_administrator | is_supervisor
# Rubric and content are editable until publication: by the issuer while it
# is a draft, by an administrator while it is a draft or awaits approval.
can_edit_call = (is_call_issuer & is_editable_state) | (is_administrator & is_before_publication)

rules.add_perm("calls.view_call", can_view_call)
rules.add_perm("calls.change_call", can_edit_call)
rules.add_perm(
    "calls.add_call",
    rules.predicates.is_authenticated & rules.predicate(lambda user: bool(user.is_issuer and user.organization_id)),
)
rules.add_perm("calls.amend_call", is_administrator)
rules.add_perm("calls.approve_call", is_administrator)
