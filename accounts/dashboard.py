"""Dashboard panels per role.

Each app contributes panels for the roles it serves (``register`` from its
AppConfig.ready); the dashboard shows the panels of every role a user holds.
A panel is a template plus a function that returns its context.
"""

from collections.abc import Callable
from dataclasses import dataclass

from accounts.models import Role


@dataclass(frozen=True)
class Panel:
    role: Role
    template: str
    context: Callable[[object], dict]
    order: int = 100


_panels: list[Panel] = []


def register(panel: Panel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def panels_for(user) -> list[tuple[Role, list[dict]]]:
    """[(role, [{"template": ..., **context}, ...]), ...] in role order."""
    sections = []
    for role in user.roles:
        rendered = [
            {"template": panel.template, **panel.context(user)}
            for panel in sorted(_panels, key=lambda p: p.order)
            if panel.role == role
        ]
        sections.append((role, rendered))
    return sections
