import re

import pytest
from django.test import Client

PAGES = ["/", "/en/", "/accounts/login/"]


def test_argon2_is_the_first_hasher_in_production_settings():
    import config.settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_csp_forbids_inline_scripts_and_pages_have_none(client, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> found"
    assert not re.search(r"\sstyle=", html), "inline style attribute found"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler found"


@pytest.mark.django_db
def test_dashboard_pages_have_no_inline_code(cast, client_for):
    for user in cast.values():
        html = client_for(user).get("/accounts/dashboard/").content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\sstyle=", html)


@pytest.mark.django_db
def test_forms_require_csrf(lead_applicant):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "cast-lead", "password": "pw-for-tests-only"})
    assert response.status_code == 403
    page = strict.get("/accounts/login/")
    token = page.cookies["csrftoken"].value
    response = strict.post(
        "/accounts/login/", {"username": "cast-lead", "password": "pw-for-tests-only", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_with_a_chinese_message(client, lead_applicant, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/", {"username": "cast-lead", "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "cast-lead", "password": "wrong"})
    assert response.status_code == 429
    response = client.post("/accounts/login/", {"username": "cast-lead", "password": "pw-for-tests-only"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "登录失败次数过多" in html
    assert f"{settings.AXES_COOLOFF_TIME.seconds // 60} 分钟" in html
    # The correct password does not get in while locked.
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failed_login_shows_a_chinese_error(client, lead_applicant):
    html = client.post("/accounts/login/", {"username": "cast-lead", "password": "wrong"}).content.decode()
    assert "用户名或密码错误" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, status, text",
    [
        ("/no-such-page/", 404, "页面不存在"),
        ("/en/no-such-page/", 404, "Page not found"),
    ],
)
def test_friendly_error_pages(client, url, status, text):
    response = client.get(url)
    assert response.status_code == status
    assert text in response.content.decode()


@pytest.mark.django_db
def test_403_page_is_friendly_and_chinese(cast, client_for):
    response = client_for(cast["issuer"]).get("/audit/")
    assert response.status_code == 403 and "无权访问" in response.content.decode()


def test_500_page_renders_without_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "系统出现错误" in html
