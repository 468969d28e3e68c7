"""The expert's own pages: invitations, assignments, the frozen proposal, declaring a conflict."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from calls.choices import CallStatus
from calls.models import Call
from experts import avoidance
from experts.choices import ConflictReason, ConflictStatus
from experts.models import AvoidPerson, AvoidUnit, Conflict
from proposals import services as proposal_services
from proposals.models import Proposal, Submission
from reviews import draw as draw_service
from reviews.models import Assignment, Draw, Invitation, InvitationStatus
from reviews.routing import route_panel
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import in_days
from tests.factories_draw_pages import (
    ExpertFactory,
    accept_all,
    closed_call,
    drawn,
    expert_for,
    passed_proposal,
    pool,
)
from tests.factories_proposals import complete_proposal, open_call

MINE = "/reviews/mine/"


def assignment_page(assignment) -> str:
    return f"/reviews/assignments/{assignment.pk}/"


@pytest.fixture
def scene(cast, lead_org, member_org):
    """A closed call with one passed proposal (led by lead_org), a panel of three that accepted,
    routed: the assigned expert and a third expert review it; the conflicted expert (employed by
    the lead unit) is on the panel but never assigned."""
    admin = cast["administrator"]
    call = closed_call(issuer=cast["issuer"].organization)
    proposal = passed_proposal(call, lead_org, members=[member_org], title="高安全储能电池揭榜方案")
    assigned = expert_for(cast["assigned_expert"])
    conflicted = expert_for(cast["conflicted_expert"])  # employed by the lead unit
    third = ExpertFactory()
    draw = drawn(call, admin, panel_size=3)
    accept_all(draw)
    route_panel(actor=admin, call=call)
    return SimpleNamespace(
        admin=admin,
        call=call,
        proposal=proposal,
        draw=draw,
        assigned=assigned,
        conflicted=conflicted,
        third=third,
        assignment=Assignment.objects.get(expert=assigned, proposal=proposal, active=True),
        third_assignment=Assignment.objects.get(expert=third, proposal=proposal, active=True),
        invitations={i.expert_id: i for i in Invitation.objects.filter(draw=draw)},
    )


# --- who may open what ------------------------------------------------------------------------
EXPERT_PAGE_CAST = {
    "administrator": (403, 403),
    "supervisor": (403, 403),
    "issuer": (403, 403),
    "lead_applicant": (403, 403),
    "member_applicant": (403, 403),
    "outsider_applicant": (403, 403),
    "assigned_expert": (200, 200),
    "conflicted_expert": (200, 404),  # an expert, but not assigned (and conflicted)
}


@pytest.mark.django_db
@pytest.mark.parametrize("member, statuses", EXPERT_PAGE_CAST.items())
def test_expert_pages_as_the_cast(scene, cast, client_for, member, statuses):
    c = client_for(cast[member])
    assert (c.get(MINE).status_code, c.get(assignment_page(scene.assignment)).status_code) == statuses


@pytest.mark.django_db
def test_anonymous_and_profileless_experts(scene, client, client_for):
    for url in (MINE, assignment_page(scene.assignment)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    flag_only = UserFactory(is_expert=True)  # the role flag without an Expert row in the pool
    c = client_for(flag_only)
    assert c.get(MINE).status_code == 403
    assert c.get(assignment_page(scene.assignment)).status_code == 403
    assert 'data-testid="nav-my-reviews"' in c.get("/calls/").content.decode()


@pytest.mark.django_db
def test_each_expert_sees_exactly_its_own(scene, client_for):
    assigned_html = client_for(scene.assigned.user).get(MINE).content.decode()
    third_html = client_for(scene.third.user).get(MINE).content.decode()
    conflicted_html = client_for(scene.conflicted.user).get(MINE).content.decode()
    own, third, conflicted = (scene.invitations[e.pk] for e in (scene.assigned, scene.third, scene.conflicted))

    assert f'data-testid="invitation-{own.pk}"' in assigned_html
    assert f'data-testid="assignment-{scene.assignment.pk}"' in assigned_html
    for other in (third, conflicted):
        assert f'data-testid="invitation-{other.pk}"' not in assigned_html
    assert f'data-testid="assignment-{scene.third_assignment.pk}"' not in assigned_html

    assert f'data-testid="assignment-{scene.third_assignment.pk}"' in third_html
    assert f'data-testid="assignment-{scene.assignment.pk}"' not in third_html
    assert f'data-testid="invitation-{own.pk}"' not in third_html

    # The conflicted expert sat on the panel but never sees the proposal, not even its title.
    assert f'data-testid="invitation-{conflicted.pk}"' in conflicted_html
    assert scene.proposal.title not in conflicted_html
    assert not Assignment.objects.filter(expert=scene.conflicted).exists()

    # Another expert's assignment is not found, whoever asks.
    assert client_for(scene.third.user).get(assignment_page(scene.assignment)).status_code == 404
    assert client_for(scene.conflicted.user).get(assignment_page(scene.assignment)).status_code == 404


@pytest.mark.django_db
def test_backups_not_yet_invited_are_not_shown_to_them(administrator, client_for):
    call = closed_call()
    pool(3)
    draw = drawn(call, administrator, panel_size=1, backups=2)
    waiting = draw.invitations.filter(status=InvitationStatus.WAITING).select_related("expert__user").first()
    c = client_for(waiting.expert.user)
    assert f'data-testid="invitation-{waiting.pk}"' not in c.get(MINE).content.decode()
    assert c.post(f"/reviews/invitations/{waiting.pk}/accept/").status_code == 404
    assert Invitation.objects.get(pk=waiting.pk).status == InvitationStatus.WAITING


# --- answering invitations ---------------------------------------------------------------------
@pytest.fixture
def invited(administrator):
    call = closed_call()
    pool(3)
    draw = drawn(call, administrator, panel_size=2, backups=1)
    return {i.rank: i for i in draw.invitations.select_related("expert__user")}


@pytest.mark.django_db
def test_accept_and_decline_through_the_page(invited, client_for):
    first, second = invited[1], invited[2]
    c = client_for(first.expert.user)
    html = c.get(MINE).content.decode()
    assert f'data-testid="accept-{first.pk}"' in html and f'data-testid="decline-{first.pk}"' in html

    response = c.post(f"/reviews/invitations/{first.pk}/accept/")
    assert response.status_code == 302 and response["Location"].endswith(MINE)
    assert Invitation.objects.get(pk=first.pk).status == InvitationStatus.ACCEPTED
    html = c.post(f"/en/reviews/invitations/{first.pk}/accept/", follow=True).content.decode()
    assert "This invitation is no longer open." in html

    other = client_for(second.expert.user)
    html = other.post(f"/en/reviews/invitations/{second.pk}/decline/", {"reason": "  "}, follow=True).content.decode()
    assert "Please say why you decline." in html
    assert Invitation.objects.get(pk=second.pk).status == InvitationStatus.PENDING
    other.post(f"/reviews/invitations/{second.pk}/decline/", {"reason": "与本人研究方向不符"})
    second.refresh_from_db()
    assert second.status == InvitationStatus.DECLINED and second.reason == "与本人研究方向不符"
    backup = Invitation.objects.get(pk=invited[3].pk)
    assert backup.status == InvitationStatus.PENDING and backup.replaces_id == second.pk
    assert other.post(f"/reviews/invitations/{second.pk}/maybe/").status_code == 404


@pytest.mark.django_db
def test_nobody_answers_another_experts_invitation(invited, cast, client_for):
    target = invited[1]
    for user in (invited[2].expert.user, cast["administrator"], cast["lead_applicant"]):
        status = client_for(user).post(f"/reviews/invitations/{target.pk}/accept/").status_code
        assert status in (403, 404)
    assert client_for(invited[2].expert.user).post(f"/reviews/invitations/{target.pk}/accept/").status_code == 404
    assert Invitation.objects.get(pk=target.pk).status == InvitationStatus.PENDING


@pytest.mark.django_db
def test_late_answers_are_refused(invited, client_for):
    late = invited[1]
    Invitation.objects.filter(pk=late.pk).update(respond_by=timezone.now() - timedelta(hours=1))
    html = client_for(late.expert.user).post(f"/en/reviews/invitations/{late.pk}/accept/", follow=True).content.decode()
    assert "The time to answer this invitation has passed." in html
    assert Invitation.objects.get(pk=late.pk).status == InvitationStatus.PENDING


# --- the assignment page -----------------------------------------------------------------------
@pytest.mark.django_db
def test_assignment_page_shows_the_latest_frozen_submission_read_only(scene, client_for):
    c = client_for(scene.assigned.user)
    html = c.get("/en" + assignment_page(scene.assignment)).content.decode()
    snapshot = Submission.objects.get(proposal=scene.proposal).snapshot
    pi = snapshot["team"][0]
    assert scene.proposal.title in html
    assert pi["name"] in html and pi["id_number"] in html and "*" in pi["id_number"]
    full_id = scene.proposal.team.get().person.id_number
    assert full_id not in html  # reviewers only ever see masked ID numbers
    units = re.search(r'data-testid="units">(.*?)</table>', html, re.S).group(1)
    assert scene.proposal.lead_organization.name in units and "Lead unit" in units and "Member unit" in units
    assert "能量密度" in html and "循环寿命" in html  # every target's commitment
    assert "样机" in html and "示范线" in html
    budget = re.search(r'data-testid="budget">(.*?)</table>', html, re.S).group(1)
    assert "100.00" in budget and "200.00" in budget and "设备费" in budget
    attachments = re.search(r'data-testid="attachments">(.*?)</ul>', html, re.S).group(1)
    # Linked through the reviews app (the same check as this page), never the applicant's URL.
    assert (
        "科研诚信承诺书.pdf" in attachments
        and f"/reviews/assignments/{scene.assignment.pk}/attachments/" in attachments
    )
    assert "/proposals/" not in attachments
    assert 'name="reason"' in html and "Declared: relative" in html and "on_team" not in html

    # The page shows the latest submitted version, not the live draft.
    Proposal.objects.filter(pk=scene.proposal.pk).update(title="提交后改过的标题")
    latest = dict(snapshot, title="第二版方案标题", technical_route="第二版技术路线。")
    Submission.objects.create(
        proposal=scene.proposal,
        version=2,
        submitted_at=timezone.now(),
        submitted_by=scene.admin,
        snapshot=latest,
        sha256="f" * 64,
    )
    html = c.get(assignment_page(scene.assignment)).content.decode()
    assert "第二版技术路线。" in html and "材料体系优化" not in html


@pytest.mark.django_db
def test_an_inactive_assignment_is_404(scene, client_for):
    c = client_for(scene.assigned.user)
    draw_service.mark_no_show(actor=scene.admin, invitation=scene.invitations[scene.assigned.pk])
    assert not Assignment.objects.get(pk=scene.assignment.pk).active
    assert c.get(assignment_page(scene.assignment)).status_code == 404
    assert f'data-testid="assignment-{scene.assignment.pk}"' not in c.get(MINE).content.decode()


@pytest.mark.django_db
def test_a_computed_conflict_closes_the_assignment_page_at_once(scene, client_for):
    c = client_for(scene.assigned.user)
    assert c.get(assignment_page(scene.assignment)).status_code == 200
    AvoidUnit.objects.create(expert=scene.assigned, credit_code=scene.proposal.lead_organization.credit_code)
    avoidance.sync(Proposal.objects.filter(pk=scene.proposal.pk).select_related("call"))
    # The assignment row is still active (routing has not run again), yet the expert sees nothing.
    assert Assignment.objects.get(pk=scene.assignment.pk).active
    assert c.get(assignment_page(scene.assignment)).status_code == 404
    html = c.get(MINE).content.decode()
    assert f'data-testid="assignment-{scene.assignment.pk}"' not in html and scene.proposal.title not in html


@pytest.mark.django_db
def test_a_possible_conflict_blocks_until_dismissed(scene, client_for):
    c = client_for(scene.assigned.user)
    pi_name = scene.proposal.team.get().person.name
    AvoidPerson.objects.create(expert=scene.assigned, name=pi_name)  # name only: possible
    avoidance.sync(Proposal.objects.filter(pk=scene.proposal.pk).select_related("call"))
    conflict = Conflict.objects.get(expert=scene.assigned, proposal=scene.proposal)
    assert conflict.status == ConflictStatus.POTENTIAL
    assert c.get(assignment_page(scene.assignment)).status_code == 404
    admin = client_for(scene.admin)
    assert admin.post(f"/reviews/draws/{scene.draw.pk}/conflicts/{conflict.pk}/dismiss/").status_code == 302
    assert c.get(assignment_page(scene.assignment)).status_code == 200


@pytest.mark.django_db
def test_declaring_a_conflict_withdraws_the_assignment(scene, client_for):
    c = client_for(scene.assigned.user)
    response = c.post(
        f"/en/reviews/assignments/{scene.assignment.pk}/declare/",
        {"reason": ConflictReason.TEACHER_STUDENT, "detail": "项目负责人是我的博士导师"},
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"/en{MINE}")
    assert "has been withdrawn from you" in html
    conflict = Conflict.objects.get(expert=scene.assigned, proposal=scene.proposal)
    assert conflict.declared and conflict.status == ConflictStatus.CONFIRMED
    assert conflict.reason == ConflictReason.TEACHER_STUDENT and conflict.detail == "项目负责人是我的博士导师"
    assert not Assignment.objects.get(pk=scene.assignment.pk).active
    entry = AuditEntry.objects.get(action="assignment.withdraw_for_conflict")
    assert entry.actor == scene.assigned.user and entry.object_id == str(scene.assignment.pk)
    assert entry.after["active"] is False and entry.reason == "项目负责人是我的博士导师"
    assert AuditEntry.objects.filter(action="conflict.declare", actor=scene.assigned.user).exists()

    assert c.get(assignment_page(scene.assignment)).status_code == 404
    assert f'data-testid="assignment-{scene.assignment.pk}"' not in c.get(MINE).content.decode()
    # The invitation stands; routing again (the administrator's step) never reassigns the pair.
    assert Invitation.objects.get(pk=scene.invitations[scene.assigned.pk].pk).status == InvitationStatus.ACCEPTED
    route_panel(actor=scene.admin, call=scene.call)
    assert not Assignment.objects.filter(expert=scene.assigned, proposal=scene.proposal, active=True).exists()
    assert Assignment.objects.filter(expert=scene.third, proposal=scene.proposal, active=True).exists()


@pytest.mark.django_db
def test_declaring_needs_a_declarable_reason(scene, client_for):
    c = client_for(scene.assigned.user)
    url = f"/en/reviews/assignments/{scene.assignment.pk}/declare/"
    response = c.post(url, {"reason": ConflictReason.ON_TEAM, "detail": "x"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = c.post(url, {"reason": ConflictReason.OTHER, "detail": " "})
    assert response.status_code == 200 and "Please describe the conflict." in response.content.decode()
    assert Assignment.objects.get(pk=scene.assignment.pk).active
    assert not Conflict.objects.filter(expert=scene.assigned).exists()
    # Nobody declares on another expert's assignment.
    other = client_for(scene.third.user)
    assert other.post(url, {"reason": ConflictReason.RELATIVE}).status_code == 404
    assert Assignment.objects.get(pk=scene.assignment.pk).active


# --- the whole way: applicant submits, formal review passes, the panel is drawn and routed ------
@pytest.mark.django_db
def test_assignment_page_after_the_real_workflow(cast, client_for, lead_org):
    admin = cast["administrator"]
    call = open_call(issuer=cast["issuer"].organization)
    draft = complete_proposal(call, cast["lead_applicant"], title="真实流程的揭榜方案")
    proposal_services.submit_proposal(actor=cast["lead_applicant"], proposal=draft)
    Call.objects.filter(pk=call.pk).update(status=CallStatus.CLOSED, deadline=in_days(-1))
    proposal_services.pass_review(actor=admin, proposal=Proposal.objects.get(pk=draft.pk))
    call.refresh_from_db()
    expert = expert_for(cast["assigned_expert"])
    expert_for(cast["conflicted_expert"])
    draw = drawn(call, admin, panel_size=2)
    accept_all(draw)
    route_panel(actor=admin, call=call)
    assignment = Assignment.objects.get(expert=expert, active=True)
    html = client_for(expert.user).get(assignment_page(assignment)).content.decode()
    submission = Submission.objects.get(proposal_id=draft.pk)
    assert "真实流程的揭榜方案" in html and submission.sha256 in html
    for attachment in submission.snapshot["attachments"]:
        assert attachment["name"] in html
    conflicted = Assignment.objects.filter(expert__user=cast["conflicted_expert"])
    assert not conflicted.exists()


# --- query budget and dashboard ----------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_my_reviews_query_budget(administrator, client_for, django_assert_max_num_queries, rows):
    expert = ExpertFactory()
    call = closed_call()
    draws = Draw.objects.bulk_create(
        [
            Draw(
                call=call,
                fields=[call.field],
                panel_size=1,
                backups=0,
                rule_version="draw-v1",
                commitment=f"{n:064x}",
                seed=f"{n:064x}",
                status="drawn",
                created_by=administrator,
            )
            for n in range(rows)
        ]
    )
    now = timezone.now()
    invitations = Invitation.objects.bulk_create(
        [
            Invitation(
                draw=draw,
                expert=expert,
                rank=1,
                status=InvitationStatus.PENDING if n % 2 else InvitationStatus.ACCEPTED,
                invited_at=now,
                respond_by=now + timedelta(days=3),
                responded_at=None if n % 2 else now,
            )
            for n, draw in enumerate(draws)
        ]
    )
    proposals = Proposal.objects.bulk_create(
        [
            Proposal(
                call=call,
                lead_organization=OrganizationFactory(),
                title=f"方案{n}",
                status="passed",
                created_by=administrator,
            )
            for n in range(rows)
        ]
    )
    Assignment.objects.bulk_create(
        [Assignment(proposal=p, expert=expert, invitation=invitations[0]) for p in proposals]
    )
    c = client_for(expert.user)
    with django_assert_max_num_queries(8):
        html = c.get(MINE).content.decode()
    assert html.count('data-testid="assignment-') == rows
    assert html.count('data-testid="accept-') == rows // 2


@pytest.mark.django_db
def test_expert_dashboard_counts_and_links(scene, administrator, client_for, django_assert_max_num_queries):
    other_call = closed_call()
    second = drawn(other_call, administrator, panel_size=3)
    pending = second.invitations.get(expert=scene.assigned)
    c = client_for(scene.assigned.user)
    with django_assert_max_num_queries(9):
        html = c.get("/accounts/dashboard/").content.decode()
    assert re.search(r'data-testid="pending-invitations">1<', html)
    assert re.search(r'data-testid="assigned-proposals">1<', html)
    assert f'href="/reviews/mine/#invitation-{pending.pk}"' in html
    # An expert with the role flag but no profile gets a note, not an error.
    flag_only = UserFactory(is_expert=True)
    html = client_for(flag_only).get("/accounts/dashboard/").content.decode()
    assert 'data-testid="panel-my-reviews"' in html and 'data-testid="pending-invitations"' not in html


@pytest.mark.django_db
def test_review_pages_have_no_inline_code(scene, client_for):
    admin = client_for(scene.admin)
    expert = client_for(scene.assigned.user)
    pages = [
        (admin, "/reviews/"),
        (admin, f"/reviews/calls/{scene.call.code}/draws/"),
        (admin, f"/reviews/draws/{scene.draw.pk}/"),
        (expert, MINE),
        (expert, assignment_page(scene.assignment)),
        (expert, "/accounts/dashboard/"),
        (admin, "/accounts/dashboard/"),
    ]
    for c, url in pages:
        html = c.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url


def test_assigned_expert_downloads_the_submitted_attachments_and_nobody_else(scene, client_for, cast):
    from django.core.files.base import ContentFile

    from proposals.models import Attachment, Submission

    attachment = Attachment(
        proposal=scene.proposal,
        kind="integrity_pledge",
        original_name="承诺书.pdf",
        size=30,
        sha256="0" * 64,
        uploaded_by=cast["lead_applicant"],
    )
    attachment.file.save("x.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=True)
    url = f"/reviews/assignments/{scene.assignment.pk}/attachments/{attachment.pk}/"
    # Not in the submitted snapshot yet: not served, even to the assigned expert.
    assert client_for(scene.assigned.user).get(url).status_code == 404
    submission = Submission.objects.filter(proposal=scene.proposal).order_by("-version").first()
    snapshot = dict(submission.snapshot)
    snapshot["attachments"] = [{"id": attachment.pk, "kind": "integrity_pledge", "name": "承诺书.pdf", "size": 30}]
    Submission.objects.filter(pk=submission.pk).update(snapshot=snapshot)
    response = client_for(scene.assigned.user).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    for user in [scene.third.user, scene.conflicted.user, cast["outsider_applicant"], cast["administrator"], None]:
        assert client_for(user).get(url).status_code in (302, 404)
