"""The expert side of the review over the API: invitations (accept, decline, no-show), routing a
call's panel and declaring a conflict — with the pages' rules and audit entries."""

from datetime import timedelta

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from experts.choices import ConflictReason, ConflictStatus
from experts.models import Conflict, Expert
from reviews.models import Assignment, Draw, DrawStatus, Invitation, InvitationStatus
from tests.factories_draw_pages import ExpertFactory, accept_all, closed_call, drawn, passed_proposal, pool
from tests.factories_reviews import add_draw, review_call

INVITATIONS, DRAWS, ASSIGNMENTS = "/api/v1/invitations/", "/api/v1/draws/", "/api/v1/assignments/"
OUTSIDERS = ("issuer", "lead_applicant", "member_applicant", "outsider_applicant", "assigned_expert")


@pytest.fixture
def made(administrator):
    """A made draw: two experts invited (pending), one backup waiting."""
    call = closed_call()
    pool(3)
    draw = drawn(call, administrator, panel_size=2, backups=1)
    first, second, backup = draw.invitations.select_related("expert__user").order_by("rank")
    return draw, first, second, backup


def audit(action, invitation):
    return AuditEntry.objects.filter(action=action, object_type="reviews.invitation", object_id=str(invitation.pk))


# --- reading --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_invitations_cast(api, cast, administrator, supervisor, made):
    draw, first, second, backup = made
    mine = api(first.expert.user).get(INVITATIONS).json()
    assert [i["id"] for i in mine["results"]] == [first.pk]
    assert mine["results"][0]["call"] == draw.call.code and mine["results"][0]["status"] == "pending"
    assert api(first.expert.user).get(f"{INVITATIONS}{first.pk}/").status_code == 200
    assert api(first.expert.user).get(f"{INVITATIONS}{second.pk}/").status_code == 404
    # A backup not yet invited sees nothing of it.
    assert api(backup.expert.user).get(INVITATIONS).json()["count"] == 0
    assert api(backup.expert.user).get(f"{INVITATIONS}{backup.pk}/").status_code == 404
    for user in (administrator, supervisor):
        assert api(user).get(INVITATIONS).json()["count"] == 3
        waiting = api(user).get(f"{INVITATIONS}?call={draw.call.code}&status=waiting").json()
        assert [i["id"] for i in waiting["results"]] == [backup.pk]
        assert api(user).get(f"{INVITATIONS}?draw={draw.pk}&expert={second.expert_id}").json()["count"] == 1
        assert api(user).get(f"{INVITATIONS}{backup.pk}/").json()["rank"] == 3
    for name in OUTSIDERS:
        assert api(cast[name]).get(INVITATIONS).status_code == 403, name
        assert api(cast[name]).get(f"{INVITATIONS}{first.pk}/").status_code == 403, name
    assert api().get(INVITATIONS).status_code in (401, 403)
    assert api(administrator).get(f"{INVITATIONS}999999/").status_code == 404
    assert api(administrator).get(f"{INVITATIONS}?status=nope").status_code == 400


# --- accept and decline ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_only_the_invited_expert_answers(api, cast, administrator, supervisor, made):
    _draw, first, second, _backup = made
    for path in ("accept/", "decline/"):
        url = f"{INVITATIONS}{first.pk}/{path}"
        body = {"reason": "出差"}
        for user in (administrator, supervisor):
            assert api(user).post(url, body, format="json").status_code == 403, (path, user)
        assert api(second.expert.user).post(url, body, format="json").status_code == 404, path
        for name in OUTSIDERS:
            assert api(cast[name]).post(url, body, format="json").status_code == 403, (path, name)
        assert api().post(url, body, format="json").status_code in (401, 403)
    first.refresh_from_db()
    assert first.status == InvitationStatus.PENDING
    assert not AuditEntry.objects.filter(object_type="reviews.invitation").exists()


