"""Writes to organisations and users that must be audited."""

from django.db import transaction

from accounts.models import Organization, User
from audit.services import record, snapshot


def ensure_organization(*, actor, credit_code: str, **fields) -> tuple[Organization, bool]:
    """Create the organisation, or bring an existing one (same code) up to date."""
    with transaction.atomic():
        org = Organization.objects.select_for_update().filter(credit_code=credit_code).first()
        if org is None:
            org = Organization(credit_code=credit_code, **fields)
            org.full_clean()
            org.save()
            record(actor=actor, action="organization.create", obj=org, after=snapshot(org))
            return org, True
        before = snapshot(org)
        for name, value in fields.items():
            setattr(org, name, value)
        after = snapshot(org)
        if after != before:
            org.full_clean()
            org.save()
            record(actor=actor, action="organization.update", obj=org, before=before, after=snapshot(org))
        return org, False


def ensure_user(*, actor, username: str, password: str, **fields) -> tuple[User, bool]:
    """Create a user with the given password, or update fields (never the password)."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            user = User(username=username, **fields)
            user.set_password(password)
            user.full_clean()
            user.save()
            record(actor=actor, action="user.create", obj=user, after=snapshot(user, _USER_FIELDS))
            return user, True
        before = snapshot(user, _USER_FIELDS)
        for name, value in fields.items():
            setattr(user, name, value)
        if snapshot(user, _USER_FIELDS) != before:
            user.full_clean()
            user.save()
            record(actor=actor, action="user.update", obj=user, before=before, after=snapshot(user, _USER_FIELDS))
        return user, False


_USER_FIELDS = [
    "username",
    "display_name",
    "email",
    "phone",
    "organization",
    "is_active",
    "is_staff",
    "is_superuser",
    "is_administrator",
    "is_supervisor",
    "is_issuer",
    "is_applicant",
    "is_expert",
]
