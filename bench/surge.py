"""Benchmark: the deadline surge — 200 applicants save and submit in the last minute, on the large seed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiebang_large .venv/bin/python bench/surge.py

One command: seeds the database with bench/seed_large.py if it is not seeded yet (a child process),
collects static files into STATIC_ROOT (/tmp/jiebang_large_static unless set), then starts two
gunicorn servers with 2 sync workers each and production settings (DEBUG=0, a fresh 60-character
SECRET_KEY, ALLOWED_HOSTS=127.0.0.1,localhost, SECURE_SSL_REDIRECT=0 and plain-HTTP cookies and
no HSTS, since there is no TLS proxy here; PostgreSQL; REDIS_URL=redis://127.0.0.1:6379/7, flushed
first, as cache and Celery broker — no worker runs, mails stay queued):
  app   — config.wsgi, the application;
  floor — bench.floor_app, the same settings and middleware with one bare view that reads
          request.user (see bench/floor_app.py).

Each run adds its own programme and call (JB-SURGE-<n>, published) and, for 200 applicant
organisations with their users (created on the first run), a complete draft proposal on it:
lead + a confirmed in-region research unit, PI + two core members, a commitment meeting every
target, milestones, a budget (fiscal ≤ cap, self-raised ≥ 2 ×), the required PDFs. Every draft is
checked to pass every eligibility rule before the run.

The run: 200 client threads, each a browser of its own (http.client, a cookie jar), through the
web forms as a person would use them:
  logins     each applicant GETs the login form, POSTs it with its CSRF token and opens the basics
             step of its draft (the form and its token); 4 at a time, before the surge, because
             sessions last 8 hours and an applicant logs in before the final minute (the login
             POST's latency is reported, not part of the goal: Argon2 costs 0.1–0.3 s of CPU);
  surge      t = 0–55 s: each applicant POSTs the basics step (summary changed) and, 0.3–1.5 s after
             the answer, POSTs submit, following each redirect like a browser; arrivals thicken
             towards the deadline (density rising linearly to twice its starting value);
  deadline   t = 47 s, so about a fifth of the saves and of the submits come after it: a late save
             must answer its form with the deadline error, a late submit must redirect back to
             the checklist with the deadline reason — anything else is an error.
Measured: latency of the save and submit POSTs (p50/p95/max), errors (5xx, timeouts, unexpected
answers, refusals answered before the deadline or for another reason, successes sent after it),
then the database: every submit answered as accepted has exactly one Submission and the status
submitted, every refusal left the draft exactly as it was (content fingerprint; the summary as the
save left it), no proposal has two submissions, no Submission is dated after the deadline
(lost = the sum of these), and `verify_audit`'s check of the hash chain.
Floor: right after, the same 200 clients replay the same schedule against the floor server: two
POSTs (with CSRF) and their follow-up GETs, the POSTs timed the same way.
Pages: as the administrator, sequentially (a first view, then 15 timed GETs each; median): the
formal-review queue of the seed's largest closed call, the review dashboard of its largest call
under review, the public call list (anonymous); against the floor measured the same way (30 GETs).
The first view's time is printed too: the dashboard builds on it what the next views find in the
cache until a score or anything else it shows changes (reviews/views/dashboard_cache.py).
Both run with the shipped gunicorn configuration (config/gunicorn.py) and the production value
DB_CONN_MAX_AGE=60 unless the environment sets it (0: a new database connection per request);
the value is printed with the results. The load average is
printed before and after: the ratios only mean something on an otherwise idle machine. Each
server's output (gunicorn, and Django's tracebacks of any 500) goes to
$TMPDIR/jiebang_surge_<app|floor>_<port>.log; the exceptions behind 500s are summarised.

Goals (exit 2 if one is missed): no error except correct late refusals, nothing lost or
doubled, surge p95 ≤ 3 × floor p95, every page ≤ 5 × the floor. The last line is:
surge p95_ms=<int> floor_p95_ms=<int> ratio=<float> errors=<int> lost=<int> pages_ratio_max=<float>
"""

import hashlib
import html
import http.client
import math
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bootstrap, setup_django  # noqa: E402
from _common import run_child as _run