@pytest.mark.django_db
def test_expert_accepts(api, made):
    _draw, first, _second, _backup = made
    url = f"{INVITATIONS}{first.pk}/accept/"
    accepted = api(first.expert.user).post(url)
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["status"] == "accepted" and accepted.json()["responded_at"]
    assert audit("invitation.accept", first).get().actor == first.expert.user
    again = api(first.expert.user).post(url)
    assert again.status_code == 400 and again.json()["non_field_errors"]
    declined_after = api(first.expert.user).post(f"{INVITATIONS}{first.pk}/decline/", {"reason": "有事"}, format="json")
    assert declined_after.status_code == 400 and declined_after.json()["non_field_errors"]


@pytest.mark.django_db
def test_expert_declines_and_the_next_backup_is_invited(api, made):
    _draw, _first, second, backup = made
    url = f"{INVITATIONS}{second.pk}/decline/"
    user = second.expert.user
    no_reason = api(user).post(url, {}, format="json")
    assert no_reason.status_code == 400 and list(no_reason.json()) == ["reason"]
    blank = api(user).post(url, {"reason": "  "}, format="json")
    assert blank.status_code == 400 and list(blank.json()) == ["reason"]
    too_long = api(user).post(url, {"reason": "忙" * 301}, format="json")
    assert too_long.status_code == 400 and list(too_long.json()) == ["reason"]
    assert not audit("invitation.declined", second).exists()
    declined = api(user).post(url, {"reason": "近期出国"}, format="json")
    assert declined.status_code == 200, declined.json()
    assert declined.json()["status"] == "declined" and declined.json()["reason"] == "近期出国"
    assert audit("invitation.declined", second).get().reason == "近期出国"
    backup.refresh_from_db()
    assert backup.status == InvitationStatus.PENDING and backup.replaces_id == second.pk
    # The backup now sees its invitation.
    assert [i["id"] for i in api(backup.expert.user).get(INVITATIONS).json()["results"]] == [backup.pk]
    again = api(user).post(url, {"reason": "近期出国"}, format="json")
    assert again.status_code == 400 and again.json()["non_field_errors"]


@pytest.mark.django_db
def test_late_answers_are_refused(api, made):
    _draw, first, _second, _backup = made
    Invitation.objects.filter(pk=first.pk).update(respond_by=timezone.now() - timedelta(hours=1))
    late = api(first.expert.user).post(f"{INVITATIONS}{first.pk}/accept/")
    assert late.status_code == 400 and late.json()["non_field_errors"]
    first.refresh_from_db()
    assert first.status == InvitationStatus.PENDING


# --- no-shows -------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_no_show_cast(api, cast, supervisor, made):
    _draw, first, second, _backup = made
    url = f"{INVITATIONS}{first.pk}/no-show/"
    assert api(supervisor).post(url, {}, format="json").status_code == 403
    assert api(first.expert.user).post(url, {}, format="json").status_code == 403  # its own: visible, not allowed
    assert api(second.expert.user).post(url, {}, format="json").status_code == 404
    for name in OUTSIDERS:
        assert api(cast[name]).post(url, {}, format="json").status_code == 403, name
    first.refresh_from_db()
    assert first.status == InvitationStatus.PENDING and first.expert.no_show_count == 0


@pytest.mark.django_db
def test_administrator_marks_no_shows(api, administrator, made):
    draw, first, second, backup = made
    accept_all(draw)
    url = f"{INVITATIONS}{first.pk}/no-show/"
    too_long = api(administrator).post(url, {"reason": "缺" * 301}, format="json")
    assert too_long.status_code == 400 and list(too_long.json()) == ["reason"]
    marked = api(administrator).post(url, {"reason": "评审会未到"}, format="json")
    assert marked.status_code == 200, marked.json()
    body = marked.json()
    assert body["invitation"]["status"] == "no_show" and body["invitation"]["reason"] == "评审会未到"
    assert body["backup"]["id"] == backup.pk and body["backup"]["status"] == "pending"
    assert body["backup"]["replaces"] == first.pk
    assert Expert.objects.get(pk=first.expert_id).no_show_count == 1
    assert audit("invitation.no_show", first).get().actor == administrator
    again = api(administrator).post(url, {}, format="json")
    assert again.status_code == 400 and again.json()["non_field_errors"]
    # No backup left: the invitation still ends, and the answer says so.
    last = api(administrator).post(f"{INVITATIONS}{second.pk}/no-show/", {}, format="json")
    assert last.status_code == 200 and last.json()["backup"] is None
    assert last.json()["invitation"]["reason"]  # the default reason
    assert api(administrator).post(f"{INVITATIONS}999999/no-show/", {}, format="json").status_code == 404


