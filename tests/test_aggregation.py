"""Aggregation edge cases and the tie-break chain, on Decimals."""

from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviews.aggregation import Entry, aggregate, default_winners, median, rank, sample_sd


def scores(*values):
    return [D(str(v)) for v in values]


def test_three_scores_use_the_plain_mean():
    result = aggregate(scores(70, 80, 90), trim_threshold=5)
    assert result.method == "mean" and result.final == D(80) and result.median == D(80)


def test_four_scores_still_the_mean_below_the_threshold():
    result = aggregate(scores(60, 70, 80, 95), trim_threshold=5)
    assert result.method == "mean" and result.final == D("76.25")
    assert result.median == D(75) and result.spread == D(35) and result.disagreement


def test_five_scores_drop_one_highest_and_one_lowest():
    result = aggregate(scores(50, 80, 82, 84, 99), trim_threshold=5)
    assert result.method == "trimmed_mean" and result.final == D(82)


def test_seven_scores_drop_only_one_at_each_end():
    result = aggregate(scores(60, 60, 70, 75, 80, 90, 90), trim_threshold=5)
    assert result.final == (D(60) + D(70) + D(75) + D(80) + D(90)) / 5


def test_mean_method_never_trims():
    assert aggregate(scores(50, 80, 82, 84, 99), method="mean").final == D("79")


def test_equal_scores_have_no_disagreement():
    result = aggregate(scores(80, 80, 80, 80, 80))
    assert result.final == D(80) and result.sd == 0 and result.spread == 0 and not result.disagreement


def test_outlier_more_than_two_sd_from_the_others_is_flagged():
    result = aggregate(scores(80, 81, 79, 80, 55))
    assert result.outliers == [4] and result.disagreement
    assert aggregate(scores(78, 80, 82, 79, 81)).outliers == []


def test_exact_decimals_no_float_noise():
    result = aggregate(scores("33.33", "33.33", "33.34"))
    assert result.final == D("100.00") / 3


def test_no_scores():
    assert aggregate([]).final is None


@given(st.lists(st.decimals(min_value=0, max_value=100, places=2), min_size=1, max_size=12))
def test_final_lies_between_min_and_max(values):
    result = aggregate(values)
    assert min(values) <= result.final <= max(values)
    assert min(values) <= result.median <= max(values)
    assert sample_sd(values) >= 0


T0 = datetime(2026, 11, 1, 9, 0)


def entry(pid, totals, *, key=None, minutes=0, vetoed=False):
    return Entry(
        pid,
        aggregate(scores(*totals), vetoed=vetoed),
        None if key is None else D(str(key)),
        T0 + timedelta(minutes=minutes),
    )


def ordered(entries, threshold=60):
    return [(r.entry.proposal_id, r.rank, r.passed) for r in rank(entries, pass_threshold=D(threshold))]


def test_ranking_by_final_score():
    assert ordered([entry(1, [70, 70, 70]), entry(2, [90, 90, 90]), entry(3, [50, 50, 50])]) == [
        (2, 1, True),
        (1, 2, True),
        (3, 3, False),
    ]


def test_tie_broken_by_median_then_key_criterion_then_submission_time():
    # Same mean 80; medians 85 vs 80.
    a, b = entry(1, [70, 85, 85]), entry(2, [80, 80, 80])
    assert [p for p, *_ in ordered([b, a])] == [1, 2]
    # Same mean and median; key criterion decides.
    c, d = entry(3, [80, 80, 80], key=25), entry(4, [80, 80, 80], key=28)
    assert [p for p, *_ in ordered([c, d])] == [4, 3]
    # Same everything; the earlier submission wins — never database order.
    e, f = entry(5, [80, 80, 80], key=25, minutes=10), entry(6, [80, 80, 80], key=25, minutes=5)
    assert [p for p, *_ in ordered([e, f])] == [6, 5]
    assert [p for p, *_ in ordered([f, e])] == [6, 5]


def test_tie_at_the_cut_off_resolved_by_the_chain():
    entries = [entry(1, [90, 90, 90]), entry(2, [80, 80, 80], key=20), entry(3, [80, 80, 80], key=22)]
    assert default_winners(rank(entries, pass_threshold=D(60)), 2) == [1, 3]


def test_veto_fails_whatever_the_score():
    entries = [entry(1, [99, 99, 99], vetoed=True), entry(2, [70, 70, 70])]
    result = ordered(entries)
    assert result == [(2, 1, True), (1, None, False)]
    assert default_winners(rank(entries, pass_threshold=D(60)), 2) == [2]


def test_winners_only_above_the_threshold():
    entries = [entry(1, [75, 75, 75]), entry(2, [59.99, 59.99, 59.99])]
    assert default_winners(rank(entries, pass_threshold=D(60)), 2) == [1]


@pytest.mark.parametrize("values, expected", [([1, 2, 3], 2), ([1, 2, 3, 4], D("2.5")), ([5], 5)])
def test_median(values, expected):
    assert median(scores(*values)) == D(str(expected))
