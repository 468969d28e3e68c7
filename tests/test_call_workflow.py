"""The call lifecycle at the service level: transitions, permissions, guards, closing,
amendments, visibility, editing and documents.

Every state used here is reached either through the services or, where a test needs
a particular starting point (a closed call, a passed deadline), by a queryset update:
no clock freezing.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta

import filetype
import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone, translation

from audit.models import AuditEntry
from audit.services import SYSTEM_ACTOR, verify_chain
from calls import services
from calls.access import get_call_for_user
from calls.choices import PUBLIC_STATUSES, AmendmentKind, CallStatus, SupportMode
from calls.models import Amendment, Call, CallDocument, Target
from calls.services import TransitionError
from calls.tasks import close_overdue_task
from calls.workflow import TRANSITIONS
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_calls import CallFactory, ProgrammeFactory, call_fields, in_days, make_ready_call

pytestmark = pytest.mark.django_db

REASON = "考核指标缺少测试条件，请补充"

# One entry point per action, with the same signature, as the pages call them.
SERVICES = {
    "submit": lambda actor, call, reason: services.submit_call(actor=actor, call=call),
    "approve": lambda actor, call, reason: services.approve_call(actor=actor, call=call),
    "return": lambda actor, call, reason: services.return_call(actor=actor, call=call, reason=reason),
    "withdraw": lambda actor, call, reason: services.withdraw_call(actor=actor, call=call, reason=reason),
    "close": lambda actor, call, reason: services.close_call(actor=actor, call=call),
    "start_review": lambda actor, call, reason: services.start_review(actor=actor, call=call),
    "start_notice": lambda actor, call, reason: services.start_notice(actor=actor, call=call),
    "award": lambda actor, call, reason: services.award_call(actor=actor, call=call),
    "fail": lambda actor, call, reason: services.fail_call(actor=actor, call=call, reason=reason),
}
REASON_ACTIONS = {"return", "withdraw", "fail"}

# Who may take each action, written from the domain (not read from the table).
ALLOWED_ACTORS = {
    "submit": {"issuer"},
    "approve": {"administrator"},
    "return": {"administrator"},
    "withdraw": {"issuer", "administrator"},
    "close": {"administrator"},  # ...and the system (actor None), see test_the_system_closes_an_overdue_call
    "start_review": {"administrator"},
    "start_notice": {"administrator"},
    "award": {"administrator"},
    "fail": {"administrator"},
}
CAST = [
    "administrator",
    "supervisor",
    "issuer",
    "other_issuer",
    "issuer_colleague",
    "lead_applicant",
    "member_applicant",
    "outsider_applicant",
    "assigned_expert",
    "conflicted_expert",
    "anonymous",
]
STAMPS = {"submit": "submitted_at", "approve": "published_at", "close": "closed_at"}

ALLOWED_PAIRS = [(action, source) for action, rule in TRANSITIONS.items() for source in sorted(rule.sources)]
FORBIDDEN_PAIRS = [
    (action, status) for action, rule in TRANSITIONS.items() for status in CallStatus if status not in rule.sources
]


def ids(value):
    """Readable test ids: "approve-pending-administrator", "draft-other_issuer-Http404"."""
    return getattr(value, "__name__", None) or str(value)


# --- fixtures and helpers ---------------------------------------------------------------
@pytest.fixture(autouse=True)
def _english():
    """Assert on the English messages, whatever translations exist."""
    with translation.override("en"):
        yield


@pytest.fixture
def other_issuer(db):
    return UserFactory(username="cast-other-issuer", organization=OrganizationFactory(), is_issuer=True)


@pytest.fixture
def issuer_colleague(issuer_org):
    """Works for the issuing organisation but is not one of its issuers."""
    return UserFactory(username="cast-issuer-colleague", organization=issuer_org, is_applicant=True)


@pytest.fixture
def anonymous():
    return AnonymousUser()


@pytest.fixture
def ready_call(issuer_org, issuer):
    return make_ready_call(issuer_org, issuer)


def run(action, call, actor, reason=REASON):
    return SERVICES[action](actor, call, reason)


def put_in(call, status, **fields):
    Call.objects.filter(pk=call.pk).update(status=status, **fields)
    call.refresh_from_db()
    return call


def make_overdue(call, hours=1):
    Call.objects.filter(pk=call.pk).update(deadline=timezone.now() - timedelta(hours=hours))
    call.refresh_from_db()
    return call


def prepared(call, action, status):
    """The call in `status`, with a passed deadline when the action is closing."""
    put_in(call, status)
    return make_overdue(call) if action == "close" else call


def entries_for(call):
    return AuditEntry.objects.filter(object_type="calls.call", object_id=str(call.pk)).order_by("seq")


def latest_entry():
    return AuditEntry.objects.order_by("-seq").first()


def row(call):
    return Call.objects.filter(pk=call.pk).values().get()


@contextmanager
def unchanged(call):
    """Nothing about the call changes and nothing is audited inside the block."""
    before, audited, targets, criteria = row(call), AuditEntry.objects.count(), _targets(call), _criteria(call)
    yield
    assert row(call) == before
    assert AuditEntry.objects.count() == audited
    assert (_targets(call), _criteria(call)) == (targets, criteria)


def _targets(call):
    return list(call.targets.values_list("name", "value"))


def _criteria(call):
    return list(call.criteria.values_list("name", "max_points"))


def test_the_tables_in_this_module_cover_every_transition():
    assert set(SERVICES) == set(ALLOWED_ACTORS) == set(TRANSITIONS)
    assert len(ALLOWED_PAIRS) + len(FORBIDDEN_PAIRS) == len(CallStatus) * len(TRANSITIONS)


# --- 1. allowed transitions ------------------------------------------------------------------
@pytest.mark.parametrize(
    "action, source, who",
    [(action, source, who) for action, source in ALLOWED_PAIRS for who in sorted(ALLOWED_ACTORS[action])],
    ids=ids,
)
def test_allowed_transition_changes_state_and_writes_one_audit_entry(request, ready_call, action, source, who):
    actor = request.getfixturevalue(who)
    call = prepared(ready_call, action, source)
    stamps_before = {field: getattr(call, field) for field in STAMPS.values()}
    audited = AuditEntry.objects.count()
    started = timezone.now()

    result = run(action, call, actor)

    call.refresh_from_db()
    rule = TRANSITIONS[action]
    assert result.status == call.status == rule.target
    for stamped_by, field in STAMPS.items():
        if stamped_by == action:
            assert started <= getattr(call, field) <= timezone.now()
        else:
            assert getattr(call, field) == stamps_before[field]
    if action == "return":
        assert call.return_reason == REASON
    assert AuditEntry.objects.count() == audited + 1
    entry = latest_entry()
    assert entry.action == f"call.{action}"
    assert (entry.object_type, entry.object_id) == ("calls.call", str(call.pk))
    assert entry.before == {"status": source}
    assert entry.after == {"status": rule.target}
    assert entry.actor == actor and entry.actor_repr == actor.username
    assert entry.reason == (REASON if action in REASON_ACTIONS else "")


def test_the_system_closes_an_overdue_call(ready_call):
    call = make_overdue(put_in(ready_call, CallStatus.PUBLISHED))
    services.close_call(actor=None, call=call)
    call.refresh_from_db()
    assert call.status == CallStatus.CLOSED and call.closed_at is not None
    entry = latest_entry()
    assert entry.action == "call.close" and entry.actor is None and entry.actor_repr == SYSTEM_ACTOR


def test_withdraw_needs_no_reason(ready_call, issuer):
    services.withdraw_call(actor=issuer, call=ready_call)
    assert row(ready_call)["status"] == CallStatus.WITHDRAWN
    assert latest_entry().reason == ""


def test_a_whole_lifecycle_through_the_services(ready_call, issuer, administrator):
    call = services.submit_call(actor=issuer, call=ready_call)
    call = services.return_call(actor=administrator, call=call, reason=REASON)
    call = services.submit_call(actor=issuer, call=call)
    call = services.approve_call(actor=administrator, call=call)
    make_overdue(call)
    assert services.close_overdue() == 1
    call = services.start_review(actor=administrator, call=call)
    call = services.start_notice(actor=administrator, call=call)
    call = services.award_call(actor=administrator, call=call)

    assert row(call)["status"] == CallStatus.AWARDED
    assert list(entries_for(call).values_list("action", "actor_repr")) == [
        ("call.create", "cast-issuer"),
        ("call.submit", "cast-issuer"),
        ("call.return", "cast-admin"),
        ("call.submit", "cast-issuer"),
        ("call.approve", "cast-admin"),
        ("call.close", SYSTEM_ACTOR),
        ("call.start_review", "cast-admin"),
        ("call.start_notice", "cast-admin"),
        ("call.award", "cast-admin"),
    ]
    assert verify_chain().ok


# --- 2. forbidden transitions --------------------------------------------------------------------
@pytest.mark.parametrize("action, status", FORBIDDEN_PAIRS, ids=ids)
def test_transition_not_in_the_table_is_refused(request, ready_call, action, status):
    # The actor is one the action allows, so only the state can be the reason.
    actor = request.getfixturevalue(sorted(ALLOWED_ACTORS[action])[-1])
    call = prepared(ready_call, action, status)
    with unchanged(call), pytest.raises(TransitionError) as exc:
        run(action, call, actor)
    assert exc.value.code == "state"


# --- 3. permissions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "action, source, who",
    [
        (action, source, who)
        for action, source in ALLOWED_PAIRS
        for who in CAST
        # An unauthenticated actor counts as the system for closing (calls.workflow.is_system).
        if who not in ALLOWED_ACTORS[action] and not (action == "close" and who == "anonymous")
    ],
    ids=ids,
)
def test_only_the_allowed_cast_member_may_act(request, ready_call, action, source, who):
    actor = request.getfixturevalue(who)
    call = prepared(ready_call, action, source)
    with unchanged(call), pytest.raises(PermissionDenied):
        run(action, call, actor)


# --- 4. reasons ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["", "   ", "\n\t ", None], ids=["empty", "spaces", "whitespace", "none"])
@pytest.mark.parametrize(
    "action, source", [("return", "pending"), ("fail", "closed"), ("fail", "under_review"), ("fail", "in_notice")]
)
def test_return_and_fail_need_a_reason(ready_call, administrator, action, source, reason):
    call = put_in(ready_call, source)
    with unchanged(call), pytest.raises(TransitionError) as exc:
        run(action, call, administrator, reason)
    assert exc.value.code == "reason"


def test_return_stores_the_reason_and_submit_clears_it(ready_call, issuer, administrator):
    services.submit_call(actor=issuer, call=ready_call)
    services.return_call(actor=administrator, call=ready_call, reason=f"  {REASON}\n")
    assert row(ready_call)["return_reason"] == REASON
    assert latest_entry().reason == REASON

    services.submit_call(actor=issuer, call=ready_call)
    state = row(ready_call)
    assert state["status"] == CallStatus.PENDING and state["return_reason"] == ""


# --- 5. readiness guard ----------------------------------------------------------------------------
def _no_targets(call, editor):
    services.update_call(actor=editor, call=call, fields={}, targets=[])


def _rubric_of_90(call, editor):
    criteria = [{"name": "技术路线", "max_points": "50"}, {"name": "团队实力", "max_points": "40"}]
    services.update_call(actor=editor, call=call, fields={}, criteria=criteria)


def _deadline_passed(call, editor):
    make_overdue(call, hours=0.01)


def _horse_race_with_one_winner(call, editor):
    # update_call refuses this (see below), so force it in as stale or imported data would be.
    Call.objects.filter(pk=call.pk).update(support_mode=SupportMode.HORSE_RACE, max_winners=1)


PROBLEMS = {
    "no-targets": (_no_targets, "Add at least one quantified target."),
    "rubric-90": (_rubric_of_90, "The maximum points of the criteria add up to 90; they must add up to 100."),
    "deadline-passed": (_deadline_passed, "The application deadline has already passed."),
    "horse-race-1": (_horse_race_with_one_winner, "A horse-race call lets at least 2 teams win."),
}


def _ready_for(action, call, issuer, administrator):
    """The call in the action's source state, and who acts (and edits) there."""
    if action == "approve":
        services.submit_call(actor=issuer, call=call)
        return administrator
    return issuer


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("action", ["submit", "approve"])
def test_a_call_that_is_not_ready_cannot_be_submitted_or_approved(ready_call, issuer, administrator, action, problem):
    actor = _ready_for(action, ready_call, issuer, administrator)
    breaker, message = PROBLEMS[problem]
    breaker(ready_call, actor)
    ready_call.refresh_from_db()
    with unchanged(ready_call), pytest.raises(TransitionError) as exc:
        run(action, ready_call, actor)
    assert message in exc.value.messages


