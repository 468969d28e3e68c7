"""Who may do what with a proposal. Used by views, downloads, services and the API."""

import rules

from accounts.rules import is_administrator, is_supervisor
from proposals.choices import EDITABLE_STATUSES, ISSUER_VISIBLE_STATUSES


@rules.predicate
def is_lead_applicant(user, proposal):
    return bool(
        user
        and user.is_authenticated
        and user.is_applicant
        and proposal is not None
        and user.organization_id == proposal.lead_organization_id
    )


@rules.predicate
def is_member_applicant(user, proposal):
    if not (user and user.is_authenticated and user.is_applicant and user.organization_id and proposal is not None):
        return False
    return any(u.organization_id == user.organization_id for u in proposal.units.all())


@rules.predicate
def is_call_issuer_after_review(user, proposal):
    return bool(
        user
        and user.is_authenticated
        and user.is_issuer
        and proposal is not None
        and user.organization_id == proposal.call.issuer_id
        and proposal.status in ISSUER_VISIBLE_STATUSES
    )


@rules.predicate
def is_editable(user, proposal):
    return proposal is not None and proposal.status in EDITABLE_STATUSES


can_view_proposal = (
    is_lead_applicant | is_member_applicant | is_call_issuer_after_review | is_administrator | is_supervisor
)
can_edit_proposal = is_lead_applicant & is_editable

rules.add_perm("proposals.view_proposal", can_view_proposal)
rules.add_perm("proposals.change_proposal", can_edit_proposal)
rules.add_perm("proposals.review_proposal", is_administrator)
# Full ID numbers: administrators only (application limits, misconduct checks).
rules.add_perm("proposals.view_id_numbers", is_administrator)
