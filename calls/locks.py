"""Advisory locks (PostgreSQL) that order submissions against changes to what they check.

A programme's settings (matching ratio, regional shares, application limits…) are read by the
eligibility rules of every submit and changed, rarely, by an administrator. Submits take the
programme's settings lock shared, so hundreds of them run side by side in the last minutes of a
call; a change takes it exclusive (Programme.save), so it waits for the submits that are checking
and the submits that come after it wait for the change and then read the new settings. PostgreSQL's
lock manager queues requests in order: a change waiting for the lock is not overtaken by new
submits, as it would be on the programme's row (a row lock shared by one transaction is shared with
any newcomer, even while an update of the row waits).

Keys are 64-bit numbers made from md5 of a name, in PostgreSQL's advisory-lock space for the whole
database; two names with the same key only make their holders take turns.
"""

from django.db import connections


def key_sql(name_sql: str) -> str:
    """SQL for the lock key of a name (an SQL text expression)."""
    return f"('x' || left(md5({name_sql}), 16))::bit(64)::bigint"


def settings_key_sql(programme_id_sql: str) -> str:
    """SQL for the settings lock key of a programme (an SQL expression of its id)."""
    return key_sql(f"'jiebang.programme.' || ({programme_id_sql})::text")


def lock_settings_for_change(using: str, programme_id: int) -> None:
    """Wait for the submits checking this programme's settings; hold the lock until the transaction
    ends. Nothing to do where there are no such locks (SQLite runs one writer at a time)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_xact_lock({settings_key_sql('%s::bigint')})", [programme_id])
