"""Public-notice periods (公示期) in calendar or working days."""

from datetime import date, timedelta


def notice_end(
    start: date,
    days: int,
    *,
    working: bool,
    holidays: set[date] = frozenset(),
    adjusted_working_days: set[date] = frozenset(),
) -> date:
    """The last day (inclusive) of a notice of ``days`` days starting on ``start``.

    Working days skip Saturdays, Sundays and holidays, but count weekend days
    that are officially worked instead (调休). The start day counts as day 1
    when it is itself a counted day.
    """
    if days < 1:
        raise ValueError("a notice lasts at least one day")
    if not working:
        return start + timedelta(days=days - 1)

    def counts(day: date) -> bool:
        if day in adjusted_working_days:
            return True
        return day.weekday() < 5 and day not in holidays

    day, counted = start, 0
    while True:
        if counts(day):
            counted += 1
            if counted == days:
                return day
        day += timedelta(days=1)


def holiday_sets() -> tuple[set[date], set[date]]:
    from reviews.models import Holiday

    holidays, worked = set(), set()
    for day, working_day in Holiday.objects.values_list("date", "working_day"):
        (worked if working_day else holidays).add(day)
    return holidays, worked