# --- routing --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_route_cast_and_validation(api, cast, administrator, supervisor, client_for):
    call = closed_call()
    passed_proposal(call, cast["lead_applicant"].organization)
    body = {"call": call.code}
    for user in (supervisor, *(cast[name] for name in OUTSIDERS)):
        assert api(user).post(f"{DRAWS}route/", body, format="json").status_code == 403
    assert api().post(f"{DRAWS}route/", body, format="json").status_code in (401, 403)
    unknown = api(administrator).post(f"{DRAWS}route/", {"call": "JB-0000-404"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["call"]
    no_draw = api(administrator).post(f"{DRAWS}route/", body, format="json")
    assert no_draw.status_code == 400 and no_draw.json()["non_field_errors"]
    Draw.objects.create(
        call=call,
        fields=[call.field],
        panel_size=1,
        backups=0,
        rule_version="draw-v1",
        commitment="0" * 64,
        seed="1" * 64,
        status=DrawStatus.COMMITTED,
        created_by=administrator,
    )
    committed_only = api(administrator).post(f"{DRAWS}route/", body, format="json")
    assert committed_only.status_code == 400 and committed_only.json()["non_field_errors"]
    # The page keeps its answer now that the check lives in reviews.routing.route_panel.
    page = client_for(administrator).post(reverse("reviews:route", args=[call.code]))
    assert page.status_code == 302
    assert [m.level for m in get_messages(page.wsgi_request)] == [messages.ERROR]
    assert not AuditEntry.objects.filter(action="routing.panel").exists()
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_administrator_routes_the_panel(api, administrator, lead_org):
    call = closed_call()
    proposal = passed_proposal(call, lead_org)
    pool(3)
    draw = drawn(call, administrator, panel_size=2, backups=1)
    accept_all(draw)
    routed = api(administrator).post(f"{DRAWS}route/", {"call": call.code}, format="json")
    assert routed.status_code == 200, routed.json()
    report = routed.json()
    panel = set(draw.invitations.filter(status=InvitationStatus.ACCEPTED).values_list("expert_id", flat=True))
    assert report["proposals"] == 1 and report["created"] == 2 and report["ended"] == 0
    assert set(Assignment.objects.filter(proposal=proposal, active=True).values_list("expert_id", flat=True)) == panel
    # The programme asks for more reviewers than the panel: the backup is invited.
    minimum = call.programme.min_reviewers
    assert report["short"] == [{"proposal": proposal.pk, "missing": minimum - 2}]
    backup = draw.invitations.get(rank=3)
    assert report["invited"] == [backup.pk] and report["exhausted"] is False
    assert AuditEntry.objects.get(action="routing.panel").actor == administrator
    again = api(administrator).post(f"{DRAWS}route/", {"call": call.code}, format="json").json()
    assert again["created"] == 0 and again["invited"] == [] and again["exhausted"] is True


# --- declaring a conflict -------------------------------------------------------------------------------
@pytest.fixture
def panel(administrator):
    review = review_call(administrator, proposals=2, experts=2)
    add_draw(review, administrator, backups=1)
    return review


@pytest.mark.django_db
def test_declare_conflict_cast(api, cast, administrator, supervisor, panel):
    expert, colleague = panel.experts
    assignment = panel.assignment(panel.proposals[0], expert)
    url = f"{ASSIGNMENTS}{assignment.pk}/declare-conflict/"
    body = {"reason": ConflictReason.COAUTHOR, "detail": "2023年合作论文"}
    for user in (administrator, supervisor):
        assert api(user).post(url, body, format="json").status_code == 403
    assert api(colleague.user).post(url, body, format="json").status_code == 404
    for name in OUTSIDERS:
        assert api(cast[name]).post(url, body, format="json").status_code == 403, name
    assert api(panel.leads[0]).post(url, body, format="json").status_code == 403
    assert api(administrator).post(f"{ASSIGNMENTS}999999/declare-conflict/", body, format="json").status_code == 404
    assert not Conflict.objects.exists()
    assert Assignment.objects.get(pk=assignment.pk).active


@pytest.mark.django_db
def test_expert_declares_a_conflict(api, administrator, panel):
    expert = panel.experts[0]
    proposal = panel.proposals[0]
    assignment = panel.assignment(proposal, expert)
    url = f"{ASSIGNMENTS}{assignment.pk}/declare-conflict/"
    user = expert.user
    missing = api(user).post(url, {}, format="json")
    assert missing.status_code == 400 and list(missing.json()) == ["reason"]
    computed = api(user).post(url, {"reason": ConflictReason.EMPLOYER_UNIT}, format="json")
    assert computed.status_code == 400 and list(computed.json()) == ["reason"]  # not a declared kind
    other = api(user).post(url, {"reason": ConflictReason.OTHER, "detail": " "}, format="json")
    assert other.status_code == 400 and list(other.json()) == ["detail"]
    assert not Conflict.objects.exists()
    declared = api(user).post(url, {"reason": ConflictReason.TEACHER_STUDENT, "detail": "博士导师"}, format="json")
    assert declared.status_code == 200, declared.json()
    assert declared.json()["id"] == assignment.pk and declared.json()["active"] is False
    conflict = Conflict.objects.get(expert=expert, proposal=proposal)
    assert conflict.declared and conflict.status == ConflictStatus.CONFIRMED and conflict.detail == "博士导师"
    assert AuditEntry.objects.filter(action="conflict.declare", actor=user).exists()
    assert AuditEntry.objects.get(action="assignment.withdraw_for_conflict", object_id=str(assignment.pk)).actor == user
    assert AuditEntry.objects.filter(action="routing.panel").exists()  # the panel is routed again
    # The proposal is gone from the expert; declaring again finds nothing.
    assert api(user).get(f"{ASSIGNMENTS}{assignment.pk}/").status_code == 404
    assert {a["proposal"] for a in api(user).get(ASSIGNMENTS).json()["results"]} == {panel.proposals[1].pk}
    assert api(user).post(url, {"reason": ConflictReason.RELATIVE}, format="json").status_code == 404
    # Too few reviewers are left for the proposal: the waiting backup is invited.
    assert Invitation.objects.filter(status=InvitationStatus.PENDING).count() == 1


# --- query budgets --------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_invitation_list_query_budgets(api, django_assert_max_num_queries, administrator, n):
    expert = ExpertFactory()
    now = timezone.now()
    for _ in range(n):
        call = closed_call()
        draw = Draw.objects.create(
            call=call,
            fields=[call.field],
            panel_size=1,
            backups=0,
            rule_version="draw-v1",
            commitment="0" * 64,
            seed="1" * 64,
            status=DrawStatus.DRAWN,
            created_by=administrator,
            drawn_at=now,
        )
        Invitation.objects.create(draw=draw, expert=expert, rank=1, status=InvitationStatus.PENDING, invited_at=now)
    for user, budget in ((administrator, 2), (expert.user, 3)):
        with django_assert_max_num_queries(budget):
            response = api(user).get(f"{INVITATIONS}?page_size=100")
        assert response.status_code == 200
        assert response.json()["count"] == n
