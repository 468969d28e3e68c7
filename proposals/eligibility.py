"""The eligibility engine: one small check per rule of domain.md.

Each check looks at a proposal (with its units, team, commitments, budget and
attachments loaded) and the programme's settings, and returns the problems it
finds as (message key, parameters). Results are stored as codes and
parameters, so they are shown in the reader's language.
"""

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import OrganizationType
from config.prepared import Prepared
from proposals.choices import ACTIVE_STATUSES, AttachmentKind, FundingSource, TeamRole, UnitRole

RESEARCH_TYPES = {OrganizationType.INSTITUTE, OrganizationType.UNIVERSITY, OrganizationType.NEW_RND}

RULE_LABELS = {
    "complete": _("The proposal is complete"),
    "deadline": _("Before the deadline"),
    "fiscal_cap": _("Fiscal request within the call's cap"),
    "matching": _("Matching funds (self-raised ÷ fiscal)"),
    "members_max": _("Number of member units"),
    "members_confirmed": _("Member units have confirmed"),
    "in_region_share": _("Share of in-region units"),
    "in_region_institute": _("An in-region research institution takes part"),
    "lead_type": _("Type of the lead unit"),
    "lead_in_region": _("Lead unit registered in the region"),
    "targets": _("Every target of the call answered and met"),
    "credit": _("No unit or person on the misconduct list"),
    "not_issuer": _("No unit of the consortium issued the call"),
    "limits": _("Application limits (限项)"),
}

MESSAGES = {
    "no_title": _("Give the project a title."),
    "no_route": _("Describe the technical route."),
    "no_pi": _("Name the principal investigator."),
    "no_milestones": _("Add at least one milestone."),
    "missing_attachment": _("Attach the %(kind)s (PDF)."),
    "no_budget": _("Fill in the budget."),
    "deadline_passed": _("The application deadline (%(deadline)s, Beijing time) has passed."),
    "call_not_open": _("The call is not open for applications."),
    "over_cap": _("The fiscal request of %(fiscal)s exceeds the call's cap of %(cap)s (10k yuan)."),
    "matching_low": _(
        "Self-raised funds of %(self)s are %(ratio)s times the fiscal request of %(fiscal)s; "
        "at least %(required)s times is required."
    ),
    "too_many_members": _("%(count)s member units; at most %(max)s are allowed."),
    "unconfirmed": _("%(units)s has not confirmed participation yet."),
    "in_region_share_low": _("%(share)s%% of the units are in-region; at least %(required)s%% are required."),
    "no_in_region_institute": _("No in-region university, research institute or new-type R&D institution takes part."),
    "lead_type_not_allowed": _("A unit of type “%(type)s” may not lead in this programme."),
    "lead_out_of_region": _("The lead unit must be registered in Inner Mongolia."),
    "target_unanswered": _("No committed value for the target “%(target)s”."),
    "target_not_met": _("The committed value %(value)s for “%(target)s” does not meet the target %(required)s."),
    "unit_blacklisted": _("%(unit)s is on the misconduct (失信) list."),
    "unit_is_issuer": _("%(unit)s issued this call and cannot bid for it."),
    "person_blacklisted": _("%(person)s is on the misconduct (失信) list."),
    "pi_limit": _(
        "%(person)s already leads %(count)s active proposal(s) in this programme year (limit %(limit)s): %(others)s."
    ),
    "person_limit": _(
        "%(person)s is already on %(count)s active proposal(s) in this programme year (limit %(limit)s): %(others)s."
    ),
}


@dataclass
class RuleResult:
    rule: str
    problems: list = field(default_factory=list)  # [(message key, params)]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        return {"rule": self.rule, "ok": self.ok, "problems": [{"key": k, "params": p} for k, p in self.problems]}


def describe(result: dict) -> dict:
    """A stored result, rendered in the active language for templates."""
    return {
        "rule": result["rule"],
        "label": RULE_LABELS.get(result["rule"], result["rule"]),
        "ok": result["ok"],
        "messages": [str(MESSAGES[p["key"]]) % p["params"] for p in result["problems"]],
    }


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _units(proposal):
    return list(proposal.units.all())


