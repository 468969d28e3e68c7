"""The review dashboard, served from the cache (audit.page_cache) until something it shows may
have changed.

Building the dashboard of a large call reads every assignment, score and conflict of the call and
ranks it (about 20 ms for 120 proposals × 8 experts); administrators and supervisors reload it
while the scores come in, and between two scores it does not change. What it shows changes only
through

- an audited change: a score submitted or reopened, routing, a proposal's or the call's status,
  a conflict declared or decided, an expert or an organisation renamed (the audit head moves);
- a score sheet opened for the first time (not started → draft): a new score row, so the newest
  score id is part of the stamp;
- the avoidance sync adding or removing conflicts of the call's proposals without audit entries:
  their count and highest id are part of the stamp.
"""

from audit import page_cache
from experts.models import Conflict
from proposals.models import Proposal
from reviews.models import Score

# Table names only, no input: the call id is a parameter. The conflicts' count and highest id in
# one pass over them ("count.id"): read on every view of the dashboard.
_STAMP = (
    f", (SELECT MAX(id) FROM {Score._meta.db_table})"  # noqa: S608 (table names only)
    f", (SELECT COUNT(*) || '.' || COALESCE(MAX(c.id), 0) FROM {Conflict._meta.db_table} c"
    f" JOIN {Proposal._meta.db_table} p ON p.id = c.proposal_id WHERE p.call_id = %s)"
)


def fetch(call, *, page, viewer: str, build) -> dict:
    """build()'s dict, from the cache when nothing the dashboard shows has changed since.

    viewer names what differs between the people looking (administrators see the reopen buttons).
    The dict must not hold the call: the caller adds it (loaded for the permission check anyway)."""
    key = f"{call.pk}:{call.status}:{page}:{viewer}"
    return page_cache.fetch("review-dashboard", key, build, extra_sql=_STAMP, params=[call.pk])
