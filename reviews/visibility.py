"""Who sees review results, and when (used by the result pages and the dashboard panels).

Scores stay inside the department until the public notice begins. From then on:
- the lead and member units of a proposal see its own final score and rank (so does the
  call's issuer, who may read the proposal);
- the call's issuer sees the ranking of its call (final scores, ranks, lead units);
- administrators and supervisors see everything, at any time.
Nobody outside the department ever sees an individual expert's score or identity here.
"""

import rules

from accounts.rules import is_administrator, is_supervisor
from calls.choices import CallStatus
from calls.rules import is_call_issuer
from proposals.rules import is_call_issuer_after_review, is_lead_applicant, is_member_applicant

# The call states in which results are published to applicants and issuers.
RESULTS_PUBLISHED = [CallStatus.IN_NOTICE, CallStatus.AWARDED, CallStatus.FAILED]


@rules.predicate
def call_results_published(user, call):
    return call is not None and call.status in RESULTS_PUBLISHED


@rules.predicate
def proposal_results_published(user, proposal):
    return proposal is not None and proposal.call.status in RESULTS_PUBLISHED


is_staff_reader = is_administrator | is_supervisor

rules.add_perm(
    "reviews.view_result",
    is_staff_reader
    | ((is_lead_applicant | is_member_applicant | is_call_issuer_after_review) & proposal_results_published),
)
rules.add_perm("reviews.view_ranking", is_staff_reader | (is_call_issuer & call_results_published))
