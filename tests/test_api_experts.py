"""The expert pool over the API: administrators read and write it, supervisors read it with ID
numbers masked, an expert reads its own record; writes are audited and recompute avoidance."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.validators import mask_id_number
from audit.models import AuditEntry
from experts.choices import ConflictReason
from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert
from proposals.choices import TeamRole
from tests.factories import OrganizationFactory, make_code
from tests.factories_draw_pages import ExpertFactory, closed_call, passed_proposal
from tests.factories_proposals import new_person_id

EXPERTS = "/api/v1/experts/"
OUTSIDERS = ("issuer", "lead_applicant", "member_applicant", "outsider_applicant", "assigned_expert")


@pytest.fixture
def expert(lead_org):
    """An expert with both avoid-lists filled in."""
    expert = ExpertFactory(name="张专家", title="教授")
    AvoidUnit.objects.create(expert=expert, credit_code=lead_org.credit_code, name=lead_org.name)
    AvoidPerson.objects.create(expert=expert, name="李某", id_number=new_person_id())
    AvoidPerson.objects.create(expert=expert, name="赵某")
    return expert


def entries(expert, action=None):
    found = AuditEntry.objects.filter(object_type="experts.expert", object_id=str(expert.pk))
    return found.filter(action=action) if action else found


# --- reading --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_administrator_reads_full_id_numbers(api, administrator, expert):
    listed = api(administrator).get(EXPERTS).json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert row["id_number"] == expert.id_number and row["username"] == expert.user.username
    assert row["employer"]["organization"] == expert.current_employment.organization_id
    assert {p["id_number"] for p in row["avoid_people"]} == {expert.avoid_people.get(name="李某").id_number, ""}
    detail = api(administrator).get(f"{EXPERTS}{expert.pk}/").json()
    assert detail == row
    assert api(administrator).get(f"{EXPERTS}999999/").status_code == 404


@pytest.mark.django_db
def test_supervisor_reads_masked_id_numbers(api, supervisor, expert):
    person = expert.avoid_people.get(name="李某")
    for body in (
        api(supervisor).get(EXPERTS).json()["results"][0],
        api(supervisor).get(f"{EXPERTS}{expert.pk}/").json(),
    ):
        assert body["id_number"] == mask_id_number(expert.id_number) != expert.id_number
        assert "*" in body["id_number"] and body["id_number"][-2:] == expert.id_number[-2:]
        people = {p["name"]: p["id_number"] for p in body["avoid_people"]}
        assert people == {"李某": mask_id_number(person.id_number), "赵某": ""}
        assert body["avoid_units"] == [
            {"credit_code": expert.avoid_units.get().credit_code, "name": "牵头单位有限公司"}
        ]
    # Read only.
    assert api(supervisor).post(EXPERTS, {}, format="json").status_code == 403
    assert api(supervisor).patch(f"{EXPERTS}{expert.pk}/", {"title": "研究员"}, format="json").status_code == 403
    assert api(supervisor).get(f"{EXPERTS}me/").status_code == 403  # no expert profile


@pytest.mark.django_db
def test_nobody_else_sees_the_pool(api, cast, expert):
    url = f"{EXPERTS}{expert.pk}/"
    for user in (*(cast[name] for name in OUTSIDERS), expert.user):
        assert api(user).get(EXPERTS).status_code == 403
        assert api(user).get(url).status_code == 403
        assert api(user).get(f"{EXPERTS}999999/").status_code == 403
        assert api(user).post(EXPERTS, {}, format="json").status_code == 403
        assert api(user).patch(url, {"title": "x"}, format="json").status_code == 403
        assert api(user).put(url, {}, format="json").status_code == 403
    assert api().get(EXPERTS).status_code in (401, 403)
    assert api().get(f"{EXPERTS}me/").status_code in (401, 403)
    expert.refresh_from_db()
    assert expert.title == "教授" and not AuditEntry.objects.filter(object_type="experts.expert").exists()


@pytest.mark.django_db
def test_expert_reads_its_own_record(api, cast, administrator, expert):
    own = api(expert.user).get(f"{EXPERTS}me/")
    assert own.status_code == 200
    body = own.json()
    assert body["id"] == expert.pk and body["name"] == "张专家"
    assert body["id_number"] == mask_id_number(expert.id_number)
    assert [e["organization"] for e in body["employments"]] == [expert.current_employment.organization_id]
    assert {p["name"] for p in body["avoid_people"]} == {"李某", "赵某"}
    assert "*" in next(p["id_number"] for p in body["avoid_people"] if p["name"] == "李某")
    for user in (administrator, cast["assigned_expert"], cast["lead_applicant"]):
        assert api(user).get(f"{EXPERTS}me/").status_code == 403


@pytest.mark.django_db
def test_pool_filters(api, administrator, lead_org):
    storage = ExpertFactory(name="储能专家", employer=lead_org)
    dairy = ExpertFactory(name="乳业专家", fields=["dairy"], expert_type="finance")
    retired = ExpertFactory(name="退休专家", active=False)
    admin = api(administrator)

    def names(query):
        response = admin.get(f"{EXPERTS}?{query}")
        assert response.status_code == 200, response.json()
        return {row["name"] for row in response.json()["results"]}

    assert names("") == {"储能专家", "乳业专家", "退休专家"}
    assert names("field=dairy") == {"乳业专家"}
    assert names("expert_type=finance") == {"乳业专家"}
    assert names("active=false") == {"退休专家"}
    assert names("active=true") == {"储能专家", "乳业专家"}
    assert names(f"employer={lead_org.credit_code}") == {"储能专家"}
    assert names("employer=牵头") == {"储能专家"}
    assert names(f"q={dairy.user.username}") == {"乳业专家"}
    assert names("q=退休") == {"退休专家"}
    assert {storage.pk, retired.pk} <= {row["id"] for row in admin.get(EXPERTS).json()["results"]}
    assert admin.get(f"{EXPERTS}?field=bogus").status_code == 400


# --- creating -------------------------------------------------------------------------------------------
def new_expert_body(employer, **extra):
    return {
        "username": "new-expert",
        "name": "王新",
        "id_number": new_person_id(),
        "title": "教授级高工",
        "expert_type": "technical",
        "fields": ["energy_storage", "new_energy", "energy_storage"],
        "phone": "13800000000",
        "email": "wangxin@example.com",
        "yearly_cap": 8,
        "employer": employer.credit_code,
        **extra,
    }


@pytest.mark.django_db
def test_administrator_adds_an_expert(api, administrator, member_org, outsider_org):
    unregistered = make_code(987_654)
    person = new_person_id()
    body = new_expert_body(
        member_org,
        avoid_units=[outsider_org.credit_code, unregistered],
        avoid_people=[{"name": "李某"}, {"name": "赵某", "id_number": person.lower()}],
    )
    created = api(administrator).post(EXPERTS, body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    expert = Expert.objects.get(pk=data["id"])
    assert data["id_number"] == body["id_number"]  # administrators see it in full
    assert expert.fields == ["energy_storage", "new_energy"] and expert.yearly_cap == 8 and expert.active
    assert data["employer"]["credit_code"] == member_org.credit_code and data["employer"]["ended_on"] is None
    assert {u["credit_code"] for u in data["avoid_units"]} == {outsider_org.credit_code, unregistered}
    assert {(p.name, p.id_number) for p in expert.avoid_people.all()} == {("李某", ""), ("赵某", person.upper())}
    user = User.objects.get(username="new-expert")
    assert user.is_expert and not user.has_usable_password() and expert.user == user
    assert {e.action for e in entries(expert)} == {
        "expert.create",
        "expert.set_employer",
        "expert.avoid_units",
        "expert.avoid_people",
    }
    assert entries(expert, "expert.create").get().actor == administrator
    again = api(administrator).post(EXPERTS, {**body, "id_number": new_person_id()}, format="json")
    assert again.status_code == 400 and list(again.json()) == ["username"]


@pytest.mark.django_db
def test_expert_validation(api, administrator, member_org, expert):
    admin = api(administrator)
    missing = admin.post(EXPERTS, {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()) == {"username", "name", "id_number", "expert_type", "employer"}
    valid = new_person_id()
    wrong_check = valid[:17] + ("1" if valid[17] != "1" else "2")
    cases = [
        ({"id_number": wrong_check}, "id_number"),
        ({"id_number": expert.id_number}, "id_number"),  # taken (experts.services)
        ({"employer": make_code(876_543)}, "employer"),  # valid, not registered
        ({"employer": "ABC"}, "employer"),
        ({"avoid_units": ["123456"]}, "avoid_units"),
        ({"avoid_people": [{"name": "李某", "id_number": "1501"}]}, "avoid_people"),
        ({"avoid_people": [{"name": ""}]}, "avoid_people"),
        ({"fields": ["nope"]}, "fields"),
        ({"yearly_cap": 0}, "yearly_cap"),
        ({"expert_type": "boss"}, "expert_type"),
        ({"username": "a b"}, "username"),
        ({"email": "not-an-address"}, "email"),
        ({"employer_since": (timezone.localdate() + timedelta(days=1)).isoformat()}, "employer_since"),
    ]
    for change, field in cases:
        response = admin.post(EXPERTS, {**new_expert_body(member_org), **change}, format="json")
        assert response.status_code == 400 and list(response.json()) == [field], (change, response.json())
    assert Expert.objects.count() == 1 and not User.objects.filter(username="new-expert").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("staff", ["administrator", "supervisor"])
def test_staff_accounts_never_become_experts(api, cast, member_org, staff):
    """Separation of duties: the login of an administrator or supervisor is refused as an expert's."""
    account = cast[staff]
    response = api(cast["administrator"]).post(EXPERTS, new_expert_body(member_org, username=account.username))
    assert response.status_code == 400 and list(response.json()) == ["username"]
    account.refresh_from_db()
    assert not account.is_expert and not Expert.objects.filter(user=account).exists()


