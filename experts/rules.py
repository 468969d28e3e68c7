"""Who may do what with the expert pool; views and exports ask here."""

import rules

from accounts.rules import is_administrator, is_supervisor

rules.add_perm("experts.view_pool", is_administrator | is_supervisor)
rules.add_perm("experts.export_pool", is_administrator | is_supervisor)
rules.add_perm("experts.import_pool", is_administrator)
# Full ID numbers (the expert's and those on avoid-lists): administrators only.
rules.add_perm("experts.view_id_numbers", is_administrator)
