"""The administrator's review pages, the public notice, objections and result visibility,
as the cast sees them (through the test client and URLs).

- /reviews/calls/<code>/dashboard/, /decisions/, /notice/: administrators act, supervisors read,
  everybody else 403 (anonymous visitors are sent to log in);
- /reviews/notices/ and /reviews/notices/<code>/: public, recommended awards only;
- /reviews/calls/<code>/ranking/ and /reviews/results/<pk>/: after the notice begins.

Messages are checked on /en/ pages (the source strings).
"""

import json
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from calls.choices import CallStatus
from calls.models import Call
from experts.choices import ConflictReason, ConflictStatus
from experts.models import Conflict
from proposals.choices import ProposalStatus, TeamRole, UnitRole
from proposals.models import Person, Proposal, ProposalUnit, TeamMember
from reviews import decisions
from reviews.models import (
    Assignment,
    Notice,
    Objection,
    ObjectionStatus,
    Recommendation,
    Result,
    Score,
    ScoreItem,
    ScoreStatus,
)
from reviews.views.decisions import MATRIX_PAGE_SIZE
from tests.factories import OrganizationFactory
from tests.factories_proposals import PDF_BYTES, person_id
from tests.factories_reviews import give_score, review_call, score_totals, split

pytestmark = pytest.mark.django_db

STAFF = {"administrator": 200, "supervisor": 200}
OUTSIDERS = ["issuer", "lead", "member", "outsider", "expert"]


# --- helpers ----------------------------------------------------------------------------------
def dashboard_url(call, en=False):
    return f"{'/en' if en else ''}/reviews/calls/{call.code}/dashboard/"


def decisions_url(call, en=False):
    return f"{'/en' if en else ''}/reviews/calls/{call.code}/decisions/"


def notice_admin_url(call, en=False):
    return f"{'/en' if en else ''}/reviews/calls/{call.code}/notice/"


def public_url(call, en=False):
    return f"{'/en' if en else ''}/reviews/notices/{call.code}/"


def ranking_url(call):
    return f"/reviews/calls/{call.code}/ranking/"


def result_url(proposal):
    return f"/reviews/results/{proposal.pk}/"


