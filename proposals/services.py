"""Every write to a proposal: drafting, consortium, team, budget, attachments,
submission (deadline- and limit-safe) and formal review.

Each function checks permission and state, changes rows inside one
transaction, appends the audit entry there and queues mail on commit.
"""

import hashlib
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import filetype
import rules
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from audit.services import record, snapshot
from calls.locks import lock_limits_for_change
from calls.models import Call, Programme
from calls.services import close_if_due
from config.deferred import after_response
from proposals import eligibility
from proposals.choices import ACTIVE_STATUSES, AttachmentKind, FundingSource, ProposalStatus, TeamRole, UnitRole
from proposals.content import load as load_content
from proposals.models import (
    Attachment,
    BudgetLine,
    Milestone,
    Person,
    Proposal,
    ProposalUnit,
    Submission,
    TargetCommitment,
    TeamMember,
)
from proposals.signals import proposal_submitted
from proposals.snapshot import build_snapshot, freeze
from proposals.validators import validate_id_number
from proposals.workflow import TRANSITIONS


class TransitionError(ValidationError):
    pass


def queue_mail(proposal_id: int, event: str) -> None:
    """E-mail the lead unit about ``event`` once the current transaction commits (queued after the
    answer is sent: config.deferred)."""
    from proposals.tasks import notify_task

    transaction.on_commit(lambda: after_response(lambda: notify_task.delay(proposal_id, event)))


def _lock(
    proposal: Proposal, *, content: bool = False, count_submissions: bool = False, lock_programme: bool = False
) -> Proposal:
    """The proposal's row, locked, with its call, programme, issuer and lead unit; with content=True
    also everything the eligibility rules and the snapshot read (loaded after the lock, so consistent
    with it: every change to the content locks this row first). count_submissions=True adds
    ``submission_count`` (its submissions so far) to the same query; lock_programme=True then takes
    the programme's settings lock shared and the limit locks of the team's people (always after the
    proposal's: the order every submit takes them in; proposals.content.load, calls.locks)."""
    # Only the proposal's row (of=self): locking the joined call and programme rows too would make
    # every save wait for the submits of the whole programme and deadlock against them.
    locked = load_content(
        proposal.pk, lists=content, lock=True, count_submissions=count_submissions, lock_programme=lock_programme
    )
    if locked is None:
        raise Proposal.DoesNotExist(f"No proposal {proposal.pk}.")
    return locked


def _editable(actor, proposal: Proposal) -> Proposal:
    """Lock the proposal and check the actor may change its content now."""
    if Proposal.call.is_cached(proposal) and rules.has_perm("proposals.change_proposal", actor, proposal):
        # Refused at once when the call as loaded says so: in the last minutes of a call every late
        # save would otherwise wait for the row's lock only to be refused (the checks after the
        # lock, on the proposal and call as they are then, are the ones that let a change in; who
        # may not change the proposal at all is refused there, as before).
        _refuse_change_if_late(proposal.call)
    proposal = _lock(proposal)
    if not rules.has_perm("proposals.change_proposal", actor, proposal):
        raise PermissionDenied
    _refuse_change_if_late(proposal.call)
    return proposal


def _refuse_change_if_late(call: Call) -> None:
    if timezone.now() >= call.deadline:
        raise ValidationError(_("The application deadline has passed; the proposal can no longer be changed."))


def _decimal(value, field: str = "") -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        message = _("Enter a number.")
        raise ValidationError({field: [message]} if field else message) from None


def _clean_rows(rows, *, exclude) -> None:
    """Field validation (lengths, digits) for rows about to be bulk-created."""
    for row in rows:
        row.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def _audit(actor, proposal, action, before=None, after=None, reason=""):
    record(actor=actor, action=f"proposal.{action}", obj=proposal, before=before, after=after, reason=reason)


