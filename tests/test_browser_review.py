"""From the expert's score to the public notice, in a real browser: the expert scores on its
score sheet → the administrator ranks on the review dashboard, confirms the winner on the
decisions page and opens the public notice → anybody sees the winner on the notice page."""

import pytest
from django.utils import timezone

from calls.choices import CallStatus
from proposals.choices import ProposalStatus
from reviews.models import Notice, Recommendation, Result, Score, ScoreStatus
from tests.factories_reviews import give_score, review_call, split

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


def test_expert_scores_admin_decides_public_sees_the_winner(live_server, page, administrator, issuer, screenshot_dir):
    # A call under review: two proposals, one expert (the whole panel here).
    review = review_call(administrator, proposals=2, experts=1, issuer=issuer.organization)
    call, (first, second) = review.call, review.proposals
    expert = review.experts[0]
    mine, other = review.assignment(first, expert), review.assignment(second, expert)
    give_score(other, split(65, review.criteria))  # the second one is scored through the service

    base = live_server.url
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    # 1. The expert opens its score sheet, scores every criterion, comments and submits.
    login(page, base, expert.user.username)
    page.goto(f"{base}/reviews/assignments/{mine.pk}/score/")
    for criterion, points in zip(review.criteria, ["36", "27.5", "25"], strict=True):
        page.fill(f"#score-c{criterion.pk}", points)
    page.fill("#score-comment", "技术路线清晰，团队基础扎实，预算合理。")
    page.click('[data-testid="submit-score"]')
    page.wait_for_selector('[data-testid="submitted"]')
    page.screenshot(path=str(screenshot_dir / "review-score-submitted.png"), full_page=True)
    score = Score.objects.get(assignment=mine)
    assert score.status == ScoreStatus.SUBMITTED and str(score.total) == "88.50"
    logout(page, base)

    # 2. The administrator opens the dashboard: every score is in, the chart is drawn.
    login(page, base, administrator.username)
    page.goto(f"{base}/reviews/calls/{call.code}/dashboard/")
    assert page.inner_text('[data-testid="done"]') == "2" and page.inner_text('[data-testid="total"]') == "2"
    assert page.inner_text(f'[data-testid="final-{first.pk}"]') == "88.50"
    assert page.inner_text(f'[data-testid="rank-{first.pk}"]') == "1"
    page.wait_for_selector('#review-chart[data-ready="1"]')
    page.screenshot(path=str(screenshot_dir / "review-dashboard.png"), full_page=True)

    # 3. Rank → the decisions page, the winner pre-selected with its fiscal request.
    page.click('[data-testid="rank"]')
    page.wait_for_url(f"{base}/reviews/calls/{call.code}/decisions/")
    assert Result.objects.get(proposal=first).rank == 1
    assert page.is_checked(f'[data-testid="winner-{first.pk}"]')
    assert not page.is_checked(f'[data-testid="winner-{second.pk}"]')
    assert page.input_value(f'[data-testid="amount-{first.pk}"]') in ("100", "100.00")
    page.fill(f'[data-testid="amount-{first.pk}"]', "90")
    page.click('[data-testid="confirm-winners"]')
    page.wait_for_selector(f'[data-testid="recommended-{first.pk}"]')
    assert str(Recommendation.objects.get(call=call).fiscal_amount) == "90.00"
    page.screenshot(path=str(screenshot_dir / "review-decisions.png"), full_page=True)

    # 4. Open the public notice from today.
    today = timezone.localdate()
    assert page.input_value("#id_starts_on") == today.isoformat()
    page.click('[data-testid="open-notice-button"]')
    page.wait_for_url(f"{base}/reviews/calls/{call.code}/notice/")
    notice = Notice.objects.get(call=call)
    assert notice.starts_on == today
    assert (
        page.inner_text('[data-testid="notice-period"]') == f"{notice.starts_on:%Y-%m-%d} – {notice.ends_on:%Y-%m-%d}"
    )
    call.refresh_from_db()
    first.refresh_from_db()
    assert call.status == CallStatus.IN_NOTICE and first.status == ProposalStatus.RECOMMENDED
    page.screenshot(path=str(screenshot_dir / "review-notice-admin.png"), full_page=True)
    logout(page, base)

    # 5. Anybody finds the notice through the navigation and sees the winner — nothing else.
    page.goto(f"{base}/")
    page.click('[data-testid="nav-notices"]')
    page.wait_for_url(f"{base}/reviews/notices/")
    page.click(f'[data-testid="notice-{call.code}"] a')
    page.wait_for_url(f"{base}/reviews/notices/{call.code}/")
    awards = page.inner_text('[data-testid="awards"]')
    assert first.lead_organization.name in awards and "90.00" in awards
    assert second.lead_organization.name not in page.content()
    assert expert.name not in page.content() and "88.50" not in page.content()
    assert page.locator('[data-testid="login-to-object"]').is_visible()
    page.screenshot(path=str(screenshot_dir / "review-public-notice.png"), full_page=True)

    assert console_errors == []


