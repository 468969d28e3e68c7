import pytest

from audit.models import AuditEntry
from audit.services import record


def entries(actor, n):
    for i in range(n):
        record(
            actor=actor,
            action="call.approve" if i % 2 else "proposal.submit",
            object_type="calls.call",
            object_id=i,
            after={"i": i},
        )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["administrator", "supervisor"])
def test_readers_see_the_trail(cast, client_for, role):
    entries(cast["administrator"], 3)
    response = client_for(cast[role]).get("/audit/")
    assert response.status_code == 200
    assert response.content.decode().count("calls.call:") == 3
    detail = client_for(cast[role]).get("/audit/2/")
    assert detail.status_code == 200 and "call.approve" in detail.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", ["issuer", "lead_applicant", "member_applicant", "outsider_applicant", "assigned_expert"]
)
@pytest.mark.parametrize("url", ["/audit/", "/audit/1/", "/audit/chain/"])
def test_others_are_refused(cast, client_for, role, url):
    entries(cast["administrator"], 1)
    assert client_for(cast[role]).get(url).status_code == 403


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_filters(cast, client_for):
    entries(cast["administrator"], 4)
    record(actor=cast["issuer"], action="call.submit", object_type="calls.call", object_id="99")
    c = client_for(cast["supervisor"])
    assert c.get("/audit/?action=call.approve").content.decode().count("calls.call:") == 2
    assert c.get("/audit/?actor=cast-issuer").content.decode().count("calls.call:") == 1
    assert c.get("/audit/?object_type=calls.call&object_id=99").content.decode().count("calls.call:") == 1
    assert c.get("/audit/?date_from=2000-01-01&date_to=2000-01-02").content.decode().count("calls.call:") == 0


@pytest.mark.django_db
def test_chain_page_reports_ok_then_broken(cast, client_for):
    entries(cast["administrator"], 3)
    c = client_for(cast["supervisor"])
    assert 'data-testid="chain-ok"' in c.get("/audit/chain/").content.decode()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'forged' WHERE seq = 2")
    assert 'data-testid="chain-broken"' in c.get("/audit/chain/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [2, 20])
def test_list_query_budget_does_not_grow(cast, client_for, django_assert_max_num_queries, rows):
    c = client_for(cast["supervisor"])
    entries(cast["administrator"], rows)
    assert AuditEntry.objects.count() >= rows
    with django_assert_max_num_queries(6):
        assert c.get("/audit/").status_code == 200
