"""The call lifecycle: one table of allowed transitions.

Every change of ``Call.status`` goes through ``calls.services`` which looks
the action up here, so a transition that is not in this table cannot happen.
"""

from dataclasses import dataclass

import rules

from accounts.rules import is_administrator
from calls.choices import CallStatus as S
from calls.rules import is_call_issuer


@rules.predicate
def is_system(user):
    """Deadline closing is done by the beat task or lazily on read (actor None)."""
    return user is None


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
        _t("submit", {S.DRAFT}, S.PENDING, is_call_issuer),
        _t("approve", {S.PENDING}, S.PUBLISHED, is_administrator),
        _t("return", {S.PENDING}, S.DRAFT, is_administrator, reason_required=True),
        _t("withdraw", {S.DRAFT, S.PENDING}, S.WITHDRAWN, is_call_issuer | is_administrator),
        _t("close", {S.PUBLISHED}, S.CLOSED, is_system | is_administrator),
        _t("start_review", {S.CLOSED}, S.UNDER_REVIEW, is_administrator),
        _t("start_notice", {S.UNDER_REVIEW}, S.IN_NOTICE, is_administrator),
        _t("award", {S.IN_NOTICE}, S.AWARDED, is_administrator),
        _t("fail", {S.CLOSED, S.UNDER_REVIEW, S.IN_NOTICE}, S.FAILED, is_administrator, reason_required=True),
    ]
}


def actions_from(status: str) -> list[str]:
    return [t.action for t in TRANSITIONS.values() if status in t.sources]


def available_actions(user, call) -> list[str]:
    """Actions this user may take on this call now (for buttons)."""
    return [
        action
        for action in actions_from(call.status)
        if action != "close" and TRANSITIONS[action].allowed.test(user, call)
    ]
