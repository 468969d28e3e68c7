from datetime import date

import pytest

from reviews.notice import notice_end


def test_calendar_days_include_weekends():
    # Friday 2026-10-09 + 5 calendar days → Tuesday 2026-10-13.
    assert notice_end(date(2026, 10, 9), 5, working=False) == date(2026, 10, 13)


def test_working_days_skip_the_weekend():
    # Friday + 5 working days: Fri, Mon, Tue, Wed, Thu.
    assert notice_end(date(2026, 10, 9), 5, working=True) == date(2026, 10, 15)


def test_a_notice_starting_on_saturday_counts_from_monday():
    assert notice_end(date(2026, 10, 10), 1, working=True) == date(2026, 10, 12)


def test_holidays_are_skipped_and_adjusted_working_days_count():
    national_day = {date(2026, 10, d) for d in range(1, 8)}
    worked = {date(2026, 9, 27), date(2026, 10, 10)}  # 调休: a Sunday and a Saturday worked
    # Starting Wednesday 2026-09-30: Wed counts (1), Oct 1–7 holidays, Thu 8 (2), Fri 9 (3), Sat 10 worked (4),
    # Mon 12 (5).
    assert notice_end(date(2026, 9, 30), 5, working=True, holidays=national_day, adjusted_working_days=worked) == date(
        2026, 10, 12
    )


def test_at_least_one_day():
    with pytest.raises(ValueError):
        notice_end(date(2026, 1, 1), 0, working=False)
