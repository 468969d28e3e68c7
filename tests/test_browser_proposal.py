"""The applicant journey in a real browser: 揭榜 on the call page → eight editor steps →
a member unit confirms → the lead unit submits."""

import pytest

from calls import services as call_services
from proposals.choices import ProposalStatus, TeamRole, UnitRole
from proposals.models import Proposal, Submission
from tests.factories_calls import ProgrammeFactory, make_ready_call
from tests.factories_proposals import PDF_BYTES, person_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base, username, password="pw-for-tests-only"):  # noqa: S107
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].w-100")
    page.wait_for_url(f"{base}/accounts/dashboard/")


def logout(page, base):
    page.click("text=退出登录")
    page.wait_for_url(f"{base}/")


def save(page, base, pk, form, next_step):
    """Submit a step's form and wait for the editor to show the next step (or the same one)."""
    page.click(f'[data-testid="{form}"] button[type=submit]')
    page.wait_for_url(f"{base}/proposals/{pk}/edit/{next_step}/")


def test_lead_applies_member_confirms_lead_submits(
    live_server, page, issuer_org, issuer, administrator, lead_applicant, member_applicant, screenshot_dir, tmp_path
):
    # An open, published call with two targets and the programme's default rubric.
    programme = ProgrammeFactory()
    call = make_ready_call(issuer_org, issuer, programme=programme)
    call_services.submit_call(actor=issuer, call=call)
    call = call_services.approve_call(actor=administrator, call=call)
    assert call.status == "published" and call.targets.count() == 2 and call.criteria.count() == 5
    lead_org, member_org = lead_applicant.organization, member_applicant.organization
    assert lead_org.in_region and lead_org.org_type in programme.allowed_lead_types
    assert member_org.in_region and member_org.org_type == "university"

    base = live_server.url
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    # 1. The lead applicant presses 揭榜 on the call page and lands on the basics step.
    login(page, base, lead_applicant.username)
    page.goto(f"{base}/calls/{call.code}/")
    page.click('[data-testid="apply"]')
    page.wait_for_url(f"{base}/proposals/*/edit/basics/")
    proposal = Proposal.objects.get(call=call, lead_organization=lead_org)
    pk = proposal.pk
    page.fill("#id_title", "高比能长寿命储能电池揭榜方案")
    page.fill("#id_summary", "研制高比能、长寿命储能电池并开展示范应用。")
    page.fill("#id_technical_route", "材料体系优化—电芯设计—系统集成—示范验证。")
    page.fill("#id_risks", "材料批次一致性风险：建立来料检测与工艺窗口控制。")
    save(page, base, pk, "form-basics", "consortium")

    # 2. Consortium: the member university, by its credit code.
    page.fill("#id_add-credit_code", member_org.credit_code)
    page.fill("#id_add-task_share", "电解质材料研究与测试")
    page.fill("#id_add-budget_share", "80")
    save(page, base, pk, "form-add-unit", "consortium")
    member_unit = proposal.units.get(role=UnitRole.MEMBER)
    assert member_unit.organization == member_org and member_unit.confirmed_at is None
    row = page.locator(f'[data-testid="unit-{member_unit.pk}"]')
    assert row.locator('[data-testid="unconfirmed"]').is_visible()
    lead_unit = proposal.units.get(role=UnitRole.LEAD)

    # 3. Team: the PI on the lead unit, then a member on the member unit.
    page.goto(f"{base}/proposals/{pk}/edit/team/")
    page.fill("#id_name", "王建国")
    page.fill("#id_id_number", person_id(101))
    page.select_option("#id_unit", value=str(lead_unit.pk))
    page.select_option("#id_role", value=TeamRole.PI)
    page.fill("#id_title", "研究员")
    page.fill("#id_duty", "项目总体负责")
    page.fill("#id_months_per_year", "8")
    save(page, base, pk, "form-team", "team")
    page.fill("#id_name", "李晓梅")
    page.fill("#id_id_number", person_id(102))
    page.select_option("#id_unit", value=str(member_unit.pk))
    page.select_option("#id_role", value=TeamRole.MEMBER)
    page.fill("#id_title", "教授")
    page.fill("#id_duty", "电解质材料")
    page.fill("#id_months_per_year", "4")
    save(page, base, pk, "form-team", "team")
    assert page.locator('[data-testid="team"] tbody tr').count() == 2
    assert {(m.role, m.unit_id) for m in proposal.team.all()} == {
        (TeamRole.PI, lead_unit.pk),
        (TeamRole.MEMBER, member_unit.pk),
    }

    # 4. Targets: both met (300 Wh/kg and 8000 cycles required).
    page.goto(f"{base}/proposals/{pk}/edit/targets/")
    density, cycles = call.targets.order_by("order")
    page.fill(f"#id_value_{density.pk}", "320")
    page.fill(f"#id_note_{density.pk}", "高镍正极与硅碳负极")
    page.fill(f"#id_value_{cycles.pk}", "8000")
    page.fill(f"#id_note_{cycles.pk}", "按国标测试")
    save(page, base, pk, "form-targets", "milestones")
    assert all(c.meets_target() for c in proposal.commitments.all()) and proposal.commitments.count() == 2

    # 5. Milestones: the formset shows one empty row; add a second.
    page.fill("#id_milestones-0-month", "12")
    page.fill("#id_milestones-0-deliverable", "工程样机")
    page.fill("#id_milestones-0-verification", "第三方检测报告")
    page.click('[data-formset-add="milestones"]')
    page.fill("#id_milestones-1-month", "36")
    page.fill("#id_milestones-1-deliverable", "示范线")
    page.fill("#id_milestones-1-verification", "现场验收")
    save(page, base, pk, "form-milestones", "budget")
    assert list(proposal.milestones.order_by("month").values_list("month", flat=True)) == [12, 36]

    # 6. Budget: the totals, ratio and badges follow the typing (static/js/budget.js).
    page.fill("#id_fiscal__equipment", "120")
    page.fill("#id_fiscal__operating", "30")
    page.fill("#id_self__equipment", "200")
    # Not yet enough self-raised money: 200 ÷ 150 = 1.33 < 2.
    assert page.inner_text("[data-budget-ratio]") == "1.33"
    assert page.get_attribute('[data-budget-check="matching"]', "data-ok") == "no"
    page.fill("#id_self__labour", "100")
    assert page.inner_text('[data-testid="total-fiscal"]') == "150.00"
    assert page.inner_text('[data-testid="total-self"]') == "300.00"
    assert page.inner_text('[data-testid="total-all"]') == "450.00"
    assert page.inner_text('[data-row-total="equipment"]') == "320.00"
    assert page.inner_text("[data-budget-ratio]") == "2.00"
    assert page.inner_text("[data-budget-fiscal]") == "150.00"
    assert page.get_attribute('[data-budget-check="matching"]', "data-ok") == "yes"
    assert page.get_attribute('[data-budget-check="cap"]', "data-ok") == "yes"
    save(page, base, pk, "form-budget", "attachments")
    assert proposal.budget_lines.count() == 4

    # 7. Attachments: the three required PDFs.
    for kind, name in [
        ("integrity_pledge", "科研诚信承诺书.pdf"),
        ("matching_funds", "配套资金承诺函.pdf"),
        ("consortium_agreement", "联合体协议.pdf"),
    ]:
        path = tmp_path / name
        path.write_bytes(PDF_BYTES)
        page.select_option("#id_kind", value=kind)
        page.set_input_files("#id_file", str(path))
        save(page, base, pk, "form-upload", "attachments")
    assert page.locator('[data-testid="attachments"] li[data-testid^="attachment-"]').count() == 3
    assert page.locator('[data-testid="required-attachments"] .text-danger').count() == 0

    # 8. Check: everything but the member unit's confirmation passes; submitting is disabled.
    page.click('[data-testid="step-check"]')
    page.wait_for_url(f"{base}/proposals/{pk}/edit/check/")
    failing = page.locator('[data-testid="checklist"] [data-ok="no"]')
    assert failing.count() == 1
    assert failing.get_attribute("data-testid") == "rule-members_confirmed"
    assert failing.locator(f"li:has-text('{member_org.name}')").is_visible()
    assert page.locator('[data-testid="submit"]').is_disabled()
    page.screenshot(path=str(screenshot_dir / "proposal-check-failing.png"), full_page=True)
    logout(page, base)

    # 9. The member unit's applicant confirms from "my proposals".
    login(page, base, member_applicant.username)
    page.goto(f"{base}/proposals/")
    page.click(f'[data-testid="confirm-{pk}"]')
    page.wait_for_url(f"{base}/proposals/{pk}/")
    member_unit.refresh_from_db()
    assert member_unit.confirmed_at is not None and member_unit.confirmed_by == member_applicant
    logout(page, base)

    # 10. The lead applicant checks again (all green) and submits.
    login(page, base, lead_applicant.username)
    page.goto(f"{base}/proposals/{pk}/edit/check/")
    rules_shown = page.locator('[data-testid="checklist"] [data-ok]')
    assert rules_shown.count() > 1
    assert page.locator('[data-testid="checklist"] [data-ok="no"]').count() == 0
    submit = page.locator('[data-testid="submit"]')
    assert submit.is_enabled()
    page.screenshot(path=str(screenshot_dir / "proposal-check-passing.png"), full_page=True)
    submit.click()
    page.wait_for_url(f"{base}/proposals/{pk}/")
    assert page.locator('[data-testid="status-submitted"]').is_visible()
    assert page.locator('[data-testid="eligible-yes"]').is_visible()
    assert page.locator('[data-testid="submissions"] tbody tr').first.inner_text().startswith("v1")
    page.screenshot(path=str(screenshot_dir / "proposal-submitted.png"), full_page=True)

    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED and proposal.eligible is True
    assert Submission.objects.filter(proposal=proposal).count() == 1
    assert console_errors == []
