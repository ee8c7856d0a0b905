"""The working-day calendar: statutory holidays and 调休 make-up days, editable by administrators.

Every day of a year is one row. A year the chinese-calendar package knows is filled from it; any
other year from the law's holidays (models/statutory_holidays.py), marked provisional until an
administrator enters the State Council's published arrangement (models/calendar_arrangement.py).
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import record_change
from models.base import db
from models.statutory_holidays import PACKAGE_NAMES, statutory_holidays

MAKE_UP_WORKDAY_NOTE = "调休上班"
MISSING, PROVISIONAL, PUBLISHED = "missing", "provisional", "published"


class WorkCalendarDay(db.Model):
    __tablename__ = "work_calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str | None] = mapped_column(sa.String(100))
    # Computed by rule (the law's holidays, or Monday–Friday) because the State Council's
    # arrangement for the year is not known: filling the year again replaces it; a day an
    # administrator entered never is.
    provisional: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    def __str__(self) -> str:
        return self.day.isoformat()


def chinese_calendar_years() -> range:
    """The years the chinese-calendar package has official data for."""
    import chinese_calendar

    known = chinese_calendar.holidays.keys()
    return range(min(known).year, max(known).year + 1)


def year_days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def year_span(year: int):
    return WorkCalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))


def known_years() -> list[int]:
    """Years present in the calendar table."""
    rows = db.session.execute(
        sa.select(sa.extract("year", WorkCalendarDay.day)).distinct()
    ).scalars()
    return sorted(int(y) for y in rows)


def provisional_years() -> list[int]:
    """Years with days computed by rule, waiting for the State Council's arrangement."""
    rows = db.session.execute(
        sa.select(sa.extract("year", WorkCalendarDay.day)).distinct()
        .where(WorkCalendarDay.provisional.is_(True))
    ).scalars()
    return sorted(int(y) for y in rows)


def year_states(years) -> dict[int, str]:
    """missing, provisional or published for each year asked about."""
    have, guessed = set(known_years()), set(provisional_years())
    return {y: PROVISIONAL if y in guessed else PUBLISHED if y in have else MISSING for y in years}


def computed_days(year: int) -> list[dict]:
    """Every day of the year as the package publishes it, or else as the law gives it
    (provisional): the values of the rows ``fill_year`` writes."""
    if year in chinese_calendar_years():
        return [_package_day(day) for day in year_days(year)]
    holidays = statutory_holidays(year)
    return [{"day": day, "is_workday": day not in holidays and day.weekday() < 5,
             "note": holidays.get(day), "provisional": True} for day in year_days(year)]


def _package_day(day: date) -> dict:
    import chinese_calendar

    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    name = PACKAGE_NAMES.get(name, name) if name else None
    note = None
    if name and on_holiday:
        note = name
    elif name:
        note = f"{MAKE_UP_WORKDAY_NOTE}（{name}）"
    return {"day": day, "is_workday": not on_holiday, "note": note, "provisional": False}


def fill_year(year: int) -> int:
    """Write the year into the calendar: days not there yet are added, provisional days are
    replaced (by the package's data once it knows the year, or by the law's holidays where a
    year was filled as plain weekdays); days an administrator entered are kept. Returns how many
    days were added or changed."""
    rows = {row.day: row for row in db.session.execute(
        sa.select(WorkCalendarDay).where(year_span(year))).scalars()}
    written = 0
    for values in computed_days(year):
        row = rows.get(values["day"])
        if row is None:
            db.session.add(WorkCalendarDay(**values))
        elif row.provisional and any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
        else:
            continue
        written += 1
    db.session.flush()
    return written


def generate_year(actor, year: int) -> int:
    """生成该年日历: ``fill_year``, and the days it wrote recorded in the configuration history as
    ``actor``'s change (None: whoever is acting; the system in the scheduler) — a fill moves
    deadlines. Days of a year still provisional are told apart from a published year's."""
    written = fill_year(year)
    if written:
        field = "filled_days" if year in provisional_years() else "published_days"
        record_change(actor, "work_calendar_year", year, f"{year} 年工作日历", "update",
                      {field: (0, written)})
    return written


def calendar_years(today: date) -> list[int]:
    """The years a fresh database holds: those the package knows, this year and the next."""
    return sorted(set(chinese_calendar_years()) | {today.year, today.year + 1})


def fill_calendar(today: date | None = None) -> int:
    """Fill (or re-fill) every year of ``calendar_years``; safe to run again."""
    from models.clock import local_today

    return sum(fill_year(year) for year in calendar_years(today or local_today()))
