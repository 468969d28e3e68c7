"""The accounts app's own dashboard panels."""

from django.db.models import Count, Q

from accounts.dashboard import Panel, register
from accounts.models import CreditStatus, Organization, Role, User
from audit.models import AuditEntry


def organisation_context(user) -> dict:
    return {"organization": user.organization}


def administration_context(user) -> dict:
    org_counts = Organization.objects.aggregate(
        total=Count("pk"),
        blacklisted=Count("pk", filter=Q(credit_status=CreditStatus.BLACKLISTED)),
    )
    role_counts = User.objects.filter(is_active=True).aggregate(
        **{role.value: Count("pk", filter=Q(**{field: True})) for role, field in User.ROLE_FIELDS.items()}
    )
    return {
        "org_counts": org_counts,
        "role_counts": [(Role(value).label, count) for value, count in role_counts.items()],
    }


def recent_audit_context(user) -> dict:
    return {"recent_entries": list(AuditEntry.objects.select_related("actor").order_by("-seq")[:8])}


def register_panels() -> None:
    register(Panel(Role.ADMINISTRATOR, "accounts/panels/administration.html", administration_context, 10))
    register(Panel(Role.ADMINISTRATOR, "accounts/panels/recent_audit.html", recent_audit_context, 90))
    register(Panel(Role.SUPERVISOR, "accounts/panels/recent_audit.html", recent_audit_context, 10))
    for role in (Role.ISSUER, Role.APPLICANT):
        register(Panel(role, "accounts/panels/organisation.html", organisation_context, 10))
    register(Panel(Role.EXPERT, "accounts/panels/expert.html", organisation_context, 10))
