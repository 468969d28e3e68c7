"""Every write to a call: creation, editing, transitions, amendments, documents.

Each function checks permission and state, changes the rows inside one
transaction and appends the audit entry in that same transaction.
"""

import logging
from decimal import Decimal, InvalidOperation

import filetype
import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.services import record, snapshot
from calls.choices import AmendmentKind, CallStatus
from calls.models import Amendment, Call, CallDocument, RubricCriterion, Target
from calls.rubric import validate_criteria
from calls.workflow import TRANSITIONS

logger = logging.getLogger("jiebang.calls")

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class TransitionError(ValidationError):
    pass


# What an editor may change on a draft. Status, ownership and timestamps change
# only through the transitions below.
# The call's content, in form order: what an editor may change on a draft. Status, ownership
# and timestamps change only through the transitions below.
CONTENT_FIELDS = (
    "code",
    "title",
    "field",
    "keywords",
    "background",
    "research_tasks",
    "period_months",
    "fiscal_cap",
    "issuer_contribution",
    "support_mode",
    "max_winners",
    "bidder_conditions",
    "ip_terms",
    "deadline",
    "bureau_deadline",
    "contact_name",
    "contact_phone",
    "contact_email",
    "veto_item",
    "comment_required",
)
EDITABLE_FIELDS = frozenset(CONTENT_FIELDS) | {"rubric_bands"}
# Bookkeeping that changes on every save and says nothing about the content.
_VOLATILE = ("updated_at",)


def _call_state(call: Call) -> dict:
    state = snapshot(call)
    for key in _VOLATILE:
        state.pop(key, None)
    state["targets"] = [
        {"name": t.name, "comparator": t.comparator, "value": str(t.value), "unit": t.unit} for t in call.targets.all()
    ]
    state["criteria"] = [{"name": c.name, "max_points": str(c.max_points)} for c in call.criteria.all()]
    return state


def _lock(call: Call) -> Call:
    return Call.objects.select_for_update().get(pk=call.pk)


# --- content ------------------------------------------------------------------
def create_call(
    *, actor, programme, issuer, fields: dict, targets: list[dict] | None = None, criteria: list[dict] | None = None
) -> Call:
    """A new draft. The rubric starts as a copy of the programme's template."""
    if not rules.has_perm("calls.add_call", actor) or issuer.pk != actor.organization_id:
        raise PermissionDenied
    _check_editable(fields)
    with transaction.atomic():
        call = Call(
            programme=programme,
            issuer=issuer,
            created_by=actor,
            status=CallStatus.DRAFT,
            rubric_bands=list(programme.rubric_bands),
            **fields,
        )
        call.full_clean()
        call.save()
        _replace_targets(call, targets or [])
        _replace_criteria(call, criteria if criteria is not None else programme.rubric_template)
        record(actor=actor, action="call.create", obj=call, after=_call_state(call))
    return call


def update_call(
    *, actor, call: Call, fields: dict, targets: list[dict] | None = None, criteria: list[dict] | None = None
) -> Call:
    with transaction.atomic():
        call = _lock(call)
        if not rules.has_perm("calls.change_call", actor, call):
            raise PermissionDenied
        _check_editable(fields)
        before = _call_state(call)
        for name, value in fields.items():
            setattr(call, name, value)
        call.full_clean()
        call.save()
        if targets is not None:
            _replace_targets(call, targets)
        if criteria is not None:
            _replace_criteria(call, criteria)
        after = _call_state(call)
        if after != before:
            record(actor=actor, action="call.update", obj=call, before=before, after=after)
    return call


def _check_editable(fields: dict) -> None:
    locked = sorted(set(fields) - EDITABLE_FIELDS)
    if locked:
        raise ValidationError(_("These fields cannot be edited: %(fields)s.") % {"fields": ", ".join(locked)})


