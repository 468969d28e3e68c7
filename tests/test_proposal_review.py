"""Formal review (形式审查), the issuer's list and the proposal dashboard panels, as each member of the cast."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEntry
from calls import services as call_services
from calls.choices import CallStatus
from calls.models import Call
from proposals import services
from proposals.choices import ProposalStatus, TeamRole, UnitRole
from proposals.models import Person, Proposal, ProposalUnit, TeamMember
from proposals.validators import id_check_character
from proposals.views.review import QUEUE_PAGE_SIZE
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import CallFactory, ProgrammeFactory, make_ready_call

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ATTACHMENT_KINDS = ("integrity_pledge", "consortium_agreement", "matching_funds")
NOT_ADMINISTRATORS = [
    "supervisor",
    "issuer",
    "lead_applicant",
    "member_applicant",
    "outsider_applicant",
    "assigned_expert",
    "conflicted_expert",
]


def id_number(n: int) -> str:
    birth = datetime.date(1980, 1, 1) + datetime.timedelta(days=n // 1000)
    first17 = f"150102{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


def open_call(issuer_org, issuer, administrator, **fields) -> Call:
    call = make_ready_call(issuer_org, issuer, **fields)
    call_services.submit_call(actor=issuer, call=call)
    return call_services.approve_call(actor=administrator, call=call)


def prepare(call, lead_user, *, member_user=None, n=1, title=None) -> Proposal:
    """A complete draft that meets every rule, built through the services as the applicant would."""
    proposal, _created = services.start_proposal(actor=lead_user, call=call)
    services.update_basics(
        actor=lead_user, proposal=proposal, title=title or f"储能电池揭榜方案{n}", technical_route="固态电解质路线"
    )
    lead_unit = proposal.units.get(role=UnitRole.LEAD)
    if member_user is not None:
        services.add_member_unit(
            actor=lead_user, proposal=proposal, credit_code=member_user.organization.credit_code, task_share="测试"
        )
        services.confirm_participation(actor=member_user, proposal=proposal)
    services.set_team_member(
        actor=lead_user,
        proposal=proposal,
        id_number=id_number(n),
        name=f"负责人{n}",
        unit=lead_unit,
        role=TeamRole.PI,
        months_per_year=8,
        title="研究员",
    )
    services.set_commitments(
        actor=lead_user, proposal=proposal, values={t.pk: (t.value + 1, "") for t in call.targets.all()}
    )
    services.set_milestones(
        actor=lead_user,
        proposal=proposal,
        rows=[{"month": 12, "deliverable": "中试样机", "verification": "第三方检测报告"}],
    )
    services.set_budget(
        actor=lead_user,
        proposal=proposal,
        amounts={("fiscal", "equipment"): Decimal("300.00"), ("self", "equipment"): Decimal("600.00")},
    )
    for kind in ATTACHMENT_KINDS:
        upload = SimpleUploadedFile(f"{kind}.pdf", PDF, content_type="application/pdf")
        services.add_attachment(actor=lead_user, proposal=proposal, kind=kind, upload=upload)
    proposal.refresh_from_db()
    return proposal


def submitted(call, lead_user, **kwargs) -> Proposal:
    return services.submit_proposal(actor=lead_user, proposal=prepare(call, lead_user, **kwargs))


def another_lead(name: str):
    """An applicant user of a fresh in-region organisation."""
    return UserFactory(organization=OrganizationFactory(name=name), is_applicant=True)


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def _files_and_mail(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def call(cast, issuer_org, issuer, administrator):
    return open_call(issuer_org, issuer, administrator)


@pytest.fixture
def proposal(call, lead_applicant, member_applicant):
    return submitted(call, lead_applicant, member_user=member_applicant, title="高安全固态储能电池揭榜方案")


def queue_url(call) -> str:
    return f"/proposals/review/{call.code}/"


def decide_url(proposal, action) -> str:
    return f"/proposals/{proposal.pk}/review/{action}/"


# --- who may open the queue and decide -----------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("member", NOT_ADMINISTRATORS)
def test_only_administrators_open_the_queue(cast, client_for, call, proposal, member):
    assert client_for(cast[member]).get(queue_url(call)).status_code == 403


@pytest.mark.django_db
def test_queue_sends_anonymous_visitors_to_login(client, call):
    response = client.get(queue_url(call))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_queue_of_an_unknown_call_is_404(administrator, client_for):
    assert client_for(administrator).get("/proposals/review/JB-NOPE-001/").status_code == 404


# Those who may read the proposal get 403; those who may not even see it get 404.
DECIDE_REFUSALS = {
    "supervisor": 403,
    "lead_applicant": 403,
    "member_applicant": 403,
    "issuer": 404,  # not visible to the issuer before formal review has passed it
    "outsider_applicant": 404,
    "assigned_expert": 404,
    "conflicted_expert": 404,
}


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["pass", "return", "reject"])
@pytest.mark.parametrize("member, status", DECIDE_REFUSALS.items())
def test_only_administrators_decide(
    cast, client_for, proposal, member, status, action, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast[member]).post(decide_url(proposal, action), {"reason": "材料不全"})
    assert response.status_code == status
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action=f"proposal.{action}").exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_decide_sends_anonymous_visitors_to_login(client, proposal):
    response = client.post(decide_url(proposal, "pass"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED


@pytest.mark.django_db
def test_decide_is_post_only_and_knows_its_actions(administrator, client_for, proposal):
    c = client_for(administrator)
    assert c.get(decide_url(proposal, "pass")).status_code == 405
    assert c.post(decide_url(proposal, "award")).status_code == 404
    assert c.post("/proposals/999999/review/pass/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("member", NOT_ADMINISTRATORS)
def test_only_administrators_bulk_pass(cast, client_for, call, proposal, member):
    response = client_for(cast[member]).post(f"/proposals/review/{call.code}/bulk-pass/", {"ids": [proposal.pk]})
    assert response.status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED


# --- the queue --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_queue_lists_submitted_first_with_consortium_and_checks(administrator, client_for, call, proposal):
    late = another_lead("后到单位有限公司")
    later = submitted(call, late, n=2, title="后提交的方案")
    returned = submitted(call, another_lead("被退回单位有限公司"), n=3, title="已退回的方案")
    services.return_for_correction(actor=administrator, proposal=returned, reason="请补充配套资金证明")
    draft = prepare(call, another_lead("草稿单位有限公司"), n=4, title="尚未提交的草稿")

    html = client_for(administrator).get(queue_url(call)).content.decode()
    awaiting, decided = html.split('data-testid="awaiting"')[1].split('data-testid="decided"')
    # Oldest submission first; returned ones below, for reference; drafts never.
    assert awaiting.index(proposal.title) < awaiting.index(later.title)
    assert returned.title not in awaiting and returned.title in decided and "请补充配套资金证明" in decided
    assert draft.title not in html
    # Lead unit, member units, PI, submitted time and the stored checks.
    assert "牵头单位有限公司" in awaiting and "参与大学" in awaiting and "负责人1" in awaiting
    assert timezone.localtime(proposal.submitted_at).strftime("%Y-%m-%d %H:%M") in awaiting
    assert awaiting.count('data-testid="checks-ok"') == 2
    # Counts per status, and one form per waiting proposal: pass, or return / reject with a reason.
    for status, count in {"submitted": 2, "returned": 1, "passed": 0, "rejected": 0}.items():
        assert f'data-testid="n-{status}">{count}<' in html
    assert 'data-testid="awaiting-count">2<' in html
    form = awaiting.split(f'data-testid="decide-{proposal.pk}"')[1].split("</form>")[0]
    assert awaiting.count("<form") == 2 and form.count("csrfmiddlewaretoken") == 1
    assert f'<form method="post" action="/proposals/{proposal.pk}/review/pass/"' in awaiting
    assert f'formnovalidate data-testid="pass-{proposal.pk}"' in form
    for action in ("return", "reject"):
        assert f'formaction="/proposals/{proposal.pk}/review/{action}/" data-testid="{action}-{proposal.pk}"' in form
    # One reason field, required by the return and reject buttons (the pass button skips the check);
    # Enter in it presses the form's first button, a disabled one: nothing is decided by accident.
    assert form.count('name="reason"') == 1 and 'name="reason" required' in form
    assert (
        form.index('<button type="submit" disabled hidden') < form.index('name="reason"') < form.index("<button class")
    )
    assert f'name="ids" value="{proposal.pk}" form="bulk-pass-form"' in awaiting
    assert 'data-testid="queue-pages"' not in html  # one page


@pytest.mark.django_db
def test_recheck_runs_the_rules_again_and_marks_limit_breaches(administrator, client_for, call, proposal):
    other = submitted(call, another_lead("第二牵头单位有限公司"), n=2, title="第二个方案")
    # Later facts: the lead unit is blacklisted, and the other proposal's PI turns out to be this one's.
    lead = proposal.lead_organization
    lead.credit_status, lead.blacklist_reason, lead.blacklisted_on = (
        "blacklisted",
        "虚报经费",
        datetime.date(2025, 1, 1),
    )
    lead.save()
    TeamMember.objects.filter(proposal=other, role=TeamRole.PI).update(
        person=TeamMember.objects.get(proposal=proposal, role=TeamRole.PI).person
    )
    c = client_for(administrator)
    html = c.get(queue_url(call)).content.decode()
    assert 'data-testid="failed-checks"' not in html  # the stored results were all fine

    response = c.post(queue_url(call), {"recheck": "1"})
    assert response.status_code == 302 and response["Location"] == queue_url(call)
    proposal.refresh_from_db()
    other.refresh_from_db()
    assert proposal.eligible is False and other.eligible is False
    assert AuditEntry.objects.filter(action="proposal.eligibility").count() == 2
    html = c.get(queue_url(call)).content.decode()
    assert "牵头单位有限公司" in html and html.count('data-testid="failed-checks"') == 2
    assert "负责人1" in html.split('data-testid="failed-checks"')[1]


@pytest.mark.django_db
def test_recheck_after_the_deadline_does_not_fail_everyone(administrator, client_for, call, proposal):
    Call.objects.filter(pk=call.pk).update(
        status=CallStatus.CLOSED, deadline=timezone.now() - datetime.timedelta(hours=1)
    )
    c = client_for(administrator)
    c.post(queue_url(call), {"recheck": "1"})
    proposal.refresh_from_db()
    # Submitted in time: the deadline rule is not held against it later.
    assert proposal.eligible is True and all(r["ok"] for r in proposal.eligibility)
    html = c.get(queue_url(call)).content.decode()
    assert 'data-testid="checks-ok"' in html and 'data-testid="failed-checks"' not in html


# --- decisions ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_pass_is_audited_and_mailed_after_commit(
    administrator, client_for, call, proposal, lead_applicant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(administrator).post(decide_url(proposal, "pass"))
    assert response.status_code == 302 and response["Location"] == queue_url(call)
    assert messages_of(response)[0][0] == "success"
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PASSED and proposal.reviewed_at is not None
    entry = AuditEntry.objects.get(action="proposal.pass", object_id=str(proposal.pk))
    assert entry.actor == administrator and entry.after == {"status": "passed"}
    assert len(callbacks) == 1 and len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [lead_applicant.email]
    assert proposal.title in message.subject and "通过形式审查" in message.subject
    assert "已通过形式审查" in message.body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action, status, wording",
    [("return", ProposalStatus.RETURNED, "退回原因"), ("reject", ProposalStatus.REJECTED, "未通过形式审查")],
)
def test_return_and_reject_need_a_reason_the_applicant_can_read(
    administrator,
    client_for,
    call,
    proposal,
    lead_applicant,
    action,
    status,
    wording,
    django_capture_on_commit_callbacks,
):
    for reason in ("", "   "):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client_for(administrator).post(decide_url(proposal, action), {"reason": reason})
        assert response.status_code == 302
        assert [level for level, _text in messages_of(response)] == ["error"]
        assert callbacks == [] and mail.outbox == []
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action=f"proposal.{action}").exists()

    c = client_for(administrator)
    reason = "配套资金承诺书未加盖公章，请补充后重新提交。"
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(decide_url(proposal, action), {"reason": reason})
    assert messages_of(response)[0][0] == "success"
    proposal.refresh_from_db()
    assert proposal.status == status and proposal.review_reason == reason
    entry = AuditEntry.objects.get(action=f"proposal.{action}", object_id=str(proposal.pk))
    assert entry.reason == reason and entry.actor == administrator
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [lead_applicant.email] and proposal.title in message.subject
    assert wording in message.body and reason in message.body
    # The queue keeps it for reference, with the reason.
    decided = c.get(queue_url(call)).content.decode().split('data-testid="decided"')[1]
    assert proposal.title in decided and reason in decided
    # The lead applicant reads the reason on the dashboard when it was returned.
    dashboard = client_for(lead_applicant).get("/accounts/dashboard/").content.decode()
    assert (reason in dashboard) == (action == "return")


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["pass", "return", "reject"])
def test_a_decision_that_fails_sends_nothing(
    administrator, client_for, proposal, action, django_capture_on_commit_callbacks
):
    services.pass_review(actor=administrator, proposal=proposal)
    c = client_for(administrator)  # logging in is audited too
    entries = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = c.post(decide_url(proposal, action), {"reason": "再审一次"})
    assert response.status_code == 302
    assert [level for level, _text in messages_of(response)] == ["error"]
    assert callbacks == [] and mail.outbox == []
    assert AuditEntry.objects.count() == entries
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PASSED


@pytest.mark.django_db
def test_submit_mails_the_lead_unit_after_commit(
    call, lead_applicant, member_applicant, django_capture_on_commit_callbacks
):
    draft = prepare(call, lead_applicant, member_user=member_applicant, title="提交通知测试方案")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_proposal(actor=lead_applicant, proposal=draft)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [lead_applicant.email]  # the member unit's applicants are not the recipients
    assert "提交通知测试方案" in message.subject and "已提交" in message.subject
    assert "成功提交" in message.body and call.code in message.body
    assert AuditEntry.objects.filter(action="proposal.submit", object_id=str(draft.pk)).count() == 1


@pytest.mark.django_db
def test_a_refused_submit_sends_nothing(call, lead_applicant, django_capture_on_commit_callbacks):
    draft = prepare(call, lead_applicant, title="缺少负责人的方案")
    TeamMember.objects.filter(proposal=draft).delete()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(services.TransitionError):
        services.submit_proposal(actor=lead_applicant, proposal=draft)
    assert callbacks == [] and mail.outbox == []


# --- bulk pass ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_bulk_pass_passes_only_the_selected_submitted_proposals_of_that_call(
    administrator, client_for, call, proposal, issuer_org, issuer, django_capture_on_commit_callbacks
):
    second = submitted(call, another_lead("第二单位有限公司"), n=2)
    not_selected = submitted(call, another_lead("第三单位有限公司"), n=3)
    returned = submitted(call, another_lead("第四单位有限公司"), n=4)
    services.return_for_correction(actor=administrator, proposal=returned, reason="补充材料")
    other_call = open_call(issuer_org, issuer, administrator)
    elsewhere = submitted(other_call, another_lead("第五单位有限公司"), n=5)

    ids = [proposal.pk, second.pk, returned.pk, elsewhere.pk, "junk"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(administrator).post(f"/proposals/review/{call.code}/bulk-pass/", {"ids": ids})
    assert response.status_code == 302 and response["Location"] == queue_url(call)
    [(level, text)] = messages_of(response)
    assert level == "success" and "2" in text
    statuses = dict(Proposal.objects.values_list("pk", "status"))
    assert statuses[proposal.pk] == statuses[second.pk] == ProposalStatus.PASSED
    assert statuses[not_selected.pk] == ProposalStatus.SUBMITTED
    assert statuses[returned.pk] == ProposalStatus.RETURNED
    assert statuses[elsewhere.pk] == ProposalStatus.SUBMITTED
    passed = AuditEntry.objects.filter(action="proposal.pass")
    assert sorted(int(i) for i in passed.values_list("object_id", flat=True)) == sorted([proposal.pk, second.pk])
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_bulk_pass_with_nothing_selected(administrator, client_for, call, proposal):
    response = client_for(administrator).post(f"/proposals/review/{call.code}/bulk-pass/", {})
    assert [level for level, _text in messages_of(response)] == ["error"]
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED


# --- the issuer ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_issuer_sees_proposals_only_after_formal_review(cast, client_for, administrator, issuer, call, proposal):
    c = client_for(issuer)
    assert proposal.title not in c.get("/proposals/for-my-calls/").content.decode()
    rejected = submitted(call, another_lead("被拒单位有限公司"), n=2, title="被拒绝的方案")
    services.reject(actor=administrator, proposal=rejected, reason="不符合条件")
    returned = submitted(call, another_lead("被退单位有限公司"), n=3, title="被退回的方案")
    services.return_for_correction(actor=administrator, proposal=returned, reason="补充材料")
    draft = prepare(call, another_lead("草稿单位有限公司"), n=4, title="草稿方案")
    services.pass_review(actor=administrator, proposal=proposal)

    html = c.get("/proposals/for-my-calls/").content.decode()
    assert proposal.title in html and f'href="/proposals/{proposal.pk}/"' in html
    assert f'data-testid="call-{call.code}"' in html and "牵头单位有限公司" in html and "负责人1" in html
    for hidden in (rejected, returned, draft):
        assert hidden.title not in html
    # The issuer may now open the proposal, but still never decide on it.
    assert client_for(issuer).post(decide_url(proposal, "reject"), {"reason": "x"}).status_code == 403


@pytest.mark.django_db
def test_issuer_of_another_organisation_sees_nothing(client_for, administrator, proposal):
    stranger = UserFactory(organization=OrganizationFactory(name="别家发榜单位"), is_issuer=True)
    services.pass_review(actor=administrator, proposal=proposal)
    html = client_for(stranger).get("/proposals/for-my-calls/").content.decode()
    assert proposal.title not in html and 'data-testid="no-proposals"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("member", [m for m in NOT_ADMINISTRATORS if m != "issuer"] + ["administrator"])
def test_issuer_list_is_for_issuers_only(cast, client_for, administrator, proposal, member):
    services.pass_review(actor=administrator, proposal=proposal)
    assert client_for(cast[member]).get("/proposals/for-my-calls/").status_code == 403


@pytest.mark.django_db
def test_issuer_list_sends_anonymous_visitors_to_login(client):
    response = client.get("/proposals/for-my-calls/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- links and dashboard panels ----------------------------------------------------------------------
@pytest.mark.django_db
def test_call_pages_link_administrators_to_the_queue(cast, client_for, administrator, issuer, call, proposal):
    link = f'href="/proposals/review/{call.code}/"'
    detail = client_for(administrator).get(f"/calls/{call.code}/").content.decode()
    assert link in detail and 'data-testid="formal-review-link"' in detail
    assert link not in client_for(issuer).get(f"/calls/{call.code}/").content.decode()
    Call.objects.filter(pk=call.pk).update(status=CallStatus.CLOSED)
    approval = client_for(administrator).get("/calls/review/").content.decode()
    assert link in approval


@pytest.mark.django_db
def test_issuer_nav_links_to_proposals_to_my_calls(client_for, issuer, lead_applicant):
    assert 'href="/proposals/for-my-calls/"' in client_for(issuer).get("/accounts/dashboard/").content.decode()
    assert 'href="/proposals/for-my-calls/"' not in client_for(lead_applicant).get("/").content.decode()


@pytest.mark.django_db
def test_dashboard_panels(cast, client_for, administrator, issuer, lead_applicant, call, proposal):
    draft_call = open_call(call.issuer, issuer, administrator)
    draft = prepare(draft_call, lead_applicant, n=2, title="继续填写的草稿")

    admin_html = client_for(administrator).get("/accounts/dashboard/").content.decode()
    assert f'data-testid="queue-{call.code}"' in admin_html
    assert 'data-testid="awaiting-total">1<' in admin_html

    lead_html = client_for(lead_applicant).get("/accounts/dashboard/").content.decode()
    assert f'href="/proposals/{draft.pk}/edit/basics/"' in lead_html and 'href="/proposals/"' in lead_html
    member_html = client_for(cast["member_applicant"]).get("/accounts/dashboard/").content.decode()
    assert 'data-testid="panel-my-proposals"' in member_html and draft.title not in member_html

    assert 'data-testid="visible-proposals">0<' in client_for(issuer).get("/accounts/dashboard/").content.decode()
    services.pass_review(actor=administrator, proposal=proposal)
    assert 'data-testid="visible-proposals">1<' in client_for(issuer).get("/accounts/dashboard/").content.decode()
    admin_html = client_for(administrator).get("/accounts/dashboard/").content.decode()
    assert 'data-testid="awaiting-total">0<' in admin_html


# --- query budgets ---------------------------------------------------------------------------------------
STORED_CHECKS = [
    {"rule": "complete", "ok": True, "problems": []},
    {"rule": "deadline", "ok": True, "problems": []},
    {
        "rule": "matching",
        "ok": False,
        "problems": [
            {
                "key": "matching_low",
                "params": {"self": "100.00", "fiscal": "100.00", "ratio": "1.00", "required": "2.00"},
            }
        ],
    },
]


def many_proposals(call, n, status, *, lead_user=None, start=0):
    """n proposals with lead, member unit and PI, written directly: the budget is about page cost."""
    creator = lead_user or UserFactory(organization=OrganizationFactory(), is_applicant=True)
    member = OrganizationFactory()
    now = timezone.now()
    created = []
    for i in range(n):
        lead = lead_user.organization if lead_user else OrganizationFactory()
        target_call = call if call is not None else CallFactory(status=CallStatus.PUBLISHED)
        proposal = Proposal.objects.create(
            call=target_call,
            lead_organization=lead,
            created_by=creator,
            title=f"预算测试方案{start + i}",
            status=status,
            submitted_at=now - datetime.timedelta(minutes=i),
            eligible=False,
            eligibility=STORED_CHECKS,
            review_reason="退回原因" if status == ProposalStatus.RETURNED else "",
        )
        lead_unit = ProposalUnit.objects.create(proposal=proposal, organization=lead, role=UnitRole.LEAD)
        ProposalUnit.objects.create(proposal=proposal, organization=member, role=UnitRole.MEMBER)
        person = Person.objects.create(id_number=id_number(start + i + 100), name=f"预算负责人{start + i}")
        TeamMember.objects.create(
            proposal=proposal, person=person, unit=lead_unit, role=TeamRole.PI, months_per_year=Decimal("6")
        )
        created.append(proposal)
    return created


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_queue_query_budget(administrator, client_for, issuer, django_assert_max_num_queries, n):
    call = CallFactory(issuer=issuer.organization, status=CallStatus.CLOSED, programme=ProgrammeFactory())
    many_proposals(call, n, ProposalStatus.SUBMITTED)
    many_proposals(call, n, ProposalStatus.RETURNED, start=1000)
    c = client_for(administrator)
    for page in (1, 2):
        # Built: session, user, call, the cache stamp, counts, rows, member units.
        with django_assert_max_num_queries(7):
            response = c.get(f"{queue_url(call)}?page={page}")
        assert response.status_code == 200
    with django_assert_max_num_queries(4):  # from the cache (audit.page_cache)
        html = c.get(queue_url(call)).content.decode()
    # A page holds QUEUE_PAGE_SIZE (50) rows: the waiting ones first.
    assert html.count('name="ids"') == n and html.count('data-testid="proposal-') == min(2 * n, QUEUE_PAGE_SIZE)
    assert html.count("csrfmiddlewaretoken") <= n + 5  # a form per waiting row, not three


@pytest.mark.django_db
def test_queue_pages(administrator, client_for, issuer, django_capture_on_commit_callbacks):
    call = CallFactory(issuer=issuer.organization, status=CallStatus.CLOSED, programme=ProgrammeFactory())
    waiting = many_proposals(call, QUEUE_PAGE_SIZE + 10, ProposalStatus.SUBMITTED)
    returned = many_proposals(call, 5, ProposalStatus.RETURNED, start=1000)
    c = client_for(administrator)

    first = c.get(queue_url(call)).content.decode()
    # Oldest submission first (many_proposals dates each one a minute before the previous).
    oldest_first = list(reversed(waiting))
    assert first.count('name="ids"') == QUEUE_PAGE_SIZE and oldest_first[0].title in first
    assert oldest_first[QUEUE_PAGE_SIZE].title not in first
    assert 'data-testid="awaiting-count">60<' in first and 'data-testid="n-submitted">60<' in first
    assert 'data-testid="decided"' not in first  # the decided ones come after the waiting ones
    assert 'data-testid="queue-page">1 / 2<' in first and 'href="?page=2" data-testid="queue-next"' in first
    assert 'data-testid="recheck"' in first and 'data-testid="export-formal_review"' in first
    assert 'data-testid="bulk-pass"' in first

    second = c.get(f"{queue_url(call)}?page=2").content.decode()
    awaiting, decided = second.split('data-testid="awaiting"')[1].split('data-testid="decided"')
    assert awaiting.count('name="ids"') == 10 and all(p.title in decided for p in returned)
    assert "退回原因" in decided
    assert 'data-testid="queue-page">2 / 2<' in second and 'href="?page=1" data-testid="queue-previous"' in second
    # Decisions and bulk passes sent from page 2 come back to page 2.
    proposal = oldest_first[QUEUE_PAGE_SIZE]
    assert f'action="/proposals/{proposal.pk}/review/pass/?page=2"' in awaiting
    assert f'formaction="/proposals/{proposal.pk}/review/return/?page=2"' in awaiting
    assert f'action="/proposals/review/{call.code}/bulk-pass/?page=2"' in second
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(f"/proposals/{proposal.pk}/review/return/?page=2", {"reason": "请补充材料"})
    assert response.status_code == 302 and response["Location"] == f"{queue_url(call)}?page=2"
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.RETURNED and proposal.review_reason == "请补充材料"
    nxt = oldest_first[QUEUE_PAGE_SIZE + 1]
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(f"/proposals/review/{call.code}/bulk-pass/?page=2", {"ids": [nxt.pk]})
    assert response.status_code == 302 and response["Location"] == f"{queue_url(call)}?page=2"
    assert Proposal.objects.get(pk=nxt.pk).status == ProposalStatus.PASSED

    # Nonsense and out-of-range pages show the first and the last page.
    assert 'data-testid="queue-page">1 / 2<' in c.get(f"{queue_url(call)}?page=abc").content.decode()
    assert 'data-testid="queue-page">2 / 2<' in c.get(f"{queue_url(call)}?page=99").content.decode()
    response = c.post(f"/proposals/{oldest_first[0].pk}/review/pass/?page=x")
    assert response["Location"] == queue_url(call)


@pytest.mark.django_db
def test_queue_of_a_call_without_proposals(administrator, client_for, issuer):
    call = CallFactory(issuer=issuer.organization, status=CallStatus.CLOSED, programme=ProgrammeFactory())
    html = client_for(administrator).get(queue_url(call)).content.decode()
    assert "暂无待形式审查的揭榜方案。" in html and 'data-testid="awaiting"' not in html
    assert 'data-testid="awaiting-count">0<' in html and 'data-testid="decided"' in html
    assert 'data-testid="queue-pages"' not in html


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_issuer_list_query_budget(issuer, client_for, django_assert_max_num_queries, n):
    calls = [CallFactory(issuer=issuer.organization, status=CallStatus.UNDER_REVIEW) for _ in range(3)]
    for index, call in enumerate(calls):
        many_proposals(call, n, ProposalStatus.PASSED, start=index * 1000)
    c = client_for(issuer)
    with django_assert_max_num_queries(7):
        response = c.get("/proposals/for-my-calls/")
    assert response.status_code == 200
    assert response.content.decode().count("预算负责人") == 3 * n


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 20])
def test_dashboard_panels_query_budget(
    cast, client_for, administrator, issuer, lead_applicant, django_assert_max_num_queries, n
):
    # n calls, each with a submitted proposal led by the cast's lead unit, and n passed ones to the issuer's calls.
    many_proposals(None, n, ProposalStatus.SUBMITTED, lead_user=lead_applicant)
    many_proposals(None, n, ProposalStatus.DRAFT, lead_user=lead_applicant, start=500)
    many_proposals(None, n, ProposalStatus.RETURNED, lead_user=lead_applicant, start=700)
    for index in range(n):
        call = CallFactory(issuer=issuer.organization, status=CallStatus.UNDER_REVIEW)
        many_proposals(call, 1, ProposalStatus.PASSED, start=900 + index)
    budgets = {"administrator": 10, "lead_applicant": 8, "issuer": 9}
    for member, budget in budgets.items():
        c = client_for(cast[member])
        with django_assert_max_num_queries(budget):
            assert c.get("/accounts/dashboard/").status_code == 200


@pytest.mark.django_db
def test_review_pages_have_no_inline_code(client_for, administrator, issuer, call, proposal):
    import re

    queue_html = client_for(administrator).get(queue_url(call)).content.decode()
    services.pass_review(actor=administrator, proposal=proposal)
    pages = [
        queue_html,
        client_for(administrator).get(queue_url(call)).content.decode(),
        client_for(issuer).get("/proposals/for-my-calls/").content.decode(),
    ]
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 20])
def test_formal_review_links_cost_one_query_on_the_approval_page(
    administrator, client_for, issuer, django_assert_max_num_queries, n
):
    for index in range(n):
        call = CallFactory(issuer=issuer.organization, status=CallStatus.CLOSED)
        many_proposals(call, 1, ProposalStatus.SUBMITTED, start=index * 10)
    c = client_for(administrator)
    with django_assert_max_num_queries(6):
        html = c.get("/calls/review/").content.decode()
    assert html.count('data-testid="formal-review-link"') == n


# --- in a real browser --------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_form_per_row_in_a_browser(live_server, page, administrator, call, proposal):
    """The row's reason field serves return and reject: the browser asks for it before either, not
    before pass; Enter in it decides nothing."""
    second = submitted(call, another_lead("第二牵头单位有限公司"), n=2, title="第二个方案")
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", administrator.username)
    page.fill("#id_password", "pw-for-tests-only")
    page.click("button[type=submit].w-100")
    page.wait_for_url(f"{base}/accounts/dashboard/")
    page.goto(f"{base}{queue_url(call)}")

    row = page.locator(f'[data-testid="decide-{proposal.pk}"]')
    row.locator('input[name="reason"]').fill("请补充材料")
    row.locator('input[name="reason"]').press("Enter")
    page.click(f'[data-testid="return-{second.pk}"]')  # no reason typed in that row: the browser refuses
    page.wait_for_timeout(300)
    assert page.url == f"{base}{queue_url(call)}"
    assert set(Proposal.objects.values_list("status", flat=True)) == {ProposalStatus.SUBMITTED}

    page.click(f'[data-testid="pass-{second.pk}"]')  # no reason needed to pass
    page.wait_for_load_state()
    assert page.locator(f'[data-testid="pass-{second.pk}"]').count() == 0
    page.locator(f'[data-testid="decide-{proposal.pk}"] input[name="reason"]').fill("配套资金证明缺失")
    page.click(f'[data-testid="reject-{proposal.pk}"]')
    page.wait_for_load_state()
    assert page.locator('[data-testid="decided"]').inner_text().count("配套资金证明缺失") == 1
    statuses = dict(Proposal.objects.values_list("pk", "status"))
    assert statuses == {proposal.pk: ProposalStatus.REJECTED, second.pk: ProposalStatus.PASSED}
    assert Proposal.objects.get(pk=proposal.pk).review_reason == "配套资金证明缺失"