@pytest.mark.django_db
def test_an_existing_applicant_login_can_become_an_expert(api, administrator, lead_applicant, member_org):
    """A researcher who applies for their unit may also review other calls (conflicts keep them
    off their own unit's proposals)."""
    response = api(administrator).post(EXPERTS, new_expert_body(member_org, username=lead_applicant.username))
    assert response.status_code == 201, response.json()
    lead_applicant.refresh_from_db()
    assert lead_applicant.is_expert and lead_applicant.is_applicant


# --- updating -------------------------------------------------------------------------------------------
@pytest.fixture
def in_flight(lead_org, member_org):
    """A proposal that passed formal review (its conflicts are acted on), lead + member unit."""
    return passed_proposal(closed_call(), lead_org, members=[member_org])


@pytest.mark.django_db
def test_employer_change_keeps_history_and_recomputes_conflicts(
    api, administrator, lead_org, in_flight, django_capture_on_commit_callbacks
):
    expert = ExpertFactory()
    former = expert.current_employment
    Employment.objects.filter(pk=former.pk).update(started_on=timezone.localdate() - timedelta(days=400))
    url = f"{EXPERTS}{expert.pk}/"
    assert not Conflict.objects.filter(expert=expert).exists()
    with django_capture_on_commit_callbacks(execute=True):
        changed = api(administrator).patch(url, {"employer": lead_org.credit_code}, format="json")
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert body["employer"]["organization"] == lead_org.pk
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert [(e["organization"], e["ended_on"]) for e in body["employments"]] == [
        (lead_org.pk, None),
        (former.organization_id, yesterday),
    ]
    assert entries(expert, "expert.set_employer").get().actor == administrator
    conflict = Conflict.objects.get(expert=expert, proposal=in_flight)
    assert conflict.reason == ConflictReason.EMPLOYER_UNIT
    # The same values again: nothing changes, nothing is recorded.
    before = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        same = api(administrator).patch(url, {"employer": lead_org.credit_code, "title": expert.title}, format="json")
    assert same.status_code == 200 and AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_avoid_list_changes_recompute_conflicts(
    api, administrator, member_org, in_flight, django_capture_on_commit_callbacks
):
    expert = ExpertFactory()
    url = f"{EXPERTS}{expert.pk}/"
    pi = in_flight.team.get(role=TeamRole.PI).person
    with django_capture_on_commit_callbacks(execute=True):
        response = api(administrator).patch(
            url,
            {"avoid_units": [member_org.credit_code], "avoid_people": [{"name": pi.name, "id_number": pi.id_number}]},
            format="json",
        )
    assert response.status_code == 200, response.json()
    reasons = set(Conflict.objects.filter(expert=expert, proposal=in_flight).values_list("reason", flat=True))
    assert reasons == {ConflictReason.AVOID_UNIT, ConflictReason.AVOID_PERSON}
    assert {e.action for e in entries(expert)} == {"expert.avoid_units", "expert.avoid_people"}
    with django_capture_on_commit_callbacks(execute=True):
        cleared = api(administrator).patch(url, {"avoid_units": [], "avoid_people": []}, format="json")
    assert cleared.status_code == 200 and cleared.json()["avoid_units"] == cleared.json()["avoid_people"] == []
    assert not Conflict.objects.filter(expert=expert).exists()