def test_every_problem_is_listed_at_once(ready_call, issuer):
    _no_targets(ready_call, issuer)
    _rubric_of_90(ready_call, issuer)
    _deadline_passed(ready_call, issuer)
    with pytest.raises(TransitionError) as exc:
        services.submit_call(actor=issuer, call=ready_call)
    assert sorted(exc.value.messages) == sorted(
        [PROBLEMS["no-targets"][1], PROBLEMS["rubric-90"][1], PROBLEMS["deadline-passed"][1]]
    )


def test_readiness_refusal_carries_its_code(ready_call, issuer):
    _no_targets(ready_call, issuer)
    with pytest.raises(TransitionError) as exc:
        services.submit_call(actor=issuer, call=ready_call)
    assert {error.code for error in exc.value.error_list} == {"not_ready"}


def test_update_call_refuses_a_horse_race_with_one_winner(ready_call, issuer):
    with unchanged(ready_call), pytest.raises(ValidationError) as exc:
        services.update_call(
            actor=issuer, call=ready_call, fields={"support_mode": SupportMode.HORSE_RACE, "max_winners": 1}
        )
    assert "max_winners" in exc.value.message_dict


def test_a_horse_race_with_two_winners_is_ready(ready_call, issuer):
    services.update_call(
        actor=issuer, call=ready_call, fields={"support_mode": SupportMode.HORSE_RACE, "max_winners": 2}
    )
    assert services.submit_call(actor=issuer, call=ready_call).status == CallStatus.PENDING


