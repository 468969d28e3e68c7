"""The draw pages, the verify_draw command, replacement order and routing, as the cast sees them."""

import hashlib
import hmac
import re

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from calls.choices import CallStatus, TechField
from experts import avoidance
from experts.choices import ConflictReason, ConflictStatus
from experts.models import AvoidPerson, AvoidUnit, Conflict
from reviews import draw as draw_service
from reviews.draw import commitment_of, pool_hash_of, rank, verify
from reviews.models import Assignment, Draw, DrawStatus, Invitation, InvitationStatus
from reviews.routing import reviewable_proposals, route_panel
from tests.factories import OrganizationFactory
from tests.factories_calls import in_days
from tests.factories_draw_pages import ExpertFactory, closed_call, drawn, passed_proposal, pool

READERS = {"administrator": 200, "supervisor": 200}
OTHERS = ["issuer", "lead_applicant", "member_applicant", "outsider_applicant", "assigned_expert", "conflicted_expert"]
CAST_STATUS = {**READERS, **dict.fromkeys(OTHERS, 403)}


def zh(message: str) -> str:
    """The message as the (Chinese, default-language) pages and commands show it."""
    from django.utils import translation

    with translation.override("zh-hans"):
        return translation.gettext(message)


def call_page(call) -> str:
    return f"/reviews/calls/{call.code}/draws/"


def record_page(draw) -> str:
    return f"/reviews/draws/{draw.pk}/"


