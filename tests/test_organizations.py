import pytest
from django.core.exceptions import ValidationError

from accounts.models import CreditStatus, Organization, OrganizationType, Region
from tests.factories import OrganizationFactory, make_code


def build(**kwargs):
    fields = {
        "name": "单位",
        "credit_code": make_code(7),
        "org_type": OrganizationType.ENTERPRISE,
        "region": Region.HOHHOT,
    }
    fields.update(kwargs)
    return Organization(**fields)


@pytest.mark.django_db
def test_a_valid_in_region_unit_passes_and_is_in_region():
    org = build()
    org.full_clean()
    assert org.in_region


@pytest.mark.django_db
def test_out_of_region_unit_needs_a_province():
    org = build(credit_code=make_code(8, region_code="110108"), region=Region.OUT_OF_REGION)
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert "province" in exc.value.message_dict
    org.province = "北京市"
    org.full_clean()
    assert not org.in_region


@pytest.mark.django_db
def test_region_that_contradicts_the_code_needs_an_override():
    org = build(credit_code=make_code(9, region_code="110108"), region=Region.BAOTOU)
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert "region" in exc.value.message_dict
    org.in_region_override = True
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert "in_region_override_reason" in exc.value.message_dict
    org.in_region_override_reason = "总部迁入包头，营业执照未换发"
    org.full_clean()
    assert org.in_region and not org.in_region_by_code


@pytest.mark.django_db
def test_failing_check_character_is_accepted_only_with_a_recorded_reason():
    good = make_code(10)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    org = build(credit_code=bad)
    with pytest.raises(ValidationError):
        org.full_clean()
    org.credit_code_override_reason = "早期赋码，经登记机关核实"
    org.full_clean()
    # An override never admits illegal characters or a wrong length.
    org.credit_code = bad[:16] + "I" + bad[17]
    with pytest.raises(ValidationError):
        org.full_clean()


@pytest.mark.django_db
def test_blacklisting_needs_reason_and_date():
    org = build(credit_status=CreditStatus.BLACKLISTED)
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert {"blacklist_reason", "blacklisted_on"} <= set(exc.value.message_dict)


@pytest.mark.django_db
def test_credit_code_is_unique():
    existing = OrganizationFactory()
    with pytest.raises(ValidationError) as exc:
        build(credit_code=existing.credit_code).full_clean()
    assert "credit_code" in exc.value.message_dict


@pytest.mark.django_db
def test_a_person_may_hold_several_roles(lead_org):
    from tests.factories import UserFactory

    user = UserFactory(organization=lead_org, is_applicant=True, is_expert=True)
    assert [r.value for r in user.roles] == ["applicant", "expert"]
    assert user.has_role("expert") and not user.has_role("administrator")


@pytest.mark.django_db
def test_applicants_must_belong_to_an_organisation():
    from tests.factories import UserFactory

    user = UserFactory.build(is_applicant=True)
    with pytest.raises(ValidationError) as exc:
        user.full_clean()
    assert "organization" in exc.value.message_dict