# --- 6. closing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["administrator", None])
def test_close_is_refused_before_the_deadline(request, ready_call, who):
    actor = request.getfixturevalue(who) if who else None
    call = put_in(ready_call, CallStatus.PUBLISHED)
    with unchanged(call), pytest.raises(TransitionError) as exc:
        services.close_call(actor=actor, call=call)
    assert "The deadline has not passed yet." in exc.value.messages


@pytest.fixture
def mixed_calls():
    """Two published calls past their deadline, and calls close_overdue must leave alone."""
    due = [make_overdue(CallFactory(status=CallStatus.PUBLISHED)) for _ in range(2)]
    untouched = [
        CallFactory(status=CallStatus.PUBLISHED),  # deadline ahead
        make_overdue(CallFactory(status=CallStatus.DRAFT)),
        make_overdue(CallFactory(status=CallStatus.PENDING)),
        make_overdue(CallFactory(status=CallStatus.UNDER_REVIEW)),
    ]
    return due, untouched


@pytest.mark.parametrize("runner", ["service", "task"])
def test_close_overdue_closes_exactly_the_overdue_published_calls(mixed_calls, runner):
    due, untouched = mixed_calls
    before = {call.pk: row(call) for call in untouched}
    audited = AuditEntry.objects.count()

    count = services.close_overdue() if runner == "service" else close_overdue_task.delay().get()

    assert count == 2
    for call in due:
        state = row(call)
        assert state["status"] == CallStatus.CLOSED and state["closed_at"] is not None
        [entry] = entries_for(call)
        assert (entry.action, entry.actor, entry.actor_repr) == ("call.close", None, SYSTEM_ACTOR)
        assert entry.before == {"status": "published"} and entry.after == {"status": "closed"}
    assert {call.pk: row(call) for call in untouched} == before
    assert AuditEntry.objects.count() == audited + 2
    assert services.close_overdue() == 0  # nothing left to do, nothing audited twice
    assert AuditEntry.objects.count() == audited + 2


