"""Audited writes to the expert pool (专家库).

Every function compares before it writes: calling it again with the same
values changes nothing and records nothing, so a re-imported spreadsheet
leaves the pool and the audit trail as they were.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import ensure_user
from accounts.validators import validate_credit_code
from audit.services import record, snapshot
from experts.models import AvoidPerson, AvoidUnit, Employment, Expert
from proposals.choices import ProposalStatus
from proposals.validators import validate_id_number

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

# The audited state of an expert; updated_at moves on every save and says nothing.
EXPERT_FIELDS = [
    "user",
    "name",
    "id_number",
    "title",
    "expert_type",
    "fields",
    "phone",
    "email",
    "active",
    "yearly_cap",
    "no_show_count",
]
# Fields an upsert sets (the rest belong to other workflows, e.g. no-shows to the review module).
_UPSERT_FIELDS = ["name", "id_number", "title", "expert_type", "fields", "phone", "email", "active", "yearly_cap"]


@dataclass(frozen=True)
class ExpertData:
    """One expert as the pool should hold it (one spreadsheet row)."""

    username: str
    name: str
    id_number: str
    employer: Organization
    expert_type: str
    title: str = ""
    fields: tuple[str, ...] = ()
    phone: str = ""
    email: str = ""
    active: bool = True
    yearly_cap: int = 10
    avoid_units: tuple[str, ...] = ()  # credit codes
    avoid_people: tuple[tuple[str, str], ...] = ()  # (name, ID number or "")

    def values(self) -> dict:
        return {
            "name": self.name,
            "id_number": self.id_number,
            "title": self.title,
            "expert_type": self.expert_type,
            "fields": list(self.fields),
            "phone": self.phone,
            "email": self.email,
            "active": self.active,
            "yearly_cap": self.yearly_cap,
        }


def upsert_expert(*, actor, data: ExpertData, on: date | None = None, refresh: bool = True) -> tuple[Expert, str]:
    """Create the expert (and its user) or bring it up to date. Returns (expert, CREATED/UPDATED/UNCHANGED).

    The user is found by login name. A new user gets an unusable password: an
    administrator sends a password reset. ``on`` dates an employer change
    (default today). ``refresh=False`` leaves the conflict refresh to the
    caller (a bulk import refreshes once for all changed experts).
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=data.username).first()
        expert = Expert.objects.select_for_update().filter(user=user).first() if user else None
        if expert is None and user is not None and user.oversees_reviews:  # separation of duties
            raise ValidationError(
                {"username": _("%(username)s is an administrator or supervisor account and cannot be an expert.")
                 % {"username": data.username}},
                code="staff_account",
            )  # fmt: skip
        taken = Expert.objects.filter(id_number=data.id_number).exclude(pk=getattr(expert, "pk", None))
        if taken.exists():
            raise ValidationError(
                {"id_number": _("Another expert in the pool already has this ID number.")}, code="id_taken"
            )
        user_changed = _ensure_expert_user(actor=actor, user=user, data=data)
        if user is None:
            user = User.objects.get(username=data.username)
        if expert is None:
            expert = Expert(user=user, **data.values())
            expert.full_clean()
            expert.save()
            record(actor=actor, action="expert.create", obj=expert, after=snapshot(expert, EXPERT_FIELDS))
            set_employer(expert, data.employer, on=on, actor=actor)
            replace_avoid_units(expert, data.avoid_units, actor=actor)
            replace_avoid_people(expert, data.avoid_people, actor=actor)
            outcome = CREATED
        else:
            changed = _update_fields(actor=actor, expert=expert, values=data.values())
            changed |= set_employer(expert, data.employer, on=on, actor=actor)
            changed |= replace_avoid_units(expert, data.avoid_units, actor=actor)
            changed |= replace_avoid_people(expert, data.avoid_people, actor=actor)
            outcome = UPDATED if changed or user_changed else UNCHANGED
        if refresh and outcome != UNCHANGED:
            refresh_conflicts_on_commit([expert.pk])
    return expert, outcome


def _ensure_expert_user(*, actor, user: User | None, data: ExpertData) -> bool:
    """Create the user, or make an existing one an expert. Fills blanks only: a person's own
    account details are theirs to change."""
    if user is None:
        ensure_user(
            actor=actor,
            username=data.username,
            password=None,  # unusable: the person sets one through a password reset
            display_name=data.name,
            email=data.email,
            phone=data.phone,
            is_expert=True,
        )
        return True
    fields = {"is_expert": True}
    if not user.display_name:
        fields["display_name"] = data.name
    if not user.email and data.email:
        fields["email"] = data.email
    if not user.phone and data.phone:
        fields["phone"] = data.phone
    if all(getattr(user, name) == value for name, value in fields.items()):
        return False
    ensure_user(actor=actor, username=user.username, password=None, **fields)
    return True


def _update_fields(*, actor, expert: Expert, values: dict) -> bool:
    before = snapshot(expert, EXPERT_FIELDS)
    for name in _UPSERT_FIELDS:
        setattr(expert, name, values[name])
    if snapshot(expert, EXPERT_FIELDS) == before:
        return False
    expert.full_clean()
    expert.save()
    record(actor=actor, action="expert.update", obj=expert, before=before, after=snapshot(expert, EXPERT_FIELDS))
    return True