def check_complete(proposal, call, programme):
    problems = []
    if not proposal.title.strip():
        problems.append(("no_title", {}))
    if not proposal.technical_route.strip():
        problems.append(("no_route", {}))
    if not any(m.role == TeamRole.PI for m in proposal.team.all()):
        problems.append(("no_pi", {}))
    if not list(proposal.milestones.all()):
        problems.append(("no_milestones", {}))
    if not list(proposal.budget_lines.all()):
        problems.append(("no_budget", {}))
    kinds = {a.kind for a in proposal.attachments.all()}
    required = [AttachmentKind.INTEGRITY_PLEDGE, AttachmentKind.MATCHING_FUNDS]
    if any(u.role == UnitRole.MEMBER for u in _units(proposal)):
        required.append(AttachmentKind.CONSORTIUM_AGREEMENT)
    for kind in required:
        if kind not in kinds:
            problems.append(("missing_attachment", {"kind": str(AttachmentKind(kind).label)}))
    return problems


def check_deadline(proposal, call, programme):
    if timezone.now() >= call.deadline:
        return [("deadline_passed", {"deadline": timezone.localtime(call.deadline).strftime("%Y-%m-%d %H:%M")})]
    if call.status != "published":
        return [("call_not_open", {})]
    return []


def check_fiscal_cap(proposal, call, programme):
    fiscal = proposal.budget_totals()[FundingSource.FISCAL]
    if fiscal > call.fiscal_cap:
        return [("over_cap", {"fiscal": _money(fiscal), "cap": _money(call.fiscal_cap)})]
    return []


def check_matching(proposal, call, programme):
    totals = proposal.budget_totals()
    fiscal, raised = totals[FundingSource.FISCAL], totals[FundingSource.SELF_RAISED]
    if fiscal == 0 or raised >= fiscal * programme.matching_ratio:
        return []
    # Rounded down, so a ratio just under the requirement never reads as equal to it.
    ratio = (raised / fiscal).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return [
        (
            "matching_low",
            {
                "self": _money(raised),
                "fiscal": _money(fiscal),
                "ratio": str(ratio),
                "required": str(programme.matching_ratio),
            },
        )
    ]


def check_members_max(proposal, call, programme):
    members = [u for u in _units(proposal) if u.role == UnitRole.MEMBER]
    if programme.max_member_units is not None and len(members) > programme.max_member_units:
        return [("too_many_members", {"count": len(members), "max": programme.max_member_units})]
    return []


def check_members_confirmed(proposal, call, programme):
    return [
        ("unconfirmed", {"units": unit.organization.name})
        for unit in _units(proposal)
        if unit.role == UnitRole.MEMBER and unit.confirmed_at is None
    ]


def check_in_region_share(proposal, call, programme):
    units = _units(proposal)
    if not units:
        return []
    share = Decimal(sum(1 for u in units if u.organization.in_region) * 100) / len(units)
    if share < programme.min_in_region_share:
        shown = share.quantize(Decimal("0.01"), rounding=ROUND_DOWN).normalize()
        required = programme.min_in_region_share.normalize()
        return [("in_region_share_low", {"share": f"{shown:f}", "required": f"{required:f}"})]
    return []


def check_in_region_institute(proposal, call, programme):
    if not programme.in_region_institute_required:
        return []
    if any(u.organization.in_region and u.organization.org_type in RESEARCH_TYPES for u in _units(proposal)):
        return []
    return [("no_in_region_institute", {})]


def _lead(proposal):
    return next((u for u in _units(proposal) if u.role == UnitRole.LEAD), None)


def check_lead_type(proposal, call, programme):
    lead = _lead(proposal)
    if lead and lead.organization.org_type not in programme.allowed_lead_types:
        return [("lead_type_not_allowed", {"type": str(lead.organization.get_org_type_display())})]
    return []


def check_lead_in_region(proposal, call, programme):
    lead = _lead(proposal)
    if programme.lead_must_be_in_region and lead and not lead.organization.in_region:
        return [("lead_out_of_region", {})]
    return []