def cell(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</(?:td|dd|ul|div|strong|code)>', html, re.S)
    assert match, testid
    return match.group(1)


def seed_placing(expert_id: int, pool_ids: list[int], within: int) -> str:
    """A seed whose ranking puts expert_id among the first `within` places (found with the public rule)."""
    for n in range(10_000):
        seed = hashlib.sha256(str(n).encode()).hexdigest()
        if expert_id in rank(seed, pool_ids)[:within]:
            return seed
    raise AssertionError("no seed found")


def use_seed(monkeypatch, seed: str) -> None:
    monkeypatch.setattr(draw_service.secrets, "token_hex", lambda n: seed)


# --- who may open what ------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("member, status", CAST_STATUS.items())
def test_draw_pages_as_the_cast(cast, client_for, member, status):
    call = closed_call(issuer=cast["issuer"].organization)
    pool(3)
    draw = drawn(call, cast["administrator"], panel_size=2, backups=1)
    c = client_for(cast[member])
    assert c.get("/reviews/").status_code == status
    assert c.get(call_page(call)).status_code == status
    assert c.get(record_page(draw)).status_code == status


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, administrator):
    call = closed_call()
    draw = draw_service.commit(actor=administrator, call=call, panel_size=1, backups=0)
    for url in ("/reviews/", call_page(call), record_page(draw)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_unknown_call_or_draw_is_404_for_readers(administrator, client_for):
    c = client_for(administrator)
    assert c.get("/reviews/calls/JB-NOPE/draws/").status_code == 404
    assert c.get("/reviews/draws/999999/").status_code == 404


@pytest.mark.django_db
def test_supervisor_reads_but_cannot_act(cast, client_for, lead_org):
    admin, supervisor = cast["administrator"], cast["supervisor"]
    call = closed_call()
    proposal = passed_proposal(call, lead_org, team=[("150102198001011237", "王五")])
    experts = pool(3)
    AvoidPerson.objects.create(expert=experts[0], name="王五")
    committed = draw_service.commit(actor=admin, call=call, panel_size=2, backups=0)
    draw = drawn(call, admin, panel_size=2, backups=1)
    avoidance.sync(reviewable_proposals(call))
    possible = Conflict.objects.get(proposal=proposal, status=ConflictStatus.POTENTIAL)
    invitation = draw.invitations.get(rank=1)

    c = client_for(supervisor)
    html = c.get(call_page(call)).content.decode()
    assert f'data-testid="draw-{draw.pk}"' in html
    for marker in ('data-testid="commit-form"', 'data-testid="perform-', 'data-testid="route"'):
        assert marker not in html
    html = c.get(record_page(draw)).content.decode()
    assert 'data-testid="verify-ok"' in html and f'data-testid="conflict-{possible.pk}"' in html
    assert "no-show-" not in html and f"confirm-{possible.pk}" not in html

    assert c.post(f"/reviews/calls/{call.code}/draws/commit/", {"panel_size": 1, "backups": 0}).status_code == 403
    assert c.post(f"/reviews/draws/{committed.pk}/perform/").status_code == 403
    assert c.post(f"/reviews/calls/{call.code}/route/").status_code == 403
    assert c.post(f"/reviews/draws/{draw.pk}/invitations/{invitation.pk}/no-show/").status_code == 403
    assert c.post(f"/reviews/draws/{draw.pk}/conflicts/{possible.pk}/confirm/").status_code == 403
    assert Draw.objects.filter(call=call).count() == 2
    assert Draw.objects.get(pk=committed.pk).status == DrawStatus.COMMITTED
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING
    assert Conflict.objects.get(pk=possible.pk).status == ConflictStatus.POTENTIAL
    assert not Assignment.objects.exists()

    # Nobody else may act either.
    issuer = client_for(cast["issuer"])
    assert issuer.post(f"/reviews/calls/{call.code}/draws/commit/", {"panel_size": 1, "backups": 0}).status_code == 403
    assert issuer.post(f"/reviews/draws/{committed.pk}/perform/").status_code == 403


# --- commit → perform → verify -----------------------------------------------------------------
@pytest.mark.django_db
def test_commit_perform_verify_round_trip_through_the_pages(administrator, client_for):
    call = closed_call(field=TechField.RARE_EARTH)
    call.programme.min_reviewers = 4
    call.programme.save()
    experts = pool(8, fields=[TechField.RARE_EARTH.value])
    pool(2, fields=[TechField.DAIRY.value])  # another field: not in the pool
    c = client_for(administrator)

    html = c.get(call_page(call)).content.decode()
    assert re.search(r'name="panel_size" value="4"', html)  # the programme's minimum
    assert re.search(r'name="backups" value="3"', html)
    assert f'<option value="{TechField.RARE_EARTH.value}" selected>' in html

    response = c.post(
        f"/reviews/calls/{call.code}/draws/commit/",
        {"panel_size": 3, "backups": 2, "fields": [TechField.RARE_EARTH.value]},
    )
    assert response.status_code == 302
    draw = Draw.objects.get(call=call)
    assert draw.status == DrawStatus.COMMITTED and draw.fields == [TechField.RARE_EARTH.value]
    html = c.get(call_page(call)).content.decode()
    assert draw.commitment in html and draw.seed not in html
    assert f'data-testid="perform-{draw.pk}"' in html
    html = c.get(record_page(draw)).content.decode()
    assert draw.commitment in html and draw.seed not in html and 'data-testid="seed-secret"' in html

    response = c.post(f"/reviews/draws/{draw.pk}/perform/")
    assert response.status_code == 302 and response["Location"].endswith(record_page(draw))
    draw.refresh_from_db()
    assert draw.status == DrawStatus.DRAWN
    assert draw.pool == sorted(e.pk for e in experts)
    assert verify(draw) == []

    html = c.get(record_page(draw)).content.decode()
    assert cell(html, "seed") == draw.seed
    assert cell(html, "pool-hash") == draw.pool_hash
    assert cell(html, "pool-size") == "8"
    assert cell(html, "rule-version") == "draw-v1"
    assert 'data-testid="verify-ok"' in html
    names = {e.pk: e.name for e in experts}
    positions = [html.index(names[expert_id]) for expert_id in draw.ranking]
    assert positions == sorted(positions)  # the ranking is shown in order
    statuses = list(draw.invitations.order_by("rank").values_list("status", flat=True))
    assert statuses == ["pending"] * 3 + ["waiting"] * 2

    # A draw is made once.
    html = c.post(f"/reviews/draws/{draw.pk}/perform/", follow=True).content.decode()
    assert zh("This draw has already been made.") in html
    assert Invitation.objects.filter(draw=draw).count() == 5


@pytest.mark.django_db
def test_not_enough_experts_shows_the_numbers(administrator, client_for):
    call = closed_call()
    pool(2)
    ExpertFactory(employer=call.issuer)  # linked to the issuer: not eligible
    ExpertFactory(active=False)
    c = client_for(administrator)
    c.post(f"/reviews/calls/{call.code}/draws/commit/", {"panel_size": 5, "backups": 1, "fields": [call.field]})
    draw = Draw.objects.get(call=call)
    response = c.post(f"/en/reviews/draws/{draw.pk}/perform/", follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"/reviews/calls/{call.code}/draws/")
    assert "Not enough experts: the panel needs 5, but only 2 are eligible" in html
    draw.refresh_from_db()
    assert draw.status == DrawStatus.COMMITTED and not draw.invitations.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["is_administrator", "is_supervisor", "is_superuser"])
