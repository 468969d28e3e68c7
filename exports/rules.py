"""Who may export what, declared once (views, CLI checks and templates use these)."""

import rules

from accounts.rules import is_administrator, is_supervisor

# Every kind is a read-only report: administrators and supervisors may request all of them.
rules.add_perm("exports.request_export", is_administrator | is_supervisor)
# Expert names in score sheets are for administrators only.
rules.add_perm("exports.see_expert_names", is_administrator)
# Every export job's file, not just one's own.
rules.add_perm("exports.view_any_job", is_administrator)
