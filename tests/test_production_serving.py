"""The production web stack as deploy/ runs it: gunicorn with config/gunicorn.py, DEBUG off,
collected static files served by WhiteNoise with hashed names and long cache lifetimes."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from config import gunicorn as gunicorn_conf
from tests import services as test_services
from tests.conftest import ARTIFACTS, ROOT, _database_url_for_worker

PROD_KEY = "p" * 20 + "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"


def test_worker_count_follows_the_cpu_count_and_can_be_overridden(monkeypatch):
    assert [gunicorn_conf.default_workers(n) for n in (1, 2, 4, 8, 64)] == [3, 5, 9, 17, 17]
    monkeypatch.setenv("GUNICORN_WORKERS", "4")
    assert gunicorn_conf._int("GUNICORN_WORKERS", 9) == 4
    for bad in ("four", "0"):
        monkeypatch.setenv("GUNICORN_WORKERS", bad)
        with pytest.raises(SystemExit, match="GUNICORN_WORKERS"):
            gunicorn_conf._int("GUNICORN_WORKERS", 9)


def test_a_worker_loads_the_urls_before_its_first_request():
    """gunicorn's post_worker_init hook, in a fresh process as a worker is after load_wsgi: the URLconf
    is imported and the reverse tables of every language are built, so no request waits for them."""
    script = """
import sys
import django
django.setup()
from django.conf import settings
from django.urls import get_resolver
assert "config.urls" not in sys.modules
from config import gunicorn
gunicorn.post_worker_init(None)
assert "config.urls" in sys.modules and "proposals.views.applicant" in sys.modules
resolver = get_resolver()
built = sorted(code for code, _name in settings.LANGUAGES if code in resolver._reverse_dict)
print(built)
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "['en', 'zh-hans']"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to check, not to follow


OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url, headers=None):
    """GET a URL of the local test server (always http://127.0.0.1:<port>/...)."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - local http only
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_for(url, proc, log, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            fetch(url)
            return
        except OSError:
            pass
        assert proc.poll() is None, log.read_text()
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {seconds} s")


@pytest.fixture
def production_server(django_db_setup, django_db_blocker, tmp_path, settings):
    from django.db import connection

    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "GUNICORN_CMD_ARGS"}},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": PROD_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": _database_url_for_worker(connection.settings_dict),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT),
        "PRIVATE_ACCEL_REDIRECT": "/_private/",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    env.pop("REDIS_URL", None)
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "gunicorn.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", proc, ARTIFACTS / "gunicorn.log")
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_pages_and_whitenoise_serves_hashed_static_files(production_server):
    base, proc = production_server
    status, _, body = fetch(f"{base}/healthz")
    assert status == 200 and b'"status": "ok"' in body

    status, headers, body = fetch(f"{base}/", {"Accept-Language": "zh-hans"})
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    css = re.search(r'href="(/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css)"', body.decode())
    assert css, "pages must link the hashed (cache-busting) static names"

    status, headers, body = fetch(base + css.group(1), {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]
    assert fetch(f"{base}/static/vendor/bootstrap/missing.css")[0] == 404

    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(workers) == 2


# --- nginx in front, with the shipped site file ---------------------------------------------------------
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(site: str, *, web_port: int, port: int, private_root: str, workdir) -> str:
    """deploy/nginx/jiebang.conf made runnable here: plain HTTP on a free port, this test's
    gunicorn and private folder; everything else (locations, headers, internal) as shipped."""
    site = site.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{web_port}")
    site = site.replace("/var/lib/jiebang/private/", private_root.rstrip("/") + "/")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = "\n".join(line for line in site.splitlines() if not re.match(r"\s*(listen \[::\]|ssl_|http2 )", line))
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {workdir}/{kind};" for kind in kinds)
    user = "user root;" if os.geteuid() == 0 else ""
    return (
        f"{user} daemon off; worker_processes 1; pid {workdir}/nginx.pid; error_log {workdir}/error.log;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{ include /etc/nginx/mime.types; access_log {workdir}/access.log; {temp}\n{site}\n}}\n"
    )


@pytest.fixture
def behind_nginx(production_server, tmp_path, settings):
    """(nginx address, gunicorn address)."""
    test_services.need(os.path.exists(NGINX), "nginx (apt-get install nginx-light)")
    base, _proc = production_server
    web_port = int(base.rsplit(":", 1)[1])
    port = free_port()
    workdir = tmp_path / "nginx"
    workdir.mkdir()
    site = (ROOT / "deploy" / "nginx" / "jiebang.conf").read_text()
    conf = workdir / "nginx.conf"
    conf.write_text(
        nginx_config(site, web_port=web_port, port=port, private_root=str(settings.PRIVATE_MEDIA_ROOT), workdir=workdir)
    )
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(workdir)], stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", proc, workdir / "error.log", seconds=20)
        yield f"http://127.0.0.1:{port}", base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.django_db(transaction=True)
def test_nginx_sends_private_files_only_through_the_application(behind_nginx, settings):
    from django.test import Client

    nginx, gunicorn = behind_nginx
    from proposals import services
    from tests.factories import OrganizationFactory, UserFactory
    from tests.factories_proposals import PDF_BYTES, open_call, pdf_upload

    settings.SECRET_KEY = PROD_KEY  # the session below must be valid for the production server
    lead = UserFactory(organization=OrganizationFactory(), is_applicant=True)
    outsider = UserFactory(organization=OrganizationFactory(), is_applicant=True)
    proposal = services.start_proposal(actor=lead, call=open_call())[0]
    attachment = services.add_attachment(actor=lead, proposal=proposal, kind="other", upload=pdf_upload("计划.pdf"))
    path = f"/proposals/{proposal.pk}/attachments/{attachment.pk}/"

    def session_of(user):
        client = Client()
        client.force_login(user)
        return {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "X-Forwarded-Proto": "https"}

    status, headers, body = fetch(gunicorn + path, session_of(lead))
    assert status == 200 and body == b"" and headers["X-Accel-Redirect"] == f"/_private/{attachment.file.name}"
    status, headers, body = fetch(nginx + path, session_of(lead))
    assert status == 200 and body == PDF_BYTES  # sent by nginx from its internal location
    assert headers["Content-Type"] == "application/pdf" and "X-Accel-Redirect" not in headers
    assert headers["Content-Disposition"] == "inline; filename*=utf-8''%E8%AE%A1%E5%88%92.pdf"
    assert headers["Cache-Control"] == "private, no-store"

    assert fetch(nginx + path, session_of(outsider))[0] == 404
    status, headers, _ = fetch(nginx + path)
    assert status == 302 and "/accounts/login/" in headers["Location"]  # not logged in
    # The folder itself is internal: asking nginx for the file directly is refused.
    assert fetch(f"{nginx}/_private/{attachment.file.name}")[0] == 404