def test_an_expert_whose_account_became_staff_is_never_drawn(role):
    """Separation of duties at the draw: an expert profile whose user was made an administrator or
    supervisor afterwards (the pool import refuses staff accounts; roles can change later)."""
    call = closed_call()
    kept = pool(2)
    promoted = ExpertFactory()
    setattr(promoted.user, role, True)
    promoted.user.save()
    eligible = draw_service.eligible_pool(call, [call.field])
    assert promoted.pk not in eligible and {e.pk for e in kept} <= set(eligible)


@pytest.mark.django_db
def test_commit_is_refused_before_the_call_closes_and_for_bad_input(administrator, client_for):
    open_call = closed_call(status=CallStatus.PUBLISHED, deadline=in_days(10))
    c = client_for(administrator)
    assert 'data-testid="not-drawable"' in c.get(call_page(open_call)).content.decode()
    response = c.post(
        f"/en/reviews/calls/{open_call.code}/draws/commit/", {"panel_size": 3, "backups": 1, "fields": ["seed"]}
    )
    assert response.status_code == 200
    assert "Experts are drawn after the call has closed." in response.content.decode()
    call = closed_call()
    response = c.post(f"/reviews/calls/{call.code}/draws/commit/", {"panel_size": 0, "backups": 1, "fields": []})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    assert not Draw.objects.exists()


# --- the draw can be recomputed ----------------------------------------------------------------
@pytest.mark.django_db
def test_the_draw_is_reproducible_from_stored_data_and_changes_with_the_seed(administrator):
    call = closed_call()
    experts = pool(8)
    draw = Draw.objects.get(pk=drawn(call, administrator, panel_size=3, backups=2).pk)

    # Anyone with the stored pool, seed and rule recomputes the same thing.
    key = bytes.fromhex(draw.seed)
    by_hand = sorted(draw.pool, key=lambda i: hmac.new(key, str(i).encode(), hashlib.sha256).hexdigest())
    assert by_hand == draw.ranking == rank(draw.seed, draw.pool) == rank(draw.seed, list(reversed(draw.pool)))
    assert hashlib.sha256(draw.seed.encode("ascii")).hexdigest() == draw.commitment == commitment_of(draw.seed)
    assert pool_hash_of(call.code, draw.fields, draw.rule_version, draw.pool) == draw.pool_hash
    assert list(draw.invitations.order_by("rank").values_list("expert_id", flat=True)) == draw.ranking[:5]
    assert sorted(draw.ranking) == sorted(e.pk for e in experts)

    # The ranking depends on the seed (fixed ids, so this is deterministic).
    ids = list(range(1, 21))
    rankings = {tuple(rank(seed, ids)) for seed in ("00" * 32, "01" * 32, "ff" * 32)}
    assert len(rankings) == 3 and all(sorted(r) == ids for r in rankings)

    # The pool is frozen: experts registered later change nothing.
    ExpertFactory()
    assert verify(Draw.objects.get(pk=draw.pk)) == []


