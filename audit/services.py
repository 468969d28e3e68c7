"""Writing and verifying the audit trail."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from accounts.validators import mask_id_number
from audit import context
from audit.models import GENESIS_HASH, AuditEntry, AuditHead

SYSTEM_ACTOR = "system"
# Never copied into an audit entry, whatever a caller passes.
_SECRET_FIELDS = {"password"}
# Personal ID numbers are kept masked in the trail (supervisors read it; only
# administrators may see full numbers, on the records themselves).
_MASKED_FIELDS = {"id_number"}


def _jsonable(value):
    """Normalise to what a JSON column gives back, so hashes recompute exactly."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """The audited state of a model instance: concrete fields, FKs as ids."""
    data = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in _SECRET_FIELDS:
            continue
        value = getattr(instance, field.attname)
        data[field.name] = mask_id_number(value) if field.name in _MASKED_FIELDS else value
    return _jsonable(data)


def _canonical(entry: AuditEntry) -> bytes:
    content = {
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(UTC).isoformat(),
        "actor_id": entry.actor_id,
        "actor_repr": entry.actor_repr,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "ip": entry.ip,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id=None,
    object_repr: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one entry. Call it inside the transaction that makes the change,
    so the change and its record commit or roll back together."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
        object_repr = str(obj) if object_repr is None else object_repr
    if not object_type:
        raise ValueError("An audit entry needs an object type.")
    request = context.current()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    # No savepoint of its own: inside the caller's transaction an error here must roll the change
    # back anyway (the entry is part of it), and the SAVEPOINT/RELEASE pair would cost two more
    # round trips while the head row is locked. Called outside a transaction, this is the transaction.
    with transaction.atomic(savepoint=False):
        last_seq, last_hash = _lock_head()
        entry = AuditEntry(
            seq=last_seq + 1,
            created_at=timezone.now(),
            actor=actor if authenticated else None,
            actor_repr=actor.get_username() if authenticated else SYSTEM_ACTOR,
            action=action,
            object_type=object_type,
            object_id="" if object_id is None else str(object_id),
            object_repr=(object_repr or "")[:255],
            before=_jsonable(before),
            after=_jsonable(after),
            reason=reason or "",
            ip=request.ip,
            request_id=request.request_id,
            prev_hash=last_hash,
        )
        entry.hash = compute_hash(entry)
        _append(entry)
    return entry


# The head row is read and written on every change anyone makes, while it is locked: plain SQL,
# since the ORM spent longer compiling these two statements than the database took to run them.
def _head_table():
    connection = connections[router.db_for_write(AuditHead)]
    return connection, connection.ops.quote_name(AuditHead._meta.db_table)


def _lock_head() -> tuple[int, str]:
    """The head's (last_seq, last_hash), its row locked until the transaction ends."""
    connection, table = _head_table()
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_seq, last_hash FROM {table} WHERE id = 1{lock}")  # noqa: S608 (the model's table)
        row = cursor.fetchone()
    if row is None:  # first entry ever (or a flushed test database)
        AuditHead.objects.get_or_create(pk=1)
        return _lock_head()
    return row


def _append(entry: AuditEntry) -> None:
    """Insert the entry and move the head to it. On PostgreSQL one statement (the head's UPDATE in a
    WITH before the entry's INSERT, as the ORM compiles it): one round trip less while every other
    change in the system waits for the head's lock. Like a bulk insert it sends no pre_save or
    post_save signal (nothing listens for audit entries)."""
    connection, table = _head_table()
    move = f"UPDATE {table} SET last_seq = %s, last_hash = %s WHERE id = 1"  # noqa: S608 (the model's table)
    if connection.vendor != "postgresql" or router.db_for_write(AuditEntry) != connection.alias:
        entry.save(using=router.db_for_write(AuditEntry))
        with connection.cursor() as cursor:
            cursor.execute(move, [entry.seq, entry.hash])
        return
    query = InsertQuery(AuditEntry)
    query.insert_values([f for f in AuditEntry._meta.concrete_fields if f is not AuditEntry._meta.pk], [entry])
    compiler = query.get_compiler(using=connection.alias)
    compiler.returning_fields = [AuditEntry._meta.pk]
    [(insert, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"WITH moved AS ({move}) {insert}", [entry.seq, entry.hash, *params])
        entry.pk = cursor.fetchone()[0]
    entry._state.adding, entry._state.db = False, connection.alias


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""
    last_hash: str = GENESIS_HASH


def verify_chain() -> ChainReport:
    """Walk the chain from the start; report the first row that does not fit."""
    expected_seq = 1
    expected_prev = GENESIS_HASH
    checked = 0
    rows = AuditEntry.objects.order_by("seq").iterator(chunk_size=2000)
    for entry in rows:
        if entry.seq != expected_seq:
            return ChainReport(
                False,
                checked,
                expected_seq,
                f"row seq={expected_seq} is missing (next present row is seq={entry.seq}, id={entry.pk})",
            )
        if entry.prev_hash != expected_prev:
            return ChainReport(
                False,
                checked,
                entry.seq,
                f"row seq={entry.seq} (id={entry.pk}) does not link to the row before it",
            )
        if compute_hash(entry) != entry.hash:
            return ChainReport(
                False,
                checked,
                entry.seq,
                f"row seq={entry.seq} (id={entry.pk}) was altered: its content no longer matches its hash",
            )
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    if last_seq != checked or last_hash != expected_prev:
        last = last_seq
        return ChainReport(
            False,
            checked,
            checked + 1,
            f"the chain ends at seq={checked} but its head records seq={last}: "
            f"rows from seq={checked + 1} on were removed",
        )
    return ChainReport(True, checked, last_hash=expected_prev)
