"""The proposal lifecycle up to formal review: one table of allowed transitions.

Expert review, ranking and award (under_review → … → awarded) are added by
the reviews app with their own guards.
"""

from dataclasses import dataclass

import rules

from accounts.rules import is_administrator
from proposals.choices import ProposalStatus as S
from proposals.rules import is_lead_applicant


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset
    target: S
    allowed: rules.Predicate
    reason_required: bool = False


def _t(action, sources, target, allowed, reason_required=False):
    return Transition(action, frozenset(sources), target, allowed, reason_required)


TRANSITIONS = {
    t.action: t
    for t in [
        _t("submit", {S.DRAFT, S.RETURNED}, S.SUBMITTED, is_lead_applicant),
        _t("withdraw", {S.DRAFT, S.SUBMITTED, S.RETURNED}, S.WITHDRAWN, is_lead_applicant),
        _t("pass", {S.SUBMITTED}, S.PASSED, is_administrator),
        _t("return", {S.SUBMITTED}, S.RETURNED, is_administrator, reason_required=True),
        _t("reject", {S.SUBMITTED}, S.REJECTED, is_administrator, reason_required=True),
        # Expert review to award, driven by reviews.decisions.
        _t("start_review", {S.PASSED}, S.UNDER_REVIEW, is_administrator),
        _t("rank", {S.UNDER_REVIEW, S.RANKED}, S.RANKED, is_administrator),
        _t("recommend", {S.RANKED}, S.RECOMMENDED, is_administrator),
        _t("unrecommend", {S.RECOMMENDED}, S.RANKED, is_administrator),
        _t("award", {S.RECOMMENDED}, S.AWARDED, is_administrator),
        _t("not_award", {S.PASSED, S.UNDER_REVIEW, S.RANKED, S.RECOMMENDED}, S.NOT_AWARDED, is_administrator),
    ]
}
# Actions offered on the applicant's pages; the rest are driven by other modules.
APPLICANT_ACTIONS = ("submit", "withdraw")


def available_actions(user, proposal) -> list[str]:
    return [
        action
        for action, rule in TRANSITIONS.items()
        if proposal.status in rule.sources and rule.allowed.test(user, proposal)
    ]