@pytest.mark.django_db
def test_verify_draw_command_exit_codes(administrator, capsys, monkeypatch):
    # run_from_argv closes every connection when it ends; keep the test's transaction open.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    call = closed_call()
    pool(6)
    draw = drawn(call, administrator, panel_size=2, backups=2)

    ManagementUtility(["manage.py", "verify_draw", str(draw.pk)]).execute()  # no SystemExit: exit 0
    out = capsys.readouterr().out
    assert "✓" in out and draw.seed in out and draw.pool_hash in out

    Draw.objects.filter(pk=draw.pk).update(ranking=list(reversed(draw.ranking)))
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "verify_draw", str(draw.pk)]).execute()
    assert exit_info.value.code == 1
    assert zh("ranking: HMAC ranking of the pool differs from the stored ranking") in capsys.readouterr().err


@pytest.mark.django_db
def test_verify_draw_names_each_problem(administrator):
    call = closed_call()
    pool(6)
    draw = drawn(call, administrator, panel_size=2, backups=2)
    call_command("verify_draw", str(draw.pk))

    Draw.objects.filter(pk=draw.pk).update(pool=draw.pool[:-1])
    with pytest.raises(
        CommandError, match=re.escape(zh("pool_hash: the stored pool does not hash to the recorded value"))
    ):
        call_command("verify_draw", str(draw.pk))
    Draw.objects.filter(pk=draw.pk).update(pool=draw.pool, seed="ab" * 32)
    with pytest.raises(
        CommandError, match=re.escape(zh("commitment: SHA-256(seed) differs from the published commitment"))
    ) as error:
        call_command("verify_draw", str(draw.pk))
    assert zh("ranking: HMAC ranking of the pool differs from the stored ranking") in str(error.value)
    Draw.objects.filter(pk=draw.pk).update(seed=draw.seed)
    Invitation.objects.filter(draw=draw, rank=1).update(rank=99)
    with pytest.raises(CommandError) as error:
        call_command("verify_draw", str(draw.pk))
    rank_99 = zh("invitation rank %(rank)d: expert %(expert)d is not at that place") % {"rank": 99, "expert": 0}
    assert rank_99.split("0")[0].rstrip() in str(error.value)

    committed = draw_service.commit(actor=administrator, call=call, panel_size=1, backups=0)
    with pytest.raises(CommandError, match=re.escape(zh("The draw has not been made yet."))):
        call_command("verify_draw", str(committed.pk))
    with pytest.raises(CommandError, match="No draw with id 999999"):
        call_command("verify_draw", "999999")


@pytest.mark.django_db
def test_a_tampered_draw_shows_its_problems_on_the_record_page(administrator, client_for):
    call = closed_call()
    pool(4)
    draw = drawn(call, administrator, panel_size=2, backups=1)
    Draw.objects.filter(pk=draw.pk).update(ranking=list(reversed(draw.ranking)))
    html = client_for(administrator).get(record_page(draw)).content.decode()
    assert 'data-testid="verify-ok"' not in html
    assert zh("ranking: HMAC ranking of the pool differs from the stored ranking") in cell(html, "verify-problems")