# --- starting and basics ----------------------------------------------------------------
def start_proposal(*, actor, call: Call) -> tuple[Proposal, bool]:
    """The 揭榜 button: the actor's organisation leads a new draft (or its existing one)."""
    if not (actor.is_authenticated and actor.is_applicant and actor.organization_id):
        raise PermissionDenied
    call = close_if_due(call)
    if not call.is_open:
        raise ValidationError(_("This call is not open for applications."))
    existing = (
        Proposal.objects.filter(call=call, lead_organization_id=actor.organization_id)
        .exclude(status=ProposalStatus.WITHDRAWN)
        .first()
    )
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                call=call, lead_organization_id=actor.organization_id, created_by=actor, title=call.title
            )
            ProposalUnit.objects.create(
                proposal=proposal,
                organization_id=actor.organization_id,
                role=UnitRole.LEAD,
                confirmed_at=timezone.now(),
                confirmed_by=actor,
            )
            _audit(actor, proposal, "create", after={"call": call.code, "lead": actor.organization_id})
    except IntegrityError:  # a colleague pressed the button at the same moment
        return Proposal.objects.get(
            call=call,
            lead_organization_id=actor.organization_id,
            status__in=[s for s in ProposalStatus if s != ProposalStatus.WITHDRAWN],
        ), False
    return proposal, True


BASIC_FIELDS = ("title", "summary", "technical_route", "risks")


