"""Advisory locks (PostgreSQL) that order submissions against changes to what they check.

A programme's settings (matching ratio, regional shares, application limits…) are read by the
eligibility rules of every submit and changed, rarely, by an administrator. Submits take the
programme's settings lock shared, so hundreds of them run side by side in the last minutes of a
call; a change takes it exclusive (Programme.save), so it waits for the submits that are checking
and the submits that come after it wait for the change and then read the new settings. PostgreSQL's
lock manager queues requests in order: a change waiting for the lock is not overtaken by new
submits, as it would be on the programme's row (a row lock shared by one transaction is shared with
any newcomer, even while an update of the row waits).

The application limits (限项) count a person's places in a programme: a submit takes the limit lock
of each person on its team (proposals.eligibility.limit_locks_sql), and so does a change that puts
a person on a proposal that already counts (lock_limits_for_change), so the two take turns.

Keys are 64-bit numbers made from md5 of a name, in PostgreSQL's advisory-lock space for the whole
database; two names with the same key only make their holders take turns.
"""

from django.db import connections


def key_sql(name_sql: str) -> str:
    """SQL for the lock key of a name (an SQL text expression)."""
    return f"('x' || left(md5({name_sql}), 16))::bit(64)::bigint"


def settings_key_sql(programme_sql: str) -> str:
    """SQL for the settings lock key of a programme (programme_sql: an SQL expression of its id)."""
    return key_sql(f"'jiebang.programme.' || ({programme_sql})::text")


def limit_key_sql(programme_sql: str, person_sql: str) -> str:
    """SQL for the limit lock key of a person in a programme (SQL expressions of their ids)."""
    return key_sql(f"'jiebang.limits.' || ({programme_sql})::text || '.' || ({person_sql})::text")


def lock_settings_for_change(using: str, programme_id: int) -> None:
    """Wait for the submits checking this programme's settings; hold them off until the transaction
    ends."""
    _hold(using, settings_key_sql("%s::bigint"), [programme_id])


def lock_limits_for_change(using: str, programme_id: int, person_id: int) -> None:
    """Wait for the submits counting this person's places in the programme; hold them off until the
    transaction ends."""
    _hold(using, limit_key_sql("%s::bigint", "%s::bigint"), [programme_id, person_id])


def _hold(using: str, key: str, params) -> None:
    # Nothing to do where there are no such locks (SQLite runs one writer at a time).
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock({key})", params)