# --- replacement order -------------------------------------------------------------------------
@pytest.mark.django_db
def test_decline_and_no_show_bring_in_the_next_rank_never_a_redraw(administrator, client_for):
    call = closed_call()
    pool(5)
    draw = drawn(call, administrator, panel_size=2, backups=2)
    ranking_before = list(draw.ranking)
    inv = {i.rank: i for i in draw.invitations.select_related("expert__user")}
    admin = client_for(administrator)

    # Rank 1 declines on its own page: rank 3 (the first backup) is invited in its place.
    client_for(inv[1].expert.user).post(f"/reviews/invitations/{inv[1].pk}/decline/", {"reason": "出差"})
    state = {i.rank: i for i in Invitation.objects.filter(draw=draw)}
    assert state[1].status == InvitationStatus.DECLINED and state[1].reason == "出差"
    assert state[3].status == InvitationStatus.PENDING and state[3].replaces_id == inv[1].pk
    assert state[4].status == InvitationStatus.WAITING

    # Rank 2 does not show: the next backup, rank 4, comes in.
    html = admin.post(
        f"/en/reviews/draws/{draw.pk}/invitations/{inv[2].pk}/no-show/", {"reason": "未到会"}, follow=True
    ).content.decode()
    assert "The next backup" in html and "(rank 4)" in html
    state = {i.rank: i for i in Invitation.objects.filter(draw=draw)}
    assert state[2].status == InvitationStatus.NO_SHOW
    assert state[4].status == InvitationStatus.PENDING and state[4].replaces_id == inv[2].pk
    inv[2].expert.refresh_from_db()
    assert inv[2].expert.no_show_count == 1

    # Rank 3 does not show either: nobody is left to invite (rank 5 is beyond the backups).
    html = admin.post(
        f"/en/reviews/draws/{draw.pk}/invitations/{inv[3].pk}/no-show/", {"reason": ""}, follow=True
    ).content.decode()
    assert "No backup is left in this draw" in html
    assert not Invitation.objects.filter(draw=draw, rank=5).exists()

    # A closed invitation cannot be closed again.
    html = admin.post(f"/en/reviews/draws/{draw.pk}/invitations/{inv[1].pk}/no-show/", {}, follow=True).content.decode()
    assert "This invitation is no longer open." in html

    draw.refresh_from_db()
    assert draw.ranking == ranking_before and verify(draw) == []
    html = admin.get(record_page(draw)).content.decode()
    assert "#3" in cell(html, "replaced-by-1") and "#4" in cell(html, "replaced-by-2")
    assert cell(html, "replaced-by-4").strip() == ""
    assert 'data-testid="verify-ok"' in html


@pytest.mark.django_db
def test_no_show_of_another_draws_invitation_is_404(administrator, client_for):
    pool(4)
    first = drawn(closed_call(), administrator, panel_size=1, backups=0)
    second = drawn(closed_call(), administrator, panel_size=1, backups=0)
    invitation = first.invitations.get()
    response = client_for(administrator).post(f"/reviews/draws/{second.pk}/invitations/{invitation.pk}/no-show/")
    assert response.status_code == 404
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING


