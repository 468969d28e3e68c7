"""回避: which experts must not see which proposals, and why.

Hits are computed from indexes (organisation → experts employed there, ID
number → expert, …) so the cost follows the number of hits, not experts ×
proposals. ``sync`` stores them as Conflict rows: computed rows are refreshed,
declared rows and administrators' decisions are never overwritten.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from experts.choices import DECLARED_REASONS, ConflictReason, ConflictStatus
from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert, UnsuitableExpert

R = ConflictReason
# Proposals per pass of sync: every lookup of a pass binds its keys as parameters (ID numbers,
# names, credit codes, ids), and PostgreSQL takes at most 65,535 per query; a pass over 1,000
# proposals stays far below that whatever their teams' sizes.
SYNC_CHUNK = 1000


@dataclass(frozen=True)
class Hit:
    expert_id: int
    proposal_id: int
    reason: str
    detail: str
    possible: bool = False  # name-only: an administrator decides


def compute_hits(proposals, experts=None) -> list[Hit]:
    """Hits for the given proposals (with units, team and call loaded) against the pool
    (all experts, or the given queryset)."""
    from proposals.models import ProposalUnit, TeamMember

    proposal_ids = [p.pk for p in proposals]
    units = defaultdict(list)
    for proposal_id, org_id, code, name in ProposalUnit.objects.filter(proposal_id__in=proposal_ids).values_list(
        "proposal_id", "organization_id", "organization__credit_code", "organization__name"
    ):
        units[proposal_id].append((org_id, code, name))
    team = defaultdict(list)
    for proposal_id, id_number, name in TeamMember.objects.filter(proposal_id__in=proposal_ids).values_list(
        "proposal_id", "person__id_number", "person__name"
    ):
        team[proposal_id].append((id_number, name))
    # Look the pool up by these proposals' own keys: the cost follows the proposals, not the pool size.
    issuers = {p.pk: {p.call.issuer_id, *(o.pk for o in p.call.co_issuers.all())} for p in proposals}
    org_ids = {org for rows in units.values() for org, _code, _name in rows}.union(*issuers.values())
    codes = {code for rows in units.values() for _org, code, _name in rows}
    id_numbers = {i for rows in team.values() for i, _name in rows}
    names = {n for rows in team.values() for _i, n in rows}

    def in_pool(queryset, field="expert"):
        return queryset if experts is None else queryset.filter(**{f"{field}__in": experts})

    employed_at = defaultdict(set)  # organisation id → expert ids (now or within 3 years)
    for expert_id, org_id in in_pool(Employment.objects.relevant().filter(organization_id__in=org_ids)).values_list(
        "expert_id", "organization_id"
    ):
        employed_at[org_id].add(expert_id)
    by_id_number = dict(
        in_pool(Expert.objects.filter(id_number__in=id_numbers), field="pk").values_list("id_number", "pk")
    )
    avoiding_unit = defaultdict(set)
    for expert_id, code in in_pool(AvoidUnit.objects.filter(credit_code__in=codes)).values_list(
        "expert_id", "credit_code"
    ):
        avoiding_unit[code].add(expert_id)
    avoiding_id, avoiding_name = defaultdict(set), defaultdict(set)
    people = AvoidPerson.objects.filter(Q(id_number__in=id_numbers) | Q(id_number="", name__in=names))
    for expert_id, name, id_number in in_pool(people).values_list("expert_id", "name", "id_number"):
        (avoiding_id[id_number] if id_number else avoiding_name[name]).add(expert_id)
    unsuitable = defaultdict(set)
    for proposal_id, expert_id in in_pool(UnsuitableExpert.objects.filter(proposal_id__in=proposal_ids)).values_list(
        "proposal_id", "expert_id"
    ):
        unsuitable[proposal_id].add(expert_id)

    hits = []
    for proposal in proposals:
        pid = proposal.pk
        call = proposal.call
        for org_id, code, name in units[pid]:
            hits += [Hit(e, pid, R.EMPLOYER_UNIT, name) for e in employed_at.get(org_id, ())]
            hits += [Hit(e, pid, R.AVOID_UNIT, name) for e in avoiding_unit.get(code, ())]
        for org_id in issuers[pid]:
            hits += [Hit(e, pid, R.EMPLOYER_ISSUER, call.code) for e in employed_at.get(org_id, ())]
        for id_number, name in team[pid]:
            if id_number in by_id_number:
                hits.append(Hit(by_id_number[id_number], pid, R.ON_TEAM, name))
            hits += [Hit(e, pid, R.AVOID_PERSON, name) for e in avoiding_id.get(id_number, ())]
            hits += [Hit(e, pid, R.NAME_MATCH, name, possible=True) for e in avoiding_name.get(name, ())]
        hits += [Hit(e, pid, R.UNSUITABLE, "") for e in unsuitable.get(pid, ())]
    # One row per (expert, proposal, reason): keep the first detail.
    unique = {}
    for hit in hits:
        unique.setdefault((hit.expert_id, hit.proposal_id, hit.reason), hit)
    return list(unique.values())


def sync(proposals, experts=None) -> dict:
    """Store the current hits for these proposals (× the pool). Returns counts.

    Runs in passes of SYNC_CHUNK proposals, each in its own transaction: a pass is complete on
    its own (a proposal's hits and stored rows are all in the same pass), and a sync is idempotent,
    so an interrupted one is finished by the next."""
    proposals = list(proposals)
    report = {"hits": 0, "created": 0, "removed": 0}
    for start in range(0, len(proposals), SYNC_CHUNK):
        for key, value in _sync_pass(proposals[start : start + SYNC_CHUNK], experts).items():
            report[key] += value
    return report


def _sync_pass(proposals, experts) -> dict:
    hits = compute_hits(proposals, experts)
    wanted = {(h.expert_id, h.proposal_id, h.reason): h for h in hits}
    existing = Conflict.objects.filter(proposal_id__in=[p.pk for p in proposals])
    if experts is not None:
        existing = existing.filter(expert__in=experts)
    created = removed = 0
    with transaction.atomic():
        have = {}
        stale = []
        for conflict in existing.exclude(reason__in=DECLARED_REASONS).only(
            "pk", "expert_id", "proposal_id", "reason", "decided_at"
        ):
            key = (conflict.expert_id, conflict.proposal_id, conflict.reason)
            have[key] = conflict
            # Decisions stick: a decided row stays even if its basis went away.
            if key not in wanted and conflict.decided_at is None:
                stale.append(conflict.pk)
        if stale:
            removed = Conflict.objects.filter(pk__in=stale).delete()[0]
        new = [
            Conflict(
                expert_id=h.expert_id,
                proposal_id=h.proposal_id,
                reason=h.reason,
                detail=h.detail[:300],
                status=ConflictStatus.POTENTIAL if h.possible else ConflictStatus.CONFIRMED,
            )
            for key, h in wanted.items()
            if key not in have
        ]
        # Two syncs may overlap (a submission and a routing run): the second skips rows already there.
        Conflict.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        created = len(new)
    return {"hits": len(hits), "created": created, "removed": removed}


def blocked_pairs(proposal_ids) -> set[tuple[int, int]]:
    """(expert id, proposal id) pairs that must never be assigned."""
    return set(
        Conflict.objects.filter(proposal_id__in=proposal_ids)
        .exclude(status=ConflictStatus.DISMISSED)
        .values_list("expert_id", "proposal_id")
    )


def decide(*, actor, conflict: Conflict, confirm: bool) -> Conflict:
    """An administrator confirms or dismisses a possible (name-only) conflict; it sticks."""
    import rules
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils.translation import gettext as _

    from audit.services import record

    if not rules.has_perm("reviews.manage_draw", actor):
        raise PermissionDenied
    with transaction.atomic():
        conflict = Conflict.objects.select_for_update().get(pk=conflict.pk)
        if conflict.reason != ConflictReason.NAME_MATCH or conflict.declared:
            # Hard rules (employer, team, avoid-lists, declarations) are not up for decision.
            raise ValidationError(_("Only a possible (name-only) conflict can be confirmed or dismissed."))
        if conflict.status != ConflictStatus.POTENTIAL:
            # Decisions stick: the first one is final (a second request finds it decided).
            raise ValidationError(_("This possible conflict has already been decided."))
        before = conflict.status
        conflict.status = ConflictStatus.CONFIRMED if confirm else ConflictStatus.DISMISSED
        conflict.decided_by, conflict.decided_at = actor, timezone.now()
        conflict.save(update_fields=["status", "decided_by", "decided_at"])
        record(
            actor=actor,
            action="conflict.decide",
            obj=conflict,
            before={"status": before},
            after={"status": conflict.status},
        )
    return conflict


def declare(*, actor, expert: Expert, proposal, reason: str, detail: str = "") -> Conflict:
    """The expert declares a conflict (at invitation or while scoring). Always blocks."""
    from audit.services import record

    if reason not in DECLARED_REASONS:
        raise ValueError(reason)
    with transaction.atomic():
        conflict, _created = Conflict.objects.update_or_create(
            expert=expert,
            proposal=proposal,
            reason=reason,
            defaults={"detail": detail[:300], "status": ConflictStatus.CONFIRMED, "declared": True},
        )
        record(actor=actor, action="conflict.declare", obj=conflict, after={"reason": reason, "detail": detail})
    return conflict
