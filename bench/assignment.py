"""Benchmark: assignment-mode routing (reviews.assignment) at 5,000 proposals × 1,000 experts.

Run on demand against a PostgreSQL database of its own (created if missing):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiebang_bench .venv/bin/python bench/assignment.py

Seeding (in a child process, so the peak RSS below is the routing's own):
one call with 5,000 passed proposals (the first 300 led by the experts'
employers, so conflict sync computes real employer hits), 1,000 active experts
of the call's field with cap 40 (40,000 ≥ 25,000 reviews needed), 300
employers (plus some former employments), ~5 % random conflicts stored as
Conflict rows — declared reasons, which sync keeps — of which one in ten is a
dismissed name-only match that does not block. k = 5.

Measured in this process:
  floor  — reading the call's conflict pairs from the database (one raw query,
           best of three after a warm-up);
  solver — reviews.assignment.solve on the loaded problem (the pure part);
  total  — assign_call end to end: pool, caps, employers, conflict sync,
           blocked_pairs, current assignments, solve;
  store  — routing.route_assignment (writes 25,000 Assignment rows, one audit
           entry) and its idempotent rerun, reported but not part of "total".
Every invariant is checked on the solution and on the stored rows (exit 1 on a
failure); the absolute goals are solver ≤ 5 s, total ≤ 60 s, peak RSS < 2 GB
(exit 2 if missed). Ratios to the floor are printed for comparing machines.
The last line is: assignment solver_s=<float> total_s=<float> peak_rss_mb=<int>
"""

import random
import sys
import time
from collections import Counter

from _common import bootstrap, credit_code, ensure_database, run_child, setup_django
from _common import peak_rss_mb as rss_so_far

bootstrap("jiebang_bench")

N_PROPOSALS = 5_000
N_EXPERTS = 1_000
N_EMPLOYERS = 300
K = 5
CAP = 40
CONFLICT_RATE = 0.05
SEED = 20250701

GOAL_SOLVER_S = 5.0
GOAL_TOTAL_S = 60.0
GOAL_RSS_MB = 2048