# --- routing -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_route_panel_skips_conflicted_pairs_and_invites_backups_for_short_proposals(
    administrator, client_for, lead_org, monkeypatch
):
    call = closed_call()
    call.programme.min_reviewers = 3
    call.programme.save()
    p1 = passed_proposal(call, lead_org, title="方案一")
    p2 = passed_proposal(call, OrganizationFactory(), title="方案二")
    conflicted = ExpertFactory(employer=lead_org)  # works for p1's lead unit
    others = pool(4)
    ids = sorted([conflicted.pk, *(e.pk for e in others)])
    use_seed(monkeypatch, seed_placing(conflicted.pk, ids, within=3))
    draw = drawn(call, administrator, panel_size=3, backups=2)
    for invitation in draw.invitations.filter(status=InvitationStatus.PENDING).select_related("expert__user"):
        draw_service.respond(actor=invitation.expert.user, invitation=invitation, accept=True)

    c = client_for(administrator)
    html = c.post(f"/en/reviews/calls/{call.code}/route/", follow=True).content.decode()
    assert not Assignment.objects.filter(expert=conflicted, proposal=p1).exists()
    assert Assignment.objects.filter(expert=conflicted, proposal=p2, active=True).exists()
    assert Conflict.objects.filter(expert=conflicted, proposal=p1, reason=ConflictReason.EMPLOYER_UNIT).exists()
    assert cell(html, "report-created") == "5"
    assert "方案一" in cell(html, "report-short") and "方案二" not in cell(html, "report-short")
    backup = Invitation.objects.get(draw=draw, rank=4)
    assert backup.status == InvitationStatus.PENDING
    assert "#4" in cell(html, "report-invited") and backup.expert.name in cell(html, "report-invited")
    # The report is shown once.
    assert 'data-testid="routing-report"' not in c.get(call_page(call)).content.decode()

    # The backup accepts; routing again fills p1 and no one is short.
    draw_service.respond(actor=backup.expert.user, invitation=backup, accept=True)
    html = c.post(f"/en/reviews/calls/{call.code}/route/", follow=True).content.decode()
    assert 'data-testid="report-complete"' in html
    assert Assignment.objects.filter(proposal=p1, active=True).count() == 3
    assert not Assignment.objects.filter(expert=conflicted, proposal=p1).exists()

    # A conflict found later ends the assignment on the next routing.
    reviewer = Assignment.objects.filter(proposal=p2, active=True).exclude(expert=conflicted).first().expert
    AvoidUnit.objects.create(expert=reviewer, credit_code=p2.lead_organization.credit_code)
    html = c.post(f"/en/reviews/calls/{call.code}/route/", follow=True).content.decode()
    assert cell(html, "report-ended") == "1"
    assert not Assignment.objects.filter(expert=reviewer, proposal=p2, active=True).exists()


@pytest.mark.django_db
def test_route_with_no_backup_left_says_so_and_route_needs_a_draw(administrator, client_for, lead_org):
    call = closed_call()
    passed_proposal(call, lead_org)
    c = client_for(administrator)
    html = c.post(f"/en/reviews/calls/{call.code}/route/", follow=True).content.decode()
    assert "Make a draw before routing proposals to the panel." in html
    pool(2)
    draw = drawn(call, administrator, panel_size=2, backups=0)
    for invitation in draw.invitations.select_related("expert__user"):
        draw_service.respond(actor=invitation.expert.user, invitation=invitation, accept=True)
    html = c.post(f"/en/reviews/calls/{call.code}/route/", follow=True).content.decode()
    assert "3 reviewers missing" in cell(html, "report-short")  # programme minimum 5, two reviewers
    assert 'data-testid="report-exhausted"' in html


@pytest.mark.django_db
def test_route_panel_service_never_assigns_a_blocked_pair(administrator, lead_org):
    call = closed_call()
    proposals = [passed_proposal(call, lead_org), passed_proposal(call, OrganizationFactory())]
    experts = pool(4)
    AvoidUnit.objects.create(expert=experts[1], credit_code=lead_org.credit_code)
    draw = drawn(call, administrator, panel_size=4)
    for invitation in draw.invitations.select_related("expert__user"):
        draw_service.respond(actor=invitation.expert.user, invitation=invitation, accept=True)
    route_panel(actor=administrator, call=call)
    blocked = avoidance.blocked_pairs([p.pk for p in proposals])
    assigned = set(Assignment.objects.filter(active=True).values_list("expert_id", "proposal_id"))
    assert (experts[1].pk, proposals[0].pk) in blocked
    assert not assigned & blocked and len(assigned) == 7


