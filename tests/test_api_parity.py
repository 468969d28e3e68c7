"""API parity (issue #8): every lifecycle step a user can take on the web pages can be taken
through the API by the same role, and by no other role.

- WEB_TO_API is the audit, made executable: every web view that accepts POST (found by walking
  the URL resolver) must name the API routes doing the same, or be listed as out of scope with
  the reason. A new page that changes something fails here until the API can do it too.
- Then each endpoint added for parity, from both sides: the allowed role changes the state and
  leaves the page's audit entry; everybody else of the cast gets 404 (cannot see it) or 403
  (sees it, may not do it); a wrong state answers 400.
"""

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from openpyxl import Workbook

from audit.models import AuditEntry
from calls import services as call_services
from calls.choices import CallStatus
from calls.models import CallDocument
from calls.workflow import TRANSITIONS as CALL_TRANSITIONS
from experts import avoidance, excel
from experts.choices import ConflictReason, ConflictStatus
from experts.models import AvoidPerson, Conflict, Expert
from exports.models import ExportJob, ExportKind, ExportStatus
from proposals import services as proposal_services
from proposals.choices import ProposalStatus
from proposals.models import Proposal
from proposals.views.applicant_steps import HANDLERS as EDITOR_STEPS
from proposals.views.review import DECISIONS as FORMAL_REVIEW_DECISIONS
from reviews import decisions
from reviews.models import Objection
from reviews.routing import reviewable_proposals
from reviews.views.draws import CONFLICT_DECISIONS
from reviews.views.expert import ANSWERS
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import CallFactory, make_ready_call
from tests.factories_draw_pages import ExpertFactory, closed_call, drawn, passed_proposal, pool
from tests.factories_proposals import PDF_BYTES, complete_proposal, open_call, person_id
from tests.factories_reviews import give_score, review_call, score_totals, split

CAST = (
    "administrator",
    "supervisor",
    "issuer",
    "lead_applicant",
    "member_applicant",
    "outsider_applicant",
    "assigned_expert",
    "conflicted_expert",
)

# --- the audit ------------------------------------------------------------------------------------------------------
# Web URL name (with "[value]" for a view that takes an action as a URL parameter) → the API routes
# (method, route name under /api/v1/) that do the same thing.
WEB_TO_API: dict[str, list[tuple[str, str]]] = {
    # calls (calls/views/manage.py, documents.py)
    "calls:create": [("post", "call-list")],
    "calls:edit": [("put", "call-detail"), ("patch", "call-detail")],
    "calls:action[submit]": [("post", "call-submit")],
    "calls:action[approve]": [("post", "call-approve")],
    "calls:action[return]": [("post", "call-return-")],
    "calls:action[withdraw]": [("post", "call-withdraw")],
    "calls:action[start_review]": [("post", "call-start-review")],
    "calls:action[start_notice]": [("post", "call-start-notice")],
    "calls:action[award]": [("post", "call-award")],
    "calls:action[fail]": [("post", "call-fail")],
    "calls:amend": [("post", "call-amend")],
    "calls:upload_document": [("post", "call-documents")],
    "calls:delete_document": [("delete", "call-document")],
    # the expert pool (experts/views/pool.py)
    "experts:import": [("post", "expert-import-pool"), ("post", "expert-list"), ("patch", "expert-detail")],
    # proposals: the applicant (views/applicant.py, applicant_steps.py, files.py)
    "proposals:start": [("post", "proposal-list")],
    "proposals:edit[basics]": [("patch", "proposal-detail")],
    "proposals:edit[consortium]": [
        ("post", "proposal-unit-list"),
        ("patch", "proposal-unit-detail"),
        ("delete", "proposal-unit-detail"),
    ],
    "proposals:edit[team]": [
        ("post", "proposal-team-list"),
        ("patch", "proposal-team-detail"),
        ("delete", "proposal-team-detail"),
    ],
    "proposals:edit[targets]": [("put", "proposal-commitments")],
    "proposals:edit[milestones]": [("put", "proposal-milestones")],
    "proposals:edit[budget]": [("put", "proposal-budget")],
    # The attachments and check steps answer 405 to POST: uploads go to proposals:upload; the
    # check step runs the rules on GET.
    "proposals:edit[attachments]": [("post", "proposal-attachment-list"), ("delete", "proposal-attachment-detail")],
    "proposals:edit[check]": [("post", "proposal-check")],
    "proposals:confirm": [("post", "proposal-confirm")],
    "proposals:submit": [("post", "proposal-submit")],
    "proposals:withdraw": [("post", "proposal-withdraw")],
    "proposals:upload": [("post", "proposal-attachment-list")],
    "proposals:remove_attachment": [("delete", "proposal-attachment-detail")],
    # proposals: formal review (views/review.py)
    "proposals:review_queue": [("post", "proposal-recheck-eligibility")],
    "proposals:review[pass]": [("post", "proposal-pass-")],
    "proposals:review[return]": [("post", "proposal-return-")],
    "proposals:review[reject]": [("post", "proposal-reject")],
    "proposals:bulk_pass": [("post", "proposal-bulk-pass")],
    # exports (exports/views.py)
    "exports:request": [("post", "export-list")],
    "exports:retry": [("post", "export-retry")],
    # draws (reviews/views/draws.py)
    "reviews:commit": [("post", "draw-list")],
    "reviews:route": [("post", "draw-route")],
    "reviews:perform": [("post", "draw-perform")],
    "reviews:no_show": [("post", "invitation-no-show")],
    "reviews:decide_conflict[confirm]": [("post", "conflict-confirm")],
    "reviews:decide_conflict[dismiss]": [("post", "conflict-dismiss")],
    # the expert (reviews/views/expert.py, scoring.py)
    "reviews:respond[accept]": [("post", "invitation-accept")],
    "reviews:respond[decline]": [("post", "invitation-decline")],
    "reviews:declare": [("post", "assignment-declare-conflict")],
    "reviews:score": [("post", "score-list"), ("patch", "score-detail")],
    "reviews:score_autosave": [("post", "score-list"), ("patch", "score-detail")],
    "reviews:score_submit": [("post", "score-submit")],
    "reviews:score_reopen": [("post", "score-reopen")],
    # dashboard and decisions (reviews/views/decisions.py)
    "reviews:start_review": [("post", "decision-start-review")],
    "reviews:rank": [("post", "decision-rank")],
    "reviews:remind": [("post", "decision-remind")],
    "reviews:confirm_winners": [("post", "decision-confirm-winners")],
    "reviews:open_notice": [("post", "decision-open-notice")],
    "reviews:fail": [("post", "decision-fail")],
    # notice and objections (reviews/views/notice.py)
    "reviews:handle_objection": [("post", "objection-handle")],
    "reviews:withdraw_recommendation": [("post", "decision-withdraw-recommendation")],
    "reviews:finalise": [("post", "decision-finalise")],
    "reviews:object": [("post", "objection-list")],
}

