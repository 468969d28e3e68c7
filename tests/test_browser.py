import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_ROLES = {
    "admin": "administrator",
    "supervisor": "supervisor",
    "issuer": "issuer",
    "applicant": "applicant",
    "partner": "applicant",
    "expert1": "expert",
    "expert7": "expert",
}


def login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "jiebang-demo")
    page.click("button[type=submit].w-100")
    page.wait_for_url(f"{base}/accounts/dashboard/")


def test_each_demo_role_reaches_its_dashboard(live_server, page, screenshot_dir):
    call_command("seed_demo", verbosity=0)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    for username, role in DEMO_ROLES.items():
        login(page, live_server.url, username)
        assert page.locator(f'[data-testid="section-{role}"]').is_visible()
        assert page.locator('[data-testid="current-user"]').inner_text()
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        page.screenshot(path=str(screenshot_dir / f"dashboard-{username}.png"), full_page=True)
        page.click("text=退出登录")
        page.wait_for_url(f"{live_server.url}/")
    # CSP violations and broken assets show up as console errors.
    assert not errors, errors


def test_language_switch_in_the_browser(live_server, page, screenshot_dir):
    page.goto(live_server.url + "/")
    assert "揭榜" in page.content()
    page.click('[data-testid="language-en"]')
    page.wait_for_url(f"{live_server.url}/en/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(screenshot_dir / "home-en.png"))


def test_bootstrap_and_htmx_load_from_our_own_static(live_server, page):
    page.goto(live_server.url + "/")
    assert page.evaluate("typeof window.bootstrap") == "object"
    assert page.evaluate("typeof window.htmx") == "object"
