"""The expert's score sheet (reviews/views/scoring.py): who may open it, autosave with htmx,
submitting (locks), the administrator's reopening, and that nobody sees another expert's sheet.

Pages are read in English (/en/…), the source strings.
"""

import re
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from audit.models import AuditEntry
from calls.choices import CallStatus
from calls.models import Call
from calls.rubric import DEFAULT_BANDS
from experts import avoidance
from experts.choices import ConflictStatus
from experts.models import Conflict
from proposals.choices import ProposalStatus
from proposals.models import Proposal
from reviews.models import Assignment, Score, ScoreItem, ScoreStatus
from tests.factories_draw_pages import ExpertFactory, closed_call, expert_for, passed_proposal
from tests.factories_reviews import add_rubric, give_score

pytestmark = pytest.mark.django_db

CRITERIA_3 = (("技术路线先进性与可行性", "40"), ("团队实力与研究基础", "30"), ("经费预算与配套", "30"))
CRITERIA_10 = tuple((f"评审要素{n}", "10") for n in range(1, 11))
SECOND_NAME = "欧阳另一位"
SECOND_COMMENT = "另一位专家的保密评语XYZ"


def sheet_url(assignment, suffix="") -> str:
    return f"/en/reviews/assignments/{assignment.pk}/score/{suffix}"


def reopen_url(score) -> str:
    return f"/en/reviews/scores/{score.pk}/reopen/"


def under_review(lead_org, *, issuer_org=None, members=(), criteria=CRITERIA_3, title=None, **call_fields):
    """A call under review with a rubric and one proposal (with its frozen submission)."""
    call_fields.setdefault("veto_item", "弄虚作假")
    call_fields.setdefault("rubric_bands", [dict(b) for b in DEFAULT_BANDS])
    if issuer_org is not None:
        call_fields["issuer"] = issuer_org
    call = closed_call(**call_fields)
    rubric = add_rubric(call, criteria)
    proposal = passed_proposal(call, lead_org, members=members, title=title)
    Call.objects.filter(pk=call.pk).update(status=CallStatus.UNDER_REVIEW)
    Proposal.objects.filter(pk=proposal.pk).update(status=ProposalStatus.UNDER_REVIEW)
    call.refresh_from_db()
    return call, rubric, Proposal.objects.get(pk=proposal.pk)


@pytest.fixture
def scene(cast, lead_org, member_org):
    """The cast's assigned expert and a second expert both review the proposal; the cast's
    conflicted expert (employed by the lead unit) holds an active assignment row too, which the
    computed conflict blocks."""
    call, criteria, proposal = under_review(
        lead_org, issuer_org=cast["issuer"].organization, members=[member_org], title="高安全储能电池揭榜方案"
    )
    assigned = expert_for(cast["assigned_expert"], name="评审甲")
    second = ExpertFactory(name=SECOND_NAME)
    conflicted = expert_for(cast["conflicted_expert"], name="回避乙")
    assignments = {e.pk: Assignment.objects.create(proposal=proposal, expert=e) for e in (assigned, second, conflicted)}
    avoidance.sync(Proposal.objects.filter(pk=proposal.pk).select_related("call"))
    assert Conflict.objects.get(expert=conflicted, proposal=proposal).status == ConflictStatus.CONFIRMED
    return SimpleNamespace(
        admin=cast["administrator"],
        call=call,
        criteria=criteria,
        proposal=proposal,
        assigned=assigned,
        second=second,
        conflicted=conflicted,
        assignment=assignments[assigned.pk],
        second_assignment=assignments[second.pk],
        conflicted_assignment=assignments[conflicted.pk],
    )


def sheet(scene, values=("36", "25.5", "20"), *, comment="方案可行。", veto=False, veto_reason="", **extra):
    """The form's fields as the browser posts them."""
    data = {f"c{c.pk}": v for c, v in zip(scene.criteria, values, strict=True)}
    data.update({f"comment-c{c.pk}": f"要素{n}的评语" for n, c in enumerate(scene.criteria, start=1)})
    data.update(comment=comment, veto_reason=veto_reason, **extra)
    if veto:
        data["veto"] = "on"
    return data


def items_of(score) -> dict:
    return {i.criterion_id: (i.points, i.comment) for i in ScoreItem.objects.filter(score=score)}


# --- who may open it -----------------------------------------------------------------------------
NOBODY_ELSE = [
    "administrator",
    "supervisor",
    "issuer",
    "lead_applicant",
    "member_applicant",
    "outsider_applicant",
    "conflicted_expert",
]


