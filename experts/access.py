"""Loading pool data for a user: the object, or 404/403."""

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from experts.models import Employment, Expert


def require_pool_permission(user, permission: str) -> None:
    """``permission`` is one of experts.view_pool, experts.export_pool, experts.import_pool."""
    if not rules.has_perm(permission, user):
        raise PermissionDenied


def get_expert_for_user(user, pk: int) -> Expert:
    """One expert with its employment history and avoid-lists, for pool readers."""
    require_pool_permission(user, "experts.view_pool")
    queryset = Expert.objects.select_related("user").prefetch_related(
        Prefetch("employments", queryset=Employment.objects.select_related("organization")),
        "avoid_units",
        "avoid_people",
    )
    return get_object_or_404(queryset, pk=pk)