def update_basics(*, actor, proposal: Proposal, **fields) -> Proposal:
    unknown = set(fields) - set(BASIC_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be edited: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    with transaction.atomic():
        proposal = _editable(actor, proposal)
        before = {name: getattr(proposal, name) for name in fields}
        for name, value in fields.items():
            setattr(proposal, name, (value or "").strip())
        if not proposal.title:
            raise ValidationError({"title": [_("Give the project a title.")]})
        proposal.clean_fields(exclude=[f.name for f in Proposal._meta.fields if f.name not in fields])
        after = {name: getattr(proposal, name) for name in fields}
        if after != before:
            proposal.save(update_fields=[*fields, "updated_at"])
            _audit(actor, proposal, "update", before=before, after=after)
    return proposal


# --- consortium -----------------------------------------------------------------------------
def add_member_unit(*, actor, proposal: Proposal, credit_code: str, task_share="", budget_share=Decimal("0")):
    credit_code = (credit_code or "").strip().upper()
    with transaction.atomic():
        proposal = _editable(actor, proposal)
        organization = Organization.objects.filter(credit_code=credit_code).first()
        if organization is None:
            raise ValidationError(
                {"credit_code": [_("No registered organisation has the credit code %(code)s.") % {"code": credit_code}]}
            )
        if proposal.units.filter(organization=organization).exists():
            raise ValidationError(
                {"credit_code": [_("%(name)s is already in the consortium.") % {"name": organization.name}]}
            )
        unit = ProposalUnit(
            proposal=proposal,
            organization=organization,
            role=UnitRole.MEMBER,
            task_share=task_share,
            budget_share=_decimal(budget_share or 0, "budget_share"),
        )
        unit.full_clean(exclude=["proposal", "organization"])
        unit.save()
        _audit(
            actor, proposal, "add_unit", after=snapshot(unit, ["organization", "role", "task_share", "budget_share"])
        )
    return unit


def update_unit(*, actor, unit: ProposalUnit, task_share: str, budget_share) -> ProposalUnit:
    with transaction.atomic():
        proposal = _editable(actor, unit.proposal)
        unit = ProposalUnit.objects.select_for_update().get(pk=unit.pk, proposal=proposal)
        before = snapshot(unit, ["task_share", "budget_share"])
        unit.task_share, unit.budget_share = task_share, _decimal(budget_share or 0)
        unit.full_clean(exclude=["proposal", "organization", "confirmed_by"])
        unit.save()
        _audit(actor, proposal, "update_unit", before=before, after=snapshot(unit, ["task_share", "budget_share"]))
    return unit


def remove_unit(*, actor, unit: ProposalUnit) -> None:
    if unit.role == UnitRole.LEAD:
        raise ValidationError(_("The lead unit cannot be removed."))
    with transaction.atomic():
        proposal = _editable(actor, unit.proposal)
        before = snapshot(unit, ["organization", "role"])
        # Its team members go with it; the entry names them.
        before["team"] = [m.person.masked_id for m in unit.people.select_related("person")]
        unit.delete()
        _audit(actor, proposal, "remove_unit", before=before)


def confirm_participation(*, actor, proposal: Proposal) -> ProposalUnit:
    """A member unit's applicant confirms that the unit takes part."""
    if not (actor.is_authenticated and actor.is_applicant and actor.organization_id):
        raise PermissionDenied
    with transaction.atomic():
        proposal = _lock(proposal)
        unit = proposal.units.filter(organization_id=actor.organization_id, role=UnitRole.MEMBER).first()
        if unit is None:
            raise PermissionDenied
        if not proposal.is_editable or timezone.now() >= proposal.call.deadline:
            raise ValidationError(_("Participation can only be confirmed while the proposal is being prepared."))
        if unit.confirmed_at is None:
            unit.confirmed_at, unit.confirmed_by = timezone.now(), actor
            unit.save(update_fields=["confirmed_at", "confirmed_by"])
            _audit(actor, proposal, "confirm_unit", after={"organization": unit.organization_id})
    return unit


# --- team ---------------------------------------------------------------------------------------
def set_team_member(
    *,
    actor,
    proposal: Proposal,
    id_number: str,
    name: str,
    unit: ProposalUnit,
    role: str,
    months_per_year,
    title="",
    duty="",
) -> TeamMember:
    id_number, name = (id_number or "").strip().upper(), (name or "").strip()
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from None
    if not name:
        raise ValidationError({"name": [_("Enter the person's name.")]})
    with transaction.atomic():
        proposal = _editable(actor, proposal)
        if unit.proposal_id != proposal.pk:
            raise PermissionDenied
        person, _created = Person.objects.get_or_create(id_number=id_number, defaults={"name": name})
        if person.name != name:
            raise ValidationError({"name": [_("This ID number is registered under another name.")]})
        if proposal.status in ACTIVE_STATUSES:
            # Returned for correction, the proposal still counts for the application limits: a submit
            # counting this person's places at the same moment waits for this change, and this for it.
            lock_limits_for_change(router.db_for_write(TeamMember), proposal.call.programme_id, person.pk)
        if role == TeamRole.PI and proposal.team.filter(role=TeamRole.PI).exclude(person=person).exists():
            raise ValidationError({"role": [_("The proposal already has a principal investigator.")]})
        member = proposal.team.filter(person=person).first() or TeamMember(proposal=proposal, person=person)
        before = snapshot(member, ["unit", "role", "title", "duty", "months_per_year"]) if member.pk else None
        member.unit, member.role, member.title, member.duty = unit, role, title, duty
        member.months_per_year = _decimal(months_per_year, "months_per_year")
        member.full_clean(exclude=["proposal", "person", "unit"])
        member.save()
        _audit(
            actor,
            proposal,
            "set_member",
            before=before,
            after={
                "person": person.masked_id,
                **snapshot(member, ["unit", "role", "title", "duty", "months_per_year"]),
            },
        )
    return member


def remove_team_member(*, actor, member: TeamMember) -> None:
    with transaction.atomic():
        proposal = _editable(actor, member.proposal)
        before = {"person": member.person.masked_id, "role": member.role}
        member.delete()
        _audit(actor, proposal, "remove_member", before=before)


# --- targets, milestones, budget ---------------------------------------------------------------
_COMMITMENT_PLACES = Decimal(1).scaleb(-TargetCommitment._meta.get_field("value").decimal_places)


def set_commitments(*, actor, proposal: Proposal, values: dict[int, tuple]) -> None:
    """values: {target id: (committed value, note)} for the call's targets."""
    with transaction.atomic():
        proposal = _editable(actor, proposal)
        targets = {t.pk: t for t in proposal.call.targets.all()}
        unknown = set(values) - set(targets)
        if unknown:
            raise ValidationError(_("Unknown target."))
        stored = list(proposal.commitments.all())
        before = {str(c.target_id): str(c.value) for c in stored}
        notes_before = {str(c.target_id): c.note for c in stored}
        proposal.commitments.all().delete()
        rows = [
            TargetCommitment(proposal=proposal, target_id=pk, value=_decimal(value, "value"), note=note or "")
            for pk, (value, note) in values.items()
            if value is not None
        ]
        _clean_rows(rows, exclude=["proposal", "target"])
        TargetCommitment.objects.bulk_create(rows)
        # As stored (four decimals): the form's "350" and the stored "350.0000" are no change.
        after = {str(r.target_id): str(r.value.quantize(_COMMITMENT_PLACES)) for r in rows}
        notes_after = {str(r.target_id): r.note for r in rows}
        if notes_after != notes_before:  # a changed note is a change too
            before, after = {**before, "notes": notes_before}, {**after, "notes": notes_after}
        if after != before:
            _audit(actor, proposal, "set_commitments", before=before, after=after)


def set_milestones(*, actor, proposal: Proposal, rows: list[dict]) -> None:
    with transaction.atomic():
        proposal = _editable(actor, proposal)
        period = proposal.call.period_months
        for row in rows:
            if not 1 <= int(_decimal(row.get("month"), "month")) <= period:
                raise ValidationError(_("Milestone months run from 1 to the call's period (%(n)d).") % {"n": period})
        before = [[m.month, m.deliverable, m.verification] for m in proposal.milestones.all()]
        proposal.milestones.all().delete()
        milestones = [
            Milestone(
                proposal=proposal, month=int(r["month"]), deliverable=r["deliverable"], verification=r["verification"]
            )
            for r in rows
        ]
        _clean_rows(milestones, exclude=["proposal"])
        Milestone.objects.bulk_create(milestones)
        after = [[int(r["month"]), r["deliverable"], r["verification"]] for r in rows]
        if after != before:
            _audit(actor, proposal, "set_milestones", before={"rows": before}, after={"rows": after})


def set_budget(*, actor, proposal: Proposal, amounts: dict[tuple[str, str], Decimal]) -> None:
    """amounts: {(source, category code): amount in 10k yuan}; zero cells are dropped."""
    with transaction.atomic():
        proposal = _editable(actor, proposal)
        categories = {c["code"] for c in proposal.call.programme.budget_categories}
        for source, category in amounts:
            if source not in FundingSource.values or category not in categories:
                raise ValidationError(
                    _("Unknown budget cell %(source)s/%(category)s.") % {"source": source, "category": category}
                )
        cleaned = {}
        for key, amount in amounts.items():
            amount = _decimal(amount or 0, "amount").quantize(Decimal("0.01"))
            if amount < 0:
                raise ValidationError(_("Budget amounts cannot be negative."))
            if amount:
                cleaned[key] = amount
        before = {f"{b.source}/{b.category}": str(b.amount) for b in proposal.budget_lines.all()}
        proposal.budget_lines.all().delete()
        lines = [BudgetLine(proposal=proposal, source=s, category=c, amount=a) for (s, c), a in cleaned.items()]
        _clean_rows(lines, exclude=["proposal"])
        BudgetLine.objects.bulk_create(lines)
        after = {f"{s}/{c}": str(a) for (s, c), a in cleaned.items()}
        if after != before:
            _audit(actor, proposal, "set_budget", before=before, after=after)


# --- attachments ---------------------------------------------------------------------------------
def display_name(name: str) -> str:
    """A harmless name for display: no path, no control characters, ends in .pdf."""
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    name = re.sub(r"\s+", " ", name)[:100] or "attachment"
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def add_attachment(*, actor, proposal: Proposal, kind: str, upload) -> Attachment:
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": [_("Choose what kind of document this is.")]})
    limit = settings.ATTACHMENT_MAX_MB * 1024 * 1024
    if upload.size > limit:
        raise ValidationError({"file": [_("The file is larger than %(mb)d MB.") % {"mb": settings.ATTACHMENT_MAX_MB}]})
    head = upload.read(2048)
    upload.seek(0)
    guessed = filetype.guess(head)
    if guessed is None or guessed.mime != "application/pdf":
        raise ValidationError({"file": [_("Only PDF files can be attached (the content is checked, not the name).")]})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    with transaction.atomic():
        proposal = _editable(actor, proposal)
        attachment = Attachment(
            proposal=proposal,
            kind=kind,
            original_name=display_name(upload.name),
            size=upload.size,
            sha256=digest.hexdigest(),
            uploaded_by=actor,
        )
        attachment.file.save("upload.pdf", upload, save=False)
        name = attachment.file.name
        try:
            attachment.save()
            _audit(
                actor,
                proposal,
                "add_attachment",
                after={"kind": kind, "name": attachment.original_name, "sha256": attachment.sha256},
            )
        except Exception:
            attachment.file.storage.delete(name)
            raise
    return attachment


def remove_attachment(*, actor, attachment: Attachment) -> None:
    """Take an attachment off the draft. A file that a submitted version refers to
    is kept (marked removed), so what was submitted can always be read again."""
    with transaction.atomic():
        proposal = _editable(actor, attachment.proposal)
        before = {"kind": attachment.kind, "name": attachment.original_name, "sha256": attachment.sha256}
        if proposal.submissions.exists():
            attachment.removed_at = timezone.now()
            attachment.save(update_fields=["removed_at"])
        else:
            storage, name = attachment.file.storage, attachment.file.name
            attachment.delete()
            transaction.on_commit(lambda: storage.delete(name))
        _audit(actor, proposal, "remove_attachment", before=before)


# --- eligibility and submission -----------------------------------------------------------------
def check_eligibility(
    proposal: Proposal, *, save: bool = True, actor=None, loaded: Proposal | None = None
) -> list[dict]:
    """Run every rule now (live on a draft) and store the results.

    A proposal submitted in time keeps passing the deadline rule: it was
    checked, authoritatively, when the proposal was submitted. Once submitted,
    a change of the verdict (e.g. a limit breach found later) is audited.
    ``loaded``: the proposal already loaded with Proposal.objects.with_content (a page's, or
    several at once, see recheck_call); otherwise it is loaded here. With save, ``loaded`` then
    holds the verdict and the results as stored, for the page or answer that shows them.
    """
    if loaded is None:
        loaded = eligibility.load_for_check(proposal.pk)
    skip = () if loaded.is_editable else ("deadline",)
    results = [r.as_json() for r in eligibility.evaluate(loaded, skip=skip)]
    verdict = all(r["ok"] for r in results)
    if save and (loaded.eligible != verdict or loaded.eligibility != results):
        with transaction.atomic():
            Proposal.objects.filter(pk=proposal.pk).update(eligible=verdict, eligibility=results)
            if not loaded.is_editable and loaded.eligible != verdict:
                failed = [r["rule"] for r in results if not r["ok"]]
                _audit(
                    actor,
                    loaded,
                    "eligibility",
                    before={"eligible": loaded.eligible},
                    after={"eligible": verdict, "failed_rules": failed},
                )
        loaded.eligible, loaded.eligibility = verdict, results
    return results


def submit_proposal(*, actor, proposal: Proposal) -> Proposal:
    """Submit: the authoritative eligibility check, under the proposal's and the programme's locks.

    The proposal row is locked and its content loaded first; then the programme's
    settings lock is taken shared (the rules read the settings as committed, and a
    change to them waits) and each team member's limit lock is taken, so submits that share a person
    check the application limits one at a time and can never both pass one, while
    submits with no one in common run side by side. The deadline is checked last,
    right before commit; a refusal rolls everything back and leaves the draft as it was.
    """
    try:
        return _submit(actor, proposal)
    except TransitionError as error:
        # The refused submit rolled back; its evaluation is kept so the checklist shows why.
        results = getattr(error, "results", None)
        if results is not None:
            Proposal.objects.filter(pk=proposal.pk).update(eligible=False, eligibility=results)
        raise


def _refuse_if_late(call: Call):
    now = timezone.now()
    if now >= call.deadline:
        raise TransitionError(
            _(
                "The application deadline (%(deadline)s, Beijing time) passed before your submission was saved; "
                "your draft is kept unchanged."
            )
            % {"deadline": timezone.localtime(call.deadline).strftime("%Y-%m-%d %H:%M")},
            code="deadline",
        )
    return now


def _submit(actor, proposal: Proposal) -> Proposal:
    rule = TRANSITIONS["submit"]
    call = close_if_due(proposal.call)
    with transaction.atomic():
        # The proposal first, locked and loaded in one go: the rules and the snapshot read exactly
        # what is locked (the version number too: a submission of this proposal locks this row first).
        # Then, after the content, the programme's settings lock (shared: every rule reads the
        # settings as locked) and the limit locks of the team's people, for the application-limit rule (限项),
        # which reads the programme's other proposals with those people: submissions sharing a
        # person wait on each other for the rules and the writes, not for loading their content.
        locked = _lock(proposal, content=True, count_submissions=True, lock_programme=True)
        if locked.status not in rule.sources:
            raise TransitionError(_("This proposal cannot be submitted now."), code="state")
        if not rule.allowed.test(actor, locked):
            raise PermissionDenied
        results = eligibility.evaluate(locked)
        stored = [r.as_json() for r in results]
        failed = [r for r in stored if not r["ok"]]
        if failed:
            messages = [m for r in failed for m in eligibility.describe(r)["messages"]]
            error = TransitionError([ValidationError(m, code="ineligible") for m in messages])
            error.results = stored
            raise error
        frozen, digest = freeze(build_snapshot(locked))
        version = locked.submission_count + 1
        before = locked.status
        now = _refuse_if_late(call)
        Submission.objects.create(
            proposal=locked, version=version, submitted_at=now, submitted_by=actor, snapshot=frozen, sha256=digest
        )
        changes = {
            "status": ProposalStatus.SUBMITTED,
            "submitted_at": now,
            "eligible": True,
            "eligibility": stored,
            "review_reason": "",
        }
        Proposal.objects.filter(pk=locked.pk).update(**changes)
        for name, value in changes.items():  # as stored, without reading the row again
            setattr(locked, name, value)
        _audit(
            actor,
            locked,
            "submit",
            before={"status": before},
            after={"status": ProposalStatus.SUBMITTED, "version": version, "sha256": digest},
        )
        queue_mail(locked.pk, "submitted")
        transaction.on_commit(lambda: proposal_submitted.send(sender=Proposal, proposal=locked))
        # Checked again as the last statement before COMMIT.
        _refuse_if_late(call)
    return locked


def withdraw_proposal(*, actor, proposal: Proposal, reason: str = "") -> Proposal:
    with transaction.atomic():
        locked = _lock(proposal)
        rule = TRANSITIONS["withdraw"]
        if locked.status not in rule.sources:
            raise TransitionError(_("This proposal cannot be withdrawn now."), code="state")
        if not rule.allowed.test(actor, locked):
            raise PermissionDenied
        if timezone.now() >= locked.call.deadline:
            raise TransitionError(_("After the deadline a proposal can no longer be withdrawn."), code="deadline")
        before = locked.status
        locked.status = ProposalStatus.WITHDRAWN
        locked.save(update_fields=["status", "updated_at"])
        _audit(actor, locked, "withdraw", before={"status": before}, after={"status": locked.status}, reason=reason)
    return locked


# --- formal review ---------------------------------------------------------------------------------
def _review(actor, proposal: Proposal, action: str, reason: str = "") -> Proposal:
    rule = TRANSITIONS[action]
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _lock(proposal)
        if not rule.allowed.test(actor, locked):
            raise PermissionDenied
        if locked.status not in rule.sources:
            raise TransitionError(_("This proposal is not awaiting formal review."), code="state")
        if rule.reason_required and not reason:
            raise TransitionError(_("Please give a reason the applicant can act on."), code="reason")
        before = locked.status
        locked.status = rule.target
        locked.review_reason = reason
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "review_reason", "reviewed_at", "updated_at"])
        _audit(actor, locked, action, before={"status": before}, after={"status": locked.status}, reason=reason)
        queue_mail(locked.pk, {"pass": "passed", "return": "returned", "reject": "rejected"}[action])
    return locked