@pytest.mark.parametrize("member", NOBODY_ELSE)
def test_only_the_assigned_expert_opens_the_sheet(scene, cast, client_for, member):
    c = client_for(cast[member])
    assert c.get(sheet_url(scene.assignment)).status_code == 404
    assert c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene)).status_code == 404
    assert c.post(sheet_url(scene.assignment, "submit/"), sheet(scene)).status_code == 404
    assert c.post(sheet_url(scene.assignment), sheet(scene)).status_code == 404
    assert not Score.objects.exists()


def test_the_assigned_and_the_second_expert_each_open_only_their_own(scene, client_for):
    assert client_for(scene.assigned.user).get(sheet_url(scene.assignment)).status_code == 200
    assert client_for(scene.second.user).get(sheet_url(scene.second_assignment)).status_code == 200
    assert client_for(scene.second.user).get(sheet_url(scene.assignment)).status_code == 404
    assert client_for(scene.assigned.user).get(sheet_url(scene.second_assignment)).status_code == 404
    assert client_for(scene.second.user).post(sheet_url(scene.assignment, "autosave/"), sheet(scene)).status_code == 404
    assert not Score.objects.exists()


def test_a_conflict_blocks_even_an_active_assignment_and_anonymous_users_log_in(scene, client_for):
    c = client_for(scene.conflicted.user)
    assert Assignment.objects.get(pk=scene.conflicted_assignment.pk).active
    assert c.get(sheet_url(scene.conflicted_assignment)).status_code == 404
    assert c.post(sheet_url(scene.conflicted_assignment, "autosave/"), sheet(scene)).status_code == 404
    anonymous = client_for(None)
    for response in (
        anonymous.get(sheet_url(scene.assignment)),
        anonymous.post(sheet_url(scene.assignment, "autosave/"), sheet(scene)),
    ):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Score.objects.exists()


def test_an_inactive_assignment_is_404(scene, client_for):
    Assignment.objects.filter(pk=scene.assignment.pk).update(active=False)
    assert client_for(scene.assigned.user).get(sheet_url(scene.assignment)).status_code == 404


# --- the page --------------------------------------------------------------------------------------
def test_the_page_shows_the_frozen_submission_and_the_rubric(scene, client_for):
    c = client_for(scene.assigned.user)
    response = c.get(sheet_url(scene.assignment))
    html = response.content.decode()
    assert response.status_code == 200
    assert not Score.objects.exists()  # reading writes nothing
    # Left: the snapshot, as on the assignment page.
    assert scene.proposal.title in html and "材料体系优化" in html
    units = re.search(r'data-testid="units">(.*?)</table>', html, re.S).group(1)
    assert scene.proposal.lead_organization.name in units and "Lead unit" in units
    assert "科研诚信承诺书.pdf" in html and "/reviews/assignments/" in html and "/proposals/" not in html
    assert scene.proposal.team.get().person.id_number not in html  # masked in the snapshot
    # Right: one row per criterion, its maximum, the bands as points.
    first, second, third = scene.criteria
    for criterion in scene.criteria:
        assert f'name="c{criterion.pk}"' in html and criterion.name in html
        assert f'name="comment-c{criterion.pk}"' in html
    rows = rf'data-testid="criterion-{first.pk}">(.*?)data-testid="criterion-{second.pk}"'
    row = re.search(rows, html, re.S).group(1)
    assert 'step="0.01"' in row and 'min="0"' in row and 'max="40"' in row and "max. 40 points" in row
    assert "优 ≥ 36 (90%)" in row and "良 ≥ 30 (75%)" in row and "中 ≥ 24 (60%)" in row and "差 ≥ 0 (0%)" in row
    assert f'hx-post="/en/reviews/assignments/{scene.assignment.pk}/score/autosave/"' in row
    assert 'hx-trigger="change delay:500ms"' in row and 'hx-include="#score-form"' in row
    assert 'data-testid="comment-required"' in html
    assert 'name="veto"' in html and "Veto item applies: 弄虚作假" in html and 'name="veto_reason"' in html
    assert 'data-testid="live-total">0<' in html
    # Declaring a conflict: declarable reasons only, posted to the existing view.
    declare = re.search(r'data-testid="declare-form">(.*?)</section>', html, re.S).group(1)
    assert f'action="/en/reviews/assignments/{scene.assignment.pk}/declare/"' in declare
    assert "Declared: relative" in declare and "on_team" not in declare
    # The expert's pages link here.
    assert f'href="/en/reviews/assignments/{scene.assignment.pk}/score/"' in c.get("/en/reviews/mine/").content.decode()
    page = c.get(f"/en/reviews/assignments/{scene.assignment.pk}/").content.decode()
    assert f'href="/en/reviews/assignments/{scene.assignment.pk}/score/"' in page


