"""Pages kept in the cache until the state they show may have changed.

Every state change is recorded in the audit trail (a project rule), inside the transaction that
makes it, and each entry moves the audit head's sequence number: the number is a version of
everything audited. A page built from audited state can be kept under that number and served
again until it moves. A page that also shows something changed without an audit entry adds a
stamp of its own (more sub-selects of the same query). The stamp is read before the page is
built, so a change that commits while it is built makes the next view build it again; anything
changed outside the application (a row edited by hand) shows within TIMEOUT.

Used by the review dashboard and the formal-review queue: large pages that administrators reload
while the state changes seldom in between.
"""

from django.core.cache import cache
from django.db import connection
from django.utils.translation import get_language

from audit.models import AuditHead

TIMEOUT = 300  # seconds: the bound for changes outside the audit trail
NAMESPACE = "page"  # tests give each test its own (ids and sequence numbers repeat between tests)


def page_number(request) -> str:
    """The ?page= of a cached page as part of its key: digits only (at most five), "1" otherwise,
    so no query string can fill the cache with keys of its own."""
    number = request.GET.get("page", "")
    return number if number.isdigit() and len(number) < 6 else "1"


def _stamp(extra_sql: str, params) -> str:
    # The head's hash too, not only its number: two databases (or a database and a restore of
    # another one) sharing a cache reach the same numbers, never the same chain.
    head = AuditHead._meta.db_table
    sql = f"SELECT (SELECT MAX(last_seq) FROM {head}), (SELECT MAX(last_hash) FROM {head}){extra_sql}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return ".".join(str(value or 0) for value in cursor.fetchone())


def fetch(page: str, key: str, build, *, extra_sql: str = "", params=()) -> dict:
    """build()'s dict, from the cache while the audit head (and ``extra_sql``: ", (SELECT …)"
    sub-selects with ``params``) has not moved since it was built.

    ``key`` names everything else the dict depends on (object, page number, what this viewer may
    see); the language is added. The dict must hold nothing that differs per request (the CSRF
    token, the user) and nothing that cannot be pickled."""
    stamp = _stamp(extra_sql, params)
    full_key = f"{NAMESPACE}:{page}:{key}:{get_language()}:{stamp}"
    data = cache.get(full_key)
    if data is None:
        data = build()
        cache.set(full_key, data, TIMEOUT)
    return data