def test_reading_an_overdue_published_call_closes_it(ready_call, lead_applicant):
    make_overdue(put_in(ready_call, CallStatus.PUBLISHED))
    call = get_call_for_user(lead_applicant, ready_call.code)
    assert call.status == CallStatus.CLOSED and call.closed_at is not None
    assert row(call)["status"] == CallStatus.CLOSED
    entry = latest_entry()
    assert (entry.action, entry.actor_repr) == ("call.close", SYSTEM_ACTOR)


def test_reading_a_call_before_its_deadline_leaves_it_published(ready_call, lead_applicant):
    put_in(ready_call, CallStatus.PUBLISHED)
    audited = AuditEntry.objects.count()
    assert get_call_for_user(lead_applicant, ready_call.code).status == CallStatus.PUBLISHED
    assert AuditEntry.objects.count() == audited


# --- 7. amendments ---------------------------------------------------------------------------------------
@pytest.fixture
def published_call(ready_call):
    return put_in(ready_call, CallStatus.PUBLISHED)


def test_deadline_extension_moves_the_deadline(published_call, administrator):
    old, new = published_call.deadline, published_call.deadline + timedelta(days=14)
    amendment = services.amend_call(
        actor=administrator,
        call=published_call,
        kind=AmendmentKind.DEADLINE_EXTENSION,
        text="截止时间延长两周",
        new_deadline=new,
    )
    amendment.refresh_from_db()
    assert (amendment.old_deadline, amendment.new_deadline) == (old, new)
    assert row(published_call)["deadline"] == new
    entry = latest_entry()
    assert entry.action == "call.amend" and entry.actor == administrator and entry.reason == "截止时间延长两周"
    assert datetime.fromisoformat(entry.before["deadline"]) == old
    assert entry.after["kind"] == "deadline" and datetime.fromisoformat(entry.after["deadline"]) == new


