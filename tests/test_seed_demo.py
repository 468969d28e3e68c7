import pytest
from django.core.management import call_command

from accounts.models import Organization, OrganizationType, User
from accounts.validators import validate_credit_code
from audit.models import AuditEntry
from audit.services import verify_chain

DEMO_USERS = ["admin", "supervisor", "issuer", "applicant", "partner"] + [f"expert{i}" for i in range(1, 8)]


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent():
    call_command("seed_demo")
    counts = (Organization.objects.count(), User.objects.count(), AuditEntry.objects.count())
    call_command("seed_demo")
    assert (Organization.objects.count(), User.objects.count(), AuditEntry.objects.count()) == counts
    assert verify_chain().ok

    assert set(User.objects.values_list("username", flat=True)) >= set(DEMO_USERS)
    for user in User.objects.filter(username__in=DEMO_USERS):
        assert user.check_password("jiebang-demo")
        assert user.roles, user.username
    assert User.objects.get(username="expert7").roles == ["applicant", "expert"]

    orgs = list(Organization.objects.all())
    for org in orgs:
        validate_credit_code(org.credit_code)
        org.full_clean()
    assert {o.org_type for o in orgs} >= {t.value for t in OrganizationType}
    assert any(o.in_region for o in orgs) and any(not o.in_region for o in orgs)
    assert any(o.is_blacklisted for o in orgs)


@pytest.mark.django_db
def test_seed_demo_prints_the_logins(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    for name in DEMO_USERS:
        assert name in out
    assert "jiebang-demo" in out
