"""Role predicates and permissions, declared once and used by views and API."""

import rules


def _role(flag: str) -> rules.Predicate:
    def check(user) -> bool:
        return bool(user and user.is_authenticated and getattr(user, flag))

    return rules.Predicate(check, name=flag)


is_administrator = _role("is_administrator")
is_supervisor = _role("is_supervisor")
is_issuer = _role("is_issuer")
is_applicant = _role("is_applicant")
is_expert = _role("is_expert")

rules.add_perm("audit.view_auditentry", is_administrator | is_supervisor)
rules.add_perm("accounts.view_organization", is_administrator | is_supervisor)
