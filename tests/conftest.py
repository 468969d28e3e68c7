"""Shared fixtures: the cast of users (style.md), Chromium and a Celery worker."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests import services
from tests.factories import OrganizationFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts"


# --- the cast ---------------------------------------------------------------
@pytest.fixture
def department(db):
    return OrganizationFactory(name="内蒙古自治区科学技术厅", org_type="government")


@pytest.fixture
def issuer_org(db):
    return OrganizationFactory(name="发榜企业有限公司")


@pytest.fixture
def lead_org(db):
    return OrganizationFactory(name="牵头单位有限公司")


@pytest.fixture
def member_org(db):
    return OrganizationFactory(name="参与大学", org_type="university")


@pytest.fixture
def outsider_org(db):
    return OrganizationFactory(name="无关单位有限公司")


@pytest.fixture
def administrator(department):
    return UserFactory(username="cast-admin", organization=department, is_administrator=True, is_staff=True)


@pytest.fixture
def supervisor(department):
    return UserFactory(username="cast-supervisor", organization=department, is_supervisor=True)


@pytest.fixture
def issuer(issuer_org):
    return UserFactory(username="cast-issuer", organization=issuer_org, is_issuer=True)


@pytest.fixture
def lead_applicant(lead_org):
    return UserFactory(username="cast-lead", organization=lead_org, is_applicant=True)


@pytest.fixture
def member_applicant(member_org):
    return UserFactory(username="cast-member", organization=member_org, is_applicant=True)


@pytest.fixture
def outsider_applicant(outsider_org):
    return UserFactory(username="cast-outsider", organization=outsider_org, is_applicant=True)


@pytest.fixture
def assigned_expert(db):
    return UserFactory(username="cast-expert", organization=OrganizationFactory(), is_expert=True)


@pytest.fixture
def conflicted_expert(lead_org):
    # Employed by the lead unit: a hard avoidance case once proposals exist.
    return UserFactory(username="cast-conflicted", organization=lead_org, is_expert=True)


@pytest.fixture
def cast(
    administrator,
    supervisor,
    issuer,
    lead_applicant,
    member_applicant,
    outsider_applicant,
    assigned_expert,
    conflicted_expert,
):
    return {
        "administrator": administrator,
        "supervisor": supervisor,
        "issuer": issuer,
        "lead_applicant": lead_applicant,
        "member_applicant": member_applicant,
        "outsider_applicant": outsider_applicant,
        "assigned_expert": assigned_expert,
        "conflicted_expert": conflicted_expert,
    }


@pytest.fixture
def client_for(client):
    """client_for(user) → a test client logged in as user (None: anonymous)."""
    from django.test import Client

    def make(user):
        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    return make


@pytest.fixture
def api():
    """api(user) → a DRF API client authenticated as user (no argument: anonymous)."""
    from rest_framework.test import APIClient

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


# --- a draft proposal (the proposal API tests) ---------------------------------------------------------
@pytest.fixture
def call(issuer_org):
    """An open call of the cast's issuer."""
    from tests.factories_proposals import open_call

    return open_call(issuer=issuer_org)


@pytest.fixture
def draft(call, lead_applicant, member_org, member_applicant):
    """A complete draft of the lead unit, the member unit on board (confirmed)."""
    from tests.factories_proposals import complete_proposal

    return complete_proposal(call, lead_applicant, members=[(member_org, member_applicant)])


# --- Celery -----------------------------------------------------------------
@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Tasks run in-process unless a test asks for a real worker."""
    from celery._state import _set_task_join_will_block

    from config.celery import app

    eager = request.node.get_closest_marker("worker") is None
    # Eager tasks run by several threads at once (the submission race) race on Celery's global
    # "joining would block" flag (denied_join_result saves and restores it) and can leave it set,
    # which makes every later result.get() in this process refuse: start each test with it clear.
    _set_task_join_will_block(False)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


def _database_url_for_worker(settings_dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class CeleryWorker:
    """One `celery worker` process (solo pool) consuming `queue` as node `name` (e.g. "a-1f2e@%h"),
    pointed at the test database; its log goes to .artifacts/worker-<node>.log."""

    def __init__(self, queue: str, name: str, **env):
        from django.db import connection

        url = services.redis_url()
        services.need(bool(url) and services.port_open(url, 6379), "Redis (REDIS_URL)")
        self.queue = queue
        self.terminated = False
        self.node = name.replace("%h", socket.gethostname())  # what Celery makes of %h
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"worker-{self.node.split('@')[0]}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": _database_url_for_worker(connection.settings_dict),
            "REDIS_URL": url,
            "LOG_LEVEL": "INFO",  # the worker logs through settings.LOGGING (config/celery.py)
            **env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
             "-Q", queue, "-n", name, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> "CeleryWorker":
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"Celery worker {self.node} exited early; see {self.log_path}")
            if app.control.ping(destination=[self.node], timeout=1):
                return self
        self.stop()
        pytest.fail(f"Celery worker {self.node} did not answer within {timeout} s; see {self.log_path}")

    def terminate(self) -> None:
        """Ask for a warm shutdown (once)."""
        if self.proc.poll() is None and not self.terminated:
            self.proc.terminate()
            self.terminated = True

    def stop(self) -> None:
        self.terminate()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if not self.log.closed:
            self.log.close()

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_workers(queue: str, names, **env) -> list[CeleryWorker]:
    """Start one worker per node name on `queue` (all at once) and wait until each answers a ping."""
    workers = []
    try:
        for name in names:
            workers.append(CeleryWorker(queue, name, **env))
        for worker in workers:
            worker.wait_ready()
    except BaseException:
        stop_workers(workers)
        raise
    return workers


def stop_workers(workers) -> None:
    """Ask every worker to shut down first, then wait for each: they stop in parallel."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="session")
def celery_worker_queue(django_db_setup, django_db_blocker):
    """A real `celery worker` process on a private queue, pointed at the test database."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    (worker,) = start_workers(queue, [f"{queue}@%h"])
    yield queue
    worker.stop()


@pytest.fixture
def celery_workers(settings):
    """celery_workers("a@%h", "b@%h", **env) → started workers sharing one private queue, which
    export jobs are routed to (EXPORT_QUEUE); they see this test's database and private files."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.EXPORT_QUEUE = queue
    started = []

    def start(*names, **env) -> list[CeleryWorker]:
        env.setdefault("PRIVATE_MEDIA_ROOT", str(settings.PRIVATE_MEDIA_ROOT))
        workers = start_workers(queue, names, **env)
        started.extend(workers)
        return workers

    yield start
    stop_workers(started)


# --- Chromium -----------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    services.need(services.chromium_available(), "Debian chromium at /usr/bin/chromium")
    # Playwright's sync API runs an event loop in this thread; Django's ORM
    # calls made by the test itself are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=services.CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    )
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot_dir():
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _own_page_cache(monkeypatch):
    """Each test caches pages (audit.page_cache) under its own namespace: rolled-back tests reuse
    ids and audit sequence numbers, and a Redis cache outlives the test run."""
    from audit import page_cache

    monkeypatch.setattr(page_cache, "NAMESPACE", f"test-page:{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _no_request_in_progress():
    """config.deferred keeps work for the end of a request: a test that leaves a response unclosed
    must not make the next test's service calls wait for a request that never ends."""
    from config import deferred

    yield
    deferred._state.pending = None


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    """Uploaded and generated files of a test go to its own temporary folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
