"""The applicant side of proposals, through the test client and URLs, as each member of the cast."""

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEntry
from calls import services as call_services
from calls.models import Call
from proposals import eligibility, services
from proposals.choices import ProposalStatus, TeamRole, UnitRole
from proposals.models import Attachment, Milestone, Person, Proposal, ProposalUnit, TeamMember
from proposals.validators import id_check_character
from tests.factories import OrganizationFactory
from tests.factories_calls import CallFactory, in_days, make_ready_call
from tests.factories_proposals import grow_content

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STEPS = ["basics", "consortium", "team", "targets", "milestones", "budget", "attachments", "check"]


def id_number(n: int) -> str:
    first17 = f"15010219800101{n:03d}"
    return first17 + id_check_character(first17)


def pdf(name="doc.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def url(name, *args):
    return reverse(f"proposals:{name}", args=args)


def edit_url(proposal, step):
    return url("edit", proposal.pk, step)


def audited(proposal, action):
    return AuditEntry.objects.filter(object_id=str(proposal.pk), action=f"proposal.{action}").exists()


def inline_code(html):
    return re.search(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=", html)


@pytest.fixture
def call(issuer_org, issuer, administrator):
    call = make_ready_call(issuer_org, issuer)
    call_services.submit_call(actor=issuer, call=call)
    return call_services.approve_call(actor=administrator, call=call)


@pytest.fixture
def draft(call, lead_applicant):
    return services.start_proposal(actor=lead_applicant, call=call)[0]


@pytest.fixture
def with_member(draft, lead_applicant, member_org):
    services.add_member_unit(actor=lead_applicant, proposal=draft, credit_code=member_org.credit_code)
    return draft


def complete(proposal, lead, member_applicant, member_org):
    """Everything eligibility asks for, built through the services."""
    services.add_member_unit(actor=lead, proposal=proposal, credit_code=member_org.credit_code, task_share="测试")
    services.confirm_participation(actor=member_applicant, proposal=proposal)
    services.update_basics(actor=lead, proposal=proposal, technical_route="技术路线：固态电解质。")
    lead_unit = proposal.units.get(role=UnitRole.LEAD)
    services.set_team_member(
        actor=lead,
        proposal=proposal,
        id_number=id_number(1),
        name="张三",
        unit=lead_unit,
        role=TeamRole.PI,
        months_per_year=Decimal("10"),
    )
    values = {t.pk: (t.value, "可达成") for t in proposal.call.targets.all()}
    services.set_commitments(actor=lead, proposal=proposal, values=values)
    rows = [{"month": 12, "deliverable": "样机", "verification": "第三方检测"}]
    services.set_milestones(actor=lead, proposal=proposal, rows=rows)
    amounts = {("fiscal", "equipment"): Decimal("100"), ("self", "equipment"): Decimal("250")}
    services.set_budget(actor=lead, proposal=proposal, amounts=amounts)
    for kind in ("integrity_pledge", "matching_funds", "consortium_agreement"):
        services.add_attachment(actor=lead, proposal=proposal, kind=kind, upload=pdf(f"{kind}.pdf"))
    return Proposal.objects.get(pk=proposal.pk)


@pytest.fixture
def ready(draft, lead_applicant, member_applicant, member_org):
    return complete(draft, lead_applicant, member_applicant, member_org)


@pytest.fixture
def submitted(ready, lead_applicant):
    return services.submit_proposal(actor=lead_applicant, proposal=ready)


def past_deadline(call):
    Call.objects.filter(pk=call.pk).update(deadline=in_days(-1))


# --- starting ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_start_from_the_call_page_creates_one_draft_and_reuses_it(call, lead_applicant, client_for):
    client = client_for(lead_applicant)
    page = client.get(reverse("calls:detail", args=[call.code])).content.decode()
    assert f'action="{url("start", call.code)}"' in page and 'method="post"' in page
    first = client.post(url("start", call.code))
    proposal = Proposal.objects.get(call=call)
    assert first.status_code == 302 and first["Location"] == edit_url(proposal, "basics")
    second = client.post(url("start", call.code))
    assert second["Location"] == edit_url(proposal, "basics") and Proposal.objects.count() == 1
    assert audited(proposal, "create") and proposal.status == ProposalStatus.DRAFT
    assert client.get(url("start", call.code)).status_code == 405


@pytest.mark.django_db
def test_start_refused_on_a_closed_call_and_for_non_applicants(call, lead_applicant, issuer, client_for):
    assert client_for(issuer).post(url("start", call.code)).status_code == 403
    past_deadline(call)
    response = client_for(lead_applicant).post(url("start", call.code), follow=True)
    assert response.redirect_chain[-1][0] == reverse("calls:detail", args=[call.code])
    assert any("not open" in str(m) or "未开放" in str(m) for m in response.context["messages"])
    assert not Proposal.objects.exists()


# --- each step saves -----------------------------------------------------------------------
@pytest.mark.django_db
def test_basics_step_saves_and_moves_on(draft, lead_applicant, client_for):
    client = client_for(lead_applicant)
    assert client.get(edit_url(draft, "basics")).status_code == 200
    data = {"title": "新标题", "summary": "摘要", "technical_route": "路线", "risks": "风险"}
    response = client.post(edit_url(draft, "basics"), data)
    assert response.status_code == 302 and response["Location"] == edit_url(draft, "consortium")
    draft.refresh_from_db()
    assert (draft.title, draft.technical_route, draft.risks) == ("新标题", "路线", "风险")
    assert audited(draft, "update")
    response = client.post(edit_url(draft, "basics"), {**data, "title": "", "summary": "保留的摘要"})
    assert response.status_code == 200 and "保留的摘要" in response.content.decode()
    draft.refresh_from_db()
    assert draft.title == "新标题" and draft.summary == "摘要"


@pytest.mark.django_db
def test_consortium_add_update_remove(draft, lead_applicant, member_org, client_for):
    client = client_for(lead_applicant)
    step = edit_url(draft, "consortium")
    unknown = "91150100MA0000000X"
    response = client.post(step, {"action": "add", "add-credit_code": unknown, "add-task_share": "电芯研制"})
    html = response.content.decode()
    assert response.status_code == 200 and unknown in html and "电芯研制" in html
    assert draft.units.count() == 1
    response = client.post(
        step,
        {
            "action": "add",
            "add-credit_code": member_org.credit_code.lower(),
            "add-task_share": "电芯研制",
            "add-budget_share": "80",
        },
    )
    assert response.status_code == 302 and response["Location"] == step
    unit = draft.units.get(organization=member_org)
    assert unit.role == UnitRole.MEMBER and unit.budget_share == Decimal("80") and unit.confirmed_at is None
    assert audited(draft, "add_unit")
    assert 'data-testid="unconfirmed"' in client.get(step).content.decode()
    response = client.post(
        step,
        {
            "action": "update",
            "unit": unit.pk,
            f"unit-{unit.pk}-task_share": "测试",
            f"unit-{unit.pk}-budget_share": "-1",
        },
    )
    assert response.status_code == 200 and draft.units.get(pk=unit.pk).budget_share == Decimal("80")
    response = client.post(
        step,
        {
            "action": "update",
            "unit": unit.pk,
            f"unit-{unit.pk}-task_share": "测试",
            f"unit-{unit.pk}-budget_share": "90.5",
        },
    )
    assert response.status_code == 302 and draft.units.get(pk=unit.pk).budget_share == Decimal("90.50")
    assert audited(draft, "update_unit")
    lead_unit = draft.units.get(role=UnitRole.LEAD)
    assert client.post(step, {"action": "remove", "unit": lead_unit.pk}).status_code == 302
    assert draft.units.filter(pk=lead_unit.pk).exists()
    assert client.post(step, {"action": "remove", "unit": unit.pk}).status_code == 302
    assert not draft.units.filter(pk=unit.pk).exists() and audited(draft, "remove_unit")


@pytest.mark.django_db
def test_team_bad_id_number_is_shown_and_a_pi_is_added_changed_and_removed(draft, lead_applicant, client_for):
    client = client_for(lead_applicant)
    step = edit_url(draft, "team")
    lead_unit = draft.units.get(role=UnitRole.LEAD)
    data = {
        "name": "李四",
        "unit": lead_unit.pk,
        "role": "pi",
        "title": "教授",
        "duty": "总体",
        "months_per_year": "10",
    }
    bad = id_number(2)[:-1] + ("0" if id_number(2)[-1] != "0" else "1")
    response = client.post(step, {**data, "id_number": bad})
    html = response.content.decode()
    assert response.status_code == 200 and "invalid-feedback" in html and "李四" in html and "教授" in html
    assert not TeamMember.objects.exists()
    response = client.post(step, {**data, "id_number": id_number(2)})
    assert response.status_code == 302 and audited(draft, "set_member")
    member = TeamMember.objects.get(proposal=draft)
    assert member.role == TeamRole.PI and member.person.id_number == id_number(2)
    page = client.get(f"{step}?member={member.pk}").content.decode()
    assert id_number(2) not in page and member.person.masked_id in page and 'name="id_number"' not in page
    response = client.post(step, {**data, "member": member.pk, "months_per_year": "6"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.months_per_year == Decimal("6")
    assert client.post(step, {"action": "remove", "member": member.pk}).status_code == 302
    assert not TeamMember.objects.exists() and audited(draft, "remove_member")


@pytest.mark.django_db
def test_targets_milestones_and_budget_steps_save(draft, lead_applicant, client_for):
    client = client_for(lead_applicant)
    targets = list(draft.call.targets.all())
    data = {f"value_{t.pk}": str(t.value + 1) for t in targets} | {f"note_{t.pk}": "路径" for t in targets}
    response = client.post(edit_url(draft, "targets"), data)
    assert response["Location"] == edit_url(draft, "milestones") and audited(draft, "set_commitments")
    assert {c.target_id: c.value for c in draft.commitments.all()} == {t.pk: t.value + 1 for t in targets}
    # The same form again (values as typed, "351" for the stored "351.0000") changes nothing: no entry.
    entries = AuditEntry.objects.filter(object_id=str(draft.pk), action="proposal.set_commitments")
    assert entries.count() == 1
    client.post(edit_url(draft, "targets"), data)
    assert entries.count() == 1
    # A changed note alone is a change, recorded with the notes before and after.
    client.post(edit_url(draft, "targets"), data | {f"note_{targets[0].pk}": "新路径"})
    assert entries.count() == 2
    latest = entries.order_by("-seq").first()
    assert (
        latest.before["notes"][str(targets[0].pk)] == "路径" and latest.after["notes"][str(targets[0].pk)] == "新路径"
    )

    formset = {"milestones-TOTAL_FORMS": "2", "milestones-INITIAL_FORMS": "0"}
    rows = formset | {
        "milestones-0-month": "6",
        "milestones-0-deliverable": "方案",
        "milestones-0-verification": "评审",
    }
    rows |= {"milestones-1-month": "30", "milestones-1-deliverable": "样机", "milestones-1-verification": "检测"}
    response = client.post(edit_url(draft, "milestones"), rows)
    assert response["Location"] == edit_url(draft, "budget") and audited(draft, "set_milestones")
    assert list(Milestone.objects.filter(proposal=draft).values_list("month", flat=True)) == [6, 30]
    too_late = rows | {"milestones-1-month": "99", "milestones-1-deliverable": "新样机"}
    response = client.post(edit_url(draft, "milestones"), too_late)
    assert response.status_code == 200 and "新样机" in response.content.decode()
    assert Milestone.objects.filter(proposal=draft, month=30).exists()

    budget = {"fiscal__equipment": "100.00", "self__equipment": "150.50", "self__labour": "60"}
    response = client.post(edit_url(draft, "budget"), budget)
    assert response["Location"] == edit_url(draft, "attachments") and audited(draft, "set_budget")
    assert draft.budget_totals() == {
        "fiscal": Decimal("100.00"),
        "self": Decimal("210.50"),
        "other": Decimal("0.00"),
        "total": Decimal("310.50"),
    }
    html = client.get(edit_url(draft, "budget")).content.decode()
    assert 'data-testid="total-self">210.50<' in html and 'data-testid="total-all">310.50<' in html
    assert 'data-matching-ratio="2.00"' in html and 'data-fiscal-cap="500.00"' in html and "js/budget.js" in html


@pytest.mark.django_db
def test_negative_budget_is_refused_and_nothing_is_lost(draft, lead_applicant, client_for):
    client = client_for(lead_applicant)
    client.post(edit_url(draft, "budget"), {"fiscal__equipment": "100"})
    response = client.post(edit_url(draft, "budget"), {"fiscal__equipment": "-5", "self__operating": "321.25"})
    html = response.content.decode()
    assert response.status_code == 200 and "invalid-feedback" in html and 'value="321.25"' in html
    assert draft.budget_totals()["fiscal"] == Decimal("100.00") and draft.budget_totals()["self"] == 0


@pytest.mark.django_db
def test_changes_after_the_deadline_show_the_service_message(draft, lead_applicant, client_for):
    past_deadline(draft.call)
    client = client_for(lead_applicant)
    assert 'data-testid="deadline-passed"' in client.get(edit_url(draft, "basics")).content.decode()
    response = client.post(edit_url(draft, "basics"), {"title": "截止后修改"})
    assert response.status_code == 200 and "alert-danger" in response.content.decode()
    draft.refresh_from_db()
    assert draft.title != "截止后修改"


@pytest.mark.django_db
def test_a_late_change_is_refused_before_the_lock_and_after_it(draft, lead_applicant, outsider_applicant):
    """In the last minute of a call, late saves are refused from the call as loaded, without waiting
    for the proposal's lock; a save loaded in time is still refused by the check under the lock."""
    from django.core.exceptions import ValidationError
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    loaded_in_time = Proposal.objects.select_related("call").get(pk=draft.pk)
    past_deadline(draft.call)
    late = Proposal.objects.select_related("call").get(pk=draft.pk)
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError, match="截止时间已过"):
        services.update_basics(actor=lead_applicant, proposal=late, title="截止后修改")
    assert not any("proposals_proposal" in q["sql"] for q in queries.captured_queries)
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError, match="截止时间已过"):
        services.update_basics(actor=lead_applicant, proposal=loaded_in_time, title="截止后修改")
    assert any("proposals_proposal" in q["sql"] for q in queries.captured_queries)  # locked, then refused
    # Who may not change the proposal at all is told so, deadline or not.
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.update_basics(actor=outsider_applicant, proposal=late, title="截止后修改")
    draft.refresh_from_db()
    assert draft.title != "截止后修改"


# --- attachments ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_upload_validation_through_the_page(draft, lead_applicant, outsider_applicant, client_for, settings):
    client = client_for(lead_applicant)
    upload = url("upload", draft.pk)
    response = client.post(
        upload, {"kind": "other", "file": pdf("virus.pdf", b"MZ\x90\x00" + b"\x00" * 200)}, follow=True
    )
    assert response.redirect_chain[-1][0] == edit_url(draft, "attachments")
    assert any(m.level_tag == "error" for m in response.context["messages"]) and not Attachment.objects.exists()
    settings.ATTACHMENT_MAX_MB = 1
    big = PDF + b"0" * int(1.1 * 1024 * 1024)
    response = client.post(upload, {"kind": "other", "file": pdf("big.pdf", big)}, follow=True)
    assert any(m.level_tag == "error" for m in response.context["messages"]) and not Attachment.objects.exists()
    response = client.post(upload, {"kind": "integrity_pledge", "file": pdf("../../x.pdf")}, follow=True)
    attachment = Attachment.objects.get()
    assert attachment.original_name == "x.pdf" and ".." not in attachment.file.name
    assert re.fullmatch(rf"proposals/{draft.pk}/[0-9a-f]{{32}}\.pdf", attachment.file.name)
    html = response.content.decode()
    assert ">x.pdf</a>" in html and "../" not in html.split('data-testid="attachments"')[1].split("</ul>")[0]
    download = url("attachment", draft.pk, attachment.pk)
    assert client.get(download).status_code == 200
    assert client_for(outsider_applicant).get(download).status_code == 404


# --- check and submit ----------------------------------------------------------------------
@pytest.mark.django_db
def test_check_step_lists_failing_rules_with_reasons(draft, lead_applicant, client_for):
    html = client_for(lead_applicant).get(edit_url(draft, "check")).content.decode()
    draft.refresh_from_db()
    failing = [r for r in draft.eligibility if not r["ok"]]
    assert failing and draft.eligible is False
    for result in draft.eligibility:
        assert f'data-testid="rule-{result["rule"]}" data-ok="{"yes" if result["ok"] else "no"}"' in html
    for result in failing:
        for message in eligibility.describe(result)["messages"]:
            assert escape(message) in html
    assert re.search(r'data-testid="submit"[^>]*disabled', html)


@pytest.mark.django_db
def test_submit_refuses_an_incomplete_proposal_and_keeps_the_draft(draft, lead_applicant, client_for):
    response = client_for(lead_applicant).post(url("submit", draft.pk), follow=True)
    assert response.redirect_chain[0][0] == edit_url(draft, "check")
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    draft.refresh_from_db()
    assert draft.status == ProposalStatus.DRAFT and not draft.submissions.exists()
    expected = [m for r in draft.eligibility if not r["ok"] for m in eligibility.describe(r)["messages"]]
    assert errors and set(expected) <= set(errors)


@pytest.mark.django_db
def test_a_complete_proposal_submits(ready, lead_applicant, client_for):
    client = client_for(lead_applicant)
    html = client.get(edit_url(ready, "check")).content.decode()
    assert 'data-ok="no"' not in html and not re.search(r'data-testid="submit"[^>]*disabled', html)
    response = client.post(url("submit", ready.pk))
    assert response["Location"] == url("detail", ready.pk)
    ready.refresh_from_db()
    assert ready.status == ProposalStatus.SUBMITTED and ready.submissions.count() == 1 and audited(ready, "submit")
    detail = client.get(url("detail", ready.pk)).content.decode()
    assert "v1" in detail and ready.submissions.get().sha256[:12] in detail
    assert client.get(edit_url(ready, "basics"))["Location"] == url("detail", ready.pk)  # frozen now


@pytest.mark.django_db
def test_withdraw_before_the_deadline_and_not_after(ready, lead_applicant, client_for):
    client = client_for(lead_applicant)
    services.submit_proposal(actor=lead_applicant, proposal=ready)
    past = CallFactory(status="published")  # a second, fresh proposal to try after its deadline
    other = services.start_proposal(actor=lead_applicant, call=past)[0]
    assert client.post(url("withdraw", ready.pk), {"reason": "改投其他榜单"}).status_code == 302
    ready.refresh_from_db()
    assert ready.status == ProposalStatus.WITHDRAWN
    assert AuditEntry.objects.get(object_id=str(ready.pk), action="proposal.withdraw").reason == "改投其他榜单"
    past_deadline(past)
    client.post(url("withdraw", other.pk))
    other.refresh_from_db()
    assert other.status == ProposalStatus.DRAFT


@pytest.mark.django_db
def test_returned_proposal_is_corrected_and_resubmitted(submitted, lead_applicant, administrator, client_for):
    services.return_for_correction(actor=administrator, proposal=submitted, reason="请补充承诺书盖章页")
    client = client_for(lead_applicant)
    assert "请补充承诺书盖章页" in client.get(url("detail", submitted.pk)).content.decode()
    assert "请补充承诺书盖章页" in client.get(edit_url(submitted, "basics")).content.decode()
    data = {"title": "修改后的标题", "technical_route": "修改后的路线"}
    assert client.post(edit_url(submitted, "basics"), data).status_code == 302
    assert client.post(url("submit", submitted.pk))["Location"] == url("detail", submitted.pk)
    submitted.refresh_from_db()
    assert submitted.status == ProposalStatus.SUBMITTED and submitted.submissions.count() == 2


# --- who may see and do what ---------------------------------------------------------------
@pytest.mark.django_db
def test_member_unit_reads_and_confirms_but_never_edits(with_member, member_applicant, client_for):
    client = client_for(member_applicant)
    html = client.get(url("detail", with_member.pk)).content.decode()
    assert "/edit/" not in html and 'data-testid="confirm"' in html
    for step in STEPS:
        assert client.get(edit_url(with_member, step)).status_code == 403
        assert client.post(edit_url(with_member, step), {"title": "x", "action": "add"}).status_code == 403
    for name in ("submit", "withdraw", "upload"):
        assert client.post(url(name, with_member.pk)).status_code == 403
    listing = client.get(url("mine")).content.decode()
    assert f'data-testid="confirm-{with_member.pk}"' in listing
    assert client.post(url("confirm", with_member.pk))["Location"] == url("detail", with_member.pk)
    assert with_member.units.get(role=UnitRole.MEMBER).confirmed_at and audited(with_member, "confirm_unit")
    assert f'data-testid="confirm-{with_member.pk}"' not in client.get(url("mine")).content.decode()


@pytest.mark.django_db
def test_outsiders_and_experts_get_404(ready, outsider_applicant, assigned_expert, client_for):
    attachment = ready.attachments.first()
    for user in (outsider_applicant, assigned_expert):
        client = client_for(user)
        assert client.get(url("detail", ready.pk)).status_code == 404
        assert client.get(url("attachment", ready.pk, attachment.pk)).status_code == 404
        for step in STEPS:
            assert client.get(edit_url(ready, step)).status_code == 404
        for name in ("submit", "withdraw", "confirm", "upload"):
            assert client.post(url(name, ready.pk)).status_code == 404
    assert client_for(None).get(url("detail", ready.pk)).status_code == 302  # to the login page


@pytest.mark.django_db
def test_issuer_sees_the_proposal_only_after_formal_review(submitted, issuer, administrator, client_for):
    client = client_for(issuer)
    assert client.get(url("detail", submitted.pk)).status_code == 404
    services.pass_review(actor=administrator, proposal=submitted)
    html = client.get(url("detail", submitted.pk)).content.decode()
    assert "/edit/" not in html and id_number(1) not in html
    assert client.get(url("mine")).status_code == 403


@pytest.mark.django_db
def test_only_administrators_see_full_id_numbers(ready, cast, client_for):
    person = Person.objects.get(id_number=id_number(1))
    for role in ("lead_applicant", "member_applicant", "supervisor", "administrator"):
        html = client_for(cast[role]).get(url("detail", ready.pk)).content.decode()
        shown = re.findall(r'data-testid="id-number">([^<]+)<', html)
        assert shown == ([person.id_number] if role == "administrator" else [person.masked_id]), role
        if role != "administrator":
            assert person.id_number not in html


@pytest.mark.django_db
def test_unknown_step_is_404_and_pages_have_no_inline_code(ready, lead_applicant, client_for):
    client = client_for(lead_applicant)
    assert client.get(edit_url(ready, "payment")).status_code == 404
    for page in [url("mine"), url("detail", ready.pk)] + [edit_url(ready, step) for step in STEPS]:
        response = client.get(page)
        assert response.status_code == 200 and not inline_code(response.content.decode()), page
    assert 'data-testid="nav-my-proposals"' in client.get(url("mine")).content.decode()


# --- query budgets --------------------------------------------------------------------------
def _rows(n, viewer_org, user):
    """n proposals the viewer's organisation takes part in: half led by it, half as a member."""
    for i in range(n):
        lead = viewer_org if i % 2 == 0 else OrganizationFactory()
        proposal = Proposal.objects.create(
            call=CallFactory(status="published"), lead_organization=lead, created_by=user, title=f"方案{i}"
        )
        ProposalUnit.objects.create(proposal=proposal, organization=lead, role=UnitRole.LEAD)
        if lead != viewer_org:
            ProposalUnit.objects.create(proposal=proposal, organization=viewer_org, role=UnitRole.MEMBER)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_my_proposals_query_budget(n, lead_applicant, client_for, django_assert_max_num_queries):
    _rows(n, lead_applicant.organization, lead_applicant)
    client = client_for(lead_applicant)
    with django_assert_max_num_queries(6):
        html = client.get(url("mine")).content.decode()
    assert html.count('data-testid="proposal-') == n and html.count('data-testid="confirm-') == n // 2


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_detail_query_budget(n, ready, administrator, client_for, django_assert_max_num_queries):
    lead_unit = ready.units.get(role=UnitRole.LEAD)
    for i in range(n):
        unit = ProposalUnit.objects.create(proposal=ready, organization=OrganizationFactory(), role=UnitRole.MEMBER)
        person = Person.objects.create(id_number=id_number(100 + i), name=f"成员{i}")
        TeamMember.objects.create(
            proposal=ready, person=person, unit=unit if i % 2 else lead_unit, role="member", months_per_year=3
        )
        Milestone.objects.create(proposal=ready, month=i % 36 + 1, deliverable=f"成果{i}", verification="检测")
    services.check_eligibility(ready)
    client = client_for(administrator)
    with django_assert_max_num_queries(17):
        html = client.get(url("detail", ready.pk)).content.decode()
    assert html.count('data-testid="id-number"') == n + 1


@pytest.mark.django_db
def test_the_pi_is_listed_first(draft, lead_applicant):
    from proposals import services
    from proposals.models import TeamMember

    lead = draft.units.get(role=UnitRole.LEAD)
    for n, role in [(31, "member"), (32, "core"), (33, "pi")]:
        services.set_team_member(
            actor=lead_applicant,
            proposal=draft,
            id_number=id_number(n),
            name=f"成员{n}",
            unit=lead,
            role=role,
            months_per_year="6",
        )
    assert [m.role for m in TeamMember.objects.filter(proposal=draft)] == ["pi", "core", "member"]


# Measured with django.test.utils.CaptureQueriesContext (issue #9): before, a basics save took 25
# queries and a submit 44 (the proposal's whole content loaded for the access check, then again).
# Both counts include the savepoints the test transaction turns each atomic block into.
SAVE_QUERIES = 12
SUBMIT_QUERIES = 25


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 10])
def test_basics_save_query_budget(n, ready, lead_applicant, client_for, django_assert_max_num_queries):
    grow_content(ready, n)
    client = client_for(lead_applicant)
    data = {"title": ready.title, "summary": "更新后的摘要", "technical_route": "路线", "risks": "风险"}
    with django_assert_max_num_queries(SAVE_QUERIES):
        response = client.post(edit_url(ready, "basics"), data)
    assert response.status_code == 302 and response["Location"] == edit_url(ready, "consortium")
    assert Proposal.objects.get(pk=ready.pk).summary == "更新后的摘要"


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 10])
def test_submit_query_budget(n, ready, lead_applicant, client_for, django_assert_max_num_queries):
    grow_content(ready, n)
    client = client_for(lead_applicant)
    with django_assert_max_num_queries(SUBMIT_QUERIES):
        response = client.post(url("submit", ready.pk))
    assert response.status_code == 302 and response["Location"] == url("detail", ready.pk)
    proposal = Proposal.objects.get(pk=ready.pk)
    assert proposal.status == ProposalStatus.SUBMITTED and proposal.eligible is True
    snapshot = proposal.submissions.get().snapshot
    assert len(snapshot["units"]) == n + 2 and len(snapshot["team"]) == n + 1
    assert len(snapshot["attachments"]) == n + 3


