"""The formal-review queue's table rows, built as HTML here rather than by the template engine.

A queue page shows 50 proposals, each with its consortium, its eligibility checks and (while it
waits) a decision form of three buttons. Through templates that was a few includes, four URL
reversals and some two hundred variable look-ups per row: most of the page's time. Here each row is
one f-string: every value from the database is escaped, the fixed texts are translated and escaped
once per page, the URLs are reversed once as patterns and the proposal's id filled in, and the
eligibility cell is built once per distinct stored result (most rows share the same one).

The markup is the one the templates gave. It mirrors proposals/review/_consortium.html and
_status_badge.html, which other pages still render (the issuer's list, the reviewers' pages):
keep them in step.
"""

import json

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from config.html import text as _e
from config.html import url_parts
from proposals import eligibility
from proposals.choices import ProposalStatus

# Formal review runs after the deadline, when the live "before the deadline" rule fails for
# everyone; whether the bid came in on time was settled at submit (the submitted time is shown).
RULES_NOT_SHOWN_IN_REVIEW = {"deadline"}

# proposals/review/_status_badge.html's colours.
_BADGE_CLASSES = {
    "submitted": "text-bg-primary",
    "returned": "text-bg-warning",
    "passed": "text-bg-success",
    "rejected": "text-bg-danger",
    "awarded": "text-bg-info",
    "recommended": "text-bg-info",
}


def _url_pattern(name: str, *args) -> tuple[str, str]:
    """A proposal URL reversed once, as the escaped parts before and after the proposal id."""
    before, after = url_parts(name, *args)
    return _e(before), _e(after)


def _lines(text: str) -> str:
    """What the linebreaksbr filter gives: escaped, each line break a <br>."""
    return _e(text.replace("\r\n", "\n").replace("\r", "\n")).replace("\n", "<br>")


def status_badge(status: str, label) -> SafeString:
    """proposals/review/_status_badge.html (safe: the status and its label are escaped)."""
    css = _BADGE_CLASSES.get(status, "text-bg-secondary")
    return mark_safe(f'<span class="badge {css}" data-testid="status-{_e(status)}">{_e(label)}</span>\n')  # noqa: S308