@pytest.mark.parametrize("shift", [timedelta(0), timedelta(days=-1), None], ids=["same", "earlier", "missing"])
def test_deadline_extension_needs_a_later_deadline(published_call, administrator, shift):
    new = None if shift is None else published_call.deadline + shift
    with unchanged(published_call), pytest.raises(ValidationError) as exc:
        services.amend_call(
            actor=administrator,
            call=published_call,
            kind=AmendmentKind.DEADLINE_EXTENSION,
            text="延期",
            new_deadline=new,
        )
    assert "new_deadline" in exc.value.message_dict
    assert not Amendment.objects.exists()


def test_clarification_keeps_the_deadline(published_call, administrator):
    amendment = services.amend_call(
        actor=administrator, call=published_call, kind=AmendmentKind.CLARIFICATION, text="指标一按国标测试"
    )
    assert (amendment.old_deadline, amendment.new_deadline) == (None, None)
    assert row(published_call)["deadline"] == published_call.deadline
    entry = latest_entry()
    assert entry.action == "call.amend" and entry.before is None
    assert entry.after == {"kind": "clarification", "text": "指标一按国标测试", "deadline": None}


def test_clarification_must_not_change_the_deadline(published_call, administrator):
    with unchanged(published_call), pytest.raises(ValidationError) as exc:
        services.amend_call(
            actor=administrator,
            call=published_call,
            kind=AmendmentKind.CLARIFICATION,
            text="说明",
            new_deadline=published_call.deadline + timedelta(days=7),
        )
    assert "new_deadline" in exc.value.message_dict


@pytest.mark.parametrize("text", ["", "  \n "])
def test_an_amendment_needs_text(published_call, administrator, text):
    with unchanged(published_call), pytest.raises(ValidationError) as exc:
        services.amend_call(actor=administrator, call=published_call, kind=AmendmentKind.CLARIFICATION, text=text)
    assert "text" in exc.value.message_dict


@pytest.mark.parametrize("who", [who for who in CAST if who != "administrator"])
def test_only_administrators_amend(request, published_call, who):
    with unchanged(published_call), pytest.raises(PermissionDenied):
        services.amend_call(
            actor=request.getfixturevalue(who), call=published_call, kind=AmendmentKind.CLARIFICATION, text="说明"
        )
    assert not Amendment.objects.exists()


@pytest.mark.parametrize("status", [s for s in CallStatus if s != CallStatus.PUBLISHED])
def test_only_published_calls_are_amended(ready_call, administrator, status):
    call = put_in(ready_call, status)
    with unchanged(call), pytest.raises(TransitionError):
        services.amend_call(actor=administrator, call=call, kind=AmendmentKind.CLARIFICATION, text="说明")
    assert not Amendment.objects.exists()


def test_an_overdue_call_cannot_be_extended(published_call, administrator):
    make_overdue(published_call)
    with pytest.raises(TransitionError):
        services.amend_call(
            actor=administrator,
            call=published_call,
            kind=AmendmentKind.DEADLINE_EXTENSION,
            text="延期",
            new_deadline=in_days(7),
        )


# --- 8. visibility ------------------------------------------------------------------------------------------
SEES_UNPUBLISHED = {"administrator", "supervisor", "issuer"}


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("status", list(CallStatus))
def test_who_sees_a_call_in_each_status(request, ready_call, status, who):
    user = request.getfixturevalue(who)
    call = put_in(ready_call, status)
    visible = status in PUBLIC_STATUSES or who in SEES_UNPUBLISHED

    assert Call.objects.visible_to(user).filter(pk=call.pk).exists() is visible
    if visible:
        assert get_call_for_user(user, call.code) == call
    else:
        with pytest.raises(Http404):
            get_call_for_user(user, call.code)