def check_targets(proposal, call, programme):
    commitments = {c.target_id: c for c in proposal.commitments.all()}
    problems = []
    for target in call.targets.all():
        commitment = commitments.get(target.pk)
        if commitment is None:
            problems.append(("target_unanswered", {"target": target.name}))
        elif not commitment.meets_target():
            problems.append(
                (
                    "target_not_met",
                    {
                        "target": target.name,
                        "value": f"{commitment.value.normalize():f}",
                        "required": str(target).removeprefix(target.name).strip(),
                    },
                )
            )
    return problems


def check_credit(proposal, call, programme):
    problems = [
        ("unit_blacklisted", {"unit": u.organization.name}) for u in _units(proposal) if u.organization.is_blacklisted
    ]
    problems += [("person_blacklisted", {"person": m.person.name}) for m in proposal.team.all() if m.person.blacklisted]
    return problems


def check_not_issuer(proposal, call, programme):
    """An issuer (or co-issuer) does not bid for its own call."""
    issuers = {call.issuer_id, *(o.pk for o in call.co_issuers.all())}
    return [("unit_is_issuer", {"unit": u.organization.name}) for u in _units(proposal) if u.organization_id in issuers]


def _team_elsewhere(proposal_id, programme_id):
    """The places of this proposal's people in the programme's other active proposals."""
    from proposals.models import TeamMember

    team = TeamMember.objects.filter(proposal_id=proposal_id).values("person_id")
    return (
        TeamMember.objects.filter(
            person_id__in=team, proposal__call__programme_id=programme_id, proposal__status__in=ACTIVE_STATUSES
        )
        .exclude(proposal_id=proposal_id)
        .values_list("person_id", "role", "proposal__call__code", "proposal__title")
    )


# Runs on every check and submit, with two ids: compiled once (config.prepared).
TEAM_ELSEWHERE = Prepared(_team_elsewhere, model="proposals.TeamMember")


def settings_lock_sql(connection) -> str:
    """PostgreSQL: take the proposal's programme's settings lock shared, until the transaction ends
    (one parameter: the proposal's id). The rules then read the settings as committed; a change to
    them waits for the submits checking (calls.locks)."""
    from calls.locks import settings_key_sql
    from calls.models import Call
    from proposals.models import Proposal

    q = connection.ops.quote_name  # only names from the models go into the SQL; the id is a parameter
    call, proposal = Call._meta, Proposal._meta
    key = settings_key_sql("c." + q(call.get_field("programme").column))
    return (
        f"SELECT pg_advisory_xact_lock_shared({key}) FROM {q(call.db_table)} c"  # noqa: S608
        f" JOIN {q(proposal.db_table)} p ON p.{q(proposal.get_field('call').column)} = c.{q(call.pk.column)}"
        f" WHERE p.{q(proposal.pk.column)} = %s"
    )


def limit_locks_sql(connection) -> str:
    """PostgreSQL: lock, until the transaction ends, the application-limit key of each person on the
    proposal's team in its programme (one parameter: the proposal's id).

    The limits rule reads the other proposals of the programme that share a person with this one.
    Two submits can only both pass a limit if their teams share a person, so it is those that must
    take turns; submits of proposals with no one in common run side by side (the deadline surge
    submits hundreds of those at once). A collision of keys (calls.locks) only makes two submits
    take turns that need not. The keys are taken in ascending order, so two submits never wait for
    each other in a circle."""
    from calls.locks import limit_key_sql
    from calls.models import Call
    from proposals.models import Proposal, TeamMember

    q = connection.ops.quote_name  # only names from the models go into the SQL; the id is a parameter
    member, proposal, call = TeamMember._meta, Proposal._meta, Call._meta
    person, of_proposal = q(member.get_field("person").column), q(member.get_field("proposal").column)
    key = limit_key_sql("c." + q(call.get_field("programme").column), f"m.{person}")
    return (
        f"SELECT pg_advisory_xact_lock(k) FROM unnest(ARRAY("  # noqa: S608
        f"SELECT DISTINCT {key} FROM {q(member.db_table)} m"
        f" JOIN {q(proposal.db_table)} p ON p.{q(proposal.pk.column)} = m.{of_proposal}"
        f" JOIN {q(call.db_table)} c ON c.{q(call.pk.column)} = p.{q(proposal.get_field('call').column)}"
        f" WHERE m.{of_proposal} = %s ORDER BY 1)) AS k"
    )