# DEBUG=1: this process only reads and prepares rows; the servers run DEBUG=0.
bootstrap(
    "jiebang_large",
    PRIVATE_MEDIA_ROOT=str(Path(tempfile.gettempdir()) / "jiebang_large_private"),
    STATIC_ROOT=str(Path(tempfile.gettempdir()) / "jiebang_large_static"),
)
REDIS_URL = os.environ.get("SURGE_REDIS_URL", "redis://127.0.0.1:6379/7")

APPLICANTS = 200
WORKERS = 2
LOGIN_CONCURRENCY = 4  # logins in flight at once before the surge (Argon2 costs 0.1–0.3 s of CPU each)
SURGE_WINDOW = 55.0  # s: saves arrive in [0, 55], density rising linearly to twice its start value
DEADLINE_AT = 47.0  # s into the surge: about a fifth of the saves, and of the submits, come after it
THINK = (0.3, 1.5)  # s between the save's answer and the submit
TIMEOUT = 30.0  # s per request
PAGE_REPEAT, FLOOR_REPEAT = 15, 30
GOAL_SURGE_RATIO, GOAL_PAGES_RATIO = 3.0, 5.0
SEED = 20251109

SAVE_LATE = "申报截止时间已过，揭榜方案不能再修改。"  # services._editable, on the form
SUBMIT_LATE = ("北京时间）已过", "passed before your submission was saved")  # eligibility / _refuse_if_late
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- set-up -------------------------------------------------------------------------------------
def run_child(args: list[str], env: dict | None = None, what: str = "") -> str:
    result = _run(args, env=env)
    if result.returncode:
        sys.exit(f"{what or args[1]} failed (exit {result.returncode})")
    return result.stdout


def server_env() -> dict:
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_HSTS_PRELOAD="0",
        REDIS_URL=REDIS_URL,
        EMAIL_BACKEND="dummy",
        LOG_LEVEL="WARNING",
    )
    # The production values (deploy/jiebang.env.example) unless the caller says otherwise.
    env.setdefault("DB_CONN_MAX_AGE", "60")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn child process; its error log goes to a file shown if something fails."""

    def __init__(self, name: str, app: str, env: dict):
        self.name, self.port = name, free_port()
        self.log = Path(tempfile.gettempdir()) / f"jiebang_surge_{name}_{self.port}.log"
        self._log_file = self.log.open("w")  # gunicorn's messages and Django's (tracebacks of 500s)
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-c",
                "python:config.gunicorn",  # the shipped configuration, as deploy/ runs it
                app,
            ],
            cwd=ROOT,
            env={
                **env,
                "GUNICORN_WORKERS": str(WORKERS),
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            },
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} server exited:\n{self.log.read_text()[-3000:]}")
            reply = Browser(self.port).get(path)
            if reply.status == 200:
                return
            time.sleep(0.3)
        sys.exit(f"{self.name} server did not answer {path}:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log_file.close()

    def errors(self) -> list[str]:
        """The first line of each traceback's exception, as Django logged it."""
        text = self.log.read_text(errors="replace")
        return re.findall(r"^[\w.]+(?:Error|Exception|Detected): .*$", text, flags=re.M)


# --- the HTTP client: one per applicant -----------------------------------------------------------
@dataclass
class Reply:
    status: int | None
    location: str
    body: str
    seconds: float
    sent: float  # wall clock (epoch s) when sent
    done: float
    error: str = ""