@pytest.mark.django_db
def test_a_basics_save_with_errors_shows_the_whole_step_again(ready, lead_applicant, client_for):
    """The save loads the proposal without its content; the page shown again with the errors has it."""
    client = client_for(lead_applicant)
    response = client.post(edit_url(ready, "basics"), {"title": "", "summary": "只改摘要"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page" data-testid="step-basics"' in html and "只改摘要" in html
    assert response.context["form"].errors["title"]
    assert Proposal.objects.get(pk=ready.pk).summary != "只改摘要"
    # The step navigation still knows what is done: it reads the whole proposal.
    assert [done for _step, done in response.context["steps"]][:7] == [True] * 7


# Deadline-surge latency: the audit entry opens no savepoint of its own, the version number comes
# with the locked proposal, and the avoidance sync is a task queued after the commit: a save is
# 10 queries (12 before), a submit 22 (25 before), the test transaction's savepoints included.
SURGE_SAVE_QUERIES = 10
SURGE_SUBMIT_QUERIES = 22


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 10])
def test_surge_save_and_submit_query_budgets(
    n, ready, lead_applicant, client_for, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    grow_content(ready, n)
    client = client_for(lead_applicant)
    data = {"title": ready.title, "summary": "截止前更新", "technical_route": "路线", "risks": "风险"}
    with django_assert_max_num_queries(SURGE_SAVE_QUERIES):
        response = client.post(edit_url(ready, "basics"), data)
    assert response.status_code == 302
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(SURGE_SUBMIT_QUERIES):
        response = client.post(url("submit", ready.pk))
    assert response.status_code == 302 and response["Location"] == url("detail", ready.pk)
    assert len(callbacks) == 2  # the mail and the avoidance sync, both queued as tasks
    proposal = Proposal.objects.get(pk=ready.pk)
    assert proposal.status == ProposalStatus.SUBMITTED and proposal.summary == "截止前更新"
    assert proposal.submissions.get().version == 1
