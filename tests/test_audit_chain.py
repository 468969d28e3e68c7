import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AppendOnlyError, AuditEntry, AuditHead
from audit.services import record, verify_chain


def write_entries(actor, n=5):
    return [
        record(
            actor=actor,
            action="test.change",
            object_type="tests.thing",
            object_id=i,
            before={"state": "draft", "amount": "1.50"},
            after={"state": "submitted", "amount": "2.00"},
            reason=f"步骤{i}",
        )
        for i in range(n)
    ]


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_intact_chain_verifies(administrator):
    entries = write_entries(administrator)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[1].prev_hash == entries[0].hash
    report = verify_chain()
    assert report.ok and report.checked == 5 and report.last_hash == entries[-1].hash
    call_command("verify_audit")


@pytest.mark.django_db
def test_entry_carries_actor_object_and_states(administrator):
    entry = write_entries(administrator, 1)[0]
    entry.refresh_from_db()
    assert entry.actor == administrator and entry.actor_repr == "cast-admin"
    assert entry.before == {"state": "draft", "amount": "1.50"}
    assert entry.after["state"] == "submitted"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "column, value",
    [
        ("after", json.dumps({"state": "awarded", "amount": "2.00"})),
        ("actor_repr", "somebody-else"),
        ("reason", "改过的理由"),
        ("created_at", "2020-01-01 00:00:00+00:00"),
    ],
)
def test_altering_any_row_breaks_the_chain_at_that_row(administrator, column, value):
    entries = write_entries(administrator)
    target = entries[2]
    raw(f"UPDATE audit_auditentry SET {column} = %s WHERE id = %s", [value, target.pk])
    report = verify_chain()
    assert not report.ok
    assert report.broken_seq == target.seq
    with pytest.raises(CommandError, match=f"seq={target.seq}"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_rehashing_an_altered_row_is_still_caught_at_the_next_link(administrator):
    from audit.services import compute_hash

    entries = write_entries(administrator)
    target = AuditEntry.objects.get(seq=2)
    target.reason = "伪造"
    forged = compute_hash(target)
    raw("UPDATE audit_auditentry SET reason = %s, hash = %s WHERE id = %s", ["伪造", forged, target.pk])
    report = verify_chain()
    assert not report.ok and report.broken_seq == entries[2].seq


@pytest.mark.django_db
def test_deleting_a_middle_row_is_detected(administrator):
    entries = write_entries(administrator)
    raw("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    report = verify_chain()
    assert not report.ok and report.broken_seq == 2
    with pytest.raises(CommandError, match="seq=2"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_deleting_the_newest_rows_is_detected(administrator):
    entries = write_entries(administrator)
    raw("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].pk])
    report = verify_chain()
    assert not report.ok and report.broken_seq == 5


@pytest.mark.django_db
def test_orm_refuses_updates_and_deletes(administrator):
    entry = write_entries(administrator, 1)[0]
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().update(reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


@pytest.mark.django_db
def test_system_actor_and_request_context(client, administrator):
    entry = record(actor=None, action="system.tick", object_type="tests.thing")
    assert entry.actor is None and entry.actor_repr == "system"
    client.force_login(administrator)  # login itself is audited with IP and request id
    response = client.get("/accounts/dashboard/", HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"


@pytest.mark.django_db
def test_login_is_audited_with_ip_and_request_id(client, administrator):
    from axes.models import AccessAttempt  # noqa: F401  (axes installed)

    response = client.post(
        "/accounts/login/",
        {"username": "cast-admin", "password": "pw-for-tests-only"},
        HTTP_X_REQUEST_ID="login-req-1",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user.login")
    assert entry.actor == administrator
    assert entry.ip == "10.1.2.3" and entry.request_id == "login-req-1"


@pytest.mark.django_db
def test_snapshots_mask_id_numbers_and_drop_passwords(lead_applicant):
    from audit.services import snapshot
    from proposals.models import Person
    from proposals.validators import id_check_character

    first17 = "15010219800101123"
    person = Person(name="张三", id_number=first17 + id_check_character(first17))
    assert snapshot(person)["id_number"] == "150102**********" + person.id_number[-2:]
    assert "password" not in snapshot(lead_applicant)


@pytest.mark.django_db(transaction=True)
def test_an_entry_joins_the_callers_transaction_without_a_savepoint(administrator):
    """Inside a transaction the entry is part of it (no savepoint of its own: the head locked, then
    the entry inserted and the head moved, in one statement on PostgreSQL); rolled back with it, the
    chain stays whole."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    write_entries(administrator, n=2)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            record(actor=administrator, action="test.change", object_type="tests.thing", object_id=9)
        assert not any("SAVEPOINT" in q["sql"].upper() for q in queries.captured_queries)
        assert len(queries.captured_queries) == (2 if connection.vendor == "postgresql" else 3)
        raise Undo
    assert AuditEntry.objects.count() == 2
    report = verify_chain()
    assert report.ok and report.checked == 2
    # Outside a transaction it is its own transaction.
    entry = record(actor=administrator, action="test.change", object_type="tests.thing", object_id=10)
    assert entry.seq == 3 and verify_chain().ok
    # The returned entry is the stored row, as the ORM's save leaves it.
    stored = AuditEntry.objects.get(seq=3)
    assert entry.pk == stored.pk and not entry._state.adding
    assert (entry.hash, entry.prev_hash, entry.before, entry.after) == (
        stored.hash,
        stored.prev_hash,
        stored.before,
        stored.after,
    )
    assert AuditHead.objects.get().last_seq == 3 and AuditHead.objects.get().last_hash == entry.hash