def test_an_unknown_code_is_404(administrator):
    with pytest.raises(Http404):
        get_call_for_user(administrator, "JB-1999-404")


@pytest.mark.parametrize(
    "status, who, outcome",
    [
        ("draft", "issuer", "ok"),
        ("draft", "administrator", "ok"),
        ("pending", "administrator", "ok"),
        ("pending", "issuer", PermissionDenied),
        ("published", "issuer", PermissionDenied),
        ("published", "administrator", PermissionDenied),
        ("draft", "supervisor", PermissionDenied),
        ("published", "lead_applicant", PermissionDenied),
        ("published", "anonymous", PermissionDenied),
        ("withdrawn", "issuer", PermissionDenied),
        ("draft", "other_issuer", Http404),
        ("draft", "issuer_colleague", Http404),
        ("pending", "lead_applicant", Http404),
    ],
    ids=ids,
)
def test_get_call_for_writing(request, ready_call, status, who, outcome):
    user = request.getfixturevalue(who)
    call = put_in(ready_call, status)
    if outcome == "ok":
        assert get_call_for_user(user, call.code, write=True) == call
    else:
        with pytest.raises(outcome):
            get_call_for_user(user, call.code, write=True)


# --- 9. creating and editing ---------------------------------------------------------------------------------
def test_issuer_edits_a_draft(ready_call, issuer):
    old_targets = list(ready_call.targets.values_list("name", flat=True))
    new_targets = [{"name": "转换效率", "comparator": ">=", "value": "25.5", "unit": "%"}]

    services.update_call(actor=issuer, call=ready_call, fields={"title": "新标题"}, targets=new_targets)

    assert row(ready_call)["title"] == "新标题"
    assert [(t.order, t.name, str(t.value), t.unit) for t in Target.objects.filter(call=ready_call)] == [
        (1, "转换效率", "25.5000", "%")
    ]
    entry = latest_entry()
    assert entry.action == "call.update" and entry.actor == issuer
    assert entry.before["title"] != "新标题" and entry.after["title"] == "新标题"
    assert [t["name"] for t in entry.before["targets"]] == old_targets
    assert entry.after["targets"] == [{"name": "转换效率", "comparator": ">=", "value": "25.5000", "unit": "%"}]


def test_administrator_edits_a_pending_call(ready_call, issuer, administrator):
    services.submit_call(actor=issuer, call=ready_call)
    services.update_call(actor=administrator, call=ready_call, fields={"keywords": "储能,安全"})
    assert row(ready_call)["keywords"] == "储能,安全"
    assert (latest_entry().action, latest_entry().actor) == ("call.update", administrator)


@pytest.mark.parametrize(
    "status, who",
    [
        ("pending", "issuer"),
        ("published", "issuer"),
        ("published", "administrator"),
        ("closed", "administrator"),
        ("withdrawn", "issuer"),
        ("draft", "other_issuer"),
        ("draft", "issuer_colleague"),
        ("draft", "supervisor"),
        ("draft", "lead_applicant"),
    ],
    ids=ids,
)
def test_update_is_refused(request, ready_call, status, who):
    call = put_in(ready_call, status)
    with unchanged(call), pytest.raises(PermissionDenied):
        services.update_call(actor=request.getfixturevalue(who), call=call, fields={"title": "改"}, targets=[])


def test_a_failed_update_changes_nothing(ready_call, issuer):
    with unchanged(ready_call), pytest.raises(ValidationError):
        services.update_call(
            actor=issuer, call=ready_call, fields={"title": "改"}, targets=[{"name": "", "value": "1"}]
        )


@pytest.mark.parametrize("field", ["status", "issuer_id"])
def test_update_cannot_change_workflow_or_ownership_fields(ready_call, issuer, other_issuer, field):
    value = {"status": CallStatus.PUBLISHED, "issuer_id": other_issuer.organization_id}[field]
    try:
        services.update_call(actor=issuer, call=ready_call, fields={field: value})
    except (ValidationError, PermissionDenied, ValueError, TypeError):
        pass
    state = row(ready_call)
    assert (state["status"], state["issuer_id"]) == (CallStatus.DRAFT, issuer.organization_id)


def test_an_update_that_changes_nothing_is_not_audited(ready_call, issuer):
    audited = AuditEntry.objects.count()
    services.update_call(actor=issuer, call=ready_call, fields={"title": ready_call.title})
    assert AuditEntry.objects.count() == audited