def test_a_call_without_veto_bands_or_required_comment(cast, lead_org, client_for):
    call, criteria, proposal = under_review(lead_org, veto_item="", rubric_bands=[], comment_required=False)
    expert = expert_for(cast["assigned_expert"])
    assignment = Assignment.objects.create(proposal=proposal, expert=expert)
    html = client_for(expert.user).get(sheet_url(assignment)).content.decode()
    assert 'name="veto"' not in html and 'data-testid="veto"' not in html
    assert "data-band-label" not in html and 'data-testid="comment-required"' not in html
    # A posted veto is ignored when the call has no veto item.
    c = client_for(expert.user)
    data = {f"c{c_.pk}": "10" for c_ in criteria} | {"veto": "on", "veto_reason": "x"}
    c.post(sheet_url(assignment, "autosave/"), data)
    score = Score.objects.get(assignment=assignment)
    assert not score.veto and score.veto_reason == ""


# --- autosave ----------------------------------------------------------------------------------------
def test_autosave_stores_the_draft_and_answers_with_a_small_partial(scene, client_for):
    c = client_for(scene.assigned.user)
    response = c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene, veto=True), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-testid="autosave-saved">Saved at \d\d:\d\d:\d\d<', html)
    assert "<html" not in html and "<form" not in html and "HX-Redirect" not in response
    for criterion in scene.criteria:  # clears each criterion's error slot out of band
        assert f'id="error-c{criterion.pk}" hx-swap-oob="true"' in html
    score = Score.objects.get(assignment=scene.assignment)
    first, second, third = scene.criteria
    assert score.status == ScoreStatus.DRAFT and score.total is None
    assert items_of(score) == {
        first.pk: (D("36"), "要素1的评语"),
        second.pk: (D("25.5"), "要素2的评语"),
        third.pk: (D("20"), "要素3的评语"),
    }
    assert score.comment == "方案可行。" and score.veto and score.veto_reason == ""

    # The page shows the draft back, with its bands and the total.
    page = c.get(sheet_url(scene.assignment)).content.decode()
    assert f'name="c{first.pk}" value="36.00"' in page and f'name="c{second.pk}" value="25.50"' in page
    assert f'data-testid="band-{first.pk}">优<' in page and f'data-testid="band-{second.pk}">良<' in page
    assert f'data-testid="band-{third.pk}">中<' in page and "良 ≥ 22.5 (75%)" in page
    assert 'data-testid="live-total">81.5<' in page and "Draft saved at" in page
    assert re.search(r'id="score-veto" name="veto" checked', page)

    # A blank value is a draft too.
    c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene, ("", "25.5", "20")))
    assert items_of(score)[first.pk][0] is None


@pytest.mark.parametrize(
    "value, message",
    [
        ("40.01", "Between 0 and 40 points."),
        ("-1", "Between 0 and 40 points."),
        ("abc", "Enter a number."),
        ("12.345", "At most two decimal places."),
        ("NaN", "Enter a number."),
    ],
)
def test_autosave_refuses_invalid_points_and_changes_nothing(scene, client_for, value, message):
    c = client_for(scene.assigned.user)
    c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene))
    score = Score.objects.get(assignment=scene.assignment)
    before, updated = items_of(score), score.updated_at
    first = scene.criteria[0]
    changed = sheet(scene, (value, "1", "2"), comment="改过的总评")
    changed[f"comment-c{scene.criteria[1].pk}"] = "改过的评语"
    response = c.post(sheet_url(scene.assignment, "autosave/"), changed, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert 'data-testid="autosave-failed">Not saved: correct the marked points.<' in html
    error = re.search(rf'data-testid="error-c{first.pk}">(.*?)</div>', html, re.S).group(1)
    assert message in error
    for other in scene.criteria[1:]:
        assert re.search(rf'data-testid="error-c{other.pk}">\s*</div>', html)
    score.refresh_from_db()
    assert items_of(score) == before and score.comment == "方案可行。" and score.updated_at == updated


def test_autosave_only_while_the_call_is_under_review(scene, client_for):
    Call.objects.filter(pk=scene.call.pk).update(status=CallStatus.CLOSED)
    c = client_for(scene.assigned.user)
    html = c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene)).content.decode()
    assert "Not saved: Scoring is open only while the call is under review." in html
    assert not Score.objects.exists()
    page = c.get(sheet_url(scene.assignment)).content.decode()
    assert 'data-testid="closed"' in page and "hx-post" not in page and 'data-testid="submit-score"' not in page


