"""The formal-review queue's rows, built in Python (proposals/views/queue_rows.py) rather than by
the template engine: what the applicants typed is escaped, every state of a row shows as the
templates showed it, and the pieces copied from shared templates still match those templates."""

import datetime
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from calls.choices import CallStatus
from proposals.choices import ProposalStatus, TeamRole, UnitRole
from proposals.models import Person, Proposal, ProposalUnit, TeamMember
from proposals.views.queue_rows import QueueRows, status_badge
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import CallFactory, ProgrammeFactory
from tests.test_proposal_review import id_number, queue_url

XSS = "<script>alert('x')</script>&\""
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;"
ALL_MET = [{"rule": "complete", "ok": True, "problems": []}, {"rule": "deadline", "ok": True, "problems": []}]
BLACKLISTED = [
    {"rule": "complete", "ok": True, "problems": []},
    {"rule": "credit", "ok": False, "problems": [{"key": "unit_blacklisted", "params": {"unit": f"单位{XSS}"}}]},
]


def _proposal(
    call, title, *, status=ProposalStatus.SUBMITTED, eligibility=(), lead_name=None, members=(), pi=None, **f
):
    """A proposal written directly: members as (organisation name, confirmed) pairs, pi a name or None."""
    lead = OrganizationFactory(name=lead_name) if lead_name else OrganizationFactory()
    proposal = Proposal.objects.create(
        call=call,
        lead_organization=lead,
        created_by=UserFactory(organization=lead, is_applicant=True),
        title=title,
        status=status,
        submitted_at=timezone.now() - datetime.timedelta(days=1),
        eligibility=list(eligibility),
        **f,
    )
    lead_unit = ProposalUnit.objects.create(proposal=proposal, organization=lead, role=UnitRole.LEAD)
    for name, confirmed in members:
        ProposalUnit.objects.create(
            proposal=proposal,
            organization=OrganizationFactory(name=name),
            role=UnitRole.MEMBER,
            confirmed_at=timezone.now() if confirmed else None,
        )
    if pi:
        person = Person.objects.create(id_number=id_number(proposal.pk + 500), name=pi)
        TeamMember.objects.create(
            proposal=proposal, person=person, unit=lead_unit, role=TeamRole.PI, months_per_year=Decimal("6")
        )
    return proposal


@pytest.fixture
def queue_call(issuer):
    return CallFactory(issuer=issuer.organization, status=CallStatus.CLOSED, programme=ProgrammeFactory())


def _row(html: str, pk: int) -> str:
    return html.split(f'<tr data-testid="proposal-{pk}">')[1].split("</tr>")[0]


@pytest.mark.django_db
def test_what_applicants_typed_is_escaped(administrator, client_for, queue_call):
    waiting = _proposal(
        queue_call,
        f"方案{XSS}",
        eligibility=BLACKLISTED,
        lead_name=f"牵头{XSS}",
        members=[(f"参与{XSS}", False)],
        pi=f"负责人<b>{XSS}",
    )
    decided = _proposal(
        queue_call,
        f"已退回{XSS}",
        status=ProposalStatus.RETURNED,
        lead_name=f"另一牵头{XSS}",
        pi="负责人乙",
        review_reason=f"第一行{XSS}\n第二行<b>",
    )
    html = client_for(administrator).get(queue_url(queue_call)).content.decode()
    assert "<script>" not in html and "<b>" not in html
    row = _row(html, waiting.pk)
    assert f'aria-label="选择 方案{ESCAPED}"' in row and f">方案{ESCAPED}</a>" in row
    assert f'<div class="fw-semibold">牵头{ESCAPED}</div>' in row
    assert f'参与{ESCAPED} <span class="text-danger">(未确认)</span>' in row
    assert f"负责人&lt;b&gt;{ESCAPED}</div>" in row
    assert f"单位{ESCAPED}" in row.split('data-testid="failed-checks"')[1]  # the check's message
    row = _row(html, decided.pk)
    assert f">已退回{ESCAPED}</a>" in row
    assert f'<td class="small">第一行{ESCAPED}<br>第二行&lt;b&gt;</td>' in row


@pytest.mark.django_db
def test_every_state_of_a_row(administrator, client_for, queue_call):
    ok = _proposal(
        queue_call, "全部符合", eligibility=ALL_MET, members=[("甲大学", True), ("乙研究院", True)], pi="张三"
    )
    failed = _proposal(queue_call, "有不符合", eligibility=BLACKLISTED, pi="李四")
    unchecked = _proposal(queue_call, "尚未检查的方案")
    reviewed_at = timezone.now()
    passed = _proposal(queue_call, "已通过", status=ProposalStatus.PASSED, pi="王五", reviewed_at=reviewed_at)
    c = client_for(administrator)
    html = c.get(queue_url(queue_call)).content.decode()

    row = _row(html, ok.pk)
    assert 'data-testid="checks-ok">符合全部规则</span>' in row and "failed-checks" not in row
    assert "参与单位: 甲大学、乙研究院</div>" in row and "项目负责人: 张三</div>" in row
    # The deadline rule is not shown in formal review: one rule in the list.
    assert "<summary>1 项规则</summary>" in row and "✓ 揭榜方案内容完整" in row
    assert f'data-testid="decide-{ok.pk}"' in row and f'data-testid="select-{ok.pk}"' in row

    row = _row(html, failed.pk)
    assert 'data-testid="failed-checks"' in row and "checks-ok" not in row
    assert '<span class="text-danger">✗</span> 无单位或人员列入失信名单' in row
    assert "参与单位" not in row  # no member unit

    row = _row(html, unchecked.pk)
    assert '<span class="text-muted small">尚未检查</span>' in row and "<details" not in row
    assert '项目负责人: <span class="text-danger">尚未指定</span>' in row

    row = _row(html, passed.pk)
    assert 'data-testid="status-passed">形式审查通过</span>' in row and "decide-" not in row
    assert timezone.localtime(reviewed_at).strftime("%Y-%m-%d %H:%M") in row

    # One CSRF field per waiting row's form, and the rows' texts follow the language.
    assert html.split('data-testid="awaiting"')[1].count("csrfmiddlewaretoken") == 3
    english = c.get(f"/en{queue_url(queue_call)}").content.decode()
    assert "Not checked yet" in _row(english, unchecked.pk) and "All rules met" in _row(english, ok.pk)
    assert f'formaction="/en/proposals/{ok.pk}/review/return/"' in _row(english, ok.pk)


def _squeezed(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_pieces_copied_from_shared_templates_still_match_them(language):
    """QueueRows writes the markup of _consortium.html and _status_badge.html, which other pages
    still render: a change to either template must be made in queue_rows.py too."""
    with translation.override(language):
        rows = QueueRows(csrf_token="token", page_query="")
        cases = [
            ("牵头<单位>", [], None),
            ("牵头单位", [("甲&乙", True), ("丙", False)], "张三"),
            ("牵头单位", [("甲", False)], "李<四>"),
        ]
        for lead, members, pi in cases:
            row = {"lead": lead, "members": [{"name": n, "confirmed": c} for n, c in members], "pi": pi}
            expected = render_to_string("proposals/review/_consortium.html", {"row": row})
            assert _squeezed(rows.consortium(lead, members, pi)) == _squeezed(expected)
        for status in [*ProposalStatus, "unknown"]:
            label = ProposalStatus(status).label if status in ProposalStatus else "<?>"
            expected = render_to_string("proposals/review/_status_badge.html", {"status": status, "label": label})
            assert _squeezed(status_badge(status, label)) == _squeezed(expected)
