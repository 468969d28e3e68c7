from datetime import timedelta

import rules
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context, permission: str) -> bool:
    """rules.has_perm(permission, user), as the views check it: the menu shows exactly the links
    whose pages would open. ({{ perms }} would also ask Django's model backend — two queries on
    every page — about admin-site permissions that no view here uses.)"""
    return rules.has_perm(permission, context["user"])


@register.filter
def minutes(value) -> int:
    """A timedelta as whole minutes (rounded up), for messages like "try again in N minutes"."""
    if not isinstance(value, timedelta):
        return 0
    return -(-int(value.total_seconds()) // 60)


@register.filter
def plain(value):
    """A Decimal without trailing zeros and never in exponent form (100, not 1E+2)."""
    from decimal import Decimal

    if not isinstance(value, Decimal):
        return value
    text = format(value.normalize(), "f")
    return text
