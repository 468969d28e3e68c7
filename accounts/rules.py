"""Role predicates and permissions, declared once and used by views and API."""

import rules


@rules.predicate
def is_administrator(user):
    return bool(user and user.is_authenticated and user.is_administrator)


@rules.predicate
def is_supervisor(user):
    return bool(user and user.is_authenticated and user.is_supervisor)


@rules.predicate
def is_issuer(user):
    return bool(user and user.is_authenticated and user.is_issuer)


@rules.predicate
def is_applicant(user):
    return bool(user and user.is_authenticated and user.is_applicant)


@rules.predicate
def is_expert(user):
    return bool(user and user.is_authenticated and user.is_expert)


rules.add_perm("audit.view_auditentry", is_administrator | is_supervisor)
rules.add_perm("accounts.view_organization", is_administrator | is_supervisor)