def test_saving_the_draft_without_javascript(scene, client_for):
    c = client_for(scene.assigned.user)
    response = c.post(sheet_url(scene.assignment), sheet(scene), follow=True)
    assert response.redirect_chain[-1][0] == sheet_url(scene.assignment)
    assert "Your draft is saved." in response.content.decode()
    assert Score.objects.get(assignment=scene.assignment).status == ScoreStatus.DRAFT
    response = c.post(sheet_url(scene.assignment), sheet(scene, ("99", "1", "2")))
    html = response.content.decode()
    assert response.status_code == 200 and "Between 0 and 40 points." in html
    assert f'name="c{scene.criteria[0].pk}" value="99"' in html  # what was typed stays in the form
    assert items_of(Score.objects.get())[scene.criteria[0].pk][0] == D("36")


# --- submitting ----------------------------------------------------------------------------------
def test_submit_saves_the_form_then_locks(scene, client_for):
    c = client_for(scene.assigned.user)
    c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene))
    response = c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, ("38.5", "25.5", "20")), follow=True)
    assert response.redirect_chain[-1][0] == sheet_url(scene.assignment)
    html = response.content.decode()
    score = Score.objects.get(assignment=scene.assignment)
    assert score.status == ScoreStatus.SUBMITTED and score.total == D("84.00") and score.submitted_at
    assert "Your score (84 points) is submitted and locked." in html
    assert re.search(r"Submitted at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Beijing time\) with a total of 84.00 points", html)
    assert "Only an administrator can reopen it" in html
    # Read-only: every field disabled, no autosave, no buttons.
    form = re.search(r'<form id="score-form".*?</form>', html, re.S).group(0)
    fields = re.findall(r"<(?:input|textarea)\b[^>]*>", form)
    named = [f for f in fields if 'type="hidden"' not in f]
    assert len(named) == 3 * 2 + 3 and all(" disabled" in f for f in named)
    assert "hx-post" not in form and 'data-testid="submit-score"' not in form and 'data-testid="save-draft"' not in form
    assert AuditEntry.objects.filter(action="score.submit", object_id=str(score.pk)).exists()

    # Further autosave, drafts and submits are refused and change nothing.
    answer = c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene, ("1", "1", "1"))).content.decode()
    assert "Not saved: This score has been submitted and is locked." in answer
    page = c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, ("1", "1", "1"))).content.decode()
    assert "This score has been submitted and is locked." in page
    page = c.post(sheet_url(scene.assignment, "submit/")).content.decode()
    assert "This score has already been submitted." in page
    score.refresh_from_db()
    assert score.total == D("84.00") and items_of(score)[scene.criteria[0].pk][0] == D("38.5")


def test_submit_names_what_is_missing(scene, client_for):
    c = client_for(scene.assigned.user)
    response = c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, ("36", "", "20"), comment="  "))
    html = response.content.decode()
    assert response.status_code == 200
    errors = re.search(r'data-testid="score-errors">(.*?)</div>', html, re.S).group(1)
    assert "Score “团队实力与研究基础”." in errors and "An overall comment is required." in errors
    score = Score.objects.get(assignment=scene.assignment)
    assert score.status == ScoreStatus.DRAFT  # the draft is kept, not locked
    assert items_of(score)[scene.criteria[0].pk][0] == D("36")


def test_a_veto_needs_its_reason_at_submit(scene, client_for):
    c = client_for(scene.assigned.user)
    html = c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, veto=True)).content.decode()
    assert "Explain why the veto item applies." in html
    assert Score.objects.get().status == ScoreStatus.DRAFT
    c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, veto=True, veto_reason="数据造假"))
    score = Score.objects.get()
    assert score.status == ScoreStatus.SUBMITTED and score.veto and score.veto_reason == "数据造假"