def _decimal(value, label: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(_("%(label)s is not a number: %(value)s") % {"label": label, "value": value}) from None


def _replace_targets(call: Call, targets: list[dict]) -> None:
    call.targets.all().delete()
    rows = []
    for order, item in enumerate(targets, start=1):
        target = Target(
            call=call,
            order=order,
            name=item["name"],
            comparator=item.get("comparator", ">="),
            value=_decimal(item["value"], item["name"]),
            unit=item.get("unit", ""),
        )
        target.full_clean(exclude=["call"])
        rows.append(target)
    Target.objects.bulk_create(rows)


def _replace_criteria(call: Call, criteria: list[dict]) -> None:
    call.criteria.all().delete()
    rows = [
        RubricCriterion(
            call=call,
            order=order,
            name=item["name"],
            max_points=_decimal(item["max_points"], item["name"]),
            guidance=item.get("guidance", ""),
        )
        for order, item in enumerate(criteria, start=1)
    ]
    RubricCriterion.objects.bulk_create(rows)


def readiness_problems(call: Call) -> list[str]:
    """What stops this call from being submitted or published, in the issuer's words.

    Field-level validation already ran when the call was saved; this checks the
    cross-field rules and the parts that live in other rows. Uses ``.all()`` so
    a prefetched queryset (the approval queue) costs no extra queries.
    """
    problems = []
    try:
        call.clean()
    except ValidationError as exc:
        problems.extend(exc.messages)
    if not list(call.targets.all()):
        problems.append(_("Add at least one quantified target."))
    try:
        validate_criteria([{"name": c.name, "max_points": c.max_points} for c in call.criteria.all()])
    except ValidationError as exc:
        problems.extend(exc.messages)
    if call.deadline and call.deadline <= timezone.now():
        problems.append(_("The application deadline has already passed."))
    return problems


# --- transitions ----------------------------------------------------------------
def _transition(call: Call, action: str, *, actor, reason: str = "", guard=None) -> Call:
    rule = TRANSITIONS[action]
    with transaction.atomic():
        call = _lock(call)
        if call.status not in rule.sources:
            raise TransitionError(
                _("A call that is “%(status)s” cannot be %(action)s.")
                % {"status": call.get_status_display(), "action": ACTION_LABELS[action]},
                code="state",
            )
        if not rule.allowed.test(actor, call):
            raise PermissionDenied
        reason = (reason or "").strip()
        if rule.reason_required and not reason:
            raise TransitionError(_("Please give a reason."), code="reason")
        if guard is not None:
            problems = guard(call)
            if problems:
                raise TransitionError([ValidationError(p, code="not_ready") for p in problems])
        before = call.status
        now = timezone.now()
        call.status = rule.target
        if action == "submit":
            call.submitted_at = now
            call.return_reason = ""
        elif action == "return":
            call.return_reason = reason
        elif action == "approve":
            call.published_at = now
        elif action == "close":
            call.closed_at = now
        call.save()
        record(
            actor=actor,
            action=f"call.{action}",
            obj=call,
            before={"status": before},
            after={"status": call.status},
            reason=reason,
        )
    return call


ACTION_LABELS = {
    "submit": gettext_lazy("submitted"),
    "approve": gettext_lazy("approved"),
    "return": gettext_lazy("returned"),
    "withdraw": gettext_lazy("withdrawn"),
    "close": gettext_lazy("closed"),
    "start_review": gettext_lazy("put under review"),
    "start_notice": gettext_lazy("put into public notice"),
    "award": gettext_lazy("awarded"),
    "fail": gettext_lazy("declared failed"),
}


def submit_call(*, actor, call):
    return _transition(call, "submit", actor=actor, guard=readiness_problems)


def approve_call(*, actor, call):
    return _transition(call, "approve", actor=actor, guard=readiness_problems)


def return_call(*, actor, call, reason):
    return _transition(call, "return", actor=actor, reason=reason)


def withdraw_call(*, actor, call, reason=""):
    return _transition(call, "withdraw", actor=actor, reason=reason)


def _deadline_passed(call):
    return [] if call.deadline <= timezone.now() else [_("The deadline has not passed yet.")]


def close_call(*, actor, call):
    return _transition(call, "close", actor=actor, guard=_deadline_passed)


def start_review(*, actor, call):
    return _transition(call, "start_review", actor=actor)


def start_notice(*, actor, call):
    return _transition(call, "start_notice", actor=actor)


def award_call(*, actor, call):
    return _transition(call, "award", actor=actor)


def fail_call(*, actor, call, reason):
    return _transition(call, "fail", actor=actor, reason=reason)


# The review-stage transitions move the call's proposals too (start of review, notice, award,
# 流榜): the reviews app owns those rules and registers them here when it loads, so the call
# page and /api/v1/calls/ can never move a call without its proposals.
REVIEW_STAGE: dict = {}


def register_review_stage(**runners) -> None:
    """runners: action → callable(actor, call, reason) returning the call (reviews.apps)."""
    REVIEW_STAGE.update(runners)


def perform(*, actor, call, action: str, reason: str = "") -> Call:
    """Run the transition named ``action`` (one service per transition, looked up here so that
    pages and API share one mapping)."""
    if action in REVIEW_STAGE:
        return REVIEW_STAGE[action](actor, call, reason)
    runner = {
        "submit": lambda: submit_call(actor=actor, call=call),
        "approve": lambda: approve_call(actor=actor, call=call),
        "return": lambda: return_call(actor=actor, call=call, reason=reason),
        "withdraw": lambda: withdraw_call(actor=actor, call=call, reason=reason),
        "close": lambda: close_call(actor=actor, call=call),
        # The review stages (start_review, start_notice, award, fail) move the proposals with the
        # call: only the runners the reviews app registers do that, so there is no fallback here.
    }.get(action)
    if runner is None:
        raise KeyError(action)
    return runner()


def close_if_due(call: Call) -> Call:
    """Lazy closing: called whenever a call is read or applied to."""
    if call.status == CallStatus.PUBLISHED and call.deadline <= timezone.now():
        try:
            return close_call(actor=None, call=call)
        except TransitionError:  # closed concurrently by someone else
            call.refresh_from_db()
    return call


def close_overdue() -> int:
    """Close every published call whose deadline has passed (beat, and list pages)."""
    due = Call.objects.due_for_closing().order_by()
    if not due.exists():  # the usual case on a list page: one indexed existence check, no rows
        return 0
    closed = 0
    for call in due.only("pk"):
        try:
            close_call(actor=None, call=call)
            closed += 1
        except TransitionError:
            pass
    if closed:
        logger.info("Closed %d call(s) at their deadline", closed)
    return closed


# --- amendments and documents ------------------------------------------------------------
def amend_call(*, actor, call: Call, kind: str, text: str, new_deadline=None) -> Amendment:
    """A supplementary notice to a published call; the only way it changes."""
    if not rules.has_perm("calls.amend_call", actor, call):
        raise PermissionDenied
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write the text of the notice.")]})
    with transaction.atomic():
        call = _lock(call)
        if call.status != CallStatus.PUBLISHED or call.deadline <= timezone.now():
            # An overdue call is closed (lazily, if the beat has not run yet):
            # extending it afterwards would reopen it behind applicants' backs.
            raise TransitionError(_("Only a published, open call can be amended."), code="state")
        amendment = Amendment(call=call, kind=kind, text=text, created_by=actor)
        if kind == AmendmentKind.DEADLINE_EXTENSION:
            if new_deadline is None or new_deadline <= call.deadline:
                raise ValidationError({"new_deadline": [_("A deadline extension needs a later deadline.")]})
            amendment.old_deadline, amendment.new_deadline = call.deadline, new_deadline
            call.deadline = new_deadline
            call.save(update_fields=["deadline", "updated_at"])
        elif new_deadline is not None:
            raise ValidationError({"new_deadline": [_("Only a deadline extension changes the deadline.")]})
        amendment.full_clean()
        amendment.save()
        record(
            actor=actor,
            action="call.amend",
            obj=call,
            before={"deadline": amendment.old_deadline} if amendment.old_deadline else None,
            after={"kind": kind, "text": text, "deadline": amendment.new_deadline},
            reason=text,
        )
    return amendment


def add_document(*, actor, call: Call, title: str, upload) -> CallDocument:
    """Attach a PDF (checked by content, not by name) to a call being edited."""
    if not rules.has_perm("calls.change_call", actor, call):
        raise PermissionDenied
    if upload.size > MAX_DOCUMENT_BYTES:
        raise ValidationError({"file": [_("The file is larger than 20 MB.")]})
    head = upload.read(2048)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime != "application/pdf":
        raise ValidationError({"file": [_("Only PDF files can be attached.")]})
    with transaction.atomic():
        document = CallDocument(
            call=call, title=(title or upload.name)[:200], file=upload, size=upload.size, uploaded_by=actor
        )
        document.save()
        record(
            actor=actor,
            action="call.add_document",
            obj=call,
            after={"document": document.pk, "title": document.title, "size": document.size},
        )
    return document


def remove_document(*, actor, document: CallDocument) -> None:
    call = document.call
    if not rules.has_perm("calls.change_call", actor, call):
        raise PermissionDenied
    with transaction.atomic():
        record(
            actor=actor,
            action="call.remove_document",
            obj=call,
            before={"document": document.pk, "title": document.title},
        )
        storage, name = document.file.storage, document.file.name
        document.delete()
        transaction.on_commit(lambda: storage.delete(name))
