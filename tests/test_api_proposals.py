"""The proposals API: the same services, access rules and audit entries as the pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from calls.models import Call
from proposals import services
from proposals.choices import ProposalStatus, UnitRole
from proposals.models import Proposal, ProposalUnit
from tests.factories import OrganizationFactory
from tests.factories_calls import CallFactory
from tests.factories_proposals import applicant_for, complete_proposal, grow_content, open_call

URL = "/api/v1/proposals/"


@pytest.fixture
def submitted(draft, lead_applicant):
    return services.submit_proposal(actor=lead_applicant, proposal=draft)


def detail(pk):
    return f"{URL}{pk}/"


# --- reading ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_retrieve_cast_on_a_submitted_proposal(api, cast, submitted):
    seen = {"administrator", "supervisor", "lead_applicant", "member_applicant"}
    for name, user in cast.items():
        expected = 200 if name in seen else 404  # the issuer only once formal review has passed it
        assert api(user).get(detail(submitted.pk)).status_code == expected, name
    assert api().get(detail(submitted.pk)).status_code in (401, 403)
    assert api(cast["administrator"]).get(detail(999_999)).status_code == 404


@pytest.mark.django_db
def test_issuer_sees_it_after_formal_review(api, issuer, administrator, submitted):
    assert api(issuer).get(detail(submitted.pk)).status_code == 404
    assert submitted.pk not in [row["id"] for row in api(issuer).get(URL).json()["results"]]
    services.pass_review(actor=administrator, proposal=submitted)
    assert api(issuer).get(detail(submitted.pk)).status_code == 200
    assert [row["id"] for row in api(issuer).get(URL).json()["results"]] == [submitted.pk]


@pytest.mark.django_db
def test_nested_content_and_masked_id_numbers(api, administrator, lead_applicant, submitted):
    body = api(lead_applicant).get(detail(submitted.pk)).json()
    assert body["call"] == submitted.call.code and body["status"] == "submitted"
    assert [u["role"] for u in body["units"]] == ["lead", "member"]
    assert len(body["commitments"]) == submitted.call.targets.count()
    assert all(c["meets_target"] for c in body["commitments"])
    assert len(body["milestones"]) == 2 and len(body["budget_lines"]) == 2
    assert body["budget_totals"]["total"] == "300.00"
    assert {a["kind"] for a in body["attachments"]} >= {"integrity_pledge", "matching_funds"}
    assert all(set(a) == {"id", "kind", "original_name", "size", "uploaded_at"} for a in body["attachments"])
    pi = body["team"][0]
    full = submitted.team.get(role="pi").person.id_number
    assert pi["id_number"] != full and "*" in pi["id_number"]
    assert body["actions"] == ["withdraw"]
    admin_view = api(administrator).get(detail(submitted.pk)).json()
    assert admin_view["team"][0]["id_number"] == full
    assert set(admin_view["actions"]) == {"pass", "return", "reject"}


@pytest.mark.django_db
def test_lists_are_scoped_and_filterable(api, cast, submitted, call, outsider_applicant):
    other = complete_proposal(open_call(), outsider_applicant)
    admin = api(cast["administrator"]).get(URL).json()
    assert set(admin) == {"count", "next", "previous", "results"} and admin["count"] == 2
    assert api(cast["administrator"]).get(f"{URL}?call={call.code}").json()["count"] == 1
    assert api(cast["administrator"]).get(f"{URL}?status=draft").json()["results"][0]["id"] == other.pk
    assert [r["id"] for r in api(cast["member_applicant"]).get(URL).json()["results"]] == [submitted.pk]
    assert [r["id"] for r in api(outsider_applicant).get(URL).json()["results"]] == [other.pk]
    for name in ("issuer", "assigned_expert", "conflicted_expert"):
        assert api(cast[name]).get(URL).json()["count"] == 0, name
    bad = api(cast["administrator"]).get(f"{URL}?status=nonsense")
    assert bad.status_code == 400 and "status" in bad.json()


# --- starting and editing -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_start_a_proposal(api, cast, call, lead_applicant):
    response = api(lead_applicant).post(URL, {"call": call.code}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["units"][0]["role"] == "lead"
    again = api(lead_applicant).post(URL, {"call": call.code}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert AuditEntry.objects.filter(action="proposal.create", object_id=str(body["id"])).count() == 1
    for name in ("issuer", "administrator", "supervisor", "assigned_expert"):
        assert api(cast[name]).post(URL, {"call": call.code}, format="json").status_code == 403, name


@pytest.mark.django_db
def test_start_validation(api, lead_applicant, issuer_org):
    missing = api(lead_applicant).post(URL, {}, format="json")
    assert missing.status_code == 400 and list(missing.json()) == ["call"]
    unknown = api(lead_applicant).post(URL, {"call": "JB-0000-404"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["call"]
    hidden = CallFactory(issuer=issuer_org)  # a draft: not visible to applicants
    assert api(lead_applicant).post(URL, {"call": hidden.code}, format="json").status_code == 400
    closed = open_call()
    Call.objects.filter(pk=closed.pk).update(deadline=timezone.now() - timedelta(hours=1))
    refused = api(lead_applicant).post(URL, {"call": closed.code}, format="json")
    assert refused.status_code == 400 and refused.json()["non_field_errors"]


@pytest.mark.django_db
def test_edit_basics_cast_and_validation(api, cast, draft, lead_applicant):
    patch = {"title": "新的项目名称", "risks": "风险可控。"}
    for name in ("administrator", "supervisor", "member_applicant"):
        assert api(cast[name]).patch(detail(draft.pk), patch, format="json").status_code == 403, name
    for name in ("issuer", "outsider_applicant", "assigned_expert"):
        assert api(cast[name]).patch(detail(draft.pk), patch, format="json").status_code == 404, name
    response = api(lead_applicant).patch(detail(draft.pk), patch, format="json")
    assert response.status_code == 200 and response.json()["title"] == "新的项目名称"
    assert AuditEntry.objects.filter(action="proposal.update", object_id=str(draft.pk)).exists()
    blank = api(lead_applicant).patch(detail(draft.pk), {"title": "  "}, format="json")
    assert blank.status_code == 400 and list(blank.json()) == ["title"]
    too_long = api(lead_applicant).patch(detail(draft.pk), {"title": "长" * 201}, format="json")
    assert too_long.status_code == 400 and "title" in too_long.json()
    assert api(lead_applicant).put(detail(draft.pk), patch, format="json").status_code == 405
    services.submit_proposal(actor=lead_applicant, proposal=draft)
    assert api(lead_applicant).patch(detail(draft.pk), patch, format="json").status_code == 403


# --- the lead unit's and member units' actions -----------------------------------------------------------
@pytest.mark.django_db
def test_submit_cast_and_happy_path(api, cast, draft, lead_applicant):
    for name in ("administrator", "supervisor", "member_applicant"):
        assert api(cast[name]).post(f"{detail(draft.pk)}submit/").status_code == 403, name
    for name in ("issuer", "outsider_applicant", "assigned_expert"):
        assert api(cast[name]).post(f"{detail(draft.pk)}submit/").status_code == 404, name
    response = api(lead_applicant).post(f"{detail(draft.pk)}submit/")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert AuditEntry.objects.filter(action="proposal.submit", object_id=str(draft.pk)).exists()
    again = api(lead_applicant).post(f"{detail(draft.pk)}submit/")
    assert again.status_code == 400 and again.json()["non_field_errors"]


@pytest.mark.django_db
def test_refused_submit_answers_400_with_every_reason(api, call, lead_applicant):
    proposal, _created = services.start_proposal(actor=lead_applicant, call=call)  # an empty draft
    response = api(lead_applicant).post(f"{detail(proposal.pk)}submit/")
    assert response.status_code == 400
    reasons = response.json()["non_field_errors"]
    assert len(reasons) > 1 and all(isinstance(r, str) and r for r in reasons)
    stored = Proposal.objects.get(pk=proposal.pk)
    assert stored.status == ProposalStatus.DRAFT and stored.eligible is False


@pytest.mark.django_db
def test_withdraw(api, cast, submitted, lead_applicant):
    for name in ("administrator", "member_applicant"):
        assert api(cast[name]).post(f"{detail(submitted.pk)}withdraw/").status_code == 403, name
    assert api(cast["outsider_applicant"]).post(f"{detail(submitted.pk)}withdraw/").status_code == 404
    response = api(lead_applicant).post(f"{detail(submitted.pk)}withdraw/", {"reason": "团队调整"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    entry = AuditEntry.objects.get(action="proposal.withdraw", object_id=str(submitted.pk))
    assert entry.reason == "团队调整"
    assert api(lead_applicant).post(f"{detail(submitted.pk)}withdraw/").status_code == 400


@pytest.mark.django_db
def test_member_unit_confirms(api, cast, call, lead_applicant, member_org, member_applicant):
    proposal = complete_proposal(call, lead_applicant, members=[(member_org, member_applicant)], confirm_members=False)
    url = f"{detail(proposal.pk)}confirm/"
    assert api(lead_applicant).post(url).status_code == 403  # not a member unit
    assert api(cast["administrator"]).post(url).status_code == 403
    assert api(cast["outsider_applicant"]).post(url).status_code == 404
    colleague = applicant_for(member_org)
    response = api(colleague).post(url)
    assert response.status_code == 200
    member = next(u for u in response.json()["units"] if u["role"] == UnitRole.MEMBER)
    assert member["confirmed_at"] is not None
    assert ProposalUnit.objects.get(proposal=proposal, organization=member_org).confirmed_by == colleague


# --- formal review ---------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("action", ["pass", "return", "reject"])
def test_formal_review_cast(api, cast, submitted, action):
    url = f"{detail(submitted.pk)}{action}/"
    body = {"reason": "请补充配套资金证明。"}
    for name in ("supervisor", "lead_applicant", "member_applicant"):
        assert api(cast[name]).post(url, body, format="json").status_code == 403, name
    for name in ("issuer", "outsider_applicant", "assigned_expert"):
        assert api(cast[name]).post(url, body, format="json").status_code == 404, name
    response = api(cast["administrator"]).post(url, body, format="json")
    target = {"pass": "passed", "return": "returned", "reject": "rejected"}[action]
    assert response.status_code == 200 and response.json()["status"] == target
    assert AuditEntry.objects.filter(action=f"proposal.{action}", object_id=str(submitted.pk)).exists()
    # Not awaiting formal review any more.
    assert api(cast["administrator"]).post(url, body, format="json").status_code == 400


@pytest.mark.django_db
def test_return_needs_a_reason(api, administrator, submitted):
    response = api(administrator).post(f"{detail(submitted.pk)}return/", {"reason": " "}, format="json")
    assert response.status_code == 400 and response.json()["non_field_errors"]
    assert Proposal.objects.get(pk=submitted.pk).status == ProposalStatus.SUBMITTED
    returned = api(administrator).post(f"{detail(submitted.pk)}return/", {"reason": "补充材料"}, format="json")
    assert returned.json()["review_reason"] == "补充材料"


# --- query budget ------------------------------------------------------------------------------------------
def _many_proposals(n, lead_user):
    calls = [CallFactory(status="published") for _ in range(n)]
    for call in calls:
        proposal = Proposal.objects.create(
            call=call, lead_organization=lead_user.organization, title=call.title, created_by=lead_user
        )
        ProposalUnit.objects.create(proposal=proposal, organization=lead_user.organization, role=UnitRole.LEAD)
        member = OrganizationFactory()
        ProposalUnit.objects.create(proposal=proposal, organization=member, role=UnitRole.MEMBER)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_proposal_list_query_budget(api, django_assert_max_num_queries, administrator, lead_applicant, n):
    _many_proposals(n, lead_applicant)
    for user in (administrator, lead_applicant):
        with django_assert_max_num_queries(3):
            response = api(user).get(f"{URL}?status=draft")
        assert response.status_code == 200 and response.json()["count"] == n


# Before issue #9 the edit took 37 queries: the access check loaded the whole content too.
API_EDIT_QUERIES = 24
API_SUBMIT_QUERIES = 37


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 10])
def test_edit_and_submit_query_budget(api, django_assert_max_num_queries, draft, lead_applicant, n):
    """The action loads the proposal alone for the permission check; the answer loads its content once."""
    grow_content(draft, n)
    client = api(lead_applicant)
    with django_assert_max_num_queries(API_EDIT_QUERIES):
        response = client.patch(detail(draft.pk), {"summary": "新的摘要"}, format="json")
    assert response.status_code == 200 and response.json()["summary"] == "新的摘要"
    with django_assert_max_num_queries(API_SUBMIT_QUERIES):
        response = client.post(f"{detail(draft.pk)}submit/")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert len(response.json()["units"]) == n + 2 and len(response.json()["attachments"]) == n + 3