def check_limits(proposal, call, programme):
    """限项 across the programme year. At submit this runs under the limit locks of the team's
    people (limit_locks_sql) and the proposal's own lock, so its team as stored is the team loaded."""
    people = {m.person_id: m for m in proposal.team.all()}
    if not people:
        return []
    as_pi, anywhere = {}, {}
    for person_id, role, code, title in TEAM_ELSEWHERE.rows(proposal.pk, programme.pk):
        if person_id not in people:  # the team changed since it was loaded (a page, not a submit)
            continue
        anywhere.setdefault(person_id, []).append(f"{code}《{title}》")
        if role == TeamRole.PI:
            as_pi.setdefault(person_id, []).append(f"{code}《{title}》")
    problems = []
    for person_id, member in people.items():
        name = member.person.name
        if member.role == TeamRole.PI and len(as_pi.get(person_id, [])) + 1 > programme.pi_active_limit:
            problems.append(
                (
                    "pi_limit",
                    {
                        "person": name,
                        "count": len(as_pi[person_id]),
                        "limit": programme.pi_active_limit,
                        "others": "、".join(as_pi[person_id]),
                    },
                )
            )
        if len(anywhere.get(person_id, [])) + 1 > programme.person_proposal_limit:
            problems.append(
                (
                    "person_limit",
                    {
                        "person": name,
                        "count": len(anywhere[person_id]),
                        "limit": programme.person_proposal_limit,
                        "others": "、".join(anywhere[person_id]),
                    },
                )
            )
    return problems


RULES = [
    ("complete", check_complete),
    ("deadline", check_deadline),
    ("fiscal_cap", check_fiscal_cap),
    ("matching", check_matching),
    ("members_max", check_members_max),
    ("members_confirmed", check_members_confirmed),
    ("in_region_share", check_in_region_share),
    ("in_region_institute", check_in_region_institute),
    ("lead_type", check_lead_type),
    ("lead_in_region", check_lead_in_region),
    ("targets", check_targets),
    ("credit", check_credit),
    ("not_issuer", check_not_issuer),
    ("limits", check_limits),
]


def load_for_check(proposal_id):
    """The proposal with everything the checks read (proposals.content.load)."""
    from proposals import content
    from proposals.models import Proposal

    proposal = content.load(proposal_id)
    if proposal is None:
        raise Proposal.DoesNotExist(f"No proposal {proposal_id}.")
    return proposal


def evaluate(proposal, *, skip=()) -> list[RuleResult]:
    """The results of the rules (in RULES order), without those in ``skip``."""
    call = proposal.call
    programme = call.programme
    return [RuleResult(code, check(proposal, call, programme)) for code, check in RULES if code not in skip]


def people_over_limits(programme) -> dict[int, list[int]]:
    """{proposal id: [person ids]} for active proposals whose people break a limit now."""
    from proposals.models import TeamMember

    active = TeamMember.objects.filter(proposal__call__programme_id=programme.pk, proposal__status__in=ACTIVE_STATUSES)
    over_pi = set(
        active.filter(role=TeamRole.PI)
        .values("person_id")
        .annotate(n=Count("proposal_id", distinct=True))
        .filter(n__gt=programme.pi_active_limit)
        .values_list("person_id", flat=True)
    )
    over_any = set(
        active.values("person_id")
        .annotate(n=Count("proposal_id", distinct=True))
        .filter(n__gt=programme.person_proposal_limit)
        .values_list("person_id", flat=True)
    )
    result: dict[int, list[int]] = {}
    for proposal_id, person_id, role in active.values_list("proposal_id", "person_id", "role"):
        if person_id in over_any or (role == TeamRole.PI and person_id in over_pi):
            result.setdefault(proposal_id, []).append(person_id)
    return result