# --- seeding ------------------------------------------------------------------------------------
def id_number(n: int) -> str:
    """A valid resident ID number, distinct for each n ≥ 0."""
    from datetime import date, timedelta

    from proposals.validators import id_check_character

    born = date(1965, 1, 1) + timedelta(days=n // 1000)
    first17 = f"150102{born:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


def seed():
    from datetime import date, timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Organization, User
    from audit.models import AuditEntry, AuditHead
    from calls.choices import TechField
    from calls.models import Call, Programme
    from experts.choices import ConflictReason, ConflictStatus
    from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert, UnsuitableExpert
    from proposals.models import Proposal, ProposalUnit, TeamMember
    from reviews.models import Assignment, Draw, Invitation

    call_command("migrate", verbosity=0)
    models = [Assignment, Invitation, Draw, Conflict, UnsuitableExpert, AvoidPerson, AvoidUnit, Employment, Expert]
    models += [TeamMember, ProposalUnit, Proposal, Call, Programme, AuditEntry, AuditHead, User, Organization]
    tables = [m._meta.db_table for m in models]
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables, allow_cascade=True))

    rng = random.Random(SEED)
    fields = [f.value for f in TechField]
    employer_of = [rng.randrange(N_EMPLOYERS) for _ in range(N_EXPERTS)]  # current employer per expert
    with transaction.atomic():
        orgs = Organization.objects.bulk_create(
            [
                Organization(
                    name=f"单位{n:05d}", credit_code=credit_code(n + 1), org_type="enterprise", region="hohhot"
                )
                for n in range(N_EMPLOYERS + N_PROPOSALS + 1)
            ],
            batch_size=2000,
        )
        employers, leads, issuer = orgs[:N_EMPLOYERS], orgs[N_EMPLOYERS:-1], orgs[-1]
        leads = employers + leads[: N_PROPOSALS - N_EMPLOYERS]  # the first 300 proposals: led by employers
        admin = User.objects.create(username="bench-admin", password="!", is_administrator=True, is_staff=True)
        users = User.objects.bulk_create(
            [
                User(username=f"bench-expert-{n}", password="!", is_expert=True, organization=employers[employer_of[n]])
                for n in range(N_EXPERTS)
            ],
            batch_size=2000,
        )
        experts = Expert.objects.bulk_create(
            [
                Expert(
                    user=u,
                    name=f"专家{n:04d}",
                    id_number=id_number(n),
                    expert_type="technical",
                    fields=sorted({TechField.ENERGY_STORAGE.value, *rng.sample(fields, rng.randint(0, 2))}),
                    yearly_cap=CAP,
                )
                for n, u in enumerate(users)
            ],
            batch_size=2000,
        )
        today = date.today()
        employments = []
        for n, e in enumerate(experts):
            employments.append(Employment(expert=e, organization=employers[employer_of[n]]))
            if n % 10 == 0:  # a former employer within 3 years
                employments.append(
                    Employment(
                        expert=e,
                        organization=employers[rng.randrange(N_EMPLOYERS)],
                        started_on=today - timedelta(days=3000),
                        ended_on=today - timedelta(days=400),
                    )
                )
        Employment.objects.bulk_create(employments, batch_size=5000)
        programme = Programme.objects.create(name="基准测试专项", year=today.year)
        call = Call.objects.create(
            code="JB-BENCH-001",
            title="基准榜单",
            programme=programme,
            issuer=issuer,
            field=TechField.ENERGY_STORAGE,
            background="背景",
            research_tasks="任务",
            period_months=36,
            fiscal_cap=Decimal("500.00"),
            deadline=timezone.now() - timedelta(days=10),
            created_by=admin,
            status="under_review",
        )
        proposals = Proposal.objects.bulk_create(
            [
                Proposal(call=call, lead_organization=org, title=f"方案{n:05d}", created_by=admin, status="passed")
                for n, org in enumerate(leads)
            ],
            batch_size=2000,
        )
        ProposalUnit.objects.bulk_create(
            [ProposalUnit(proposal=p, organization_id=p.lead_organization_id, role="lead") for p in proposals],
            batch_size=5000,
        )
    # ~5 % conflicts, exactly 250 proposals per expert, inserted in chunks (bounded memory).
    per_expert = round(N_PROPOSALS * CONFLICT_RATE)
    declared = [
        ConflictReason.COAUTHOR,
        ConflictReason.COPROJECT,
        ConflictReason.TEACHER_STUDENT,
        ConflictReason.RELATIVE,
        ConflictReason.OTHER,
    ]
    proposal_ids = [p.pk for p in proposals]
    decided_at = timezone.now()
    batch = []
    for e in experts:
        for pid in rng.sample(proposal_ids, per_expert):
            if rng.random() < 0.1:  # a name-only match an administrator dismissed: does not block
                row = Conflict(
                    expert_id=e.pk,
                    proposal_id=pid,
                    reason=ConflictReason.NAME_MATCH,
                    status=ConflictStatus.DISMISSED,
                    decided_by=admin,
                    decided_at=decided_at,
                )
            else:
                row = Conflict(
                    expert_id=e.pk,
                    proposal_id=pid,
                    reason=rng.choice(declared),
                    status=ConflictStatus.CONFIRMED,
                    declared=True,
                )
            batch.append(row)
        if len(batch) >= 20_000:
            Conflict.objects.bulk_create(batch, batch_size=5000)
            batch = []
    Conflict.objects.bulk_create(batch, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return call.pk


# --- measuring ----------------------------------------------------------------------------------
def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def check_invariants(solution, proposals, k, caps, blocked, employer) -> list[str]:
    problems = []
    if set(solution) != set(proposals):
        problems.append(f"solution covers {len(solution)} proposals, expected {len(proposals)}")
    load = Counter()
    for pid, experts in solution.items():
        if len(experts) != k or len(set(experts)) != k:
            problems.append(f"proposal {pid}: {experts} is not {k} distinct reviewers")
        for e in experts:
            load[e] += 1
            if (e, pid) in blocked:
                problems.append(f"blocked pair assigned: expert {e}, proposal {pid}")
        orgs = [employer[e] for e in experts if e in employer]
        if len(orgs) != len(set(orgs)):
            problems.append(f"proposal {pid}: two reviewers from one employer ({experts})")
    for e, n in load.items():
        if n > caps.get(e, 0):
            problems.append(f"expert {e}: {n} reviews over its cap {caps.get(e, 0)}")
    return problems[:20]


def measure(call_id: int) -> int:
    from django.db import connection

    from audit.models import AuditEntry
    from calls.models import Call
    from experts import avoidance
    from experts.models import Employment, Expert
    from reviews import assignment
    from reviews.models import Assignment
    from reviews.routing import reviewable_proposals, route_assignment

    call = Call.objects.get(pk=call_id)
    admin = call.created_by

    # Floor: just read the call's conflict pairs.
    def read_pairs():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.expert_id, c.proposal_id FROM experts_conflict c "
                "JOIN proposals_proposal p ON p.id = c.proposal_id WHERE p.call_id = %s",
                [call_id],
            )
            return cursor.fetchall()

    read_pairs()  # warm the cache once, then the best of three
    floor_s = min(timed(read_pairs)[1] for _ in range(3))

    plan, total_s = timed(assignment.plan_call, call, K)
    problem, solution = plan.problem, plan.solution
    _reload, load_s = timed(assignment.load_problem, call, K)
    del _reload
    solution2, solver_s = timed(problem.solve)
    if solution2 != solution:
        print("note: solve() on the reloaded problem differs from the first run")

    # Parts of load_problem, for the breakdown.
    proposals = list(reviewable_proposals(call))
    _sync, sync_s = timed(avoidance.sync, proposals, experts=Expert.objects.filter(pk__in=problem.experts))
    # Independent data for the checks: what the database says now.
    blocked, blocked_s = timed(avoidance.blocked_pairs, problem.proposals)
    employer = dict(
        Employment.objects.filter(expert_id__in=problem.experts, ended_on__isnull=True).values_list(
            "expert_id", "organization_id"
        )
    )
    problems = check_invariants(solution, problem.proposals, K, problem.caps, blocked, employer)

    report, store_s = timed(route_assignment, actor=admin, call=call, k=K)
    rerun, rerun_s = timed(route_assignment, actor=admin, call=call, k=K)
    stored = {}
    for e, pid in Assignment.objects.filter(proposal__call=call, active=True).values_list("expert_id", "proposal_id"):
        stored.setdefault(pid, []).append(e)
    stored = {pid: sorted(es) for pid, es in stored.items()}
    problems += check_invariants(stored, problem.proposals, K, problem.caps, blocked, employer)
    if (rerun.created, rerun.ended) != (0, 0):
        problems.append(f"rerun changed assignments: created {rerun.created}, ended {rerun.ended}")
    if AuditEntry.objects.filter(action="routing.assignment", object_id=str(call_id)).count() != 2:
        problems.append("expected one audit entry per routing run")

    peak_rss_mb = rss_so_far()
    loads = Counter(e for es in solution.values() for e in es)
    print(
        f"instance: {len(problem.proposals)} proposals × {len(problem.experts)} experts ({problem.pool} pool), "
        f"k={K}, blocked pairs {len(problem.blocked)}, employers {len(set(problem.employer.values()))}"
    )
    print(f"load per expert: min {min(loads.values())} max {max(loads.values())} over {len(loads)} experts (cap {CAP})")
    print(f"floor (read conflict pairs): {floor_s:.3f} s")
    print(f"load_problem (pool, caps, sync, blocked, employers): {load_s:.2f} s")
    print(f"  of which: sync {sync_s:.2f} s, blocked_pairs {blocked_s:.2f} s = {blocked_s / floor_s:.1f} × floor")
    print(f"solver: {solver_s:.2f} s  = {solver_s / floor_s:.1f} × floor  (goal ≤ {GOAL_SOLVER_S} s)")
    print(f"end to end (assign_call): {total_s:.2f} s  = {total_s / floor_s:.1f} × floor  (goal ≤ {GOAL_TOTAL_S} s)")
    print(f"route_assignment: store {store_s:.2f} s ({report.created} rows), idempotent rerun {rerun_s:.2f} s")
    print(f"peak RSS: {peak_rss_mb} MB (goal < {GOAL_RSS_MB} MB)")
    status = 0
    if problems:
        print("INVARIANT FAILURES:", *problems, sep="\n  ")
        status = 1
    else:
        print(
            "invariants: ok (k distinct reviewers, no blocked pair, caps, one reviewer per employer; stored rows too)"
        )
        missed = [
            name
            for name, bad in [
                ("solver", solver_s > GOAL_SOLVER_S),
                ("total", total_s > GOAL_TOTAL_S),
                ("memory", peak_rss_mb >= GOAL_RSS_MB),
            ]
            if bad
        ]
        if missed:
            print("GOALS MISSED:", ", ".join(missed))
            status = 2
    print(f"assignment solver_s={solver_s:.3f} total_s={total_s:.3f} peak_rss_mb={peak_rss_mb}")
    return status


def main():
    if "--seed" in sys.argv:
        setup_django()
        print(seed())
        return 0
    ensure_database("bench/assignment.py")
    start = time.perf_counter()
    child = run_child([sys.executable, __file__, "--seed"])
    if child.returncode:
        return 1
    call_id = int(child.stdout.strip().splitlines()[-1])
    print(f"seeded in {time.perf_counter() - start:.1f} s (child process)")
    setup_django()
    return measure(call_id)


if __name__ == "__main__":
    sys.exit(main())