def set_employer(expert: Expert, organization: Organization, *, on: date, actor) -> bool:
    """Make ``organization`` the expert's employer from ``on``. Returns whether anything changed.

    The current employment ends the day before (ended_on = on − 1 day) and stays
    in the history: the 3-year avoidance rule reads it. An employment opened on
    the same day is a correction and is changed in place, so a mistyped
    employer does not keep the expert away from that unit for three years.
    """
    with transaction.atomic():
        current = Employment.objects.select_for_update().filter(expert=expert, ended_on__isnull=True).first()
        if current is not None and current.organization_id == organization.pk:
            return False
        before = _employment_state(current)
        if current is not None and current.started_on is not None and current.started_on > on:
            raise ValidationError(
                _("The current employment starts on %(date)s, after %(on)s.") % {"date": current.started_on, "on": on}
            )
        if current is not None and current.started_on == on:
            current.organization = organization
            current.save(update_fields=["organization"])
            employment = current
            action = "expert.correct_employer"
        else:
            if current is not None:
                current.ended_on = on - timedelta(days=1)
                current.save(update_fields=["ended_on"])
            # A new expert's start date is unknown (the pool learns of the employer, not when it began).
            employment = Employment.objects.create(
                expert=expert, organization=organization, started_on=None if current is None else on
            )
            action = "expert.set_employer"
        record(
            actor=actor,
            action=action,
            obj=expert,
            before=before,
            after={**_employment_state(employment), "previous_ended_on": current.ended_on if current else None},
        )
    _forget(expert, "employments")
    return True


def _employment_state(employment: Employment | None) -> dict | None:
    if employment is None:
        return None
    organization = employment.organization
    return {
        "employment": employment.pk,
        "organization": organization.pk,
        "credit_code": organization.credit_code,
        "name": organization.name,
        "started_on": employment.started_on,
    }


def replace_avoid_units(expert: Expert, credit_codes, *, actor) -> bool:
    """Replace the units the expert declared to avoid. Codes of registered units are
    taken as registered (some carry an accepted failing check character)."""
    codes = list(dict.fromkeys(credit_codes))
    have = sorted(AvoidUnit.objects.filter(expert=expert).values_list("credit_code", flat=True))
    if have == sorted(codes):
        return False
    names = dict(Organization.objects.filter(credit_code__in=codes).values_list("credit_code", "name"))
    for code in codes:
        if code not in names:
            validate_credit_code(code)
    with transaction.atomic():
        AvoidUnit.objects.filter(expert=expert).delete()
        AvoidUnit.objects.bulk_create(
            [AvoidUnit(expert=expert, credit_code=code, name=names.get(code, "")[:200]) for code in codes]
        )
        record(actor=actor, action="expert.avoid_units", obj=expert, before={"units": have}, after={"units": codes})
    _forget(expert, "avoid_units")
    return True


def replace_avoid_people(expert: Expert, people, *, actor) -> bool:
    """Replace the people the expert declared to avoid: (name, ID number or "") pairs."""
    wanted = list(dict.fromkeys((name.strip(), (id_number or "").strip()) for name, id_number in people))
    have = sorted(AvoidPerson.objects.filter(expert=expert).values_list("name", "id_number"))
    if have == sorted(wanted):
        return False
    for name, id_number in wanted:
        if not name or len(name) > AvoidPerson._meta.get_field("name").max_length:
            raise ValidationError(_("A person to avoid needs a name of at most 50 characters."))
        if id_number:
            validate_id_number(id_number)
    with transaction.atomic():
        AvoidPerson.objects.filter(expert=expert).delete()
        AvoidPerson.objects.bulk_create(
            [AvoidPerson(expert=expert, name=name, id_number=id_number) for name, id_number in wanted]
        )
        record(
            actor=actor,
            action="expert.avoid_people",
            obj=expert,
            before={"people": [list(p) for p in have]},
            after={"people": [list(p) for p in wanted]},
        )
    _forget(expert, "avoid_people")
    return True


def _forget(expert: Expert, relation: str) -> None:
    """Drop a prefetched relation that was just rewritten."""
    getattr(expert, "_prefetched_objects_cache", {}).pop(relation, None)


def is_up_to_date(expert: Expert, data: ExpertData) -> bool:
    """Whether the pool already holds ``data`` for this expert: no query when the
    user, employments (with organisations), avoid_units and avoid_people are loaded."""
    values = data.values()
    current = next((e for e in expert.employments.all() if e.ended_on is None), None)
    return (
        expert.user.username == data.username
        and expert.user.is_expert
        and all(getattr(expert, name) == values[name] for name in _UPSERT_FIELDS)
        and current is not None
        and current.organization_id == data.employer.pk
        and sorted(u.credit_code for u in expert.avoid_units.all()) == sorted(set(data.avoid_units))
        and sorted((p.name, p.id_number) for p in expert.avoid_people.all()) == sorted(set(data.avoid_people))
    )


# Proposals whose conflicts are still acted on: from submission until expert review ends.
_IN_FLIGHT = [ProposalStatus.SUBMITTED, ProposalStatus.RETURNED, ProposalStatus.PASSED, ProposalStatus.UNDER_REVIEW]


def refresh_conflicts_on_commit(expert_ids) -> None:
    """After the change commits, recompute these experts' conflicts with proposals in flight
    (an employer or an avoid-list changed)."""
    expert_ids = list(expert_ids)
    if expert_ids:
        # robust: a failed refresh is logged, and never turns a committed import into an error page;
        # routing recomputes conflicts again before anyone is assigned.
        transaction.on_commit(lambda: refresh_conflicts(expert_ids), robust=True)


def refresh_conflicts(expert_ids) -> dict:
    from experts import avoidance
    from proposals.models import Proposal

    proposals = (
        Proposal.objects.filter(status__in=_IN_FLIGHT).select_related("call").prefetch_related("call__co_issuers")
    )
    return avoidance.sync(proposals, experts=Expert.objects.filter(pk__in=expert_ids))
