"""The review dashboard, kept in the cache until something it shows may have changed.

Building the dashboard of a large call reads every assignment, score and conflict of the call and
ranks it (about 20 ms for 120 proposals × 8 experts); administrators and supervisors reload it
while the scores come in, and between two scores it does not change. What it shows changes only
through

- an audited change (domain rule: every state change is in the audit trail): a score submitted
  or reopened, routing, a proposal's or the call's status, a conflict declared or decided, an
  expert or an organisation renamed — the audit head's sequence number moves;
- a score sheet opened for the first time (not started → draft): a new score row;
- the avoidance sync adding or removing conflicts of the call's proposals: their count and
  highest id.

These three are read in one query before the dashboard is built (so a change that commits while
it is built makes the next view rebuild it). Anything else that could change what it shows
(a row edited by hand in the database) is bounded by the time-out.
"""

from django.core.cache import cache
from django.db import connection
from django.utils.translation import get_language

from audit.models import AuditHead
from experts.models import Conflict
from proposals.models import Proposal
from reviews.models import Score

TIMEOUT = 300  # seconds: the bound for changes outside the audit trail
NAMESPACE = "reviews:dashboard"  # tests give each test its own (ids and stamps repeat between tests)


def _stamp(call) -> str:
    sql = (
        f"SELECT (SELECT MAX(last_seq) FROM {AuditHead._meta.db_table}),"  # noqa: S608 (table names only)
        f" (SELECT MAX(id) FROM {Score._meta.db_table}),"
        f" (SELECT COUNT(*) FROM {Conflict._meta.db_table} c WHERE c.proposal_id IN"
        f"   (SELECT id FROM {Proposal._meta.db_table} WHERE call_id = %s)),"
        f" (SELECT MAX(c.id) FROM {Conflict._meta.db_table} c WHERE c.proposal_id IN"
        f"   (SELECT id FROM {Proposal._meta.db_table} WHERE call_id = %s))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [call.pk, call.pk])
        return ".".join(str(value or 0) for value in cursor.fetchone())


def fetch(call, *, page, viewer: str, build) -> dict:
    """build()'s dict, from the cache when nothing the dashboard shows has changed since.

    viewer names what differs between the people looking (administrators see the reopen buttons);
    the language is part of the key too (labels, links). The dict must not hold the call: the
    caller adds it (loaded for the permission check anyway)."""
    key = f"{NAMESPACE}:{call.pk}:{call.status}:{_stamp(call)}:{page}:{viewer}:{get_language()}"
    data = cache.get(key)
    if data is None:
        data = build()
        cache.set(key, data, TIMEOUT)
    return data
