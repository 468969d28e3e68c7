"""Helpers that build proposals the way an applicant does: through proposals.services.

`complete_proposal(call, lead_user)` returns a draft that passes every eligibility
rule under the default programme settings (in-region lead, matching ratio 2.0,
every target answered exactly at its value, the required PDFs attached), ready
for services.submit_proposal. Tests then change one thing and watch one rule flip.

Attachments are written to settings.PRIVATE_MEDIA_ROOT: point it at a temporary
directory with `use_private_root` first (see the `private_media` fixtures).
"""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from calls.choices import CallStatus
from calls.models import Call, Target
from proposals import services
from proposals.choices import AttachmentKind, FundingSource, TeamRole, UnitRole
from proposals.models import Attachment, Person, Proposal, ProposalUnit, Submission, TeamMember
from proposals.validators import id_check_character
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import DEFAULT_TARGETS, CallFactory, ProgrammeFactory

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

_people = itertools.count(1)


# --- people -----------------------------------------------------------------------------------
def person_id(n: int, region: str = "150102") -> str:
    """A valid 18-character resident ID number (GB 11643), distinct for each n ≥ 0."""
    born = date(1970, 1, 1) + timedelta(days=n // 1000)
    first17 = f"{region}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


def person_name(id_number: str) -> str:
    """One fixed name per ID number (the services refuse a second name for the same ID)."""
    return f"测试{id_number[-6:-1]}"


def new_person_id() -> str:
    return person_id(next(_people))


def applicant_for(organization, **fields):
    """An applicant user of `organization`."""
    return UserFactory(organization=organization, is_applicant=True, **fields)


# --- files ------------------------------------------------------------------------------------
def use_private_root(settings, path) -> None:
    """Point PRIVATE_MEDIA_ROOT at `path` (pytest-django's `settings` fixture restores it;
    the private storage reads the setting at use time)."""
    settings.PRIVATE_MEDIA_ROOT = path


def pdf_upload(name: str = "承诺书.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


# --- calls ------------------------------------------------------------------------------------
def open_call(programme=None, *, targets=None, **fields) -> Call:
    """A published call of `programme` (a new one if None), deadline in 30 days, with targets.

    targets: dicts as in tests.factories_calls.DEFAULT_TARGETS (name, comparator, value, unit).
    """
    call = CallFactory(
        programme=programme or ProgrammeFactory(),
        status=CallStatus.PUBLISHED,
        published_at=timezone.now(),
        **fields,
    )
    for order, spec in enumerate(DEFAULT_TARGETS if targets is None else targets):
        Target.objects.create(
            call=call,
            order=order,
            name=spec["name"],
            comparator=spec.get("comparator", ">="),
            value=Decimal(str(spec["value"])),
            unit=spec.get("unit", ""),
        )
    return call


# --- proposals --------------------------------------------------------------------------------
def _member(spec):
    if isinstance(spec, tuple):
        org, user = spec
    else:
        org, user = spec, None
    return org, user or applicant_for(org)


def complete_proposal(
    call: Call,
    lead_user,
    *,
    members=(),
    confirm_members: bool = True,
    pi_id: str | None = None,
    pi_name: str | None = None,
    team=(),
    fiscal=Decimal("100"),
    self_raised=Decimal("200"),
    other=Decimal("0"),
    commitments: dict | None = None,
    milestones: list | None = None,
    attachments: list | None = None,
    title: str | None = None,
    technical_route: str = "技术路线：材料体系优化—电芯设计—系统集成—示范验证。",
) -> Proposal:
    """A draft led by lead_user's organisation, complete and eligible under default settings.

    members: organisations or (organisation, applicant user) pairs; they are added
        by credit code and, with confirm_members, confirm their participation.
    pi_id / pi_name: the principal investigator (a fresh ID number if None).
    team: extra core members as (id_number,) / (id_number, name) / (id_number, name, organisation).
    commitments: {target name: committed value}; default: every target at exactly its value.
    attachments: attachment kinds; default: pledge, matching funds and, with members,
        the consortium agreement.
    """
    proposal, _created = services.start_proposal(actor=lead_user, call=call)
    services.update_basics(
        actor=lead_user,
        proposal=proposal,
        title=title or f"{call.title}揭榜方案（{lead_user.organization.name}）",
        summary="项目摘要。",
        technical_route=technical_route,
        risks="风险与对策。",
    )
    units = {lead_user.organization_id: proposal.units.get(role=UnitRole.LEAD)}
    for spec in members:
        org, member_user = _member(spec)
        units[org.pk] = services.add_member_unit(
            actor=lead_user, proposal=proposal, credit_code=org.credit_code, task_share="参与研究"
        )
        if confirm_members:
            services.confirm_participation(actor=member_user, proposal=proposal)

    pi_id = pi_id or new_person_id()
    services.set_team_member(
        actor=lead_user,
        proposal=proposal,
        id_number=pi_id,
        name=pi_name or person_name(pi_id),
        unit=units[lead_user.organization_id],
        role=TeamRole.PI,
        months_per_year=Decimal("8"),
        title="研究员",
    )
    for entry in team:
        id_number = entry[0]
        name = entry[1] if len(entry) > 1 and entry[1] else person_name(id_number)
        org = entry[2] if len(entry) > 2 else lead_user.organization
        services.set_team_member(
            actor=lead_user,
            proposal=proposal,
            id_number=id_number,
            name=name,
            unit=units[org.pk],
            role=TeamRole.CORE,
            months_per_year=Decimal("4"),
            title="副研究员",
        )

    targets = list(call.targets.all())
    wanted = commitments if commitments is not None else {t.name: t.value for t in targets}
    values = {t.pk: (wanted[t.name], "按国标测试") for t in targets if t.name in wanted}
    if values:
        services.set_commitments(actor=lead_user, proposal=proposal, values=values)

    rows = milestones
    if rows is None:
        rows = [
            {"month": 12, "deliverable": "样机", "verification": "第三方检测"},
            {"month": call.period_months, "deliverable": "示范线", "verification": "现场验收"},
        ]
    if rows:
        services.set_milestones(actor=lead_user, proposal=proposal, rows=rows)

    category = call.programme.budget_categories[0]["code"]
    amounts = {
        (FundingSource.FISCAL.value, category): fiscal,
        (FundingSource.SELF_RAISED.value, category): self_raised,
        (FundingSource.OTHER.value, category): other,
    }
    if any(Decimal(str(a or 0)) for a in amounts.values()):
        services.set_budget(actor=lead_user, proposal=proposal, amounts=amounts)

    if attachments is None:
        attachments = [AttachmentKind.INTEGRITY_PLEDGE, AttachmentKind.MATCHING_FUNDS]
        if members:
            attachments.append(AttachmentKind.CONSORTIUM_AGREEMENT)
    for kind in attachments:
        services.add_attachment(actor=lead_user, proposal=proposal, kind=kind, upload=pdf_upload(f"{kind}.pdf"))
    return Proposal.objects.get(pk=proposal.pk)


def content_counts(proposal) -> dict:
    """How many rows of each kind a proposal has (what a refused submit must leave alone)."""
    return {
        "units": proposal.units.count(),
        "team": proposal.team.count(),
        "commitments": proposal.commitments.count(),
        "milestones": proposal.milestones.count(),
        "budget_lines": proposal.budget_lines.count(),
        "attachments": proposal.attachments.count(),
        "submissions": Submission.objects.filter(proposal=proposal).count(),
    }


def fresh(proposal) -> Proposal:
    """The proposal as stored now, with its call and programme."""
    return Proposal.objects.select_related("call__programme").get(pk=proposal.pk)


def grow_content(proposal, n: int) -> None:
    """n more confirmed member units, core members (every other one on the lead unit) and
    attachments, written directly: for query budgets that must not grow with the content."""
    lead = proposal.units.get(role=UnitRole.LEAD)
    for i in range(n):
        unit = ProposalUnit.objects.create(
            proposal=proposal,
            organization=OrganizationFactory(),
            role=UnitRole.MEMBER,
            confirmed_at=timezone.now(),
            confirmed_by=proposal.created_by,
        )
        person = Person.objects.create(id_number=person_id(700_000 + i), name=f"核心成员{i}")
        TeamMember.objects.create(
            proposal=proposal, person=person, unit=unit if i % 2 else lead, role=TeamRole.CORE, months_per_year=3
        )
        Attachment.objects.create(
            proposal=proposal,
            kind="other",
            file=f"proposals/{proposal.pk}/extra{i}.pdf",
            original_name=f"附件{i}.pdf",
            size=100 + i,
            sha256="0" * 64,
            uploaded_by=proposal.created_by,
        )