# --- possible conflicts ------------------------------------------------------------------------
@pytest.mark.django_db
def test_possible_conflicts_are_confirmed_or_dismissed_by_administrators(administrator, client_for, lead_org):
    call = closed_call()
    proposal = passed_proposal(call, lead_org, team=[("150102198001011237", "王五")])
    first, second = pool(2)
    for expert in (first, second):
        AvoidPerson.objects.create(expert=expert, name="王五")  # name only: possible
    draw = drawn(call, administrator, panel_size=1)
    avoidance.sync(reviewable_proposals(call))
    c1, c2 = Conflict.objects.filter(proposal=proposal).order_by("expert__name")
    assert c1.status == c2.status == ConflictStatus.POTENTIAL
    c = client_for(administrator)
    html = c.get(record_page(draw)).content.decode()
    assert f'data-testid="conflict-{c1.pk}"' in html and f'data-testid="confirm-{c2.pk}"' in html

    assert c.post(f"/reviews/draws/{draw.pk}/conflicts/{c1.pk}/confirm/").status_code == 302
    assert c.post(f"/reviews/draws/{draw.pk}/conflicts/{c2.pk}/dismiss/").status_code == 302
    c1.refresh_from_db()
    c2.refresh_from_db()
    assert c1.status == ConflictStatus.CONFIRMED and c1.decided_by == administrator
    assert c2.status == ConflictStatus.DISMISSED
    assert avoidance.blocked_pairs([proposal.pk]) == {(c1.expert_id, proposal.pk)}
    html = c.get(record_page(draw)).content.decode()
    assert f'data-testid="conflict-{c1.pk}"' not in html
    # Decisions stick; a decided row or an unknown decision is not on offer.
    assert c.post(f"/reviews/draws/{draw.pk}/conflicts/{c1.pk}/dismiss/").status_code == 404
    assert c.post(f"/reviews/draws/{draw.pk}/conflicts/{c1.pk}/maybe/").status_code == 404
    avoidance.sync(reviewable_proposals(call))
    assert Conflict.objects.get(pk=c2.pk).status == ConflictStatus.DISMISSED


@pytest.mark.django_db
def test_conflicts_of_another_call_are_not_decided_through_this_draw(administrator, client_for, lead_org):
    other_call = closed_call()
    proposal = passed_proposal(other_call, lead_org, team=[("150102198001011237", "王五")])
    expert = ExpertFactory()
    AvoidPerson.objects.create(expert=expert, name="王五")
    avoidance.sync(reviewable_proposals(other_call))
    conflict = Conflict.objects.get(proposal=proposal)
    draw = drawn(closed_call(), administrator, panel_size=1)
    response = client_for(administrator).post(f"/reviews/draws/{draw.pk}/conflicts/{conflict.pk}/confirm/")
    assert response.status_code == 404
    assert Conflict.objects.get(pk=conflict.pk).status == ConflictStatus.POTENTIAL


# --- query budgets -----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_call_draw_page_query_budget(administrator, client_for, django_assert_max_num_queries, rows):
    call = closed_call()
    pool(3)
    drawn(call, administrator, panel_size=2, backups=1)
    Draw.objects.bulk_create(
        [
            Draw(
                call=call,
                fields=[call.field],
                panel_size=2,
                backups=1,
                rule_version="draw-v1",
                commitment=f"{n:064x}",
                seed=f"{n:064x}",
                created_by=administrator,
            )
            for n in range(rows - 1)
        ]
    )
    c = client_for(administrator)
    with django_assert_max_num_queries(5):
        html = c.get(call_page(call)).content.decode()
    assert html.count('data-testid="draw-') >= rows


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_draw_record_page_query_budget(
    administrator, supervisor, client_for, django_assert_max_num_queries, lead_org, rows
):
    call = closed_call()
    proposal = passed_proposal(call, lead_org, team=[("150102198001011237", "王五")])
    experts = pool(rows)
    for expert in experts[:rows]:
        AvoidPerson.objects.create(expert=expert, name="王五")
    avoidance.sync([proposal])
    draw = drawn(call, administrator, panel_size=rows - 2, backups=2)
    for invitation in draw.invitations.filter(rank__lte=2):
        draw_service.mark_no_show(actor=administrator, invitation=invitation)
    for user in (administrator, supervisor):
        c = client_for(user)
        with django_assert_max_num_queries(7):
            html = c.get(record_page(draw)).content.decode()
        assert html.count('data-testid="rank-') == rows
        assert html.count('data-testid="conflict-') == rows


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_draws_index_lists_calls_at_the_draw_stage_query_budget(
    administrator, client_for, django_assert_max_num_queries, lead_org, rows
):
    calls = [closed_call() for _ in range(rows)]
    passed_proposal(calls[0], lead_org)
    draft = closed_call(status=CallStatus.DRAFT, deadline=in_days(20))
    pool(1)
    drawn(calls[1], administrator, panel_size=1)
    c = client_for(administrator)
    with django_assert_max_num_queries(3):
        html = c.get("/reviews/").content.decode()
    assert html.count('data-testid="call-JB-') == rows and f'data-testid="call-{draft.code}"' not in html
    assert f"/reviews/calls/{calls[0].code}/draws/" in html


