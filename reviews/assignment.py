"""Assignment mode: each proposal of a large call gets k reviewers by min-cost flow.

The network (OR-Tools ``SimpleMinCostFlow``, solved as max flow at minimum cost)::

    source ──tiers──▶ expert ──1──▶ (employer, proposal) ──1──▶ proposal ──k──▶ sink

* source → expert: one arc of capacity 1 per unit of the expert's cap, the
  j-th costing ``BALANCE_STEP × (existing load + j)``. The marginal cost rises
  with the load (a convex cost), so the cheapest flow spreads the work: with
  equal caps and nothing else in the way, loads differ by at most one.
* expert → (employer, proposal): capacity 1, so an expert reviews a proposal
  at most once. The arc costs ``FIELD_MISS`` when the expert's fields do not
  match (field matches are preferred) and ``CHANGE`` when the pair is not one
  of the ``current`` assignments (a rerun keeps what it can).
* (employer, proposal) → proposal: capacity 1, so one employer supplies at
  most one reviewer per proposal. The node is only created when two or more
  candidates of one employer meet on a proposal; a lone candidate goes
  straight to the proposal (same meaning, fewer nodes).
* proposal → sink: capacity k.

Blocked (conflicted) pairs never get an arc. Experts without a known employer
count as their own employer.

Sparse candidates. Up to ``DENSE_LIMIT`` proposal × expert pairs every
eligible pair is an arc, and the max flow at minimum cost is either the answer
or the proof that there is none. Above it the full network would have millions
of arcs (5,000 × 1,000 = 5 M), so each proposal gets a random sample of
candidates instead — ``4k + 8`` from the preferred (field-matching) experts
and ``2k`` from everyone, plus its current reviewers — seeded, so a rerun on
the same data gives the same result. That is a few dozen arcs per proposal,
and because every expert appears in about P × (6k + 8) / E samples the convex
costs still balance the load. Then:

1. a proposal left short of k is widened to every eligible expert and the
   flow is solved again (skipped when the caps cannot cover P × k at all, or
   when so many proposals are short that widening would build the full network);
2. if some proposal is still short, a plain max flow (``SimpleMaxFlow``, no
   costs, far cheaper than min-cost on the full network) runs over every
   eligible pair: if it cannot carry P × k, ``AssignmentError`` reports its
   exact per-proposal counts; otherwise the pairs it used are added to the
   candidates, which now contain a full flow, and the min-cost flow is solved
   a last time.

So the sparse path never reports a shortfall that the full network would not
have: "k met or a clear error".

``solve`` is pure (no database). ``assign_call`` loads a call's data and solves
it; ``reviews.routing.route_assignment`` stores the result.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

# Cost weights (integers). BALANCE_STEP is the extra cost of each further review
# an expert takes. An expert in the field may carry up to FIELD_MISS / BALANCE_STEP
# (+1) more reviews than one outside it before the outsider is used (here 3).
# Moving an existing assignment costs CHANGE, so a rerun moves a pair only when
# that evens out a load gap of more than 1 + CHANGE / BALANCE_STEP (here 3 or more):
# reviewers keep what they may have started unless the imbalance is real.
BALANCE_STEP = 10
FIELD_MISS = 25
CHANGE = 15

DENSE_LIMIT = 200_000  # proposal × expert pairs up to which every eligible pair is an arc


class AssignmentError(Exception):
    """Some proposals cannot get k reviewers.

    short: proposal id → how many reviewers it gets in a maximum flow (when several
        proposals compete for the same few experts, that split is one of several);
    eligible: proposal id → (eligible experts, distinct employers among them);
    capacity / needed: the experts' total remaining cap and proposals × k.
    """

    def __init__(self, *, k: int, short: dict[int, int], eligible: dict[int, tuple[int, int]], capacity, needed):
        self.k, self.short, self.eligible = k, dict(short), dict(eligible)
        self.capacity, self.needed = int(capacity), int(needed)
        parts = []
        for pid, got in sorted(self.short.items())[:20]:
            n_exp, n_emp = self.eligible.get(pid, (None, None))
            extra = f" ({n_exp} eligible experts from {n_emp} employers)" if n_exp is not None else ""
            parts.append(f"proposal {pid}: {got} of {k}{extra}")
        head = f"Cannot give every proposal {k} reviewers"
        if self.capacity < self.needed:
            head += f" (the experts' remaining caps total {self.capacity}, {self.needed} reviews are needed)"
        if len(self.short) > 20:
            parts.append(f"… and {len(self.short) - 20} more proposals")
        super().__init__(f"{head}: " + "; ".join(parts))


# --- the pure solver -------------------------------------------------------------------------------
def solve(
    proposals: Iterable[int],
    experts: Iterable[int],
    k: int,
    caps: dict[int, int],
    blocked: set[tuple[int, int]],
    employer: dict[int, int],
    field_match: Callable[[int, int], bool] | set | frozenset | None = None,
    existing_load: dict[int, int] | None = None,
    *,
    current: set[tuple[int, int]] | None = None,
    seed: int = 0,
    dense_limit: int = DENSE_LIMIT,
) -> dict[int, list[int]]:
    """Each proposal → k distinct expert ids (sorted), or AssignmentError.

    caps: expert → how many more reviews it may take now (missing or ≤ 0: none).
    blocked: (expert, proposal) pairs never assigned.
    employer: expert → current employer's organisation id (missing: its own employer).
    field_match: preferred pairs — a callable (expert, proposal) → bool, a set of
        (expert, proposal) pairs, or a set of expert ids preferred for every proposal.
        Above ``dense_limit`` a callable is asked only about sampled candidates;
        the sets are used to sample preferred candidates first.
    existing_load: expert → reviews already carried (shifts the balance cost, not the cap).
    current: (expert, proposal) pairs assigned now, kept when nothing better is gained.
    """
    if k < 0:
        raise ValueError("k must be at least 0")
    pids = np.array(sorted(set(proposals)), dtype=np.int64)
    n_p = len(pids)
    if n_p == 0 or k == 0:
        return {int(p): [] for p in pids}

    ecap_of = {e: min(int(caps.get(e) or 0), n_p) for e in set(experts)}
    eids = np.array(sorted(e for e, c in ecap_of.items() if c > 0), dtype=np.int64)
    n_e = len(eids)
    ecap = np.array([ecap_of[int(e)] for e in eids], dtype=np.int64)
    load = existing_load or {}
    load0 = np.array([max(0, int(load.get(int(e), 0))) for e in eids], dtype=np.int64)
    emp_code = _employer_codes(eids, employer)
    needed = n_p * k
    capacity = int(ecap.sum())

    blocked_keys = _pair_keys(blocked, eids, pids)
    current_keys = _pair_keys(current or (), eids, pids)
    pref = _Preference(field_match, eids, pids)

    def eligible(e_idx, p_idx):
        keep = ~np.isin(e_idx * n_p + p_idx, blocked_keys)
        return e_idx[keep], p_idx[keep]

    def min_cost(e_idx, p_idx):
        preferred = pref.of(e_idx, p_idx)
        unchanged = np.isin(e_idx * n_p + p_idx, current_keys)
        costs = (FIELD_MISS * (~preferred) + CHANGE * (~unchanged)).astype(np.int64)
        chosen = _min_cost_flow(e_idx, p_idx, costs, ecap, load0, emp_code, n_e, n_p, k)
        return chosen, np.bincount(p_idx[chosen], minlength=n_p)

    def answer(e_idx, p_idx, chosen):
        solution = {int(p): [] for p in pids}
        for e, p in zip(eids[e_idx[chosen]], pids[p_idx[chosen]], strict=True):
            solution[int(p)].append(int(e))
        return {p: sorted(es) for p, es in solution.items()}

    def error(got):
        short = np.flatnonzero(got < k)
        return AssignmentError(
            k=k,
            short={int(pids[i]): int(got[i]) for i in short},
            eligible={int(pids[i]): b for i, b in _counting_bounds(short, n_e, n_p, blocked_keys, emp_code).items()},
            capacity=capacity,
            needed=needed,
        )

    if n_p * n_e <= dense_limit:
        # Every eligible pair is an arc: the max flow at minimum cost is the answer or the proof.
        e_idx, p_idx = eligible(*_all_pairs(n_e, np.arange(n_p)))
        chosen, got = min_cost(e_idx, p_idx)
        if (got >= k).all():
            return answer(e_idx, p_idx, chosen)
        raise error(got)

    # Sparse: sampled candidates plus the current pairs, then the short proposals' every eligible expert.
    e_idx, p_idx = _sample(np.random.default_rng(seed), pref, n_e, n_p, 4 * k + 8, 2 * k)
    e_idx, p_idx = np.concatenate([e_idx, current_keys // n_p]), np.concatenate([p_idx, current_keys % n_p])
    for _attempt in range(2 if capacity >= needed else 0):  # short of capacity: straight to the proof
        keys = np.unique(e_idx * n_p + p_idx)
        e_idx, p_idx = eligible(keys // n_p, keys % n_p)
        chosen, got = min_cost(e_idx, p_idx)
        if (got >= k).all():
            return answer(e_idx, p_idx, chosen)
        short = np.flatnonzero(got < k)
        if len(short) * n_e > dense_limit:
            break  # widening that many rows would be the full network: prove or repair by max flow
        we, wp = _all_pairs(n_e, short)
        e_idx, p_idx = np.concatenate([e_idx, we]), np.concatenate([p_idx, wp])
    # Still short: a plain max flow over every eligible pair either proves the shortfall
    # (exact counts) or supplies a feasible set of pairs to add to the candidates.
    de, dp = eligible(*_all_pairs(n_e, np.arange(n_p)))
    used = _max_flow(de, dp, ecap, emp_code, n_e, n_p, k)
    got = np.bincount(dp[used], minlength=n_p)
    if (got < k).any():
        raise error(got)
    keys = np.unique(np.concatenate([e_idx * n_p + p_idx, de[used] * n_p + dp[used]]))
    del de, dp, used
    # Filtered again: the widening rows added after the last attempt were never checked.
    e_idx, p_idx = eligible(keys // n_p, keys % n_p)
    chosen, got = min_cost(e_idx, p_idx)
    if not (got >= k).all():  # cannot happen: the candidates contain a full flow
        raise RuntimeError("min-cost flow lost flow that a max flow found")
    return answer(e_idx, p_idx, chosen)


@dataclass
class _Preference:
    """Field matches, normalised for vectorised lookups and for sampling."""

    raw: object
    eids: np.ndarray
    pids: np.ndarray
    kind: str = field(init=False)  # none | callable | experts | pairs

    def __post_init__(self):
        raw, self.mask, self.keys, self.by_proposal = self.raw, None, None, None
        if raw is None:
            self.kind = "none"
        elif callable(raw):
            self.kind = "callable"
        else:
            items = list(raw)
            if items and isinstance(items[0], tuple):
                self.kind = "pairs"
                self.keys = _pair_keys(items, self.eids, self.pids)
                n_p = len(self.pids)
                order = np.argsort(self.keys % n_p, kind="stable")
                p_sorted, e_sorted = (self.keys % n_p)[order], (self.keys // n_p)[order]
                starts = np.searchsorted(p_sorted, np.arange(n_p + 1))
                self.by_proposal = [e_sorted[starts[i] : starts[i + 1]] for i in range(n_p)]
            else:
                self.kind = "experts"
                self.mask = np.isin(self.eids, np.array(items, dtype=np.int64))

    def of(self, e_idx: np.ndarray, p_idx: np.ndarray) -> np.ndarray:
        if self.kind == "none":
            return np.zeros(len(e_idx), dtype=bool)
        if self.kind == "experts":
            return self.mask[e_idx]
        if self.kind == "pairs":
            return np.isin(e_idx * len(self.pids) + p_idx, self.keys)
        fn, eids, pids = self.raw, self.eids, self.pids
        return np.fromiter(
            (bool(fn(int(e), int(p))) for e, p in zip(eids[e_idx], pids[p_idx], strict=True)),
            dtype=bool,
            count=len(e_idx),
        )


def _employer_codes(eids: np.ndarray, employer: dict[int, int]) -> np.ndarray:
    """Dense employer codes; an expert without an employer gets a code of its own."""
    codes, out = {}, np.empty(len(eids), dtype=np.int64)
    for i, e in enumerate(eids):
        org = employer.get(int(e))
        key = ("org", org) if org is not None else ("self", int(e))
        out[i] = codes.setdefault(key, len(codes))
    return out


def _pair_keys(pairs, eids: np.ndarray, pids: np.ndarray) -> np.ndarray:
    """(expert id, proposal id) pairs → sorted keys e_index × P + p_index (pairs outside dropped)."""
    pairs = pairs if isinstance(pairs, (set, frozenset, list, tuple)) else list(pairs)
    if not len(pairs) or not len(eids):
        return np.empty(0, dtype=np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(pairs), dtype=np.int64, count=2 * len(pairs)).reshape(-1, 2)
    ei = np.searchsorted(eids, flat[:, 0]).clip(max=len(eids) - 1)
    pi = np.searchsorted(pids, flat[:, 1]).clip(max=len(pids) - 1)
    ok = (eids[ei] == flat[:, 0]) & (pids[pi] == flat[:, 1])
    return np.unique(ei[ok] * len(pids) + pi[ok])


def _all_pairs(n_e: int, p_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(np.arange(n_e, dtype=np.int64), len(p_rows)), np.repeat(p_rows.astype(np.int64), n_e)


def _sample_rows(rng, pool: np.ndarray, n_rows: int, size: int) -> np.ndarray:
    """n_rows independent samples (without replacement) of `size` items of pool → (n_rows, size)."""
    if size >= len(pool):
        return np.broadcast_to(pool, (n_rows, len(pool)))
    out = np.empty((n_rows, size), dtype=np.int64)
    step = max(1, 4_000_000 // len(pool))
    for start in range(0, n_rows, step):
        stop = min(n_rows, start + step)
        keys = rng.random((stop - start, len(pool)), dtype=np.float32)
        out[start:stop] = pool[np.argpartition(keys, size - 1, axis=1)[:, :size]]
    return out


def _sample(rng, pref: _Preference, n_e: int, n_p: int, pref_size: int, any_size: int):
    everyone = np.arange(n_e, dtype=np.int64)
    parts_e, parts_p = [], []
    if pref.kind == "experts" and pref.mask.any():
        rows = _sample_rows(rng, np.flatnonzero(pref.mask), n_p, pref_size)
        parts_e.append(rows.ravel())
        parts_p.append(np.repeat(np.arange(n_p, dtype=np.int64), rows.shape[1]))
    elif pref.kind == "pairs":
        for i, pool in enumerate(pref.by_proposal):
            if len(pool):
                pick = pool if len(pool) <= pref_size else rng.choice(pool, pref_size, replace=False)
                parts_e.append(pick)
                parts_p.append(np.full(len(pick), i, dtype=np.int64))
    else:
        any_size += pref_size  # nothing to prefer up front: a larger general sample
    rows = _sample_rows(rng, everyone, n_p, any_size)
    parts_e.append(rows.ravel())
    parts_p.append(np.repeat(np.arange(n_p, dtype=np.int64), rows.shape[1]))
    return np.concatenate(parts_e), np.concatenate(parts_p)


def _counting_bounds(rows, n_e, n_p, blocked_keys, emp_code) -> dict[int, tuple[int, int]]:
    """Proposal index → (eligible experts, distinct employers among them)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return {}
    e_idx, p_idx = _all_pairs(n_e, rows)
    keep = ~np.isin(e_idx * n_p + p_idx, blocked_keys)
    e_idx, p_idx = e_idx[keep], p_idx[keep]
    n_exp = np.bincount(p_idx, minlength=n_p)
    n_codes = int(emp_code.max()) + 1 if len(emp_code) else 1
    groups = np.unique(p_idx * n_codes + emp_code[e_idx])
    n_emp = np.bincount(groups // n_codes, minlength=n_p)
    return {int(i): (int(n_exp[i]), int(n_emp[i])) for i in rows}


def _network(e_idx, p_idx, emp_code, n_e, n_p, k, source_tails, source_heads):
    """Arcs after the source: expert → (employer, proposal) or proposal, groups → proposal, proposal → sink.

    Returns tails, heads, capacities (all numpy) and the slice of the expert → … arcs.
    """
    p0 = 2 + n_e
    g0 = p0 + n_p
    n_emp = int(emp_code.max()) + 1 if len(emp_code) else 1
    gkey = p_idx * n_emp + emp_code[e_idx]
    uniq, inv, counts = np.unique(gkey, return_inverse=True, return_counts=True)
    multi = np.flatnonzero(counts >= 2)  # (employer, proposal) met by two or more candidates
    group_node = np.full(len(uniq), -1, dtype=np.int64)
    group_node[multi] = g0 + np.arange(len(multi))
    pair_head = np.where(counts[inv] >= 2, group_node[inv], p0 + p_idx)
    tails = np.concatenate([source_tails, 2 + e_idx, group_node[multi], p0 + np.arange(n_p)])
    heads = np.concatenate([source_heads, pair_head, p0 + uniq[multi] // n_emp, np.ones(n_p, dtype=np.int64)])
    caps = np.concatenate(
        [np.ones(len(source_tails) + len(e_idx) + len(multi), dtype=np.int64), np.full(n_p, k, dtype=np.int64)]
    )
    first = len(source_tails)
    return tails.astype(np.int32), heads.astype(np.int32), caps, slice(first, first + len(e_idx)), len(multi)


def _min_cost_flow(e_idx, p_idx, pair_cost, ecap, load0, emp_code, n_e, n_p, k) -> np.ndarray:
    """Max flow at minimum cost; returns a boolean mask of the chosen candidate pairs."""
    # source (0) → expert: one unit arc per possible review, increasing cost (convex).
    cap_eff = np.minimum(ecap, np.bincount(e_idx, minlength=n_e))
    t_exp = np.repeat(np.arange(n_e, dtype=np.int64), cap_eff)
    j = np.arange(len(t_exp)) - np.repeat(np.cumsum(cap_eff) - cap_eff, cap_eff)
    tier_cost = BALANCE_STEP * (load0[t_exp] + j)
    tails, heads, caps, pairs, n_groups = _network(
        e_idx, p_idx, emp_code, n_e, n_p, k, np.zeros(len(t_exp), dtype=np.int64), 2 + t_exp
    )
    costs = np.concatenate([tier_cost, pair_cost, np.zeros(n_groups + n_p, dtype=np.int64)]).astype(np.int64)
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = np.asarray(smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs))
    smcf.set_nodes_supplies(np.array([0, 1], dtype=np.int32), np.array([n_p * k, -n_p * k], dtype=np.int64))
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return np.asarray(smcf.flows(arcs[pairs])) > 0


def _max_flow(e_idx, p_idx, ecap, emp_code, n_e, n_p, k) -> np.ndarray:
    """A plain maximum flow (no costs) over the given pairs; boolean mask of the pairs used."""
    tails, heads, caps, pairs, _n_groups = _network(
        e_idx, p_idx, emp_code, n_e, n_p, k, np.zeros(n_e, dtype=np.int64), 2 + np.arange(n_e)
    )
    caps[:n_e] = ecap
    smf = max_flow.SimpleMaxFlow()
    arcs = np.asarray(smf.add_arcs_with_capacity(tails, heads, caps))
    status = smf.solve(0, 1)
    if status != smf.OPTIMAL:
        raise RuntimeError(f"max flow failed with status {status}")
    return np.asarray(smf.flows(arcs[pairs])) > 0


# --- loading a call ------------------------------------------------------------------------------
@dataclass
class Problem:
    """A call's assignment problem as loaded from the database (ids only)."""

    k: int
    proposals: list[int]
    experts: list[int]
    caps: dict[int, int]
    blocked: set[tuple[int, int]]
    employer: dict[int, int]
    preferred: set[int]  # experts whose fields include the call's field
    existing_load: dict[int, int]
    current: set[tuple[int, int]]
    pool: str  # "field": the call's field only; "all": every active expert

    def solve(self, **options) -> dict[int, list[int]]:
        return solve(
            self.proposals,
            self.experts,
            self.k,
            self.caps,
            self.blocked,
            self.employer,
            self.preferred,
            self.existing_load,
            current=self.current,
            **options,
        )


@dataclass
class Plan:
    problem: Problem
    solution: dict[int, list[int]]


def load_problem(call, k: int, *, whole_pool: bool = False) -> Problem:
    """Reviewable proposals, the pool and its caps, employers, blocked and current pairs.

    Pool: active experts of the call's field with room under their yearly cap;
    every such active expert when the field has fewer than k of them or too
    little capacity (or with whole_pool). Caps: yearly cap − invitations
    accepted this year (the counting reviews.draw uses); that count is also the
    existing load for balancing. Conflicts are synced for the pool first.
    """
    from django.db.models import Count
    from django.utils import timezone

    from experts import avoidance
    from experts.models import Employment, Expert
    from reviews.models import Assignment, Invitation, InvitationStatus
    from reviews.routing import reviewable_proposals

    proposals = list(reviewable_proposals(call))
    proposal_ids = [p.pk for p in proposals]
    year = timezone.localdate().year
    used = dict(
        Invitation.objects.filter(status=InvitationStatus.ACCEPTED, responded_at__year=year)
        .values("expert_id")
        .annotate(n=Count("pk"))
        .values_list("expert_id", "n")
    )
    caps, in_field = {}, set()
    for pk, fields, yearly_cap in Expert.objects.filter(active=True).values_list("pk", "fields", "yearly_cap"):
        room = yearly_cap - used.get(pk, 0)
        if room > 0:
            caps[pk] = room
            if call.field in (fields or []):
                in_field.add(pk)
    needed = len(proposal_ids) * k
    if whole_pool or len(in_field) < k or sum(caps[e] for e in in_field) < needed:
        pool, mode = sorted(caps), "all"
    else:
        pool, mode = sorted(in_field), "field"
    if proposals:
        avoidance.sync(proposals, experts=Expert.objects.filter(pk__in=pool))
    blocked = avoidance.blocked_pairs(proposal_ids)
    employer = dict(
        Employment.objects.filter(expert_id__in=pool, ended_on__isnull=True).values_list("expert_id", "organization_id")
    )
    current = set(
        Assignment.objects.filter(proposal_id__in=proposal_ids, active=True).values_list("expert_id", "proposal_id")
    )
    return Problem(
        k=k,
        proposals=proposal_ids,
        experts=pool,
        caps={e: caps[e] for e in pool},
        blocked=blocked,
        employer=employer,
        preferred=in_field & set(pool),
        existing_load={e: used[e] for e in pool if e in used},
        current=current,
        pool=mode,
    )


def plan_call(call, k: int) -> Plan:
    """Solve with the field's experts; if that is infeasible, once more with every active expert."""
    problem = load_problem(call, k)
    try:
        return Plan(problem, problem.solve())
    except AssignmentError:
        if problem.pool == "all":
            raise
    problem = load_problem(call, k, whole_pool=True)
    return Plan(problem, problem.solve())


def assign_call(call, k: int) -> dict[int, list[int]]:
    """Proposal id → k expert ids for the call's reviewable proposals (nothing is stored)."""
    return plan_call(call, k).solution
