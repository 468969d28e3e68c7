"""The calls API: same rules and audit entries as the pages, tokens, schema."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from audit.models import AuditEntry
from calls import services
from calls.choices import CallStatus
from calls.models import Call
from tests.factories_calls import CallFactory, ProgrammeFactory, in_days, make_ready_call


def new_call_payload(programme, code="JB-2026-501"):
    return {
        "code": code,
        "title": "高效光伏组件回收关键技术",
        "programme": programme.pk,
        "field": "new_energy",
        "keywords": "光伏,回收",
        "background": "退役光伏组件规模快速增长。",
        "research_tasks": "1. 拆解工艺；2. 材料再生。",
        "period_months": 36,
        "fiscal_cap": "600.00",
        "issuer_contribution": "1200.00",
        "support_mode": "single",
        "max_winners": 1,
        "deadline": in_days(30).isoformat(),
        "targets": [{"name": "银回收率", "comparator": ">=", "value": "95", "unit": "%"}],
    }


@pytest.mark.django_db
def test_token_round_trip_and_bad_password(client, lead_applicant):
    cache.clear()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "cast-lead", "password": "pw-for-tests-only"},
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert me.get("/api/v1/organizations/").json()["results"][0]["id"] == lead_applicant.organization_id
    bad = client.post(
        "/api/v1/auth/token/", {"username": "cast-lead", "password": "nope"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "non_field_errors" in bad.json()


@pytest.mark.django_db
def test_token_requests_are_throttled_and_locked_out(client, lead_applicant):
    cache.clear()
    token_url = "/api/v1/auth/token/"
    # Different user names: the per-client rate limit applies (10 a minute).
    statuses = [
        client.post(token_url, {"username": f"x{i}", "password": "y"}, content_type="application/json").status_code
        for i in range(11)
    ]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
    cache.clear()
    # One user name: the same lockout as the login page after repeated failures.
    wrong = {"username": "cast-lead", "password": "wrong"}
    statuses = [client.post(token_url, wrong, content_type="application/json").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    right = {"username": "cast-lead", "password": "pw-for-tests-only"}
    assert client.post(token_url, right, content_type="application/json").status_code == 429


@pytest.mark.django_db
def test_issuer_creates_submits_and_admin_approves(api, issuer, administrator):
    programme = ProgrammeFactory()
    response = api(issuer).post("/api/v1/calls/", new_call_payload(programme), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and len(body["criteria"]) == 5 and body["issuer"] == issuer.organization_id
    assert api(issuer).post("/api/v1/calls/JB-2026-501/submit/").status_code == 200
    assert api(issuer).post("/api/v1/calls/JB-2026-501/approve/").status_code == 403
    approved = api(administrator).post("/api/v1/calls/JB-2026-501/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "published"
    actions = list(AuditEntry.objects.filter(object_type="calls.call").values_list("action", flat=True))
    assert {"call.create", "call.submit", "call.approve"} <= set(actions)


@pytest.mark.django_db
def test_validation_errors_answer_400_by_field(api, issuer, administrator):
    programme = ProgrammeFactory()
    payload = new_call_payload(programme)
    payload["criteria"] = [{"name": "唯一", "max_points": "90"}]
    payload["support_mode"] = "horse_race"
    response = api(issuer).post("/api/v1/calls/", payload, format="json")
    assert response.status_code == 400
    assert "max_winners" in response.json()
    call = make_ready_call(issuer.organization, issuer)
    services.submit_call(actor=issuer, call=call)
    refused = api(administrator).post(f"/api/v1/calls/{call.code}/return/", {"reason": ""}, format="json")
    assert refused.status_code == 400 and refused.json()["non_field_errors"]


@pytest.mark.django_db
def test_visibility_and_edit_rights(api, cast, issuer_org, issuer, administrator, outsider_org):
    from tests.factories import UserFactory

    draft = make_ready_call(issuer_org, issuer)
    published = make_ready_call(issuer_org, issuer)
    services.submit_call(actor=issuer, call=published)
    services.approve_call(actor=administrator, call=published)
    assert api().get(f"/api/v1/calls/{published.code}/").status_code == 200
    assert api().get(f"/api/v1/calls/{draft.code}/").status_code == 404
    for name, user in cast.items():
        expected = 200 if name in {"administrator", "supervisor", "issuer"} else 404
        assert api(user).get(f"/api/v1/calls/{draft.code}/").status_code == expected, name
    other_issuer = UserFactory(organization=outsider_org, is_issuer=True)
    patch = {"title": "改名"}
    assert api(other_issuer).patch(f"/api/v1/calls/{draft.code}/", patch, format="json").status_code == 404
    assert api(cast["supervisor"]).patch(f"/api/v1/calls/{draft.code}/", patch, format="json").status_code == 403
    assert api(issuer).patch(f"/api/v1/calls/{draft.code}/", patch, format="json").status_code == 200
    assert api(issuer).patch(f"/api/v1/calls/{published.code}/", patch, format="json").status_code == 403
    assert api(cast["lead_applicant"]).post("/api/v1/calls/", {}, format="json").status_code in (400, 403)


@pytest.mark.django_db
def test_amend_through_the_api(api, issuer_org, issuer, administrator):
    call = make_ready_call(issuer_org, issuer)
    services.submit_call(actor=issuer, call=call)
    services.approve_call(actor=administrator, call=call)
    later = in_days(60).isoformat()
    body = {"kind": "deadline", "text": "延期", "new_deadline": later}
    assert api(issuer).post(f"/api/v1/calls/{call.code}/amend/", body, format="json").status_code == 403
    response = api(administrator).post(f"/api/v1/calls/{call.code}/amend/", body, format="json")
    assert response.status_code == 201
    assert Call.objects.get(pk=call.pk).deadline > call.deadline


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_call_list_query_budget(api, django_assert_max_num_queries, n):
    programme = ProgrammeFactory()
    for _ in range(n):
        CallFactory(status=CallStatus.PUBLISHED, programme=programme, fiscal_cap=Decimal("500"))
    with django_assert_max_num_queries(6):
        response = api().get("/api/v1/calls/?field=energy_storage&cap_min=100")
    assert response.status_code == 200 and response.json()["count"] == n
    assert set(response.json()) == {"count", "next", "previous", "results"}


@pytest.mark.django_db
def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/calls/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html and "cdn" not in html.lower()
    assert "unsafe-inline" not in docs["Content-Security-Policy"]