def test_the_comment_is_optional_when_the_call_says_so(cast, lead_org, client_for):
    call, criteria, proposal = under_review(lead_org, comment_required=False)
    expert = expert_for(cast["assigned_expert"])
    assignment = Assignment.objects.create(proposal=proposal, expert=expert)
    data = {f"c{c.pk}": "30" for c in criteria} | {"comment": ""}
    client_for(expert.user).post(sheet_url(assignment, "submit/"), data)
    assert Score.objects.get().status == ScoreStatus.SUBMITTED


def test_submit_with_invalid_points_keeps_the_draft(scene, client_for):
    c = client_for(scene.assigned.user)
    c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene))
    html = c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, ("41", "25.5", "20"))).content.decode()
    assert "Between 0 and 40 points." in html and 'value="41"' in html
    score = Score.objects.get()
    assert score.status == ScoreStatus.DRAFT and items_of(score)[scene.criteria[0].pk][0] == D("36")


# --- reopening ---------------------------------------------------------------------------------------
@pytest.fixture
def submitted(scene):
    return give_score(scene.assignment, [D("36"), D("25.5"), D("20")])


def test_an_administrator_reopens_with_a_reason(scene, submitted, client_for):
    admin = client_for(scene.admin)
    came_from = "http://testserver/en/reviews/"
    response = admin.post(reopen_url(submitted), {"reason": "分项分数录入有误"}, HTTP_REFERER=came_from)
    assert response.status_code == 302 and response["Location"] == came_from
    submitted.refresh_from_db()
    assert submitted.status == ScoreStatus.DRAFT and submitted.total is None and submitted.submitted_at is None
    entry = AuditEntry.objects.get(action="score.reopen")
    assert entry.actor == scene.admin and entry.object_id == str(submitted.pk)
    assert entry.reason == "分项分数录入有误" and entry.after == {"status": "draft"}
    # The expert can change it again.
    c = client_for(scene.assigned.user)
    page = c.get(sheet_url(scene.assignment)).content.decode()
    assert 'data-testid="submit-score"' in page and "hx-post" in page
    c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, ("40", "30", "30")))
    submitted.refresh_from_db()
    assert submitted.status == ScoreStatus.SUBMITTED and submitted.total == D("100.00")


def test_reopen_needs_a_reason_and_a_submitted_score(scene, submitted, client_for):
    admin = client_for(scene.admin)
    response = admin.post(reopen_url(submitted), {"reason": "  "}, follow=True)
    assert response.redirect_chain[0][0] == "/en/reviews/"  # no referrer: the review index
    assert "Give the reason for reopening." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == ScoreStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action="score.reopen").exists()
    admin.post(reopen_url(submitted), {"reason": "重新评审"})
    html = admin.post(reopen_url(submitted), {"reason": "再来一次"}, follow=True).content.decode()
    assert "Only a submitted score can be reopened." in html
    assert AuditEntry.objects.filter(action="score.reopen").count() == 1
    assert admin.post("/en/reviews/scores/999999/reopen/", {"reason": "x"}).status_code == 404
    assert admin.get(reopen_url(submitted)).status_code == 405


def test_reopen_goes_back_only_to_this_site(scene, submitted, client_for):
    response = client_for(scene.admin).post(
        reopen_url(submitted), {"reason": "录入有误"}, HTTP_REFERER="https://evil.example/phish"
    )
    assert response.status_code == 302 and response["Location"] == "/en/reviews/"


@pytest.mark.parametrize("member", ["supervisor", "issuer", "lead_applicant", "assigned_expert", "conflicted_expert"])
def test_only_administrators_reopen(scene, submitted, cast, client_for, member):
    response = client_for(cast[member]).post(reopen_url(submitted), {"reason": "我想改分"})
    assert response.status_code == 403
    assert client_for(cast[member]).post("/en/reviews/scores/999999/reopen/", {"reason": "x"}).status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == ScoreStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action="score.reopen").exists()
    assert client_for(None).post(reopen_url(submitted), {"reason": "x"}).status_code == 302