class Browser:
    """http.client with a cookie jar; cookies are per host (the two servers share them, as browsers do)."""

    def __init__(self, port: int, cookies: dict | None = None):
        self.port = port
        self.cookies = {} if cookies is None else cookies

    def _remember(self, headers) -> None:
        for header in headers:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method: str, path: str, form: dict | None = None, port: int | None = None) -> Reply:
        port = port or self.port
        origin = f"http://127.0.0.1:{port}"
        headers = {"Host": f"127.0.0.1:{port}", "User-Agent": "jiebang-surge/1", "Accept-Language": "zh-hans"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": origin})
            headers["Referer"] = origin + path
        sent, start = time.time(), time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            elapsed = time.perf_counter() - start
            return Reply(None, "", "", elapsed, sent, sent + elapsed, error=f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
        elapsed = time.perf_counter() - start
        self._remember(response.msg.get_all("Set-Cookie") or [])
        location = response.getheader("Location") or ""
        text = data.decode("utf-8", "replace")
        return Reply(response.status, location, text, elapsed, sent, sent + elapsed)

    def get(self, path: str, port: int | None = None) -> Reply:
        return self.request("GET", path, port=port)


def form_fields(page: str) -> dict:
    """The basics step's fields as the page shows them (inputs and textareas)."""
    fields = {}
    for name, value in re.findall(r'<input[^>]*name="(title)"[^>]*value="([^"]*)"', page):
        fields[name] = html.unescape(value)
    for name, value in re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>(.*?)</textarea>', page, flags=re.S):
        fields[name] = html.unescape(value).lstrip("\n")
    return fields


# --- preparing a run ------------------------------------------------------------------------------
def surge_organisations():
    """200 lead units with an applicant each and 20 research units (members), created once."""
    from django.contrib.auth.hashers import make_password
    from seed_large import BENCH_PASSWORD, credit_code

    from accounts.models import Organization, User

    if User.objects.filter(username=f"surge-applicant-{APPLICANTS - 1:03d}").exists():
        users = User.objects.filter(username__startswith="surge-").select_related("organization")
        return (
            [u for u in users.order_by("username") if u.username.startswith("surge-applicant-")],
            [u for u in users.order_by("username") if u.username.startswith("surge-member-")],
        )
    password = make_password(BENCH_PASSWORD)
    leads = Organization.objects.bulk_create(
        Organization(
            name=f"冲刺揭榜单位{i:03d}科技有限公司",
            credit_code=credit_code(900_000 + i, "150100"),
            org_type="enterprise",
            region="hohhot",
        )
        for i in range(APPLICANTS)
    )
    members = Organization.objects.bulk_create(
        Organization(
            name=f"冲刺联合研究院{i:02d}",
            credit_code=credit_code(901_000 + i, "150200", "12"),
            org_type="institute",
            region="baotou",
        )
        for i in range(20)
    )
    lead_users = User.objects.bulk_create(
        User(username=f"surge-applicant-{i:03d}", password=password, organization=o, is_applicant=True)
        for i, o in enumerate(leads)
    )
    member_users = User.objects.bulk_create(
        User(username=f"surge-member-{i:02d}", password=password, organization=o, is_applicant=True)
        for i, o in enumerate(members)
    )
    return lead_users, member_users


def prepare() -> dict:
    """A new programme and published call, and a complete draft for every surge applicant."""
    from django.db import transaction
    from django.utils import timezone
    from seed_large import PLACEHOLDER_PDF, TARGETS, committed_value, id_number

    from accounts.models import User
    from calls.models import Call, Programme, RubricCriterion, Target
    from calls.rubric import DEFAULT_TEMPLATE
    from proposals import eligibility
    from proposals.models import (
        Attachment,
        BudgetLine,
        Milestone,
        Person,
        Proposal,
        ProposalUnit,
        TargetCommitment,
        TeamMember,
    )

    rng = random.Random(SEED)
    now = timezone.now()
    with transaction.atomic():
        leads, members = surge_organisations()
        admin = User.objects.get(username="bench-admin")
        run = Programme.objects.filter(name__startswith="截止冲刺基准").count() + 1
        programme = Programme.objects.create(name=f"截止冲刺基准{run:03d}", year=now.year, description="deadline surge")
        issuer_call = Call.objects.filter(status="published").select_related("issuer").first()
        call = Call.objects.create(
            code=f"JB-SURGE-{run:03d}",
            title="截止冲刺基准：百兆瓦时级构网型储能系统关键技术研发与示范",
            programme=programme,
            issuer=issuer_call.issuer,
            field="energy_storage",
            background="截止前集中提交的压力测试榜单。",
            research_tasks="1. 长寿命电芯\n2. 构网型变流器\n3. 示范电站",
            period_months=36,
            fiscal_cap=Decimal("1000.00"),
            issuer_contribution=Decimal("2000.00"),
            deadline=now + timedelta(days=1),
            status="published",
            created_by=admin,
            submitted_at=now - timedelta(days=40),
            published_at=now - timedelta(days=30),
        )
        targets = Target.objects.bulk_create(
            Target(call=call, order=i, name=n, comparator=c, value=Decimal(v), unit=u)
            for i, (n, c, v, u) in enumerate(TARGETS[:4])
        )
        RubricCriterion.objects.bulk_create(
            RubricCriterion(call=call, order=i, name=c["name"], max_points=Decimal(c["max_points"]))
            for i, c in enumerate(DEFAULT_TEMPLATE)
        )
        wanted = {id_number(800_000 + 3 * i + j, "150100"): (i, j) for i in range(APPLICANTS) for j in range(3)}
        have = set(Person.objects.filter(id_number__in=wanted).values_list("id_number", flat=True))
        Person.objects.bulk_create(
            Person(id_number=n, name=f"冲刺{i:03d}{'甲乙丙'[j]}") for n, (i, j) in wanted.items() if n not in have
        )
        people = {wanted[p.id_number]: p for p in Person.objects.filter(id_number__in=wanted)}
        proposals = Proposal.objects.bulk_create(
            Proposal(
                call=call,
                lead_organization_id=u.organization_id,
                title=f"构网型储能系统揭榜方案（{u.organization.name}）",
                summary="以长寿命电芯和构网型变流器为核心，建设百兆瓦时级示范电站。",
                technical_route="电芯—电池簇—变流器—电站全链条协同设计，虚拟同步控制实现惯量支撑。",
                risks="电芯寿命验证周期长：加速老化试验与实证数据结合。",
                created_by=u,
            )
            for u in leads
        )
        units, team, rows = [], [], []
        for i, (p, u) in enumerate(zip(proposals, leads, strict=True)):
            member = members[i % len(members)]
            lead_unit = ProposalUnit(
                proposal=p, organization_id=u.organization_id, role="lead", budget_share=Decimal("2000"),
                task_share="总体设计与示范", confirmed_at=now, confirmed_by=u,
            )  # fmt: skip
            member_unit = ProposalUnit(
                proposal=p, organization_id=member.organization_id, role="member", budget_share=Decimal("1000"),
                task_share="电芯测试评价", confirmed_at=now, confirmed_by=member,
            )  # fmt: skip
            units += [lead_unit, member_unit]
        ProposalUnit.objects.bulk_create(units)
        for i, p in enumerate(proposals):
            lead_unit, member_unit = units[2 * i], units[2 * i + 1]
            for j, (role, unit, months) in enumerate(
                [("pi", lead_unit, "10"), ("core", lead_unit, "8"), ("core", member_unit, "6")]
            ):
                team.append(
                    TeamMember(proposal=p, person=people[i, j], unit=unit, role=role, title="研究员",
                               duty="攻关", months_per_year=Decimal(months))
                )  # fmt: skip
            fiscal = Decimal(rng.randrange(500, 1000))
            for source, total in (("fiscal", fiscal), ("self", fiscal * Decimal("2.2"))):
                rows.append(BudgetLine(proposal=p, source=source, category="equipment", amount=total * 4 / 10))
                rows.append(BudgetLine(proposal=p, source=source, category="operating", amount=total * 6 / 10))
        TeamMember.objects.bulk_create(team)
        BudgetLine.objects.bulk_create(rows)
        TargetCommitment.objects.bulk_create(
            TargetCommitment(proposal=p, target=t, value=committed_value(t.value, t.comparator, k), note="第三方检测")
            for p in proposals
            for k, t in enumerate(targets)
        )
        Milestone.objects.bulk_create(
            Milestone(proposal=p, month=m, deliverable=d, verification="专家验收")
            for p in proposals
            for m, d in ((12, "电芯定型"), (24, "变流器样机"), (36, "示范电站投运"))
        )
        Attachment.objects.bulk_create(
            Attachment(proposal=p, kind=k, file=PLACEHOLDER_PDF, original_name=f"{k}.pdf", size=80,
                       sha256="0" * 64, uploaded_by=p.created_by)
            for p in proposals
            for k in ("integrity_pledge", "matching_funds", "consortium_agreement")
        )  # fmt: skip
    failed = {}
    for p in proposals:
        loaded = eligibility.load_for_check(p.pk)
        bad = [r.rule for r in eligibility.evaluate(loaded) if not r.ok]
        if bad:
            failed[p.pk] = bad
    if failed:
        sys.exit(f"surge drafts do not pass eligibility: {dict(list(failed.items())[:5])}")
    return {
        "call": call.pk,
        "code": call.code,
        "applicants": [(u.username, p.pk) for u, p in zip(leads, proposals, strict=True)],
        "fingerprints": {p.pk: fingerprint(p.pk) for p in proposals},
        "summaries": {p.pk: p.summary for p in proposals},
    }


def fingerprint(proposal_id: int) -> str:
    """Everything a refused submit must leave as it was (the summary is checked on its own)."""
    from proposals.models import Proposal

    p = Proposal.objects.with_content().get(pk=proposal_id)
    parts = [p.status, p.title, p.technical_route, p.risks, str(p.submitted_at)]
    parts += [f"u{u.organization_id}:{u.role}:{u.budget_share}:{u.confirmed_at is not None}" for u in p.units.all()]
    parts += [f"t{m.person_id}:{m.role}:{m.months_per_year}" for m in p.team.all()]
    parts += [f"c{c.target_id}:{c.value}" for c in p.commitments.all()]
    parts += [f"m{m.month}:{m.deliverable}" for m in p.milestones.all()]
    parts += sorted(f"b{b.source}:{b.category}:{b.amount}" for b in p.budget_lines.all())
    parts += sorted(f"a{a.kind}:{a.sha256}" for a in p.attachments.all())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


# --- the journeys ---------------------------------------------------------------------------------
@dataclass
class Applicant:
    username: str
    proposal: int
    save_at: float
    think: float
    browser: Browser = None
    form: dict = field(default_factory=dict)
    token: str = ""
    log: list = field(default_factory=list)  # (kind, Reply)
    outcome: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)


def schedule(rng) -> list[tuple[float, float]]:
    """(save, think) per applicant: saves in [0, SURGE_WINDOW] with density ∝ 1 + t / SURGE_WINDOW."""
    return [(SURGE_WINDOW * (math.sqrt(1 + 3 * rng.random()) - 1), rng.uniform(*THINK)) for _ in range(APPLICANTS)]


def sleep_until(t0: float, offset: float) -> None:
    delay = t0 + offset - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def log_in(a: Applicant, password: str, gate: threading.Semaphore) -> None:
    with gate:
        _log_in(a, password)


def _log_in(a: Applicant, password: str) -> None:
    page = a.browser.get("/accounts/login/")
    a.log.append(("login_form", page))
    token = CSRF.search(page.body or "")
    if page.status != 200 or not token:
        a.errors.append(f"login form: {page.status} {page.error}")
        return
    reply = a.browser.request(
        "POST",
        "/accounts/login/",
        {"csrfmiddlewaretoken": token.group(1), "username": a.username, "password": password, "next": ""},
    )
    a.log.append(("login", reply))
    if reply.status != 302:
        a.errors.append(f"login: {reply.status} {reply.error}")
        return
    page = a.browser.get(f"/proposals/{a.proposal}/edit/basics/")
    a.log.append(("form", page))
    token = CSRF.search(page.body or "")
    a.form = form_fields(page.body or "")
    if page.status != 200 or not token or "title" not in a.form:
        a.errors.append(f"basics form: {page.status} {page.error}")
        return
    a.token = token.group(1)


def surge_journey(a: Applicant, t0: float, deadline: float) -> None:
    """Save the basics step, then submit; check every answer against the deadline."""
    sleep_until(t0, a.save_at)
    form = dict(a.form, csrfmiddlewaretoken=a.token, summary=a.form.get("summary", "") + "（截止前更新）")
    save = a.browser.request("POST", f"/proposals/{a.proposal}/edit/basics/", form)
    a.log.append(("save", save))
    edit = f"/proposals/{a.proposal}/edit/"
    if save.status == 302 and save.location == f"{edit}consortium/":
        a.outcome["save"] = "saved"
        if save.sent >= deadline:
            a.errors.append("save accepted although sent after the deadline")
        a.log.append(("follow", a.browser.get(save.location)))
    elif save.status == 200 and SAVE_LATE in save.body:
        a.outcome["save"] = "refused"
        if save.done < deadline:
            a.errors.append("save refused for the deadline before the deadline")
    else:
        a.outcome["save"] = "error"
        a.errors.append(f"save: {save.status} {save.location} {save.error}")
    time.sleep(a.think)
    submit = a.browser.request("POST", f"/proposals/{a.proposal}/submit/", {"csrfmiddlewaretoken": a.token})
    a.log.append(("submit", submit))
    if submit.status == 302 and submit.location == f"/proposals/{a.proposal}/":
        a.outcome["submit"] = "accepted"
        if submit.sent >= deadline:
            a.errors.append("submit accepted although sent after the deadline")
        a.log.append(("follow", a.browser.get(submit.location)))
    elif submit.status == 302 and submit.location == f"{edit}check/":
        a.outcome["submit"] = "refused"
        page = a.browser.get(submit.location)
        a.log.append(("follow", page))
        if not any(reason in page.body for reason in SUBMIT_LATE):
            a.errors.append(f"submit refused without the deadline reason: {reasons(page.body)}")
        elif submit.done < deadline:
            a.errors.append("submit refused for the deadline before the deadline")
    else:
        a.outcome["submit"] = "error"
        a.errors.append(f"submit: {submit.status} {submit.location} {submit.error}")


def reasons(page: str) -> list[str]:
    return [html.unescape(m).strip()[:120] for m in re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', page, flags=re.S)]


def floor_journey(a: Applicant, t0: float, port: int) -> None:
    """The same shape against the floor: POST, follow-up GET, think, POST, GET."""
    sleep_until(t0, a.save_at)
    for kind in ("floor_save", "floor_submit"):
        reply = a.browser.request("POST", "/floor/", {"csrfmiddlewaretoken": a.token}, port=port)
        a.log.append((kind, reply))
        if reply.status != 200:
            a.errors.append(f"{kind}: {reply.status} {reply.error}")
        a.browser.get("/floor/", port=port)
        if kind == "floor_save":
            time.sleep(a.think)


def run_threads(applicants, target, *args) -> None:
    threads = [threading.Thread(target=target, args=(a, *args), daemon=True) for a in applicants]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def latencies(applicants, kinds) -> list[float]:
    return [r.seconds for a in applicants for k, r in a.log if k in kinds and r.status is not None]


def outcome_latencies(applicants, kind: str, outcome: str) -> list[float]:
    """The latencies of one kind of POST that ended one way (a late save answers with the whole
    form and its error, an accepted submit commits, a late one rolls back)."""
    return [r.seconds for a in applicants if a.outcome.get(kind) == outcome for k, r in a.log if k == kind]


def describe(name: str, values: list[float]) -> str:
    return (
        f"{name:<22} n={len(values):>3}  p50={ms(percentile(values, 50)):>5} ms  "
        f"p95={ms(percentile(values, 95)):>5} ms  max={ms(max(values) if values else float('nan')):>5} ms"
    )


# --- checking the database afterwards -------------------------------------------------------------
def check_database(prepared: dict, applicants: list[Applicant], deadline: float) -> tuple[int, list[str]]:
    from django.db.models import Count

    from audit.services import verify_chain
    from calls.models import Call
    from proposals.models import Proposal, Submission

    problems = []
    call = Call.objects.get(pk=prepared["call"])
    counts = dict(
        Submission.objects.filter(proposal__call=call)
        .values("proposal")
        .annotate(n=Count("pk"))
        .values_list("proposal", "n")
    )
    states = dict(Proposal.objects.filter(call=call).values_list("pk", "status"))
    summaries = dict(Proposal.objects.filter(call=call).values_list("pk", "summary"))
    late = Submission.objects.filter(proposal__call=call, submitted_at__gte=call.deadline).count()
    if late:
        problems.append(f"{late} submission(s) dated at or after the deadline")
    if abs(call.deadline.timestamp() - deadline) > 1:
        problems.append("the call's deadline moved during the run")
    doubled = [pid for pid, n in counts.items() if n > 1]
    if doubled:
        problems.append(f"{len(doubled)} proposal(s) submitted twice: {doubled[:5]}")
    lost = late + len(doubled)
    for a in applicants:
        pid, submit = a.proposal, a.outcome.get("submit")
        if submit == "accepted" and (states[pid] != "submitted" or counts.get(pid, 0) != 1):
            problems.append(f"proposal {pid}: submit answered as accepted, database has {states[pid]}, "
                            f"{counts.get(pid, 0)} submission(s)")  # fmt: skip
            lost += 1
        elif submit == "refused":
            original = prepared["summaries"][pid]
            expected = original + "（截止前更新）" if a.outcome.get("save") == "saved" else original
            if states[pid] != "draft" or counts.get(pid, 0) or fingerprint(pid) != prepared["fingerprints"][pid]:
                problems.append(f"proposal {pid}: refused, but the draft changed (status {states[pid]})")
                lost += 1
            elif summaries[pid] != expected:
                problems.append(f"proposal {pid}: refused, but its summary is not what the save left")
                lost += 1
        elif submit == "error" and counts.get(pid, 0) > 1:
            lost += 1
    report = verify_chain()
    if not report.ok:
        problems.append(f"audit chain broken: {report.problem}")
        lost += 1
    submitted = sum(1 for s in states.values() if s == "submitted")
    drafts = sum(1 for s in states.values() if s == "draft")
    print(
        f"database: {submitted} submitted, {drafts} drafts, {sum(counts.values())} submissions, "
        f"{len(doubled)} doubled, {late} dated late; audit chain ok={report.ok} ({report.checked} entries)"
    )
    return lost, problems


# --- pages -------------------------------------------------------------------------------------------
def time_pages(app: Server, floor: Server) -> tuple[dict, float]:
    from django.db.models import Count, Q
    from seed_large import BENCH_PASSWORD

    from calls.models import Call

    seeded = Call.objects.exclude(code__startswith="JB-SURGE-")  # the same pages on every run
    queue = (
        seeded.filter(status="closed")
        .annotate(n=Count("proposals", filter=~Q(proposals__status__in=["draft", "withdrawn"])))
        .order_by("-n")
        .first()
    )
    review = seeded.filter(status="under_review").annotate(n=Count("proposals")).order_by("-n").first()
    admin = Applicant("bench-admin", 0, 0, 0, browser=Browser(app.port))
    log_in_admin(admin, BENCH_PASSWORD)
    pages = {
        f"formal-review queue {queue.code} ({queue.n} proposals)": (admin.browser, f"/proposals/review/{queue.code}/"),
        f"review dashboard {review.code} ({review.n} proposals)": (
            admin.browser,
            f"/reviews/calls/{review.code}/dashboard/",
        ),
        "public call list (anonymous)": (Browser(app.port), "/calls/"),
    }
    results = {}
    for name, (browser, path) in pages.items():
        first = browser.get(path)
        if first.status != 200:
            sys.exit(f"{name}: {path} answered {first.status} {first.error}")
        times = [browser.get(path).seconds for _ in range(PAGE_REPEAT)]
        # The first view is timed apart: it builds what the later ones may find cached (the
        # review dashboard), so it is printed but the goal is on the median of the rest.
        results[name] = (statistics.median(times), max(times), len(first.body), first.seconds)
    admin.browser.get("/floor/", port=floor.port)
    floor_median = statistics.median(admin.browser.get("/floor/", port=floor.port).seconds for _ in range(FLOOR_REPEAT))
    return results, floor_median


def log_in_admin(a: Applicant, password: str) -> None:
    page = a.browser.get("/accounts/login/")
    token = CSRF.search(page.body).group(1)
    reply = a.browser.request(
        "POST", "/accounts/login/", {"csrfmiddlewaretoken": token, "username": a.username, "password": password}
    )
    if reply.status != 302:
        sys.exit(f"administrator login failed: {reply.status}")


# --- main ----------------------------------------------------------------------------------------------
def main() -> int:
    started = time.perf_counter()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(run_child([sys.executable, str(ROOT / "bench/seed_large.py")], what="seeding").strip().splitlines()[-1])
    env = server_env()
    static_root = Path(env["STATIC_ROOT"])
    if not (static_root / "staticfiles.json").exists():
        run_child([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, what="collectstatic")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    setup_django()
    from django.db import connection
    from seed_large import BENCH_PASSWORD

    from calls.models import Call

    prepared = prepare()
    connection.close()
    print(f"prepared {prepared['code']}: {len(prepared['applicants'])} complete drafts, every rule passing")

    app = Server("app", "config.wsgi:application", env)
    floor = Server("floor", "bench.floor_app:application", env)
    try:
        app.wait("/healthz")
        floor.wait("/floor/")
        warm = Browser(app.port)
        for path in ["/accounts/login/", "/calls/", f"/calls/{prepared['code']}/", "/"] * 4:
            warm.get(path)
        for _ in range(8):
            warm.get("/floor/", port=floor.port)
        print(f"servers: app :{app.port} (config.wsgi), floor :{floor.port} (bench.floor_app), "
              f"{WORKERS} sync workers each, DEBUG=0, DB_CONN_MAX_AGE={env['DB_CONN_MAX_AGE']}")  # fmt: skip

        rng = random.Random(SEED)
        applicants = [
            Applicant(username, pid, save, think, browser=Browser(app.port))
            for (username, pid), (save, think) in zip(prepared["applicants"], schedule(rng), strict=True)
        ]
        start = time.perf_counter()
        run_threads(applicants, log_in, BENCH_PASSWORD, threading.Semaphore(LOGIN_CONCURRENCY))
        login_seconds = time.perf_counter() - start
        ready = [a for a in applicants if a.token]

        t0 = time.perf_counter()
        deadline = time.time() + DEADLINE_AT
        Call.objects.filter(pk=prepared["call"]).update(
            deadline=datetime.fromtimestamp(int(deadline), tz=UTC)  # whole seconds, as the database keeps it
        )
        deadline = float(int(deadline))
        connection.close()
        run_threads(ready, surge_journey, t0, deadline)
        surge_seconds = time.perf_counter() - t0
        run_threads(ready, floor_journey, time.perf_counter() + 1, floor.port)
        pages, floor_seq = time_pages(app, floor)
    finally:
        app.stop()
        floor.stop()
        redis.Redis.from_url(REDIS_URL).flushdb()  # the queued notification mails of this run

    # --- results
    surge = latencies(applicants, {"save", "submit"})
    floor_times = latencies(applicants, {"floor_save", "floor_submit"})
    saves = [a.outcome.get("save") for a in applicants]
    submits = [a.outcome.get("submit") for a in applicants]
    print(f"logins: {len(ready)} of {len(applicants)} in {login_seconds:.1f} s, {LOGIN_CONCURRENCY} at a time")
    print(f"surge: {surge_seconds:.1f} s, deadline at t = {DEADLINE_AT:.0f} s; "
          f"saves {saves.count('saved')} saved / {saves.count('refused')} refused late; "
          f"submits {submits.count('accepted')} accepted / {submits.count('refused')} refused late")  # fmt: skip
    print(describe("login POST", latencies(applicants, {"login"})))
    print(describe("save POST", latencies(applicants, {"save"})))
    for outcome in ("saved", "refused"):
        print(describe(f"  {outcome}", outcome_latencies(applicants, "save", outcome)))
    print(describe("submit POST", latencies(applicants, {"submit"})))
    for outcome in ("accepted", "refused"):
        print(describe(f"  {outcome}", outcome_latencies(applicants, "submit", outcome)))
    print(describe("save+submit", surge))
    print(describe("floor POST", floor_times))
    errors = [f"{a.username}: {e}" for a in applicants for e in a.errors]
    status_5xx = sum(1 for a in applicants for _k, r in a.log if r.status and r.status >= 500)
    timeouts = sum(1 for a in applicants for _k, r in a.log if r.status is None)
    print(f"errors: {len(errors)} (5xx answers {status_5xx}, timeouts/connection errors {timeouts})")
    for line in errors[:15]:
        print(f"  {line}")
    for line, n in Counter(app.errors()).most_common(5):
        print(f"  app server log, {n} ×: {line[:160]}")
    lost, problems = check_database(prepared, applicants, deadline)
    for line in problems[:15]:
        print(f"  {line}")
    print(f"pages (median of {PAGE_REPEAT}, one client; floor {ms(floor_seq)} ms = median of {FLOOR_REPEAT}):")
    ratios = []
    for name, (median, worst, size, first) in pages.items():
        ratios.append(median / floor_seq)
        print(
            f"  {name:<52} {ms(median):>5} ms (max {ms(worst)}, first view {ms(first)})  {size // 1024} KB"
            f"  = {median / floor_seq:.1f} × floor"
        )
    p95, floor_p95 = percentile(surge, 95), percentile(floor_times, 95)
    ratio = p95 / floor_p95
    missed = [
        name
        for name, bad in [
            ("errors", bool(errors)),
            ("lost or doubled", lost > 0),
            (f"surge p95 ≤ {GOAL_SURGE_RATIO:g} × floor p95", ratio > GOAL_SURGE_RATIO),
            (f"pages ≤ {GOAL_PAGES_RATIO:g} × floor", max(ratios) > GOAL_PAGES_RATIO),
        ]
        if bad
    ]
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"total {time.perf_counter() - started:.0f} s; goals missed: {', '.join(missed) or 'none'}")
    print(
        f"surge p95_ms={round(p95 * 1000)} floor_p95_ms={round(floor_p95 * 1000)} ratio={ratio:.2f} "
        f"errors={len(errors)} lost={lost} pages_ratio_max={max(ratios):.2f}"
    )
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