# Web actions the API deliberately leaves out, with the reason.
OUT_OF_SCOPE = {
    "set_language": "the page language; the API answers in the language of Accept-Language",
    "accounts:login": "API clients authenticate with a token (POST /api/v1/auth/token/)",
    "accounts:logout": "tokens are not sessions",
    "accounts:password_change": "account management is not part of the lifecycle",
    "calls:action[close]": "automatic at the deadline (calls.services.close_if_due); no page offers it",
}

# Views without a method restriction that only read (they accept POST but change nothing).
READS_ONLY = {"calls:mine", "calls:review"}

# Views whose URL names the action: parameter → every value the view accepts.
ACTION_PARAMETERS = {
    "calls:action": ("action", set(CALL_TRANSITIONS)),
    "proposals:edit": ("step", set(EDITOR_STEPS)),
    "proposals:review": ("action", set(FORMAL_REVIEW_DECISIONS)),
    "reviews:respond": ("answer", set(ANSWERS)),
    "reviews:decide_conflict": ("decision", set(CONFLICT_DECISIONS)),
}


def _allowed_methods(callback) -> set[str] | None:
    """The methods a view accepts (require_http_methods or a class-based view); None: any."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
    function = callback
    while function is not None:
        code = getattr(function, "__code__", None)
        for name, cell in zip(code.co_freevars if code else (), function.__closure__ or (), strict=False):
            if name == "request_method_list":
                return set(cell.cell_contents)
        function = getattr(function, "__wrapped__", None)
    return None


def _walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
        else:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


def _web_views():
    """(route, name, callback) of every page outside the admin site and the API."""
    return [row for row in _walk(get_resolver().url_patterns) if not row[0].startswith(("api/", "admin/"))]


def _api_routes() -> dict[str, object]:
    return {name: callback for route, name, callback in _walk(get_resolver().url_patterns) if route.startswith("api/")}


def _api_methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return set(actions)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return {m for m in view_class.http_method_names if hasattr(view_class, m)}


def _changing_views() -> dict[str, str]:
    """Web URL name → route, for every view that may change something (accepts POST or anything)."""
    found = {}
    for route, name, callback in _web_views():
        methods = _allowed_methods(callback)
        if name in READS_ONLY:
            assert methods is None, f"{name} now restricts its methods: take it off READS_ONLY"
            continue
        if methods is None or "POST" in methods:
            found[name] = route
    return found


def _expected_keys(name: str, route: str) -> set[str]:
    parameters = set(re.findall(r"<str:(\w+)>", route)) - {"code"}
    if name in ACTION_PARAMETERS:
        parameter, values = ACTION_PARAMETERS[name]
        assert parameters == {parameter}, f"{name}: the URL no longer names its action by <str:{parameter}>"
        return {f"{name}[{value}]" for value in values}
    assert not parameters, f"{name} takes <str:{parameters}>: list its values in ACTION_PARAMETERS"
    return {name}


def test_every_web_action_has_an_api_route():
    changing = _changing_views()
    assert changing, "the URL walk found no page"
    expected = set()
    for name, route in changing.items():
        expected |= _expected_keys(name, route)
    listed = set(WEB_TO_API) | set(OUT_OF_SCOPE)
    missing = sorted(expected - listed)
    assert not missing, f"web actions without an API route (add them to WEB_TO_API, or OUT_OF_SCOPE): {missing}"
    stale = sorted(listed - expected)
    assert not stale, f"listed web actions no page offers any more: {stale}"
    assert not set(WEB_TO_API) & set(OUT_OF_SCOPE)


def test_every_listed_api_route_exists_with_its_method():
    routes = _api_routes()
    problems = []
    for web, targets in WEB_TO_API.items():
        assert targets, f"{web}: no API route listed"
        for method, name in targets:
            if name not in routes:
                problems.append(f"{web} → {name}: no such API route")
            elif method not in _api_methods(routes[name]):
                problems.append(f"{web} → {method.upper()} {name}: method not routed")
    assert not problems, problems


def test_the_walk_sees_a_post_only_view_and_a_read_only_one():
    by_name = {name: callback for _route, name, callback in _web_views()}
    assert _allowed_methods(by_name["exports:retry"]) == {"POST"}
    assert _allowed_methods(by_name["audit:list"]) == {"GET"}
    assert _allowed_methods(by_name["calls:edit"]) == {"GET", "POST"}


# --- shared pieces --------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def audited(action: str, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("seq"))


def pdf(name="文件.pdf", content=PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def others(cast, *allowed):
    return [name for name in CAST if name not in allowed]


# --- possible conflicts (reviews:decide_conflict) ---------------------------------------------------------------
CONFLICTS = "/api/v1/conflicts/"


@pytest.fixture
def conflicts(administrator, lead_org):
    """A possible (name-only) conflict and a hard one (employer) on a proposal of a call with a draw."""
    call = closed_call()
    proposal = passed_proposal(call, lead_org, team=[("150102198001011237", "王五")])
    by_name, employee = pool(1)[0], ExpertFactory(employer=lead_org)
    AvoidPerson.objects.create(expert=by_name, name="王五")
    pool(2)
    drawn(call, administrator, panel_size=1)
    avoidance.sync(reviewable_proposals(call))
    possible = Conflict.objects.get(expert=by_name, proposal=proposal)
    hard = Conflict.objects.get(expert=employee, proposal=proposal, reason=ConflictReason.EMPLOYER_UNIT)
    assert possible.status == ConflictStatus.POTENTIAL and hard.status == ConflictStatus.CONFIRMED
    return possible, hard


@pytest.mark.django_db
@pytest.mark.parametrize("decision, status", [("confirm", ConflictStatus.CONFIRMED), ("dismiss", "dismissed")])
def test_an_administrator_decides_a_possible_conflict(api, administrator, conflicts, decision, status):
    possible, hard = conflicts
    response = api(administrator).post(f"{CONFLICTS}{possible.pk}/{decision}/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == status and body["decided_by"] == administrator.pk and body["reason"] == "name_match"
    possible.refresh_from_db()
    assert possible.status == status and possible.decided_by == administrator
    [entry] = audited("conflict.decide")
    assert entry.actor == administrator and entry.after == {"status": status}
    blocked = avoidance.blocked_pairs([possible.proposal_id])
    assert ((possible.expert_id, possible.proposal_id) in blocked) is (decision == "confirm")
    # Decisions stick: a second one is refused (400), and so is one on a hard conflict.
    for other in ("confirm", "dismiss"):
        again = api(administrator).post(f"{CONFLICTS}{possible.pk}/{other}/")
        assert again.status_code == 400 and again.json()["non_field_errors"]
        refused = api(administrator).post(f"{CONFLICTS}{hard.pk}/{other}/")
        assert refused.status_code == 400 and refused.json()["non_field_errors"]
    assert Conflict.objects.get(pk=possible.pk).status == status
    assert Conflict.objects.get(pk=hard.pk).status == ConflictStatus.CONFIRMED
    assert len(audited("conflict.decide")) == 1
    assert api(administrator).post(f"{CONFLICTS}999999/confirm/").status_code == 404


@pytest.mark.django_db
def test_only_administrators_decide_conflicts_and_staff_read_them(api, cast, supervisor, conflicts):
    possible, hard = conflicts
    for user in (cast["administrator"], supervisor):
        listed = api(user).get(f"{CONFLICTS}?call={possible.proposal.call.code}&status=potential").json()
        assert [row["id"] for row in listed["results"]] == [possible.pk]
        assert api(user).get(f"{CONFLICTS}{hard.pk}/").json()["reason"] == "employer_unit"
    assert api(supervisor).post(f"{CONFLICTS}{possible.pk}/confirm/").status_code == 403
    assert api(supervisor).post(f"{CONFLICTS}{possible.pk}/dismiss/").status_code == 403
    for name in others(cast, "administrator", "supervisor"):
        client = api(cast[name])
        assert client.get(CONFLICTS).status_code == 403, name
        assert client.get(f"{CONFLICTS}{possible.pk}/").status_code == 403, name
        for decision in ("confirm", "dismiss"):
            assert client.post(f"{CONFLICTS}{possible.pk}/{decision}/").status_code == 403, name
    assert api().post(f"{CONFLICTS}{possible.pk}/confirm/").status_code in (401, 403)
    assert Conflict.objects.get(pk=possible.pk).status == ConflictStatus.POTENTIAL
    assert not audited("conflict.decide")


@pytest.mark.django_db
def test_a_conflict_decided_on_the_page_is_decided_for_the_api(api, client_for, administrator, conflicts):
    possible, _hard = conflicts
    draw = possible.proposal.call.draws.get()
    page = client_for(administrator).post(f"/reviews/draws/{draw.pk}/conflicts/{possible.pk}/dismiss/")
    assert page.status_code == 302
    assert api(administrator).post(f"{CONFLICTS}{possible.pk}/confirm/").status_code == 400
    assert Conflict.objects.get(pk=possible.pk).status == ConflictStatus.DISMISSED


# --- retrying an export (exports:retry) -----------------------------------------------------------------------------
EXPORTS = "/api/v1/exports/"


def failed_job(user, status=ExportStatus.FAILED, params=None) -> ExportJob:
    return ExportJob.objects.create(
        kind=ExportKind.AWARD_LIST,
        params=params or {"year": 2026},  # the year's award list: no call needed to resolve it
        label="拟立项名单",
        filename="award.xlsx",
        requested_by=user,
        status=status,
        error="The export failed: ValueError" if status == ExportStatus.FAILED else "",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("status", [ExportStatus.FAILED, ExportStatus.EXPIRED])
def test_the_requester_retries_a_failed_or_expired_export(api, supervisor, status, django_capture_on_commit_callbacks):
    job = failed_job(supervisor, status)
    with django_capture_on_commit_callbacks() as queued:
        response = api(supervisor).post(f"{EXPORTS}{job.pk}/retry/")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "pending" and response.json()["error"] == ""
    job.refresh_from_db()
    assert job.status == ExportStatus.PENDING and job.error == "" and job.progress == 0
    [entry] = audited("export.retry")
    params = {"year": 2026}
    assert entry.actor == supervisor and entry.before == {"status": status, "params": params}
    assert entry.after == {"status": "pending", "params": params}
    assert len(queued) == 1  # the build is queued once the retry commits
    # Now pending: a second retry is refused.
    again = api(supervisor).post(f"{EXPORTS}{job.pk}/retry/")
    assert again.status_code == 400 and again.json()["non_field_errors"]


@pytest.mark.django_db
def test_only_the_requester_and_administrators_retry(api, cast, administrator, supervisor):
    job = failed_job(supervisor)
    for name in others(cast, "administrator", "supervisor"):
        assert api(cast[name]).post(f"{EXPORTS}{job.pk}/retry/").status_code == 404, name
    assert api().post(f"{EXPORTS}{job.pk}/retry/").status_code in (401, 403)
    assert ExportJob.objects.get(pk=job.pk).status == ExportStatus.FAILED
    assert not audited("export.retry")
    assert api(administrator).post(f"{EXPORTS}{job.pk}/retry/").status_code == 202  # as on the jobs page
    assert audited("export.retry")[0].actor == administrator


@pytest.mark.django_db
def test_a_retry_is_checked_again_as_things_stand_now(api, administrator, issuer):
    """The request is checked again: a call that is gone is a 400 with the reason, and a requester
    who may no longer request the export gets 403; either way the job stays failed, unaudited."""
    gone = failed_job(administrator, params={"call": "JB-1999-GONE"})
    response = api(administrator).post(f"{EXPORTS}{gone.pk}/retry/")
    assert response.status_code == 400 and "JB-1999-GONE" in str(response.json())
    call = CallFactory(issuer=issuer.organization)
    mine = failed_job(issuer, params={"call": call.code})  # requested while its notice ran
    response = api(issuer).post(f"{EXPORTS}{mine.pk}/retry/")  # no notice has begun now
    assert response.status_code == 403
    assert {j.status for j in ExportJob.objects.filter(pk__in=[gone.pk, mine.pk])} == {ExportStatus.FAILED}
    assert not audited("export.retry")


@pytest.mark.django_db
def test_a_retried_score_sheet_names_experts_only_if_the_retrier_may_see_them(api, administrator):
    call = CallFactory()
    job = ExportJob.objects.create(
        kind=ExportKind.SCORE_SHEET,
        params={"call": call.code, "names": True},
        label=call.code,
        filename="score.xlsx",
        requested_by=administrator,
        status=ExportStatus.FAILED,
    )
    administrator.is_administrator, administrator.is_supervisor = False, True  # moved to supervision
    administrator.save()
    assert api(administrator).post(f"{EXPORTS}{job.pk}/retry/").status_code == 202
    job.refresh_from_db()
    assert job.params == {"call": call.code, "names": False}
    [entry] = audited("export.retry")  # the change of parameters is on the record
    assert entry.before["params"]["names"] is True and entry.after["params"]["names"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("status", [ExportStatus.PENDING, ExportStatus.RUNNING, ExportStatus.DONE])
def test_only_failed_or_expired_exports_are_retried(api, administrator, status):
    job = failed_job(administrator, status)
    response = api(administrator).post(f"{EXPORTS}{job.pk}/retry/")
    assert response.status_code == 400 and response.json()["non_field_errors"]
    assert ExportJob.objects.get(pk=job.pk).status == status and not audited("export.retry")


# --- score reminders (reviews:remind) -------------------------------------------------------------------------------
DECISIONS = "/api/v1/decisions/"


@pytest.fixture
def scoring(administrator):
    """A call under review: two proposals × two experts, one sheet submitted."""
    review = review_call(administrator, proposals=2, experts=2)
    score_totals(review, review.proposals[0], [80])
    return review


@pytest.mark.django_db
def test_an_administrator_reminds_the_late_experts(api, administrator, scoring, django_capture_on_commit_callbacks):
    first, second = scoring.experts
    with django_capture_on_commit_callbacks(execute=True):
        response = api(administrator).post(f"{DECISIONS}{scoring.call.code}/remind/")
    assert response.status_code == 200, response.json()
    assert response.json() == {"reminded": 2}
    assert sorted(a for m in mail.outbox for a in m.to) == sorted([first.email, second.email])
    [entry] = audited("review.remind_late")
    assert entry.actor == administrator and sorted(entry.after["experts"]) == sorted([first.pk, second.pk])
    assert len(entry.after["assignments"]) == 3


@pytest.mark.django_db
def test_reminders_with_nobody_late_or_outside_review(api, administrator, scoring):
    first, second = scoring.proposals
    e1, e2 = scoring.experts
    for assignment in (scoring.assignment(first, e2), scoring.assignment(second, e1), scoring.assignment(second, e2)):
        give_score(assignment, split(75, scoring.criteria))
    assert api(administrator).post(f"{DECISIONS}{scoring.call.code}/remind/").json() == {"reminded": 0}
    assert not audited("review.remind_late") and not mail.outbox
    closed = CallFactory(status=CallStatus.CLOSED, deadline=timezone.now() - timedelta(days=1))
    response = api(administrator).post(f"{DECISIONS}{closed.code}/remind/")
    assert response.status_code == 400 and response.json()["non_field_errors"]


@pytest.mark.django_db
def test_only_administrators_remind(api, cast, scoring, django_capture_on_commit_callbacks):
    url = f"{DECISIONS}{scoring.call.code}/remind/"
    hidden = CallFactory()  # a draft: only its issuer and staff see it
    with django_capture_on_commit_callbacks(execute=True):
        for name in others(cast, "administrator"):
            assert api(cast[name]).post(url).status_code == 403, name
        for name in ("lead_applicant", "outsider_applicant", "assigned_expert"):
            assert api(cast[name]).post(f"{DECISIONS}{hidden.code}/remind/").status_code == 404, name
        assert api(scoring.leads[0]).post(url).status_code == 403
        assert api().post(url).status_code in (401, 403)
    assert not audited("review.remind_late") and not mail.outbox


# --- formal review: bulk pass and check again (proposals:bulk_pass, proposals:review_queue) ---------------------
PROPOSALS = "/api/v1/proposals/"


def submitted(call, organization=None) -> Proposal:
    lead = UserFactory(organization=organization or OrganizationFactory(), is_applicant=True)
    return proposal_services.submit_proposal(actor=lead, proposal=complete_proposal(call, lead))


@pytest.fixture
def in_formal_review(db):
    call = open_call()
    return call, [submitted(call) for _ in range(3)]


@pytest.mark.django_db
def test_an_administrator_bulk_passes(api, administrator, in_formal_review, django_capture_on_commit_callbacks):
    call, (first, second, third) = in_formal_review
    proposal_services.return_for_correction(actor=administrator, proposal=third, reason="补充材料")
    body = {"call": call.code, "proposals": [first.pk, second.pk, third.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        response = api(administrator).post(f"{PROPOSALS}bulk-pass/", body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["passed"] == 2
    assert {row["id"]: row["status"] for row in data["proposals"]} == {
        first.pk: "passed",
        second.pk: "passed",
        third.pk: "returned",  # no longer awaiting formal review: skipped, as on the page
    }
    passed = audited("proposal.pass", actor=administrator)
    assert sorted(int(entry.object_id) for entry in passed) == sorted([first.pk, second.pk])
    assert len(mail.outbox) == 2
    # Nothing left to pass among them: 400.
    again = api(administrator).post(f"{PROPOSALS}bulk-pass/", body, format="json")
    assert again.status_code == 400 and list(again.json()) == ["proposals"]


@pytest.mark.django_db
def test_bulk_pass_validation(api, administrator, in_formal_review):
    call, (first, *_rest) = in_formal_review
    elsewhere = submitted(open_call())
    url = f"{PROPOSALS}bulk-pass/"
    foreign = api(administrator).post(url, {"call": call.code, "proposals": [first.pk, elsewhere.pk]}, format="json")
    assert foreign.status_code == 400 and list(foreign.json()) == ["proposals"]
    assert str(elsewhere.pk) in foreign.json()["proposals"][0]
    empty = api(administrator).post(url, {"call": call.code, "proposals": []}, format="json")
    assert empty.status_code == 400 and list(empty.json()) == ["proposals"]
    unknown = api(administrator).post(url, {"call": "JB-0000-404", "proposals": [first.pk]}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["call"]
    assert Proposal.objects.filter(status=ProposalStatus.SUBMITTED).count() == 4
    assert not audited("proposal.pass")


@pytest.mark.django_db
def test_only_administrators_bulk_pass_or_check_again(api, cast, in_formal_review):
    call, proposals = in_formal_review
    lead = proposals[0].created_by
    for user in [*(cast[name] for name in others(cast, "administrator")), lead]:
        body = {"call": call.code, "proposals": [p.pk for p in proposals]}
        assert api(user).post(f"{PROPOSALS}bulk-pass/", body, format="json").status_code == 403
        assert api(user).post(f"{PROPOSALS}recheck-eligibility/", {"call": call.code}, format="json").status_code == 403
    assert api().post(f"{PROPOSALS}bulk-pass/", {}, format="json").status_code in (401, 403)
    assert Proposal.objects.filter(status=ProposalStatus.SUBMITTED).count() == 3
    assert not audited("proposal.pass") and not audited("proposal.eligibility")


@pytest.mark.django_db
def test_an_administrator_checks_the_submitted_proposals_again(api, administrator, in_formal_review):
    call, (first, second, third) = in_formal_review
    lead = first.lead_organization
    lead.credit_status, lead.blacklist_reason, lead.blacklisted_on = "blacklisted", "虚报经费", date(2025, 1, 1)
    lead.save()
    url = f"{PROPOSALS}recheck-eligibility/"
    response = api(administrator).post(url, {"call": call.code}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"checked": 3, "limit_breaches": 0}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.eligible is False and second.eligible is True
    [entry] = audited("proposal.eligibility")
    assert entry.actor == administrator and entry.object_id == str(first.pk)
    # Checking again writes nothing new.
    assert api(administrator).post(url, {"call": call.code}, format="json").status_code == 200
    assert len(audited("proposal.eligibility")) == 1
    unknown = api(administrator).post(url, {"call": "JB-0000-404"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["call"]


# --- the editor's check step (proposals:edit[check]) ----------------------------------------------------------------
@pytest.mark.django_db
def test_the_lead_unit_checks_its_draft(api, cast, lead_applicant, member_applicant):
    call = open_call()
    draft = complete_proposal(call, lead_applicant, members=[(member_applicant.organization, member_applicant)])
    url = f"{PROPOSALS}{draft.pk}/check/"
    response = api(lead_applicant).post(url)
    assert response.status_code == 200, response.json()
    assert response.json()["eligible"] is True and all(row["ok"] for row in response.json()["eligibility"])
    # The check is live: a target left unanswered fails it at once, and the result is stored.
    proposal_services.set_commitments(actor=lead_applicant, proposal=draft, values={})
    body = api(lead_applicant).post(url).json()
    assert body["status"] == "draft" and body["eligible"] is False
    assert [row["rule"] for row in body["eligibility"] if not row["ok"]]
    assert Proposal.objects.get(pk=draft.pk).eligible is False
    expected = {"member_applicant": 403, "administrator": 403, "supervisor": 403}
    for name in others(cast, "lead_applicant"):
        assert api(cast[name]).post(url).status_code == expected.get(name, 404), name
    assert api().post(url).status_code in (401, 403)
    assert Proposal.objects.get(pk=draft.pk).status == ProposalStatus.DRAFT


@pytest.mark.django_db
def test_a_submitted_proposal_is_not_checked_by_its_lead(api, lead_applicant):
    proposal = submitted(open_call(), lead_applicant.organization)
    assert api(lead_applicant).post(f"{PROPOSALS}{proposal.pk}/check/").status_code == 403


# --- call documents (calls:upload_document, calls:delete_document) ----------------------------------------------
CALLS = "/api/v1/calls/"


@pytest.mark.django_db
def test_the_issuer_attaches_and_removes_documents_of_its_draft(api, client, issuer_org, issuer):
    call = make_ready_call(issuer_org, issuer)
    url = f"{CALLS}{call.code}/documents/"
    response = api(issuer).post(url, {"title": "榜单说明", "file": pdf()}, format="multipart")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["title"] == "榜单说明" and created["size"] == len(PDF_BYTES)
    [entry] = audited("call.add_document")
    assert entry.actor == issuer and entry.after["document"] == created["id"]
    untitled = api(issuer).post(url, {"file": pdf("附件二.pdf")}, format="multipart")
    assert untitled.status_code == 201 and untitled.json()["title"] == "附件二.pdf"
    listed = api(issuer).get(url).json()
    assert [row["id"] for row in listed] == [created["id"], untitled.json()["id"]]
    download = api(issuer).get(created["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    # Not a PDF (whatever its name): 400, nothing stored.
    fake = api(issuer).post(url, {"title": "伪装", "file": pdf("b.pdf", b"\x89PNG\r\n")}, format="multipart")
    assert fake.status_code == 400 and list(fake.json()) == ["file"]
    missing = api(issuer).post(url, {"title": "无文件"}, format="multipart")
    assert missing.status_code == 400 and list(missing.json()) == ["file"]
    removed = api(issuer).delete(f"{url}{created['id']}/")
    assert removed.status_code == 204
    assert list(CallDocument.objects.filter(call=call).values_list("pk", flat=True)) == [untitled.json()["id"]]
    [entry] = audited("call.remove_document")
    assert entry.actor == issuer and entry.before["document"] == created["id"]
    assert api(issuer).delete(f"{url}{created['id']}/").status_code == 404


@pytest.mark.django_db
def test_documents_follow_who_may_see_and_edit_the_call(api, cast, issuer_org, issuer, administrator):
    call = make_ready_call(issuer_org, issuer)
    document = call_services.add_document(actor=issuer, call=call, title="说明", upload=pdf())
    url = f"{CALLS}{call.code}/documents/"
    item = f"{url}{document.pk}/"
    # A draft: the issuer and administrators edit it; the supervisor reads it; nobody else sees it.
    assert api(cast["supervisor"]).get(url).status_code == 200
    assert api(cast["supervisor"]).post(url, {"file": pdf()}, format="multipart").status_code == 403
    assert api(cast["supervisor"]).delete(item).status_code == 403
    for name in others(cast, "administrator", "supervisor", "issuer"):
        client = api(cast[name])
        assert client.get(url).status_code == 404, name
        assert client.get(f"{item}download/").status_code == 404, name
        assert client.post(url, {"file": pdf()}, format="multipart").status_code == 404, name
        assert client.delete(item).status_code == 404, name
    assert api().get(url).status_code == 404
    assert api().post(url, {"file": pdf()}, format="multipart").status_code in (401, 403)
    assert api(administrator).post(url, {"file": pdf()}, format="multipart").status_code == 201
    assert CallDocument.objects.filter(call=call).count() == 2
    # Published: everybody reads the documents; nobody changes them any more (as on the edit page).
    call_services.submit_call(actor=issuer, call=call)
    call_services.approve_call(actor=administrator, call=call)
    for name in CAST:
        assert api(cast[name]).get(url).status_code == 200, name
    assert api().get(url).status_code == 200 and api().get(f"{item}download/").status_code == 200
    for user in (issuer, administrator):
        assert api(user).post(url, {"file": pdf()}, format="multipart").status_code == 403
        assert api(user).delete(item).status_code == 403
    assert CallDocument.objects.filter(call=call).count() == 2
    assert len(audited("call.add_document")) == 2 and not audited("call.remove_document")
    assert api(issuer).get(f"{url}999999/download/").status_code == 404


# --- objections with the unit's sealed letter (reviews:object) ----------------------------------------------------
OBJECTIONS = "/api/v1/objections/"


@pytest.fixture
def notice(administrator):
    review = review_call(administrator, proposals=2, experts=2, fiscal_cap=Decimal("1000"))
    for proposal, total in zip(review.proposals, (70, 85), strict=True):
        score_totals(review, proposal, [total, total])
    decisions.rank_call(actor=administrator, call=review.call)
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={review.proposals[1].pk: Decimal("50")})
    return decisions.open_notice(actor=administrator, call=review.call)


@pytest.mark.django_db
def test_a_unit_objects_with_its_sealed_letter(api, cast, notice, administrator, supervisor):
    objector = cast["outsider_applicant"]
    body = {"call": notice.call.code, "text": "业绩材料不实。", "unit_name": "某某有限公司"}
    no_name = api(objector).post(OBJECTIONS, {**body, "unit_name": "", "seal": pdf()}, format="multipart")
    assert no_name.status_code == 400 and list(no_name.json()) == ["seal"]
    not_pdf = api(objector).post(OBJECTIONS, {**body, "seal": pdf("seal.pdf", b"GIF89a")}, format="multipart")
    assert not_pdf.status_code == 400 and list(not_pdf.json()) == ["seal"]
    unsigned = api(objector).post(OBJECTIONS, body, format="multipart")
    assert unsigned.status_code == 400 and unsigned.json()["non_field_errors"]
    assert not Objection.objects.exists()
    created = api(objector).post(OBJECTIONS, {**body, "seal": pdf("盖章异议书.pdf")}, format="multipart")
    assert created.status_code == 201, created.json()
    objection = Objection.objects.get(pk=created.json()["id"])
    assert created.json()["has_seal"] is True and objection.real_name == "" and objection.unit_name == "某某有限公司"
    [entry] = audited("objection.submit")
    assert entry.actor == objector and entry.after["unit"] == "某某有限公司"
    # The letter: administrators and supervisors read it, as on the notice administration page.
    seal = f"{OBJECTIONS}{objection.pk}/seal/"
    for user in (administrator, supervisor):
        response = api(user).get(seal)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == PDF_BYTES
    for name in others(cast, "administrator", "supervisor"):
        assert api(cast[name]).get(seal).status_code == 403, name
    signed = api(objector).post(OBJECTIONS, {**body, "unit_name": "", "real_name": "王某"}, format="json")
    assert signed.status_code == 201 and signed.json()["has_seal"] is False
    assert api(administrator).get(f"{OBJECTIONS}{signed.json()['id']}/seal/").status_code == 404


@pytest.mark.django_db
def test_a_sealed_letter_over_10_mb_is_refused(api, cast, notice, monkeypatch):
    monkeypatch.setattr("reviews.decisions.MAX_SEAL_BYTES", len(PDF_BYTES) - 1)
    body = {"call": notice.call.code, "text": "异议。", "unit_name": "某某有限公司", "seal": pdf()}
    response = api(cast["outsider_applicant"]).post(OBJECTIONS, body, format="multipart")
    assert response.status_code == 400 and list(response.json()) == ["seal"]
    assert not Objection.objects.exists()


# --- importing the expert pool (experts:import) -----------------------------------------------------------------
IMPORT = "/api/v1/experts/import/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def pool_sheet(rows) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.title = excel.SHEET
    sheet.append(list(excel.HEADERS))
    keys = [column.key for column in excel.COLUMNS]
    for values in rows:
        sheet.append([values.get(key, "") for key in keys])
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("专家库.xlsx", buffer.getvalue(), content_type=XLSX)


def pool_row(n, employer, **values):
    row = {
        "username": f"parity-expert{n}",
        "name": f"导入专家{n}",
        "id_number": person_id(900_000 + n),
        "employer": employer.credit_code,
        "title": "研究员",
        "expert_type": "技术",
        "fields": "新型储能",
        "active": "是",
        "yearly_cap": 10,
    }
    row.update(values)
    return row


@pytest.mark.django_db
def test_an_administrator_imports_the_pool(api, administrator):
    employer = OrganizationFactory()
    response = api(administrator).post(IMPORT, {"file": pool_sheet([pool_row(1, employer)])}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0, "problems": []}
    expert = Expert.objects.get(user__username="parity-expert1")
    assert expert.current_employment.organization == employer
    assert AuditEntry.objects.filter(actor=administrator, object_type="experts.expert").exists()
    again = api(administrator).post(IMPORT, {"file": pool_sheet([pool_row(1, employer)])}, format="multipart")
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 1, "problems": []}


@pytest.mark.django_db
def test_a_pool_with_problems_imports_nothing(api, administrator):
    employer = OrganizationFactory()
    rows = [pool_row(1, employer), pool_row(2, employer, id_number="150102198001011230")]
    response = api(administrator).post(IMPORT, {"file": pool_sheet(rows)}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["created"] == 0 and body["problems"] and body["problems"][0]["row"] == 3
    assert not Expert.objects.exists()
    wrong_name = SimpleUploadedFile("pool.csv", b"a,b\n", content_type="text/csv")
    refused = api(administrator).post(IMPORT, {"file": wrong_name}, format="multipart")
    assert refused.status_code == 400 and list(refused.json()) == ["file"]


@pytest.mark.django_db
def test_only_administrators_import_the_pool(api, cast):
    employer = OrganizationFactory()
    for name in others(cast, "administrator"):
        response = api(cast[name]).post(IMPORT, {"file": pool_sheet([pool_row(1, employer)])}, format="multipart")
        assert response.status_code == 403, name
    assert api().post(IMPORT, {}, format="multipart").status_code in (401, 403)
    assert not Expert.objects.exists()


# --- the same rules as the pages --------------------------------------------------------------------------------
def outcome(status_code: int) -> str:
    """What a member of the cast got: done (a page redirects, the API answers 2xx), or the refusal."""
    return "done" if status_code in (200, 204, 302) else str(status_code)


@pytest.mark.django_db
def test_page_and_api_answer_the_cast_alike(api, client_for, cast, scoring, issuer_org, issuer):
    """The dashboard's reminder and removing a call document: each member of the cast gets the
    same answer (done, 403 or 404) from the page and from the API."""
    draft = make_ready_call(issuer_org, issuer)
    for name in CAST:
        page, client = client_for(cast[name]), api(cast[name])
        remind_page = page.post(f"/reviews/calls/{scoring.call.code}/dashboard/remind/")
        remind_api = client.post(f"{DECISIONS}{scoring.call.code}/remind/")
        assert outcome(remind_page.status_code) == outcome(remind_api.status_code), name
        document = call_services.add_document(actor=issuer, call=draft, title="说明", upload=pdf())
        delete_page = page.post(f"/calls/{draft.code}/documents/{document.pk}/delete/")
        document = call_services.add_document(actor=issuer, call=draft, title="说明", upload=pdf())
        delete_api = client.delete(f"{CALLS}{draft.code}/documents/{document.pk}/")
        assert outcome(delete_page.status_code) == outcome(delete_api.status_code), name
        expected = "done" if name in ("administrator", "issuer") else ("403" if name == "supervisor" else "404")
        assert outcome(delete_api.status_code) == expected, name
        assert outcome(remind_api.status_code) == ("done" if name == "administrator" else "403"), name