@pytest.mark.django_db
def test_update_fields_and_put(api, administrator, expert):
    url = f"{EXPERTS}{expert.pk}/"
    admin = api(administrator)
    patched = admin.patch(url, {"active": False, "yearly_cap": 3, "fields": ["dairy"]}, format="json")
    assert patched.status_code == 200, patched.json()
    expert.refresh_from_db()
    assert (expert.active, expert.yearly_cap, expert.fields) == (False, 3, ["dairy"])
    update = entries(expert, "expert.update").get()
    assert update.before["active"] is True and update.after["active"] is False
    # PATCH leaves the lists alone unless given.
    assert expert.avoid_units.count() == 1 and expert.avoid_people.count() == 2
    incomplete = admin.put(url, {"title": "研究员"}, format="json")
    assert incomplete.status_code == 400 and {"name", "id_number", "expert_type", "employer"} <= set(incomplete.json())
    employer = expert.current_employment.organization
    full = {
        "name": "张专家",
        "id_number": expert.id_number,
        "expert_type": "management",
        "employer": employer.credit_code,
    }
    put = admin.put(url, full, format="json")
    assert put.status_code == 200, put.json()
    expert.refresh_from_db()
    # As DRF's PUT: the required fields replaced, the optional ones left out keep their values.
    assert expert.expert_type == "management" and expert.title == "教授" and not expert.active
    assert expert.avoid_units.count() == 1 and expert.avoid_people.count() == 2
    bad = admin.patch(url, {"id_number": "x"}, format="json")
    assert bad.status_code == 400 and list(bad.json()) == ["id_number"]
    jobless = ExpertFactory(employer=False)
    refused = admin.patch(f"{EXPERTS}{jobless.pk}/", {"title": "研究员"}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["employer"]
    assert admin.patch(f"{EXPERTS}999999/", {"title": "x"}, format="json").status_code == 404


# --- query budgets --------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_pool_list_query_budget(api, django_assert_max_num_queries, administrator, supervisor, n):
    unit = OrganizationFactory()
    for index in range(n):
        expert = ExpertFactory()
        Employment.objects.create(  # a former employer: the history has two rows
            expert=expert, organization=unit, started_on=date(2015, 1, 1), ended_on=date(2020, 6, 30)
        )
        AvoidUnit.objects.create(expert=expert, credit_code=unit.credit_code, name=unit.name)
        AvoidPerson.objects.create(expert=expert, name=f"回避{index}", id_number=new_person_id())
    for user in (administrator, supervisor):
        with django_assert_max_num_queries(5):
            response = api(user).get(f"{EXPERTS}?page_size=100")
        assert response.status_code == 200
        assert response.json()["count"] == n
        assert all(row["employer"] and row["avoid_people"] for row in response.json()["results"])