def test_admin_pages_the_matrix_and_reopens_a_score_through_the_one_form(
    live_server, page, administrator, screenshot_dir, monkeypatch
):
    # Two proposal rows per page here, so three proposals make two pages.
    monkeypatch.setattr("reviews.views.decisions.MATRIX_PAGE_SIZE", 2)
    review = review_call(administrator, proposals=3, experts=2)
    for proposal in review.proposals:
        for expert, total in zip(review.experts, (82, 64), strict=True):
            give_score(review.assignment(proposal, expert), split(total, review.criteria))
    last = sorted(review.proposals, key=lambda p: (p.title, p.pk))[-1]
    score = Score.objects.get(assignment=review.assignment(last, review.experts[0]))

    base = live_server.url
    console_errors, posts = [], []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    login(page, base, administrator.username)
    posts.clear()  # the login form's
    url = f"{base}/reviews/calls/{review.call.code}/dashboard/"
    page.goto(url)
    page.wait_for_selector('#review-chart[data-ready="1"]')
    assert page.locator('[data-testid^="row-"]').count() == 2
    assert page.inner_text('[data-testid="done"]') == "6" and page.inner_text('[data-testid="total"]') == "6"
    page.screenshot(path=str(screenshot_dir / "review-dashboard-paged.png"), full_page=True)

    # Page 2 of the matrix: the last proposal; the counts and the ranking stay whole.
    page.click('[data-testid="matrix-next"]')
    page.wait_for_url(f"{url}?page=2#scores")
    assert page.locator('[data-testid^="row-"]').count() == 1
    assert page.locator(f'[data-testid="row-{last.pk}"]').count() == 1
    assert page.locator('[data-testid^="rank-row-"]').count() == 3

    # Enter in the reason field submits nothing (the form's default button is disabled), and a
    # reopen button without a reason is stopped by the browser: no request leaves.
    page.fill('[data-testid="reopen-reason"]', "")
    page.press('[data-testid="reopen-reason"]', "Enter")
    page.click(f'[data-testid="reopen-{score.pk}"]')
    page.wait_for_timeout(300)
    assert posts == [] and page.url == f"{url}?page=2#scores"
    assert page.eval_on_selector('[data-testid="reopen-reason"]', "el => el.validity.valueMissing")
    page.fill('[data-testid="reopen-reason"]', "分项分数录入有误")
    page.press('[data-testid="reopen-reason"]', "Enter")
    page.wait_for_timeout(300)
    assert posts == []

    # With a reason, the score's own button reopens it, and the page comes back where it was.
    page.click(f'[data-testid="reopen-{score.pk}"]')
    page.wait_for_selector(f'[data-testid="cell-{last.pk}-{review.experts[0].pk}"][data-state="draft"]')
    assert page.url == f"{url}?page=2"
    assert posts == [f"{base}/reviews/scores/{score.pk}/reopen/"]
    score.refresh_from_db()
    assert score.status == ScoreStatus.DRAFT
    assert page.inner_text('[data-testid="done"]') == "5"
    page.screenshot(path=str(screenshot_dir / "review-dashboard-reopened.png"), full_page=True)
    assert console_errors == []
