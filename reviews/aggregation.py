"""Score aggregation and ranking (domain.md, "Scoring and ranking").

Pure functions over Decimals: no database, no floats, no rounding until display.

- final score: the mean of the submitted totals, or the trimmed mean (drop one
  highest and one lowest) when there are at least ``trim_threshold`` scores;
- also median, sample standard deviation and range;
- disagreement: range ≥ 30 points, or a score more than 2 standard deviations
  from the mean of the other scores (needs ≥ 3 other scores whose SD is > 0);
- a veto by any expert fails the proposal whatever its score;
- ranking: final score, then the tie-break chain median → mean of the key
  (first) criterion → earlier submission; the proposal id only separates
  proposals identical in all of these, so the order never depends on the database.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext

DISAGREEMENT_RANGE = Decimal("30")
OUTLIER_SDS = Decimal("2")


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def sample_sd(values: list[Decimal]) -> Decimal:
    if len(values) < 2:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 28
        mean = _mean(values)
        variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / (len(values) - 1)
        return variance.sqrt()


def _outliers(totals: list[Decimal]) -> list[int]:
    """Indexes of the scores more than OUTLIER_SDS sample SDs from the mean of the other scores.

    For each score v with n others (sum S, sum of squares Q), "|v − S/n| > k·sd" is tested
    multiplied out, as (n − 1)·(n·v − S)² > k²·n·(n·Q − S²), and "their SD > 0" as n·Q − S² > 0:
    no division and no square root, so no rounding decides a flag, and one pass over the call
    instead of recomputing the others' mean and SD for every score (the dashboard ranks a whole
    call on every view).
    """
    n = len(totals) - 1
    if n < 3:
        return []
    outliers = []
    with localcontext() as ctx:
        ctx.prec = 60  # points have two decimals: every product below is exact
        total = sum(totals, Decimal(0))
        squares = sum((v * v for v in totals), Decimal(0))
        for index, value in enumerate(totals):
            others, others_squares = total - value, squares - value * value
            scatter = n * others_squares - others * others  # n²·(population variance of the others)
            if scatter > 0 and (n - 1) * (n * value - others) ** 2 > OUTLIER_SDS**2 * n * scatter:
                outliers.append(index)
    return outliers


@dataclass
class Aggregate:
    count: int
    final: Decimal | None
    method: str  # "mean" | "trimmed_mean" | "none"
    median: Decimal | None
    sd: Decimal | None
    spread: Decimal | None
    outliers: list[int] = field(default_factory=list)  # indexes into the scores given
    vetoed: bool = False

    @property
    def disagreement(self) -> bool:
        return bool(self.outliers) or (self.spread is not None and self.spread >= DISAGREEMENT_RANGE)


def aggregate(
    totals: list[Decimal], *, method: str = "trimmed_mean", trim_threshold: int = 5, vetoed: bool = False
) -> Aggregate:
    if not totals:
        return Aggregate(0, None, "none", None, None, None, vetoed=vetoed)
    totals = [Decimal(t) for t in totals]
    if method == "trimmed_mean" and len(totals) >= trim_threshold:
        ordered = sorted(totals)
        final, used = _mean(ordered[1:-1]), "trimmed_mean"
    else:
        final, used = _mean(totals), "mean"
    outliers = _outliers(totals)
    return Aggregate(
        count=len(totals),
        final=final,
        method=used,
        median=median(totals),
        sd=sample_sd(totals),
        spread=max(totals) - min(totals),
        outliers=outliers,
        vetoed=vetoed,
    )


@dataclass
class Entry:
    """What ranking needs to know about one proposal."""

    proposal_id: int
    aggregate: Aggregate
    key_criterion: Decimal | None  # mean points of the first criterion
    submitted_at: datetime


@dataclass
class Ranked:
    entry: Entry
    rank: int | None  # None: vetoed or unscored
    passed: bool


def sort_key(entry: Entry):
    agg = entry.aggregate
    return (
        -agg.final,
        -agg.median,
        -(entry.key_criterion if entry.key_criterion is not None else Decimal(0)),
        entry.submitted_at,
        entry.proposal_id,
    )


def rank(entries: list[Entry], *, pass_threshold: Decimal) -> list[Ranked]:
    """Ranked proposals first (1, 2, …), then vetoed and unscored ones without a rank."""
    scored = [e for e in entries if e.aggregate.final is not None and not e.aggregate.vetoed]
    others = [e for e in entries if e.aggregate.final is None or e.aggregate.vetoed]
    result = [
        Ranked(entry, position, entry.aggregate.final >= pass_threshold)
        for position, entry in enumerate(sorted(scored, key=sort_key), start=1)
    ]
    result += [Ranked(e, None, False) for e in sorted(others, key=lambda e: e.proposal_id)]
    return result


def default_winners(ranked: list[Ranked], max_winners: int) -> list[int]:
    """The top N ranked proposals above the pass threshold (an administrator confirms)."""
    return [r.entry.proposal_id for r in ranked if r.rank is not None and r.passed][:max_winners]