def test_create_call_copies_the_programmes_rubric(issuer_org, issuer):
    template = [{"name": "技术先进性", "max_points": "60"}, {"name": "团队", "max_points": "40"}]
    bands = [{"label": "合格", "min_share": "0.6"}, {"label": "不合格", "min_share": "0"}]
    programme = ProgrammeFactory(rubric_template=template, rubric_bands=bands)

    call = make_ready_call(issuer_org, issuer, programme=programme)

    assert [(c.order, c.name, str(c.max_points)) for c in call.criteria.all()] == [
        (1, "技术先进性", "60.00"),
        (2, "团队", "40.00"),
    ]
    assert row(call)["rubric_bands"] == bands
    assert (call.status, call.issuer, call.created_by) == (CallStatus.DRAFT, issuer_org, issuer)
    entry = latest_entry()
    assert entry.action == "call.create" and entry.before is None and len(entry.after["criteria"]) == 2

    # A copy: later changes to the programme leave the call alone.
    programme.rubric_template = [{"name": "其他", "max_points": "100"}]
    programme.save()
    assert call.criteria.count() == 2


def test_create_call_takes_explicit_criteria(issuer_org, issuer):
    call = make_ready_call(issuer_org, issuer, criteria=[{"name": "唯一评分项", "max_points": "100"}])
    assert list(call.criteria.values_list("name", flat=True)) == ["唯一评分项"]


@pytest.mark.parametrize("who", ["other_issuer", "issuer_colleague", "supervisor", "lead_applicant", "assigned_expert"])
def test_only_an_issuer_of_the_organisation_creates_its_calls(request, issuer_org, who):
    with pytest.raises(PermissionDenied):
        make_ready_call(issuer_org, request.getfixturevalue(who))
    assert not Call.objects.exists() and not AuditEntry.objects.exists()


def test_call_fields_are_validated_on_create(issuer_org, issuer):
    with pytest.raises(ValidationError) as exc:
        services.create_call(
            actor=issuer, programme=ProgrammeFactory(), issuer=issuer_org, fields=call_fields(code="bad code")
        )
    assert "code" in exc.value.message_dict
    assert not Call.objects.exists()


# --- 10. documents ---------------------------------------------------------------------------------------------
def minimal_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.fixture
def media_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path  # call documents are private files
    return tmp_path


def test_the_sample_files_are_what_they_claim():
    assert filetype.guess(minimal_pdf()).mime == "application/pdf"
    assert filetype.guess(PNG).mime == "image/png"


def test_issuer_attaches_a_pdf(media_root, ready_call, issuer):
    upload = SimpleUploadedFile("榜单说明.pdf", minimal_pdf(), content_type="application/pdf")
    document = services.add_document(actor=issuer, call=ready_call, title="榜单说明", upload=upload)

    document.refresh_from_db()
    assert (document.call, document.title, document.size) == (ready_call, "榜单说明", len(minimal_pdf()))
    stored = media_root / document.file.name
    assert stored.read_bytes() == minimal_pdf()
    entry = latest_entry()
    assert entry.action == "call.add_document" and entry.after["document"] == document.pk


@pytest.mark.parametrize("content", [PNG, b"just text, not a PDF"], ids=["png", "text"])
def test_a_non_pdf_named_pdf_is_refused(media_root, ready_call, issuer, content):
    upload = SimpleUploadedFile("伪装.pdf", content, content_type="application/pdf")
    with unchanged(ready_call), pytest.raises(ValidationError) as exc:
        services.add_document(actor=issuer, call=ready_call, title="伪装", upload=upload)
    assert "file" in exc.value.message_dict
    assert not CallDocument.objects.exists()
    assert not any(media_root.rglob("*"))


@pytest.mark.parametrize(
    "status, who", [("draft", "other_issuer"), ("draft", "lead_applicant"), ("published", "issuer")]
)
def test_documents_are_attached_only_by_editors(request, media_root, ready_call, status, who):
    call = put_in(ready_call, status)
    upload = SimpleUploadedFile("说明.pdf", minimal_pdf(), content_type="application/pdf")
    with unchanged(call), pytest.raises(PermissionDenied):
        services.add_document(actor=request.getfixturevalue(who), call=call, title="说明", upload=upload)
    assert not CallDocument.objects.exists()