def text_of(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{re.escape(name)}"[^>]*>(.*?)</', html, re.S)
    assert match, name
    return match.group(1).strip()


def pdf(name="盖章函.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def end_notice(call, days_ago=1):
    today = timezone.localdate()
    Notice.objects.filter(call=call).update(
        starts_on=today - timedelta(days=days_ago + 5), ends_on=today - timedelta(days=days_ago)
    )


class Scene:
    """A call (issued by the cast's issuer) under review: three proposals, three experts.

    proposals[0] has the cast's member unit and a PI; review.leads[i] lead proposal i.
    """

    def __init__(self, cast, **kwargs):
        self.cast = cast
        self.review = review_call(
            cast["administrator"], proposals=3, experts=3, issuer=cast["issuer"].organization, **kwargs
        )
        self.call = self.review.call
        self.proposals = self.review.proposals
        first = self.proposals[0]
        ProposalUnit.objects.create(proposal=first, organization=cast["member_applicant"].organization, role="member")
        lead_unit = ProposalUnit.objects.get(proposal=first, role=UnitRole.LEAD)
        person = Person.objects.create(id_number=person_id(90001), name="王建国")
        TeamMember.objects.create(proposal=first, person=person, unit=lead_unit, role=TeamRole.PI, months_per_year=8)

    def user(self, member):
        return {
            "lead": self.review.leads[0],
            "member": self.cast["member_applicant"],
            "outsider": self.cast["outsider_applicant"],
            "expert": self.review.experts[0].user,
        }.get(member) or self.cast[member]

    def score_all(self, totals=((90, 88, 86), (70, 72, 74), (50, 55, 52))):
        for proposal, values in zip(self.proposals, totals, strict=True):
            score_totals(self.review, proposal, values)

    def ranked(self):
        self.score_all()
        decisions.rank_call(actor=self.cast["administrator"], call=self.call)
        return self

    def in_notice(self, amount=D("100")):
        self.ranked()
        admin = self.cast["administrator"]
        decisions.confirm_winners(actor=admin, call=self.call, amounts={self.proposals[0].pk: amount})
        self.notice = decisions.open_notice(actor=admin, call=self.call)
        self.call.refresh_from_db()
        return self


@pytest.fixture
def scene(cast):
    return Scene(cast)


def expert_names(scene):
    return [e.name for e in scene.review.experts]


# === who may open what ==========================================================================
@pytest.mark.parametrize("member", [*STAFF, *OUTSIDERS])
def test_staff_pages_as_the_cast(scene, client_for, member):
    scene.in_notice()
    expected = STAFF.get(member, 403)
    c = client_for(scene.user(member))
    for url in (dashboard_url(scene.call), decisions_url(scene.call), notice_admin_url(scene.call)):
        assert c.get(url).status_code == expected, (member, url)


def test_staff_pages_send_anonymous_visitors_to_log_in(scene, client):
    for url in (dashboard_url(scene.call), decisions_url(scene.call), notice_admin_url(scene.call)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_unknown_call_is_404_for_administrators(client_for, administrator):
    c = client_for(administrator)
    for url in ("/reviews/calls/JB-NOPE/dashboard/", "/reviews/calls/JB-NOPE/decisions/", "/reviews/notices/JB-NOPE/"):
        assert c.get(url).status_code == 404


def _actions(scene):
    """Every POST of the staff pages, with a body that would be accepted from an administrator."""
    call, first = scene.call, scene.proposals[0]
    objection = Objection.objects.create(
        notice=scene.notice, submitted_by=scene.cast["outsider_applicant"], real_name="张三", text="异议"
    )
    return [
        (f"/reviews/calls/{call.code}/dashboard/start/", {}),
        (f"/reviews/calls/{call.code}/dashboard/rank/", {"allow_incomplete": "1"}),
        (f"/reviews/calls/{call.code}/dashboard/remind/", {}),
        (f"/reviews/calls/{call.code}/decisions/confirm/", {"winner": [first.pk], f"amount_{first.pk}": "90"}),
        (f"/reviews/calls/{call.code}/decisions/notice/", {"starts_on": timezone.localdate().isoformat()}),
        (f"/reviews/calls/{call.code}/decisions/fail/", {"reason": "无合格揭榜方"}),
        (
            f"/reviews/calls/{call.code}/notice/objections/{objection.pk}/handle/",
            {"decision": "dismissed", "result": "经核查不属实"},
        ),
        (f"/reviews/calls/{call.code}/notice/withdraw/{first.pk}/", {"reason": "异议成立"}),
        (f"/reviews/calls/{call.code}/notice/finalise/", {}),
    ]


@pytest.mark.parametrize("member", ["supervisor", *OUTSIDERS])
def test_every_action_is_refused_to_all_but_administrators(scene, client_for, member):
    scene.in_notice()
    c = client_for(scene.user(member))
    before = AuditEntry.objects.count()
    for url, body in _actions(scene):
        assert c.post(url, body).status_code == 403, (member, url)
    assert AuditEntry.objects.count() == before
    scene.call.refresh_from_db()
    assert scene.call.status == CallStatus.IN_NOTICE
    assert Objection.objects.get().status == ObjectionStatus.OPEN
    assert Recommendation.objects.filter(call=scene.call).count() == 1


def test_every_action_sends_anonymous_visitors_to_log_in(scene, client):
    scene.in_notice()
    for url, body in _actions(scene):
        response = client.post(url, body)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_supervisor_reads_without_buttons(scene, client_for):
    scene.in_notice()
    Objection.objects.create(notice=scene.notice, submitted_by=scene.cast["lead_applicant"], real_name="李四", text="x")
    c = client_for(scene.cast["supervisor"])
    for url in (dashboard_url(scene.call), decisions_url(scene.call), notice_admin_url(scene.call)):
        html = c.get(url).content.decode()
        main = html.split("</nav>", 1)[1].split("<footer")[0]
        # Read-only: the only thing a supervisor may post is an export request.
        main = re.sub(r'<form method="post" action="/exports/request/".*?</form>', "", main, flags=re.S)
        assert '<form method="post"' not in main, url
    html = c.get(dashboard_url(scene.call)).content.decode()
    assert 'data-testid="read-only"' in html
    assert all(name in html for name in expert_names(scene))  # supervisors see everything


def test_public_notice_pages_are_open_to_anybody(scene, client, client_for):
    assert client.get("/reviews/notices/").status_code == 200
    assert client.get(public_url(scene.call)).status_code == 404  # no notice yet
    scene.in_notice()
    for c in (client, client_for(scene.cast["outsider_applicant"]), client_for(scene.review.experts[0].user)):
        assert c.get("/reviews/notices/").status_code == 200
        assert c.get(public_url(scene.call)).status_code == 200


def test_a_draft_calls_notice_is_404(client, administrator):
    from tests.factories_calls import CallFactory

    call = CallFactory()
    Notice.objects.create(
        call=call, starts_on=timezone.localdate(), ends_on=timezone.localdate(), published_by=administrator
    )
    assert client.get(public_url(call)).status_code == 404


def test_public_notice_shows_winners_only_and_no_expert(scene, client):
    scene.in_notice()
    first, second, third = scene.proposals
    html = client.get(public_url(scene.call)).content.decode()
    assert first.lead_organization.name in html
    assert scene.cast["member_applicant"].organization.name in html  # member units
    assert "王建国" in html  # the PI
    assert text_of(html, f"amount-{first.pk}") == "100.00"
    assert "单一支持" in html
    for other in (second, third):
        assert other.lead_organization.name not in html and other.title not in html
    # No score anywhere in the visible text (tags, ids and random tokens may hold such digits).
    text = re.sub(r"<[^>]+>", " ", html)
    for number in ("88.00", "72.00", "52.33", "54.00", "88", "72"):
        assert not re.search(rf"(?<![\w.]){re.escape(number)}(?![\w.])", text), number
    for name in expert_names(scene):
        assert name not in html
    assert text_of(html, "notice-period") == (f"{scene.notice.starts_on:%Y-%m-%d} – {scene.notice.ends_on:%Y-%m-%d}")
    assert 'data-testid="login-to-object"' in html and 'data-testid="objection-form"' not in html
    listing = client.get("/reviews/notices/").content.decode()
    assert f'data-testid="notice-{scene.call.code}"' in listing


@pytest.mark.parametrize("member", [*STAFF, *OUTSIDERS])
def test_seal_download_as_the_cast(scene, client_for, client, member):
    scene.in_notice()
    objection = decisions.submit_objection(
        actor=scene.cast["outsider_applicant"], notice=scene.notice, text="异议", unit_name="某公司", seal=pdf()
    )
    url = f"/reviews/objections/{objection.pk}/seal/"
    response = client_for(scene.user(member)).get(url)
    assert response.status_code == STAFF.get(member, 403)
    if response.status_code == 200:
        assert b"".join(response.streaming_content).startswith(b"%PDF")
        assert response["Content-Type"] == "application/pdf"
    assert client.get(url).status_code == 302


# === the flow ===================================================================================
def test_start_review_from_the_dashboard(scene, client_for):
    Call.objects.filter(pk=scene.call.pk).update(status=CallStatus.CLOSED)
    Proposal.objects.filter(call=scene.call).update(status=ProposalStatus.PASSED)
    c = client_for(scene.cast["administrator"])
    html = c.get(dashboard_url(scene.call)).content.decode()
    assert 'data-testid="start"' in html and 'data-testid="rank"' not in html
    response = c.post(f"/reviews/calls/{scene.call.code}/dashboard/start/")
    assert response.status_code == 302 and response["Location"] == dashboard_url(scene.call)
    scene.review.refresh()
    assert scene.call.status == CallStatus.UNDER_REVIEW
    assert {p.status for p in scene.review.proposals} == {ProposalStatus.UNDER_REVIEW}
    # Twice is refused with the service's reason.
    html = c.post(f"/en/reviews/calls/{scene.call.code}/dashboard/start/", follow=True).content.decode()
    assert "cannot be put under review" in html


def test_dashboard_matrix_progress_flags_and_chart(scene, client_for):
    review, (first, second, third) = scene.review, scene.proposals
    e1, e2, e3 = review.experts
    Call.objects.filter(pk=scene.call.pk).update(veto_item="弄虚作假")
    give_score(review.assignment(first, e1), split(90, review.criteria))
    give_score(review.assignment(first, e2), split(40, review.criteria))  # range 50: disagreement
    give_score(review.assignment(second, e1), [30, 20, 20], submit=False)  # a draft
    give_score(review.assignment(third, e1), split(80, review.criteria), veto=True, veto_reason="数据造假")
    Assignment.objects.filter(pk=review.assignment(second, e3).pk).update(active=False)
    Conflict.objects.create(
        expert=e3, proposal=second, reason=ConflictReason.EMPLOYER_UNIT, status=ConflictStatus.CONFIRMED
    )

    # A possible conflict recorded after routing: the assignment stays active until re-routed.
    Conflict.objects.create(
        expert=e3, proposal=first, reason=ConflictReason.NAME_MATCH, status=ConflictStatus.POTENTIAL
    )

    html = client_for(scene.cast["administrator"]).get(dashboard_url(scene.call)).content.decode()
    cell = lambda p, e: re.search(rf'data-testid="cell-{p.pk}-{e.pk}" data-state="(\w+)"', html).group(1)  # noqa: E731
    assert cell(first, e1) == "submitted" and cell(second, e1) == "draft" and cell(second, e2) == "not_started"
    assert cell(second, e3) == "conflict"
    assert "90.00" in text_of(html, f"cell-{first.pk}-{e1.pk}")
    assert all(e.name in html for e in review.experts)  # administrators see names
    # The blocked (possibly conflicted) sheet is neither awaited nor counted.
    assert text_of(html, f"progress-{first.pk}") == "2 / 2 (100%)"
    assert text_of(html, f"progress-{second.pk}") == "0 / 2 (0%)"
    assert text_of(html, "done") == "3" and text_of(html, "total") == "7"
    assert f'data-testid="disagreement-{first.pk}"' in html
    assert f'data-testid="veto-{third.pk}"' in html
    assert text_of(html, f"final-{first.pk}") == "65.00"
    assert cell(first, e3) == "not_started" and "回避" in block_of(html, f"cell-{first.pk}-{e3.pk}", "</td>")
    # Three experts still owe four scores (conflicted pairs are not reminded: they cannot score).
    assert text_of(html, "late") == "3 名评审专家尚有 4 份评分未提交。"
    chart = json.loads(
        re.search(r'<script id="review-chart-data" type="application/json">(.*?)</script>', html).group(1)
    )
    by_label = {p["label"]: p for p in chart["proposals"]}
    ranked_first = next(p for p in chart["proposals"] if p["label"].startswith("#1"))
    assert sorted(ranked_first["totals"]) == ["40.00", "90.00"] and ranked_first["final"] == "65.00"
    assert len(by_label) == 3
    # Reopen buttons post the one reopen form (its reason) to the scoring pages' endpoint.
    score = Score.objects.get(assignment=review.assignment(first, e1))
    assert re.search(rf'form="reopen-form" formaction="/reviews/scores/{score.pk}/reopen/"', html)
    # One form (one reason field, one CSRF token) for the three submitted scores' buttons.
    assert html.count('formaction="/reviews/scores/') == 3 and html.count('form="reopen-form"') == 3
    assert html.count('<form id="reopen-form"') == 1 and html.count('name="reason"') == 1
    # No inline code: the chart data is a JSON block, the script files are static.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html)


def test_reopen_from_the_dashboard_goes_back_to_it(scene, client_for):
    review, first = scene.review, scene.proposals[0]
    score = give_score(review.assignment(first, review.experts[0]), split(80, review.criteria))
    c = client_for(scene.cast["administrator"])
    response = c.post(
        f"/reviews/scores/{score.pk}/reopen/", {"reason": "分数录入有误"}, HTTP_REFERER=dashboard_url(scene.call)
    )
    assert response.status_code == 302
    score.refresh_from_db()
    assert score.status == ScoreStatus.DRAFT
    html = c.get(dashboard_url(scene.call)).content.decode()
    assert re.search(rf'data-testid="cell-{first.pk}-{review.experts[0].pk}" data-state="draft"', html)


def _matrix_rows(html) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-testid="row-(\d+)"', html)]


def _chart_of(html) -> dict:
    return json.loads(
        re.search(r'<script id="review-chart-data" type="application/json">(.*?)</script>', html).group(1)
    )


def test_dashboard_matrix_pages_while_counts_ranking_and_chart_stay_whole(cast, client_for):
    n = MATRIX_PAGE_SIZE + 2
    review = review_call(cast["administrator"], proposals=n, experts=2)
    unscored = review.proposals[-1]
    _bulk_scores(review, review.proposals[:-1], totals=(80, 60))
    ordered = [p.pk for p in sorted(review.proposals, key=lambda p: (p.title, p.pk))]
    c = client_for(cast["administrator"])
    url = dashboard_url(review.call)
    first, second = (c.get(url).content.decode(), c.get(f"{url}?page=2").content.decode())
    assert _matrix_rows(first) == ordered[:MATRIX_PAGE_SIZE]
    assert _matrix_rows(second) == ordered[MATRIX_PAGE_SIZE:]
    for html in (first, second):
        # Progress, reminders, ranking and chart cover every proposal of the call on every page.
        assert text_of(html, "done") == str(2 * (n - 1)) and text_of(html, "total") == str(2 * n)
        assert text_of(html, "late") == "2 名评审专家尚有 2 份评分未提交。"
        assert html.count('data-testid="rank-row-') == n and f'data-testid="rank-row-{unscored.pk}"' in html
        assert len(_chart_of(html)["proposals"]) == n
        assert 'data-testid="remind"' in html and 'data-testid="rank"' in html
    # The unscored proposal's row is on the page that holds it, with its own progress.
    on = second if unscored.pk in _matrix_rows(second) else first
    assert text_of(on, f"progress-{unscored.pk}") == "0 / 2 (0%)"
    # Navigation between the pages (back to the matrix, not the top of the page).
    assert 'href="?page=2#scores"' in first and 'data-testid="matrix-next"' in first
    assert 'data-testid="matrix-previous"' not in first and text_of(first, "matrix-page") == "1"
    assert 'href="?page=1#scores"' in second and 'data-testid="matrix-next"' not in second
    assert text_of(second, "matrix-page") == "2"
    assert f"{MATRIX_PAGE_SIZE + 1}–{n}" in text_of(second, "matrix-range")
    # A page number past the end shows the last page, anything else the first.
    assert _matrix_rows(c.get(f"{url}?page=9").content.decode()) == ordered[MATRIX_PAGE_SIZE:]
    assert _matrix_rows(c.get(f"{url}?page=x").content.decode()) == ordered[:MATRIX_PAGE_SIZE]
    # A call that fits on one page has no page navigation.
    small = review_call(cast["administrator"], proposals=2, experts=1)
    assert 'data-testid="matrix-pages"' not in c.get(dashboard_url(small.call)).content.decode()


def _reopen_fields(html) -> dict:
    """What the dashboard's reopen form posts (its CSRF token), as a browser would send it."""
    form = re.search(r'<form id="reopen-form"[^>]*>(.*?)</form>', html, re.S).group(1)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_one_reopen_form_reopens_any_score_for_administrators_only(cast, client_for):
    n = MATRIX_PAGE_SIZE + 1
    review = review_call(cast["administrator"], proposals=n, experts=2)
    _bulk_scores(review, review.proposals, totals=(80, 60))
    last = sorted(review.proposals, key=lambda p: (p.title, p.pk))[-1]  # alone on page 2
    expert = review.experts[0]
    score = Score.objects.get(assignment=review.assignment(last, expert))
    page2 = f"{dashboard_url(review.call)}?page=2"
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(cast["administrator"])
    html = admin.get(page2).content.decode()
    # One form, one reason field and one token; each submitted score has a button posting it.
    assert html.count('<form id="reopen-form"') == 1 and html.count('name="reason"') == 1
    assert html.count('form="reopen-form"') == 2  # page 2: one proposal, two submitted scores
    button = re.search(rf'form="reopen-form" formaction="([^"]+)" data-testid="reopen-{score.pk}"', html)
    assert button.group(1) == f"/reviews/scores/{score.pk}/reopen/"
    fields = _reopen_fields(html)
    assert set(fields) == {"csrfmiddlewaretoken"}
    # Without a reason the service refuses (the browser asks first: the field is required).
    assert re.search(r'<input [^>]*name="reason"[^>]*required', html)
    response = admin.post(button.group(1), {**fields, "reason": "  "}, HTTP_REFERER=f"http://testserver{page2}")
    assert response.status_code == 302
    score.refresh_from_db()
    assert score.status == ScoreStatus.SUBMITTED
    # With one: reopened, audited with the reason, and back on the same page of the matrix.
    response = admin.post(
        button.group(1), {**fields, "reason": "分项分数录入有误"}, HTTP_REFERER=f"http://testserver{page2}"
    )
    assert response.status_code == 302 and response["Location"] == f"http://testserver{page2}"
    score.refresh_from_db()
    assert score.status == ScoreStatus.DRAFT
    assert AuditEntry.objects.get(action="score.reopen", object_id=str(score.pk)).reason == "分项分数录入有误"
    html = admin.get(page2).content.decode()
    assert re.search(rf'data-testid="cell-{last.pk}-{expert.pk}" data-state="draft"', html)
    assert f'data-testid="reopen-{score.pk}"' not in html and html.count('form="reopen-form"') == 1
    # Supervisors read the same page without the form or the buttons, and the endpoint refuses them.
    other = Score.objects.get(assignment=review.assignment(last, review.experts[1]))
    supervisor = client_for(cast["supervisor"])
    html = supervisor.get(page2).content.decode()
    assert 'data-state="submitted"' in html
    assert "reopen-form" not in html and "formaction=" not in html and 'name="reason"' not in html
    assert supervisor.post(f"/reviews/scores/{other.pk}/reopen/", {"reason": "复核"}).status_code == 403
    other.refresh_from_db()
    assert other.status == ScoreStatus.SUBMITTED
    # Once the review is over there is nothing to reopen, for administrators either.
    Call.objects.filter(pk=review.call.pk).update(status=CallStatus.IN_NOTICE)
    html = admin.get(page2).content.decode()
    assert "reopen-form" not in html and "formaction=" not in html


def test_remind_late_experts(scene, client_for, django_capture_on_commit_callbacks):
    review, first = scene.review, scene.proposals[0]
    e1, e2, e3 = review.experts
    for proposal in scene.proposals:
        give_score(review.assignment(proposal, e1), split(80, review.criteria))
    give_score(review.assignment(first, e2), split(70, review.criteria))
    c = client_for(scene.cast["administrator"])
    with django_capture_on_commit_callbacks(execute=True):
        html = c.post(f"/en/reviews/calls/{scene.call.code}/dashboard/remind/", follow=True).content.decode()
    assert "Reminded 2 experts" in html
    assert sorted(a for m in mail.outbox for a in m.to) == sorted([e2.email, e3.email])
    e3_mail = next(m for m in mail.outbox if e3.email in m.to)
    assert all(p.title in e3_mail.body for p in scene.proposals)
    assert first.title not in next(m for m in mail.outbox if e2.email in m.to).body
    entry = AuditEntry.objects.get(action="review.remind_late")
    assert entry.actor_id == scene.cast["administrator"].pk and sorted(entry.after["experts"]) == sorted([e2.pk, e3.pk])
    assert len(entry.after["assignments"]) == 5


def test_remind_with_nobody_late(scene, client_for):
    scene.score_all()
    html = (
        client_for(scene.cast["administrator"])
        .post(f"/en/reviews/calls/{scene.call.code}/dashboard/remind/", follow=True)
        .content.decode()
    )
    assert "nobody to remind" in html and not mail.outbox
    assert not AuditEntry.objects.filter(action="review.remind_late").exists()


def test_rank_needs_every_score_unless_incomplete_is_allowed(scene, client_for):
    review = scene.review
    score_totals(review, scene.proposals[0], [80, 80, 80])
    score_totals(review, scene.proposals[1], [70, 70])
    c = client_for(scene.cast["administrator"])
    url = f"/en/reviews/calls/{scene.call.code}/dashboard/rank/"
    html = c.post(url, follow=True).content.decode()
    assert "4 score(s) are still missing." in html
    assert not Result.objects.exists()
    response = c.post(url, {"allow_incomplete": "1"})
    assert response.status_code == 302 and response["Location"] == decisions_url(scene.call, en=True)
    assert Result.objects.filter(proposal__call=scene.call).count() == 3
    assert Result.objects.get(proposal=scene.proposals[2]).rank is None  # unscored


def test_full_flow_from_scores_to_award(scene, client_for, client, django_capture_on_commit_callbacks, monkeypatch):
    admin = client_for(scene.cast["administrator"])
    first, second, third = scene.proposals
    code = scene.call.code
    scene.score_all()
    html = admin.get(dashboard_url(scene.call)).content.decode()
    assert text_of(html, "done") == "9" and text_of(html, f"final-{first.pk}") == "88.00"

    # Rank → the decisions page with the default winner and its amount.
    response = admin.post(f"/reviews/calls/{code}/dashboard/rank/")
    assert response["Location"] == decisions_url(scene.call)
    html = admin.get(decisions_url(scene.call)).content.decode()
    assert re.search(rf'data-testid="winner-{first.pk}"[^>]*checked', html)
    assert not re.search(rf'data-testid="winner-{second.pk}"[^>]*checked', html)
    assert f'data-testid="winner-{third.pk}"' not in html  # below the threshold
    assert re.search(rf'value="100(\.00)?" [^>]*data-testid="amount-{first.pk}"', html)

    # Refusals from the service are shown; nothing is confirmed.
    html = admin.post(
        f"/en/reviews/calls/{code}/decisions/confirm/",
        {"winner": [first.pk, second.pk], f"amount_{first.pk}": "100", f"amount_{second.pk}": "100"},
    ).content.decode()
    assert "at most 1 winner(s)" in html and not Recommendation.objects.exists()
    html = admin.post(
        f"/en/reviews/calls/{code}/decisions/confirm/", {"winner": [first.pk], f"amount_{first.pk}": "120"}
    ).content.decode()
    assert "at most its fiscal request (100" in html and not Recommendation.objects.exists()
    html = admin.post(
        f"/en/reviews/calls/{code}/decisions/confirm/", {"winner": [first.pk], f"amount_{first.pk}": "abc"}
    ).content.decode()
    assert "as a number" in html
    html = admin.post(
        f"/en/reviews/calls/{code}/decisions/confirm/", {"winner": [first.pk], f"amount_{first.pk}": "95.555"}
    ).content.decode()
    assert "at most two decimals" in html and not Recommendation.objects.exists()

    response = admin.post(
        f"/reviews/calls/{code}/decisions/confirm/", {"winner": [first.pk], f"amount_{first.pk}": "95.5"}
    )
    assert response.status_code == 302
    assert Recommendation.objects.get(call=scene.call).fiscal_amount == D("95.50")

    # Open the notice: five calendar days from today (the programme's default).
    html = admin.get(decisions_url(scene.call)).content.decode()
    today = timezone.localdate()
    assert f"至 {today + timedelta(days=4):%Y-%m-%d} 结束（含当日）" in text_of(html, "notice-rule")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/reviews/calls/{code}/decisions/notice/", {"starts_on": today.isoformat()})
    assert response["Location"] == notice_admin_url(scene.call)
    notice = Notice.objects.get(call=scene.call)
    assert (notice.starts_on, notice.ends_on) == (today, today + timedelta(days=4))
    scene.call.refresh_from_db()
    assert scene.call.status == CallStatus.IN_NOTICE

    # Objections: in the period with a real name, or with a unit's sealed PDF.
    member = client_for(scene.cast["member_applicant"])
    html = member.get(public_url(scene.call)).content.decode()
    assert 'data-testid="objection-form"' in html
    response = member.post(
        f"/reviews/notices/{code}/object/", {"text": "牵头单位业绩不实。", "real_name": "赵六", "proposal": first.pk}
    )
    assert response.status_code == 302
    signed = Objection.objects.get(real_name="赵六")
    assert signed.proposal == first and signed.submitted_by == scene.cast["member_applicant"]
    outsider = client_for(scene.cast["outsider_applicant"])
    response = outsider.post(
        f"/reviews/notices/{code}/object/", {"text": "预算虚高。", "unit_name": "无关单位有限公司", "seal": pdf()}
    )
    assert response.status_code == 302
    sealed = Objection.objects.get(unit_name="无关单位有限公司")
    assert sealed.seal and sealed.proposal is None
    # Unsigned: refused with the service's reason.
    html = outsider.post(f"/en/reviews/notices/{code}/object/", {"text": "匿名意见"}).content.decode()
    assert "Anonymous objections are not accepted" in html
    # Not a PDF.
    fake = SimpleUploadedFile("seal.pdf", b"not a pdf", content_type="application/pdf")
    html = outsider.post(
        f"/en/reviews/notices/{code}/object/", {"text": "x", "unit_name": "某单位", "seal": fake}
    ).content.decode()
    assert "Attach the sealed letter as a PDF" in html
    # Too large (the limit lowered to just below this PDF): the same rule as the API's.
    with monkeypatch.context() as patch:
        patch.setattr(decisions, "MAX_SEAL_BYTES", len(pdf().read()) - 1)
        html = outsider.post(
            f"/en/reviews/notices/{code}/object/", {"text": "x", "unit_name": "某单位", "seal": pdf()}
        ).content.decode()
    assert "at most 10 MB" in html
    # Anonymous visitors are sent to log in; nothing is stored.
    response = client.post(f"/reviews/notices/{code}/object/", {"text": "x", "real_name": "某人"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Objection.objects.count() == 2

    # The administrator sees both with their signers and handles them.
    html = admin.get(notice_admin_url(scene.call)).content.decode()
    assert text_of(html, "open-count") == "2"
    assert "赵六" in text_of(html, f"signer-{signed.pk}")
    assert f'href="/reviews/objections/{sealed.pk}/seal/"' in html
    for objection in (signed, sealed):
        response = admin.post(
            f"/reviews/calls/{code}/notice/objections/{objection.pk}/handle/",
            {"decision": "dismissed", "result": "经核查，异议不成立。"},
        )
        assert response.status_code == 302
    assert set(Objection.objects.values_list("status", flat=True)) == {ObjectionStatus.DISMISSED}
    html = admin.post(
        f"/en/reviews/calls/{code}/notice/objections/{signed.pk}/handle/",
        {"decision": "upheld", "result": "再议"},
        follow=True,
    ).content.decode()
    assert "already been handled" in html

    # Finalising during the period is refused with the date.
    html = admin.post(f"/en/reviews/calls/{code}/notice/finalise/", follow=True).content.decode()
    assert f"The notice period runs until {notice.ends_on}" in html
    # Late objections are refused with the service's reason.
    end_notice(scene.call)
    html = member.post(
        f"/en/reviews/notices/{code}/object/", {"text": "迟到的异议", "real_name": "赵六"}
    ).content.decode()
    assert "only during the notice period" in html and Objection.objects.count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        html = admin.post(f"/en/reviews/calls/{code}/notice/finalise/", follow=True).content.decode()
    assert "are awarded" in html
    scene.review.refresh()
    assert scene.call.status == CallStatus.AWARDED
    assert [p.status for p in scene.review.proposals] == [
        ProposalStatus.AWARDED,
        ProposalStatus.NOT_AWARDED,
        ProposalStatus.NOT_AWARDED,
    ]
    html = client.get(public_url(scene.call)).content.decode()
    assert 'data-testid="finalised"' in html and 'data-testid="not-accepting"' in html
    assert first.lead_organization.name in html
    listing = client.get("/reviews/notices/").content.decode()
    assert f'data-testid="notice-{code}"' in block_of(listing, "finished-notices")


def block_of(html, name, end="</table>"):
    start = html.index(f'data-testid="{name}"')
    return html[start : html.index(end, start)]


def test_upheld_objection_withdraws_the_winner(scene, client_for):
    scene.in_notice()
    first = scene.proposals[0]
    admin = client_for(scene.cast["administrator"])
    objection = decisions.submit_objection(
        actor=scene.cast["outsider_applicant"], notice=scene.notice, text="业绩造假", real_name="钱七", proposal=first
    )
    admin.post(
        f"/reviews/calls/{scene.call.code}/notice/objections/{objection.pk}/handle/",
        {"decision": "upheld", "result": "经核查属实。"},
    )
    html = admin.get(notice_admin_url(scene.call)).content.decode()
    assert f'data-testid="withdraw-{first.pk}"' in html
    end_notice(scene.call)
    html = admin.post(f"/en/reviews/calls/{scene.call.code}/notice/finalise/", follow=True).content.decode()
    assert "change the winners before finalising" in html
    html = admin.post(
        f"/en/reviews/calls/{scene.call.code}/notice/withdraw/{first.pk}/", {"reason": " "}, follow=True
    ).content.decode()
    assert "Give the reason" in html and Recommendation.objects.filter(proposal=first).exists()
    admin.post(f"/reviews/calls/{scene.call.code}/notice/withdraw/{first.pk}/", {"reason": "异议成立，撤销推荐。"})
    assert not Recommendation.objects.filter(proposal=first).exists()
    html = admin.post(f"/en/reviews/calls/{scene.call.code}/notice/finalise/", follow=True).content.decode()
    assert "the call has failed" in html
    scene.review.refresh()
    assert scene.call.status == CallStatus.FAILED
    assert {p.status for p in scene.review.proposals} == {ProposalStatus.NOT_AWARDED}


def test_fail_without_winner(scene, client_for):
    scene.ranked()
    admin = client_for(scene.cast["administrator"])
    html = admin.post(f"/en/reviews/calls/{scene.call.code}/decisions/fail/", {"reason": ""}).content.decode()
    assert "This field is required" in html
    scene.call.refresh_from_db()
    assert scene.call.status == CallStatus.UNDER_REVIEW
    response = admin.post(f"/reviews/calls/{scene.call.code}/decisions/fail/", {"reason": "均未达到考核指标要求"})
    assert response.status_code == 302 and response["Location"] == dashboard_url(scene.call)
    scene.review.refresh()
    assert scene.call.status == CallStatus.FAILED
    assert {p.status for p in scene.review.proposals} == {ProposalStatus.NOT_AWARDED}
    # Results are published with the failure; there is no public notice to link to.
    html = client_for(scene.review.leads[1]).get(result_url(scene.proposals[1])).content.decode()
    assert text_of(html, "final") == "72.00"
    assert f'href="{public_url(scene.call)}"' not in html


def test_open_notice_needs_winners(scene, client_for):
    scene.ranked()
    html = (
        client_for(scene.cast["administrator"])
        .post(f"/en/reviews/calls/{scene.call.code}/decisions/notice/", {"starts_on": timezone.localdate().isoformat()})
        .content.decode()
    )
    assert "Confirm the winners first" in html
    assert not Notice.objects.exists()


def test_working_day_notice_preview(cast, client_for):
    from reviews.models import Holiday

    scene = Scene(cast)
    programme = scene.call.programme
    programme.notice_day_kind = "working"
    programme.save()
    scene.ranked()
    decisions.confirm_winners(actor=cast["administrator"], call=scene.call, amounts={scene.proposals[0].pk: D("50")})
    today = timezone.localdate()
    Holiday.objects.create(date=today + timedelta(days=1), name="假日")
    from reviews.notice import notice_end

    expected = notice_end(today, 5, working=True, holidays={today + timedelta(days=1)})
    html = client_for(cast["administrator"]).get(decisions_url(scene.call, en=True)).content.decode()
    assert "working days" in html and f"ends on {expected:%Y-%m-%d}" in html


def test_horse_race_preselects_top_n_within_the_cap(cast, client_for):
    scene = Scene(cast, horse_race=2, fiscal_cap=D("150"))
    scene.ranked()
    first, second, third = scene.proposals
    html = client_for(cast["administrator"]).get(decisions_url(scene.call)).content.decode()
    assert re.search(rf'data-testid="winner-{first.pk}"[^>]*checked', html)
    assert re.search(rf'data-testid="winner-{second.pk}"[^>]*checked', html)
    # 100 requested each; the cap of 150 leaves 50 for the second.
    assert re.search(rf'value="100(\.00)?" [^>]*data-testid="amount-{first.pk}"', html)
    assert re.search(rf'value="50(\.00)?" [^>]*data-testid="amount-{second.pk}"', html)


# === results visibility ==========================================================================
@pytest.mark.parametrize(
    ("member", "before", "after"),
    [
        ("administrator", 200, 200),
        ("supervisor", 200, 200),
        ("issuer", 403, 200),
        ("lead", 403, 403),
        ("member", 403, 403),
        ("outsider", 403, 403),
        ("expert", 403, 403),
    ],
)
def test_ranking_page_as_the_cast(scene, client_for, member, before, after):
    scene.ranked()
    c = client_for(scene.user(member))
    assert c.get(ranking_url(scene.call)).status_code == before
    admin = scene.cast["administrator"]
    decisions.confirm_winners(actor=admin, call=scene.call, amounts={scene.proposals[0].pk: D("80")})
    decisions.open_notice(actor=admin, call=scene.call)
    response = c.get(ranking_url(scene.call))
    assert response.status_code == after
    if after == 200:
        html = response.content.decode()
        assert text_of(html, f"final-{scene.proposals[0].pk}") == "88.00"
        assert text_of(html, f"final-{scene.proposals[2].pk}") == "52.33"
        assert all(p.lead_organization.name in html for p in scene.proposals)
        if member == "issuer":
            assert not any(name in html for name in expert_names(scene))


def test_another_issuer_never_sees_the_ranking(scene, client_for):
    from tests.factories import UserFactory

    scene.in_notice()
    other = UserFactory(organization=OrganizationFactory(), is_issuer=True)
    assert client_for(other).get(ranking_url(scene.call)).status_code == 403


@pytest.mark.parametrize("member", ["lead", "member"])
def test_applicants_see_their_result_once_the_notice_begins(scene, client_for, member):
    scene.ranked()
    c = client_for(scene.user(member))
    html = c.get(result_url(scene.proposals[0])).content.decode()
    assert 'data-testid="not-yet"' in html and "88.00" not in html
    admin = scene.cast["administrator"]
    decisions.confirm_winners(actor=admin, call=scene.call, amounts={scene.proposals[0].pk: D("80")})
    decisions.open_notice(actor=admin, call=scene.call)
    html = c.get("/en" + result_url(scene.proposals[0])).content.decode()
    assert text_of(html, "final") == "88.00"
    assert text_of(html, "rank") == "1 of 3"
    for number in ("90.00", "86.00"):  # individual expert totals
        assert number not in html
    assert not any(name in html for name in expert_names(scene))


def test_result_page_as_the_cast(scene, client_for, client):
    scene.in_notice()
    url = result_url(scene.proposals[0])
    assert client_for(scene.cast["outsider_applicant"]).get(url).status_code == 404
    assert client_for(scene.review.experts[0].user).get(url).status_code == 404
    assert client_for(scene.review.leads[1]).get(url).status_code == 404  # another proposal's lead
    assert client.get(url).status_code == 302
    for member in ("administrator", "supervisor", "issuer"):
        html = client_for(scene.user(member)).get(url).content.decode()
        assert text_of(html, "final") == "88.00", member


# === panels ====================================================================================
def test_panels(scene, client_for):
    review, first = scene.review, scene.proposals[0]
    score_totals(review, first, [80, 80])
    html = client_for(scene.cast["administrator"]).get("/en/accounts/dashboard/").content.decode()
    assert re.search(rf'data-testid="under-review-{scene.call.code}">.*?2 / 9 scores \(22%\)</li>', html)
    lead = client_for(scene.review.leads[0])
    assert f'data-testid="result-{first.pk}"' not in lead.get("/accounts/dashboard/").content.decode()

    Assignment.objects.filter(proposal__call=scene.call).exclude(score__status=ScoreStatus.SUBMITTED).delete()
    decisions.rank_call(actor=scene.cast["administrator"], call=scene.call, allow_incomplete=True)
    decisions.confirm_winners(actor=scene.cast["administrator"], call=scene.call, amounts={first.pk: D("80")})
    notice = decisions.open_notice(actor=scene.cast["administrator"], call=scene.call)
    decisions.submit_objection(actor=scene.cast["outsider_applicant"], notice=notice, text="异议", real_name="孙八")
    html = client_for(scene.cast["administrator"]).get("/en/accounts/dashboard/").content.decode()
    assert "1 open objection" in text_of(html, f"open-objections-{scene.call.code}")
    html = lead.get("/accounts/dashboard/").content.decode()
    assert f'href="/reviews/results/{first.pk}/"' in html
    member_html = client_for(scene.cast["member_applicant"]).get("/accounts/dashboard/").content.decode()
    assert f'data-testid="result-{first.pk}"' in member_html


def test_call_page_links(scene, client_for, client):
    html = client_for(scene.cast["administrator"]).get(f"/calls/{scene.call.code}/").content.decode()
    assert f'href="{dashboard_url(scene.call)}"' in html and 'data-testid="public-notice-link"' not in html
    assert 'data-testid="review-dashboard-link"' not in client.get(f"/calls/{scene.call.code}/").content.decode()
    scene.in_notice()
    html = client.get(f"/calls/{scene.call.code}/").content.decode()
    assert f'href="{public_url(scene.call)}"' in html
    assert 'href="/reviews/notices/"' in html  # the nav link


# === query budgets =============================================================================
def _bulk_scores(review, proposals, totals=(80, 70, 60)):
    """Submitted scores for every assignment of these proposals, written directly (fast)."""
    now = timezone.now()
    scores = []
    for proposal in proposals:
        for assignment, total in zip(review.assignments_of(proposal), totals, strict=False):
            scores.append(Score(assignment=assignment, status=ScoreStatus.SUBMITTED, total=D(total), submitted_at=now))
    Score.objects.bulk_create(scores)
    items = []
    for score in scores:
        for criterion, points in zip(review.criteria, split(score.total, review.criteria), strict=True):
            items.append(ScoreItem(score=score, criterion=criterion, points=points))
    ScoreItem.objects.bulk_create(items)


@pytest.mark.parametrize("n", [5, 50])
def test_dashboard_query_budget(cast, client_for, django_assert_max_num_queries, n):
    review = review_call(cast["administrator"], proposals=n, experts=3)
    _bulk_scores(review, review.proposals[: n - 1])
    Conflict.objects.create(
        expert=review.experts[0], proposal=review.proposals[0], reason=ConflictReason.EMPLOYER_UNIT, status="confirmed"
    )
    c = client_for(cast["administrator"])
    # Built: session, user, call, the cache stamp and the four of dashboard_context.
    with django_assert_max_num_queries(8):
        html = c.get(dashboard_url(review.call)).content.decode()
    assert html.count('data-state="submitted"') == 3 * (n - 1)  # the conflicted pair's score still counts
    assert html.count('data-state="not_started"') == 3
    with django_assert_max_num_queries(4):  # from the cache
        assert c.get(dashboard_url(review.call)).content.decode().count('data-state="submitted"') == 3 * (n - 1)
    # After ranking (stored results) the budget holds too.
    decisions.rank_call(actor=cast["administrator"], call=review.call, allow_incomplete=True)
    with django_assert_max_num_queries(8):
        assert c.get(dashboard_url(review.call)).status_code == 200
    with django_assert_max_num_queries(8):
        assert c.get(decisions_url(review.call)).status_code == 200


def _notice_with_winners(cast, n):
    """A 赛马制 call in notice with n recommended proposals, each with a member unit and a PI."""
    review = review_call(cast["administrator"], proposals=n, experts=1, horse_race=max(n, 2), fiscal=D("1"))
    call = review.call
    for index, proposal in enumerate(review.proposals):
        ProposalUnit.objects.create(proposal=proposal, organization=OrganizationFactory(), role=UnitRole.MEMBER)
        lead_unit = ProposalUnit.objects.get(proposal=proposal, role=UnitRole.LEAD)
        person = Person.objects.create(id_number=person_id(80000 + index), name=f"负责人{index}")
        TeamMember.objects.create(proposal=proposal, person=person, unit=lead_unit, role=TeamRole.PI, months_per_year=6)
    Result.objects.bulk_create(
        Result(proposal=p, count=1, final=D(90 - i * D("0.5")), method="mean", rank=i + 1, passed=True)
        for i, p in enumerate(review.proposals)
    )
    Recommendation.objects.bulk_create(
        Recommendation(proposal=p, call=call, fiscal_amount=D("1"), confirmed_by=cast["administrator"])
        for p in review.proposals
    )
    Proposal.objects.filter(call=call).update(status=ProposalStatus.RECOMMENDED)
    Call.objects.filter(pk=call.pk).update(status=CallStatus.IN_NOTICE, issuer=cast["issuer"].organization)
    today = timezone.localdate()
    Notice.objects.create(
        call=call, starts_on=today, ends_on=today + timedelta(days=4), published_by=cast["administrator"]
    )
    return review


@pytest.mark.parametrize("n", [5, 50])
def test_public_notice_query_budget(cast, client, client_for, django_assert_max_num_queries, n):
    review = _notice_with_winners(cast, n)
    with django_assert_max_num_queries(4):
        html = client.get(public_url(review.call)).content.decode()
    assert html.count('data-testid="award-') == n and "负责人0" in html
    c = client_for(cast["outsider_applicant"])
    with django_assert_max_num_queries(8):
        assert 'data-testid="objection-form"' in c.get(public_url(review.call)).content.decode()
    with django_assert_max_num_queries(1):
        assert client.get("/reviews/notices/").status_code == 200


@pytest.mark.parametrize("n", [5, 50])
def test_ranking_and_notice_admin_query_budget(cast, client_for, django_assert_max_num_queries, n):
    review = _notice_with_winners(cast, n)
    notice = Notice.objects.get(call=review.call)
    for index in range(n):
        Objection.objects.create(
            notice=notice,
            proposal=review.proposals[index],
            submitted_by=cast["lead_applicant"],
            real_name="某",
            text="x",
        )
    issuer, admin = client_for(cast["issuer"]), client_for(cast["administrator"])
    with django_assert_max_num_queries(6):
        html = issuer.get(ranking_url(review.call)).content.decode()
    assert html.count('data-testid="ranking-') == n
    with django_assert_max_num_queries(8):
        html = admin.get(notice_admin_url(review.call)).content.decode()
    assert html.count('data-testid="objection-') == n


def test_pages_have_no_inline_code(scene, client_for, client):
    """CSP forbids inline scripts and styles: data travels in data-* attributes or JSON blocks."""
    scene.in_notice()
    Objection.objects.create(notice=scene.notice, submitted_by=scene.cast["lead_applicant"], real_name="周九", text="x")
    admin = client_for(scene.cast["administrator"])
    pages = [
        admin.get(dashboard_url(scene.call)),
        admin.get(decisions_url(scene.call)),
        admin.get(notice_admin_url(scene.call)),
        admin.get(ranking_url(scene.call)),
        admin.get("/accounts/dashboard/"),
        client.get("/reviews/notices/"),
        client.get(public_url(scene.call)),
        client_for(scene.cast["member_applicant"]).get(public_url(scene.call)),
        client_for(scene.review.leads[0]).get(result_url(scene.proposals[0])),
        client_for(scene.review.leads[0]).get("/accounts/dashboard/"),
    ]
    for response in pages:
        assert response.status_code == 200
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)
