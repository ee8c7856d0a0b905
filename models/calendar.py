"""The working-day calendar: statutory holidays and 调休 make-up days, editable by administrators."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db


class WorkCalendarDay(db.Model):
    __tablename__ = "work_calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str | None] = mapped_column(sa.String(100))

    def __str__(self) -> str:
        return self.day.isoformat()


def chinese_calendar_years() -> range:
    """The years the chinese-calendar package has official data for."""
    import chinese_calendar

    known = chinese_calendar.holidays.keys()
    return range(min(known).year, max(known).year + 1)


def known_years() -> list[int]:
    """Years present in the calendar table."""
    rows = db.session.execute(
        sa.select(sa.extract("year", WorkCalendarDay.day)).distinct()
    ).scalars()
    return sorted(int(y) for y in rows)


def fill_year(year: int, *, source: str = "chinese_calendar") -> int:
    """Write every day of one year into the calendar; returns how many days were added.

    ``source`` is ``chinese_calendar`` (official holidays and 调休) or ``weekdays`` (Monday–Friday,
    for a year the State Council has not published yet). Days already present are left alone, so
    an administrator's own corrections survive.
    """
    import chinese_calendar

    if source == "chinese_calendar" and year not in chinese_calendar_years():
        raise ValueError(f"chinese-calendar has no data for {year}")
    existing = set(db.session.execute(
        sa.select(WorkCalendarDay.day).where(
            WorkCalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    ).scalars())
    day, added = date(year, 1, 1), []
    while day.year == year:
        if day not in existing:
            if source == "chinese_calendar":
                on_holiday, name = chinese_calendar.get_holiday_detail(day)
                workday = not on_holiday
                note = None
                if name and on_holiday:
                    note = str(name)
                elif name and not on_holiday:
                    note = f"调休上班（{name}）"
            else:
                workday, note = day.weekday() < 5, None
            added.append({"day": day, "is_workday": workday, "note": note})
        day += timedelta(days=1)
    if added:
        db.session.execute(sa.insert(WorkCalendarDay), added)
    return len(added)


def fill_known_years() -> int:
    """Pre-fill every year chinese-calendar knows; safe to run again."""
    return sum(fill_year(year) for year in chinese_calendar_years())
