import pytest

ROLE_SECTIONS = {
    "administrator": ["administrator"],
    "supervisor": ["supervisor"],
    "issuer": ["issuer"],
    "lead_applicant": ["applicant"],
    "member_applicant": ["applicant"],
    "outsider_applicant": ["applicant"],
    "assigned_expert": ["expert"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("member, sections", ROLE_SECTIONS.items())
def test_each_role_sees_its_own_sections_only(cast, client_for, member, sections):
    html = client_for(cast[member]).get("/accounts/dashboard/").content.decode()
    for role in ["administrator", "supervisor", "issuer", "applicant", "expert"]:
        marker = f'data-testid="section-{role}"'
        assert (marker in html) == (role in sections), (member, role)


@pytest.mark.django_db
def test_a_person_with_two_roles_sees_both(lead_org, client_for):
    from tests.factories import UserFactory

    user = UserFactory(organization=lead_org, is_applicant=True, is_expert=True)
    html = client_for(user).get("/accounts/dashboard/").content.decode()
    assert 'data-testid="section-applicant"' in html and 'data-testid="section-expert"' in html


@pytest.mark.django_db
def test_blacklisted_organisation_is_flagged_to_its_applicants(lead_applicant, client_for):
    import datetime

    org = lead_applicant.organization
    org.credit_status = "blacklisted"
    org.blacklist_reason = "虚报经费"
    org.blacklisted_on = datetime.date(2024, 3, 15)
    org.save()
    html = client_for(lead_applicant).get("/accounts/dashboard/").content.decode()
    assert "虚报经费" in html


@pytest.mark.django_db
def test_anonymous_dashboard_redirects_to_login(client):
    response = client.get("/accounts/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("extra_orgs", [2, 20])
def test_admin_dashboard_query_budget(administrator, client_for, django_assert_max_num_queries, extra_orgs):
    from tests.factories import OrganizationFactory, UserFactory

    for _ in range(extra_orgs):
        UserFactory(organization=OrganizationFactory(), is_applicant=True)
    c = client_for(administrator)
    with django_assert_max_num_queries(14):
        assert c.get("/accounts/dashboard/").status_code == 200


@pytest.mark.django_db
def test_password_change_is_audited(lead_applicant, client_for):
    from audit.models import AuditEntry

    c = client_for(lead_applicant)
    response = c.post(
        "/accounts/password/",
        {
            "old_password": "pw-for-tests-only",
            "new_password1": "Grassland-2026-seed",
            "new_password2": "Grassland-2026-seed",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user.password_change")
    assert entry.actor == lead_applicant
    assert "password" not in (entry.after or {})
