import rules

from accounts.rules import is_administrator, is_supervisor

rules.add_perm("reviews.manage_draw", is_administrator)
rules.add_perm("reviews.view_draw", is_administrator | is_supervisor)