REVIEW_STAGE_ACTIONS = ("start_review", "rank", "recommend", "unrecommend", "award", "not_award")


def advance(*, actor, proposal: Proposal, action: str, reason: str = "", notify: str | None = None) -> Proposal:
    """Move a proposal through expert review to award (used by reviews.decisions)."""
    if action not in REVIEW_STAGE_ACTIONS:
        raise ValueError(action)
    rule = TRANSITIONS[action]
    with transaction.atomic():
        locked = _lock(proposal)
        if not rule.allowed.test(actor, locked):
            raise PermissionDenied
        if locked.status not in rule.sources:
            raise TransitionError(
                _("The proposal “%(title)s” cannot go from “%(status)s” this way.")
                % {"title": locked.title, "status": locked.get_status_display()},
                code="state",
            )
        before = locked.status
        if before != rule.target:
            locked.status = rule.target
            locked.save(update_fields=["status", "updated_at"])
            _audit(actor, locked, action, before={"status": before}, after={"status": locked.status}, reason=reason)
            if notify:
                queue_mail(locked.pk, notify)
    return locked


def pass_review(*, actor, proposal):
    return _review(actor, proposal, "pass")


def return_for_correction(*, actor, proposal, reason):
    return _review(actor, proposal, "return", reason)


def reject(*, actor, proposal, reason):
    return _review(actor, proposal, "reject", reason)