# --- dashboard, navigation, links --------------------------------------------------------------
@pytest.mark.django_db
def test_administrator_dashboard_lists_undrawn_calls_and_waiting_draws(
    administrator, client_for, django_assert_max_num_queries
):
    undrawn = closed_call(title="尚未抽取专家的榜单")
    published = closed_call(status=CallStatus.PUBLISHED, deadline=in_days(5))
    with_draw = closed_call()
    answered = closed_call()
    pool(2)
    draw = drawn(with_draw, administrator, panel_size=2)
    for invitation in drawn(answered, administrator, panel_size=2).invitations.select_related("expert__user"):
        draw_service.respond(actor=invitation.expert.user, invitation=invitation, accept=True)
    c = client_for(administrator)
    with django_assert_max_num_queries(13):
        html = c.get("/en/accounts/dashboard/").content.decode()
    undrawn_cell = cell(html, "undrawn-calls")
    assert undrawn.code in undrawn_cell and f"/reviews/calls/{undrawn.code}/draws/" in undrawn_cell
    assert with_draw.code not in undrawn_cell and published.code not in undrawn_cell
    waiting_cell = cell(html, "waiting-draws")
    assert f"/reviews/draws/{draw.pk}/" in waiting_cell and "2 invitations pending" in waiting_cell
    assert answered.code not in waiting_cell and undrawn.code not in waiting_cell


@pytest.mark.django_db
def test_navigation_and_call_page_links(cast, client_for):
    call = closed_call(issuer=cast["issuer"].organization)
    admin_html = client_for(cast["administrator"]).get(f"/calls/{call.code}/").content.decode()
    assert 'data-testid="nav-draws"' in admin_html and f"/reviews/calls/{call.code}/draws/" in admin_html
    supervisor_html = client_for(cast["supervisor"]).get("/calls/").content.decode()
    assert 'data-testid="nav-draws"' in supervisor_html
    issuer_html = client_for(cast["issuer"]).get(f"/calls/{call.code}/").content.decode()
    assert 'data-testid="nav-draws"' not in issuer_html and "/reviews/calls/" not in issuer_html
    expert_html = client_for(cast["assigned_expert"]).get("/calls/").content.decode()
    assert 'data-testid="nav-my-reviews"' in expert_html and 'data-testid="nav-draws"' not in expert_html


@pytest.mark.django_db
def test_the_menu_follows_the_rules_the_pages_check_not_admin_site_permissions(cast, client_for):
    # A Django-admin permission does not open the draws page (it checks rules.has_perm), so the
    # menu does not offer it either; and reading the menu asks the database nothing about it.
    from django.contrib.auth.models import Permission

    issuer = cast["issuer"]
    issuer.user_permissions.add(Permission.objects.get(codename="view_draw"))
    client = client_for(issuer)
    assert client.get("/reviews/").status_code == 403
    html = client.get("/calls/").content.decode()
    assert 'data-testid="nav-draws"' not in html
    assert client_for(cast["administrator"]).get("/reviews/").status_code == 200
