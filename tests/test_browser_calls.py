"""The call journey in a real browser: draft → submit → approve → found by the public."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, Programme

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


def test_issuer_drafts_admin_approves_public_finds(live_server, page, issuer, administrator, screenshot_dir):
    Programme.objects.create(name="新型储能突围工程", year=2026)
    base = live_server.url
    deadline = (timezone.localtime() + timedelta(days=20)).replace(hour=17, minute=0)

    # The issuer drafts the call with two targets.
    login(page, base, issuer.username)
    page.goto(f"{base}/calls/new/")
    page.fill("#id_code", "JB-2026-901")
    page.fill("#id_title", "兆瓦级液流电池储能系统关键技术")
    page.select_option("#id_programme", label="2026 新型储能突围工程")
    page.select_option("#id_field", label="新型储能")
    page.fill("#id_keywords", "液流电池, 长时储能")
    page.fill("#id_background", "新能源大规模并网需要长时储能。")
    page.fill("#id_research_tasks", "1. 电堆设计；2. 系统集成。")
    page.fill("#id_period_months", "36")
    page.fill("#id_fiscal_cap", "800")
    page.fill("#id_issuer_contribution", "1600")
    page.fill("#id_deadline", deadline.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_targets-0-name", "系统额定功率")
    page.fill("#id_targets-0-value", "1")
    page.fill("#id_targets-0-unit", "MW")
    page.click('[data-formset-add="targets"]')
    page.fill("#id_targets-1-name", "能量转换效率")
    page.fill("#id_targets-1-value", "75")
    page.fill("#id_targets-1-unit", "%")
    page.click('[data-testid="save-call"]')
    page.wait_for_url(f"{base}/calls/JB-2026-901/edit/")
    page.screenshot(path=str(screenshot_dir / "call-edit.png"), full_page=True)
    call = Call.objects.get(code="JB-2026-901")
    assert call.status == "draft" and call.targets.count() == 2 and call.criteria.count() == 5

    page.click('[data-testid="action-submit"]')
    page.wait_for_url(f"{base}/calls/mine/")
    assert "待审批" in page.locator('[data-testid="row-JB-2026-901"]').inner_text()
    logout(page, base)

    # The draft is invisible to the public while pending.
    page.goto(f"{base}/calls/?q=液流")
    assert page.locator('[data-testid="call-JB-2026-901"]').count() == 0

    # The administrator approves it from the queue.
    login(page, base, administrator.username)
    page.goto(f"{base}/calls/review/")
    page.locator('[data-testid="pending-JB-2026-901"] [data-testid="action-approve"]').click()
    page.wait_for_url(f"{base}/calls/review/")
    call.refresh_from_db()
    assert call.status == "published"
    logout(page, base)

    # An anonymous visitor finds it through the filters and opens it.
    page.goto(f"{base}/calls/")
    page.select_option("#id_field", label="新型储能")
    page.fill("#id_q", "液流")
    page.fill("#id_cap_min", "500")
    page.click('[data-testid="call-filters"] button[type=submit]')
    page.wait_for_load_state()
    assert "field=energy_storage" in page.url and "cap_min=500" in page.url
    card = page.locator('[data-testid="call-JB-2026-901"]')
    assert card.count() == 1
    page.screenshot(path=str(screenshot_dir / "call-list-filtered.png"), full_page=True)
    card.locator("h2 a").click()
    page.wait_for_url(f"{base}/calls/JB-2026-901/")
    assert page.locator('[data-testid="targets"] tbody tr').count() == 2
    countdown = page.locator(".countdown")
    page.wait_for_function("document.querySelector('.countdown').textContent.includes('天')")
    assert "天" in countdown.inner_text()
    page.screenshot(path=str(screenshot_dir / "call-detail.png"), full_page=True)