# --- nobody sees another expert's sheet ----------------------------------------------------------
def test_no_other_experts_name_or_score_in_the_page(scene, client_for):
    other = give_score(scene.second_assignment, [D("33.33"), D("22.22"), D("11.11")], comment=SECOND_COMMENT)
    assert other.total == D("66.66")
    c = client_for(scene.assigned.user)
    for url in (sheet_url(scene.assignment), f"/en/reviews/assignments/{scene.assignment.pk}/", "/en/reviews/mine/"):
        html = c.get(url).content.decode()
        assert SECOND_NAME not in html and scene.second.user.username not in html, url
        assert SECOND_COMMENT not in html and "33.33" not in html and "66.66" not in html, url
        assert "回避乙" not in html and scene.conflicted.user.username not in html, url
    # Not after the expert's own save or submit either.
    answer = c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene)).content.decode()
    assert SECOND_COMMENT not in answer and "33.33" not in answer
    html = c.post(sheet_url(scene.assignment, "submit/"), sheet(scene), follow=True).content.decode()
    assert SECOND_NAME not in html and SECOND_COMMENT not in html and "66.66" not in html
    assert "评审甲" not in client_for(scene.second.user).get(sheet_url(scene.second_assignment)).content.decode()


# --- query budget and CSP ----------------------------------------------------------------------------
@pytest.mark.parametrize("criteria", [CRITERIA_3, CRITERIA_10], ids=["3-criteria", "10-criteria"])
def test_scoring_page_query_budget(cast, lead_org, client_for, django_assert_max_num_queries, criteria):
    call, rubric, proposal = under_review(lead_org, criteria=criteria)
    expert = expert_for(cast["assigned_expert"])
    assignment = Assignment.objects.create(proposal=proposal, expert=expert)
    give_score(assignment, [c.max_points for c in rubric], submit=False)
    c = client_for(expert.user)
    with django_assert_max_num_queries(11):
        html = c.get(sheet_url(assignment)).content.decode()
    assert html.count("data-score-row") == len(criteria)
    assert 'data-testid="live-total">100<' in html


def test_scoring_pages_have_no_inline_code(scene, client_for):
    c = client_for(scene.assigned.user)
    pages = [c.get(sheet_url(scene.assignment)).content.decode()]
    pages.append(c.post(sheet_url(scene.assignment, "autosave/"), sheet(scene, ("50", "1", "1"))).content.decode())
    pages.append(c.post(sheet_url(scene.assignment, "submit/"), sheet(scene, ("36", "", "1"))).content.decode())
    pages.append(c.post(sheet_url(scene.assignment, "submit/"), sheet(scene), follow=True).content.decode())
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)
        assert "hx-on" not in html and "javascript:" not in html
    assert '<script src="/static/js/score.js"></script>' in pages[0]


# --- in a real browser: htmx autosave, the live total and band, CSP ----------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_scoring_in_the_browser(live_server, page, cast, lead_org, screenshot_dir):
    _call, criteria, proposal = under_review(lead_org, title="浏览器里评分的方案")
    expert = expert_for(cast["assigned_expert"])
    assignment = Assignment.objects.create(proposal=proposal, expert=expert)
    first, second, third = criteria
    base = live_server.url
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", expert.user.username)
    page.fill("#id_password", "pw-for-tests-only")
    page.click("button[type=submit].w-100")
    page.wait_for_url(f"{base}/accounts/dashboard/")

    page.goto(f"{base}{sheet_url(assignment)}")
    page.fill(f"#score-c{first.pk}", "36.5")
    assert page.inner_text(f'[data-testid="band-{first.pk}"]') == "优"
    page.fill(f"#score-c{second.pk}", "20")
    assert page.inner_text('[data-testid="live-total"]') == "56.5"
    page.press(f"#score-c{second.pk}", "Tab")
    page.wait_for_selector('[data-testid="autosave-saved"]')
    assert items_of(Score.objects.get())[first.pk][0] == D("36.5")

    page.fill(f"#score-c{third.pk}", "31")
    page.press(f"#score-c{third.pk}", "Tab")
    page.wait_for_selector('[data-testid="autosave-failed"]')
    assert "Between 0 and 30 points." in page.inner_text(f'[data-testid="error-c{third.pk}"]')
    assert page.url.endswith(sheet_url(assignment))  # answered in place, no reload
    page.fill(f"#score-c{third.pk}", "25")
    page.fill("#score-comment", "总体可行。")
    page.press("#score-comment", "Tab")
    page.wait_for_selector('[data-testid="autosave-saved"]')
    assert page.inner_text(f'[data-testid="error-c{third.pk}"]').strip() == ""
    page.screenshot(path=str(screenshot_dir / "score-sheet.png"), full_page=True)

    page.click('[data-testid="submit-score"]')
    page.wait_for_selector('[data-testid="submitted"]')
    assert page.is_disabled(f"#score-c{first.pk}")
    score = Score.objects.get()
    assert score.status == ScoreStatus.SUBMITTED and score.total == D("81.50")
    assert not errors, errors
