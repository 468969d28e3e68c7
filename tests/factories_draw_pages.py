"""Factories and helpers for the draw pages and the expert's pages (tests/test_draws.py,
tests/test_expert_pages.py).

Experts: a user with is_expert, an Expert row whose fields include the call's
field, and a current Employment. Proposals ready for review are built fast
(rows plus a frozen Submission made with proposals.snapshot), in status passed.
"""

import itertools
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import Organization
from calls.choices import CallStatus, TechField
from calls.models import Call, Target
from experts.choices import ExpertType
from experts.models import Employment, Expert
from proposals.choices import AttachmentKind, FundingSource, ProposalStatus, TeamRole, UnitRole
from proposals.models import (
    Attachment,
    BudgetLine,
    Milestone,
    Person,
    Proposal,
    ProposalUnit,
    Submission,
    TargetCommitment,
    TeamMember,
)
from proposals.snapshot import build_snapshot, freeze
from reviews import draw as draw_service
from reviews.models import Draw
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import DEFAULT_TARGETS, CallFactory, in_days
from tests.factories_proposals import applicant_for, new_person_id, person_id, person_name

_expert_ids = itertools.count(700_000)


class ExpertFactory(DjangoModelFactory):
    """An active technical expert of the energy-storage field, employed by a fresh organisation.

    employer=<Organization>: employed there instead; employer=False: no employment.
    """

    class Meta:
        model = Expert
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, is_expert=True)
    name = factory.Sequence(lambda n: f"专家{n:03d}")
    id_number = factory.LazyFunction(lambda: person_id(next(_expert_ids)))
    title = "研究员"
    expert_type = ExpertType.TECHNICAL
    fields = factory.LazyFunction(lambda: [TechField.ENERGY_STORAGE.value])

    @factory.post_generation
    def employer(obj, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        organization = extracted if isinstance(extracted, Organization) else OrganizationFactory()
        Employment.objects.create(expert=obj, organization=organization)


def expert_for(user, **fields) -> Expert:
    """An Expert profile for an existing user (e.g. the cast's experts), employed by its organisation."""
    fields.setdefault("employer", user.organization or OrganizationFactory())
    return ExpertFactory(user=user, **fields)


def pool(n: int, **fields) -> list[Expert]:
    return [ExpertFactory(**fields) for _ in range(n)]


def closed_call(**fields) -> Call:
    """A call whose deadline has passed (status closed), with the default targets: ready for a draw."""
    fields.setdefault("status", CallStatus.CLOSED)
    fields.setdefault("deadline", in_days(-1))
    call = CallFactory(published_at=in_days(-40), **fields)
    for order, spec in enumerate(DEFAULT_TARGETS):
        Target.objects.create(
            call=call,
            order=order,
            name=spec["name"],
            comparator=spec["comparator"],
            value=Decimal(spec["value"]),
            unit=spec["unit"],
        )
    return call


def passed_proposal(call: Call, lead_org, *, members=(), team=(), title: str | None = None) -> Proposal:
    """A proposal that passed formal review, with content and a frozen Submission (no services, fast).

    team: extra core members as (id_number, name) pairs.
    """
    creator = applicant_for(lead_org)
    now = timezone.now()
    proposal = Proposal.objects.create(
        call=call,
        lead_organization=lead_org,
        title=title or f"{call.title}揭榜方案（{lead_org.name}）",
        summary="项目摘要。",
        technical_route="技术路线：材料体系优化—电芯设计—系统集成—示范验证。",
        risks="风险与对策。",
        status=ProposalStatus.PASSED,
        eligible=True,
        created_by=creator,
        submitted_at=now,
        reviewed_at=now,
    )
    lead = ProposalUnit.objects.create(proposal=proposal, organization=lead_org, role=UnitRole.LEAD, task_share="牵头")
    for org in members:
        ProposalUnit.objects.create(proposal=proposal, organization=org, role=UnitRole.MEMBER, task_share="参与")
    pi_id = new_person_id()
    people = [(pi_id, person_name(pi_id), TeamRole.PI), *((i, n, TeamRole.CORE) for i, n in team)]
    for id_number, name, role in people:
        person, _created = Person.objects.get_or_create(id_number=id_number, defaults={"name": name})
        TeamMember.objects.create(
            proposal=proposal, person=person, unit=lead, role=role, title="研究员", months_per_year=Decimal("6")
        )
    for target in call.targets.all():
        TargetCommitment.objects.create(proposal=proposal, target=target, value=target.value, note="按国标测试")
    Milestone.objects.create(proposal=proposal, month=12, deliverable="样机", verification="第三方检测")
    Milestone.objects.create(proposal=proposal, month=36, deliverable="示范线", verification="现场验收")
    BudgetLine.objects.create(proposal=proposal, source=FundingSource.FISCAL, category="equipment", amount=100)
    BudgetLine.objects.create(proposal=proposal, source=FundingSource.SELF_RAISED, category="equipment", amount=200)
    Attachment.objects.create(
        proposal=proposal,
        kind=AttachmentKind.INTEGRITY_PLEDGE,
        file=f"proposals/{proposal.pk}/pledge.pdf",
        original_name="科研诚信承诺书.pdf",
        size=2048,
        sha256="0" * 64,
        uploaded_by=creator,
    )
    frozen, digest = freeze(build_snapshot(Proposal.objects.with_content().get(pk=proposal.pk)))
    Submission.objects.create(
        proposal=proposal, version=1, submitted_at=now, submitted_by=creator, snapshot=frozen, sha256=digest
    )
    return proposal


def drawn(call: Call, administrator, *, panel_size: int, backups: int = 0, fields=None) -> Draw:
    """Commit and perform a draw through reviews.draw."""
    draw = draw_service.commit(actor=administrator, call=call, panel_size=panel_size, backups=backups, fields=fields)
    return draw_service.perform(actor=administrator, draw=draw)


def accept_all(draw: Draw) -> None:
    """Every pending invitation of the draw is accepted by its expert (reviews.draw.respond)."""
    for invitation in draw.invitations.filter(status="pending").select_related("expert__user"):
        draw_service.respond(actor=invitation.expert.user, invitation=invitation, accept=True)
