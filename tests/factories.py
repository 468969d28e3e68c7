import factory
from factory.django import DjangoModelFactory

from accounts.models import Organization, OrganizationType, Region, User
from accounts.validators import check_character

# Organisation codes: 9 characters from the credit-code alphabet, unique per sequence.
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _org_code(n: int) -> str:
    digits = []
    for _ in range(9):
        n, rem = divmod(n, 31)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


def make_code(n: int, region_code: str = "150100", prefix: str = "91") -> str:
    first17 = prefix + region_code + _org_code(n)
    return first17 + check_character(first17)


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试单位{n}有限公司")
    credit_code = factory.Sequence(lambda n: make_code(n + 1000))
    org_type = OrganizationType.ENTERPRISE
    region = Region.HOHHOT
    province = ""


class OutOfRegionOrganizationFactory(OrganizationFactory):
    credit_code = factory.Sequence(lambda n: make_code(n + 500000, region_code="110108"))
    region = Region.OUT_OF_REGION
    province = "北京市"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-for-tests-only")
