"""The review dashboard's two big tables, built as HTML here rather than by the template engine.

A call under review shows up to 50 proposals × every expert of the call in the score matrix and
every proposal in the ranking: several thousand template nodes, which cost the page more than
all of its queries together. The markup is the same as the template gave; every value is escaped,
the fixed labels are translated and escaped once per page.
"""

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from config.html import text as _e


def _labels() -> dict:
    """The fixed texts, translated and escaped once per page."""
    texts = {
        "veto": _("veto"),
        "conflict": _("conflict"),
        "conflict_late": _("A conflict was recorded after routing: route the panel again."),
        "reopen": _("Reopen"),
        "draft": _("draft"),
        "not_started": _("not started"),
        "yes": _("yes"),
        "no": _("no"),
        "disagree": _("experts disagree"),
    }
    return {key: _e(text) for key, text in texts.items()}


def _cell_bodies(labels: dict) -> dict:
    """What a cell shows in every state but "submitted", with and without a conflict badge."""
    badge = f' <span class="badge text-bg-secondary">{labels["conflict"]}</span>'
    draft = f'<span class="text-warning-emphasis">{labels["draft"]}</span>'
    not_started = f'<span class="text-muted">{labels["not_started"]}</span>'
    return {
        ("draft", False): draft,
        ("draft", True): draft + badge,
        ("not_started", False): not_started,
        ("not_started", True): not_started + badge,
        # Cells without an active assignment never carry the conflict flag (reviews.views.decisions._cell).
        ("conflict", False): badge[1:],
        ("none", False): '<span class="text-muted">—</span>',
    }


def _submitted_body(cell: dict, labels: dict) -> str:
    html = f"<strong>{_e(cell['total'])}</strong>"
    if cell.get("veto"):
        html += f' <span class="badge text-bg-danger">{labels["veto"]}</span>'
    if cell.get("conflict"):
        html += f' <span class="badge text-bg-secondary" title="{labels["conflict_late"]}">{labels["conflict"]}</span>'
    if cell.get("reopen_url"):
        html += (
            '<button class="btn btn-link btn-sm d-block mx-auto p-0" type="submit" form="reopen-form"'
            f' formaction="{_e(cell["reopen_url"])}" data-testid="reopen-{_e(cell["score"])}">'
            f"{labels['reopen']}</button>"
        )
    return html


def matrix_rows(rows: list[dict], labels: dict) -> SafeString:
    """The score matrix's <tr>s: the proposal, one cell per expert, the progress."""
    bodies = _cell_bodies(labels)
    lines = []
    for row in rows:
        proposal = row["proposal"]
        cells = "".join(
            f'<td class="text-center" data-testid="cell-{_e(cell["key"])}" data-state="{_e(cell["state"])}">'
            + (
                _submitted_body(cell, labels)
                if cell["state"] == "submitted"
                else bodies[cell["state"], bool(cell.get("conflict"))]
            )
            + "</td>"
            for cell in row["cells"]
        )
        lines.append(
            f'<tr data-testid="row-{_e(proposal.pk)}"><td>{_e(proposal.title)}<div class="text-muted">'
            f"{_e(proposal.lead)}</div></td>{cells}"
            f'<td class="text-end text-nowrap" data-testid="progress-{_e(proposal.pk)}">'
            f"{_e(row['done'])} / {_e(row['total'])} ({_e(row['percent'])}%)</td></tr>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308 (every value above is escaped)


def _flags(row: dict, key: str, labels: dict) -> str:
    html = ""
    if row["vetoed"]:
        html += f'<span class="badge text-bg-danger" data-testid="veto-{key}">{labels["veto"]}</span> '
    if row["disagreement"]:
        html += f'<span class="badge text-bg-warning" data-testid="disagreement-{key}">{labels["disagree"]}</span>'
    return html


def ranking_rows(ranking: list[dict], labels: dict) -> SafeString:
    """The ranking table's <tr>s."""
    passed = f'<span class="badge text-bg-success">{labels["yes"]}</span>'
    not_passed = f'<span class="badge text-bg-light border">{labels["no"]}</span>'
    lines = []
    for row in ranking:
        key, proposal, shown = _e(row["key"]), row["proposal"], row["shown"]
        lines.append(
            f'<tr data-testid="rank-row-{key}"><td data-testid="rank-{key}">{_e(row["rank"] or "—")}</td>'
            f"<td>{_e(proposal.title if proposal else '')}"
            f'<div class="text-muted">{_e(proposal.lead if proposal else "")}</div></td>'
            f'<td class="text-end fw-semibold" data-testid="final-{key}">{_e(shown["final"])}</td>'
            f'<td class="text-end">{_e(shown["median"])}</td><td class="text-end">{_e(shown["sd"])}</td>'
            f'<td class="text-end">{_e(shown["spread"])}</td><td class="text-end">{_e(row["count"])}</td>'
            f"<td>{passed if row['passed'] else not_passed}</td>"
            f'<td data-testid="flags-{key}">{_flags(row, key, labels)}</td></tr>'
        )
    return mark_safe("\n".join(lines))  # noqa: S308 (every value above is escaped)


def tables(rows: list[dict], ranking: list[dict]) -> dict:
    """What the template inserts: the matrix's and the ranking's rows."""
    labels = _labels()
    return {"matrix_html": matrix_rows(rows, labels), "ranking_html": ranking_rows(ranking, labels)}