class QueueRows:
    """Builds a queue page's rows. One per request: it holds the page's translated texts, URL
    patterns and CSRF token, and the eligibility cells built so far."""

    def __init__(self, csrf_token: str, page_query: str):
        texts = {
            "select": _("Select"),
            "reason": _("Reason for return or rejection"),
            "pass": _("Pass"),
            "return": _("Return"),
            "reject": _("Reject"),
            "with": _("With"),
            "not_confirmed": _("not confirmed"),
            "pi": _("Principal investigator"),
            "none_named": _("none named"),
            "not_checked": _("Not checked yet"),
            "all_met": _("All rules met"),
        }
        self.text = {key: _e(text) for key, text in texts.items()}
        self.csrf_input = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf_token)}">'
        self.detail_url = _url_pattern("proposals:detail")
        # Decisions return to the page they were sent from.
        self.decide_urls = {}
        for action in ("pass", "return", "reject"):
            before, after = _url_pattern("proposals:review", action)
            self.decide_urls[action] = (before, after + _e(page_query))
        # Looked up once: timezone.localtime() looks it up on every call.
        self.timezone = timezone.get_current_timezone()
        self.check_cells: dict[str, str] = {}
        self.badges: dict[str, str] = {}
        self.rule_lists: dict[tuple, str] = {}

    # --- the cells ------------------------------------------------------------------------------------
    def _when(self, moment) -> str:
        """A time as the queue shows it: local, to the minute (what date:"Y-m-d H:i" gave)."""
        return moment.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M") if moment else ""

    def _url(self, pattern: tuple[str, str], pk: int) -> str:
        return f"{pattern[0]}{pk}{pattern[1]}"

    def consortium(self, lead, members: list[tuple[str, bool]], pi) -> str:
        """proposals/review/_consortium.html: the lead unit, the member units (name, confirmed)
        and the PI."""
        text = self.text
        html = f'<div class="fw-semibold">{_e(lead)}</div>\n'
        if members:
            not_confirmed = f' <span class="text-danger">({text["not_confirmed"]})</span>'
            units = "、".join(_e(name) + ("" if confirmed else not_confirmed) for name, confirmed in members)
            html += f'<div class="small text-muted">{text["with"]}: {units}</div>'
        pi_html = _e(pi) if pi else f'<span class="text-danger">{text["none_named"]}</span>'
        return html + f'\n<div class="small">{text["pi"]}: {pi_html}</div>\n'

    def checks(self, stored: str | None) -> str:
        """The eligibility cell of a waiting proposal, from its stored results as JSON text. Rows
        with the same results share the cell: it is decoded and built once per distinct text."""
        key = stored or ""
        if key not in self.check_cells:
            self.check_cells[key] = self._checks_cell(json.loads(stored) if stored else None)
        return self.check_cells[key]

    def _checks_cell(self, results) -> str:
        shown = []
        for result in results or []:
            rule = result.get("rule")
            if rule and rule not in RULES_NOT_SHOWN_IN_REVIEW:
                shown.append(eligibility.describe(result))
        if not shown:
            return f'<span class="text-muted small">{self.text["not_checked"]}</span>\n'
        failed = [check for check in shown if not check["ok"]]
        if failed:
            problems = "".join(
                f"<div><strong>{_e(check['label'])}</strong>"
                + "".join(f"<div>{_e(message)}</div>" for message in check["messages"])
                + "</div>"
                for check in failed
            )
            html = f'<div class="small text-danger" data-testid="failed-checks">\n    {problems}\n  </div>\n'
        else:
            html = f'<span class="badge text-bg-success" data-testid="checks-ok">{self.text["all_met"]}</span>\n'
        return html + self._rule_list(shown)

    def _rule_list(self, shown: list[dict]) -> str:
        """Every rule with ✓ or ✗, rendered by its template (for the plural of "n rules") once per
        distinct outcome."""
        outcome = tuple((check["rule"], check["ok"]) for check in shown)
        if outcome not in self.rule_lists:
            self.rule_lists[outcome] = render_to_string("proposals/review/_rule_list.html", {"checks": shown})
        return self.rule_lists[outcome]

    def badge(self, status: str) -> str:
        """A decided proposal's status, built once per status on the page."""
        if status not in self.badges:
            self.badges[status] = status_badge(status, ProposalStatus(status).label)
        return self.badges[status]

    # --- the rows -------------------------------------------------------------------------------------
    def awaiting(self, values: dict, members: list[tuple[str, bool]]) -> str:
        """A waiting proposal: select box, title, consortium, submitted time, checks, and its own
        form. The reason field is required by the return and reject buttons (the pass button skips
        the check); Enter in it decides nothing: the form's first button, the default one, is a
        disabled hidden one."""
        text, pk = self.text, values["pk"]
        title = _e(values["title"])
        consortium = self.consortium(values["lead_name"], members, values["pi_name"])
        return f"""<tr data-testid="proposal-{pk}">
  <td><input class="form-check-input" type="checkbox" name="ids" value="{pk}" form="bulk-pass-form" aria-label="{text["select"]} {title}" data-testid="select-{pk}"></td>
  <td><a href="{self._url(self.detail_url, pk)}">{title}</a></td>
  <td>{consortium}</td>
  <td class="small text-nowrap">{self._when(values["submitted_at"])}</td>
  <td>{self.checks(values["eligibility_text"])}</td>
  <td><form method="post" action="{self._url(self.decide_urls["pass"], pk)}" class="d-flex flex-column gap-1" data-testid="decide-{pk}">{self.csrf_input}
    <button type="submit" disabled hidden aria-hidden="true"></button>
    <input class="form-control form-control-sm" type="text" name="reason" required placeholder="{text["reason"]}" aria-label="{text["reason"]}">
    <div class="d-flex gap-1"><button class="btn btn-sm btn-success" type="submit" formnovalidate data-testid="pass-{pk}">{text["pass"]}</button>
      <button class="btn btn-sm btn-outline-warning text-nowrap" type="submit" formaction="{self._url(self.decide_urls["return"], pk)}" data-testid="return-{pk}">{text["return"]}</button>
      <button class="btn btn-sm btn-outline-danger text-nowrap" type="submit" formaction="{self._url(self.decide_urls["reject"], pk)}" data-testid="reject-{pk}">{text["reject"]}</button></div>
  </form></td>
</tr>"""  # noqa: E501 (the row's markup, one element a line)

    def decided(self, values: dict, members: list[tuple[str, bool]]) -> str:
        """A proposal already decided, for reference: its status, when, and the reason given."""
        pk = values["pk"]
        consortium = self.consortium(values["lead_name"], members, values["pi_name"])
        reviewed = self._when(values["reviewed_at"])
        reviewed_html = f'<div class="small text-muted">{reviewed}</div>' if reviewed else ""
        return f"""<tr data-testid="proposal-{pk}">
  <td><a href="{self._url(self.detail_url, pk)}">{_e(values["title"])}</a></td>
  <td>{consortium}</td>
  <td class="small text-nowrap">{self._when(values["submitted_at"])}</td>
  <td>{self.badge(values["status"])}
    {reviewed_html}</td>
  <td class="small">{_lines(values["review_reason"])}</td>
</tr>"""


def join(rows: list[str]) -> SafeString:
    """The rows for the template. Safe: every value in them went through _e (or _lines, or
    the rule list's template), the rest is this module's markup."""
    return mark_safe("\n".join(rows))  # noqa: S308