def bulk_pass(*, actor, call: Call, proposal_ids: list[int]) -> int:
    """Pass several submitted proposals of one call; each is its own audited transition.
    One that changed state meanwhile is skipped, not allowed to stop the others."""
    passed = 0
    for proposal in Proposal.objects.filter(call=call, pk__in=proposal_ids, status=ProposalStatus.SUBMITTED):
        try:
            pass_review(actor=actor, proposal=proposal)
        except TransitionError:
            continue
        passed += 1
    return passed


def recheck_call(*, actor, call: Call) -> tuple[int, int]:
    """Formal review's "check again": run the rules on every submitted proposal of the call, then
    mark the programme's application-limit (限项) breaches. Changed verdicts are audited with the
    actor. Returns (proposals checked, proposals breaking a limit)."""
    if not rules.has_perm("proposals.review_proposal", actor):
        raise PermissionDenied
    over = eligibility.people_over_limits(call.programme)
    checked = _check_all(Q(call=call, status=ProposalStatus.SUBMITTED) | Q(pk__in=over), actor=actor)
    return sum(1 for p in checked if p.call_id == call.pk and p.status == ProposalStatus.SUBMITTED), len(over)


def mark_limit_breaches(programme: Programme, *, actor=None) -> int:
    """限项: every active proposal whose people break a limit is marked ineligible, with the
    reason. Returns how many proposals are involved; rechecking again writes nothing new."""
    over = eligibility.people_over_limits(programme)
    _check_all(Q(pk__in=over), actor=actor)
    return len(over)


def _check_all(condition: Q, *, actor) -> list[Proposal]:
    """Run the rules on these proposals, each once, their content loaded for all of them at once
    (a fixed number of queries, not one by one)."""
    proposals = list(Proposal.objects.filter(condition).with_content())
    for proposal in proposals:
        check_eligibility(proposal, actor=actor, loaded=proposal)
    return proposals
