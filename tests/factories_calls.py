"""Factories for programmes and calls, and a helper that builds a call the way an issuer does."""

import itertools
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from calls.choices import Comparator, SupportMode, TechField
from calls.models import Call, Programme, RubricCriterion, Target
from tests.factories import OrganizationFactory, UserFactory


def in_days(days: float):
    """An aware time `days` from now, whole seconds (audit JSON keeps only milliseconds)."""
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0)


class ProgrammeFactory(DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"科技创新重大示范工程{n}")
    year = 2025


class CallFactory(DjangoModelFactory):
    """A valid draft call. It has no targets or criteria: add them with the factories below."""

    class Meta:
        model = Call

    code = factory.Sequence(lambda n: f"JB-2025-F{n:04d}")
    title = factory.Sequence(lambda n: f"高效储能电池关键技术{n}")
    programme = factory.SubFactory(ProgrammeFactory)
    issuer = factory.SubFactory(OrganizationFactory)
    created_by = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..issuer"), is_issuer=True)
    field = TechField.ENERGY_STORAGE
    keywords = "储能,电池"
    background = "背景：新型储能是能源转型的关键。"
    research_tasks = "研究任务：研制长寿命储能电池。"
    period_months = 36
    fiscal_cap = Decimal("500.00")
    issuer_contribution = Decimal("1000.00")
    support_mode = SupportMode.SINGLE
    max_winners = 1
    deadline = factory.LazyFunction(lambda: in_days(30))
    status = "draft"


class TargetFactory(DjangoModelFactory):
    class Meta:
        model = Target

    call = factory.SubFactory(CallFactory)
    order = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"循环寿命{n}")
    comparator = Comparator.AT_LEAST
    value = Decimal("8000")
    unit = "次"


class RubricCriterionFactory(DjangoModelFactory):
    class Meta:
        model = RubricCriterion

    call = factory.SubFactory(CallFactory)
    order = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"评分项{n}")
    max_points = Decimal("20")


_ready_codes = itertools.count(1)

DEFAULT_TARGETS = [
    {"name": "能量密度", "comparator": ">=", "value": "300", "unit": "Wh/kg"},
    {"name": "循环寿命", "comparator": ">=", "value": "8000", "unit": "次"},
]


def call_fields(**overrides) -> dict:
    """The content fields of a valid call (what the issuer types in), as create_call takes them."""
    fields = {
        "code": f"JB-2025-R{next(_ready_codes):04d}",
        "title": "高安全长寿命储能电池关键技术",
        "field": TechField.ENERGY_STORAGE,
        "keywords": "储能,电池",
        "background": "背景：新型储能是能源转型的关键。",
        "research_tasks": "研究任务：研制长寿命储能电池。",
        "period_months": 36,
        "fiscal_cap": Decimal("500.00"),
        "issuer_contribution": Decimal("1000.00"),
        "support_mode": SupportMode.SINGLE,
        "max_winners": 1,
        "deadline": in_days(30),
    }
    fields.update(overrides)
    return fields


def make_ready_call(issuer_org, user, *, programme=None, targets=None, criteria=None, **fields) -> Call:
    """A draft created through calls.services.create_call: targets and the programme's default rubric.

    Ready to be submitted by `user` (an issuer of `issuer_org`, or an administrator).
    Extra keyword arguments override the call's content fields.
    """
    from calls.services import create_call

    return create_call(
        actor=user,
        programme=programme or ProgrammeFactory(),
        issuer=issuer_org,
        fields=call_fields(**fields),
        targets=DEFAULT_TARGETS if targets is None else targets,
        criteria=criteria,
    )
