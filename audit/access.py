import rules
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from audit.models import AuditEntry


def require_audit_reader(user) -> None:
    """Administrators and supervisors (纪检) read the trail; nobody else."""
    if not rules.has_perm("audit.view_auditentry", user):
        raise PermissionDenied


def get_entry_for_user(user, seq: int) -> AuditEntry:
    require_audit_reader(user)
    return get_object_or_404(AuditEntry.objects.select_related("actor"), seq=seq)
