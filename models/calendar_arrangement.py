"""A year's holiday arrangement as the State Council publishes it: holiday ranges and the
weekend days worked instead (调休上班). An administrator enters it once it is published; it then
replaces the whole year of the work calendar, including the provisional days computed by rule.

Deadlines already given to open tickets are kept: the arrangement counts for deadlines computed
after it was entered (dispatch, transfer, reopen, …), never rewrites one a ticket already has.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from models.audit import record_change
from models.base import db
from models.calendar import (MAKE_UP_WORKDAY_NOTE, WorkCalendarDay, year_days, year_span)
from models.statutory_holidays import MAKE_UP_SUFFIX

DATE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
RANGE_LINE = re.compile(rf"^({DATE})(?:\s*(?:至|到|~|～|—|–|-)\s*|\s+)?({DATE})?\s*(.*)$")
DEFAULT_NAME = "休息日"


@dataclass(frozen=True)
class HolidayRange:
    start: date
    end: date
    name: str

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def __str__(self) -> str:
        if self.start == self.end:
            return f"{self.start.isoformat()} {self.name}"
        return f"{self.start.isoformat()} 至 {self.end.isoformat()} {self.name}"


@dataclass
class Arrangement:
    year: int
    holidays: list[HolidayRange] = field(default_factory=list)
    make_up_workdays: list[date] = field(default_factory=list)

    def holiday_lines(self) -> list[str]:
        return [str(r) for r in self.holidays]

    def workday_texts(self) -> list[str]:
        return [d.isoformat() for d in self.make_up_workdays]


class ArrangementError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _parse_date(text: str) -> date | None:
    try:
        y, m, d = (int(part) for part in re.split(r"[-/.]", text))
        return date(y, m, d)
    except ValueError:
        return None


def read_arrangement(year: int, holiday_text: str, workday_text: str) -> Arrangement:
    """The arrangement typed into the form: one holiday range per line (``2027-02-05 至
    2027-02-11 春节``, or one date and a name) and the make-up working days (dates separated by
    spaces, commas or lines). Raises ArrangementError listing every problem."""
    problems: list[str] = []
    holidays = _read_holidays(year, holiday_text, problems)
    workdays = _read_workdays(year, workday_text, problems)
    taken: dict[date, int] = {}
    for number, entry in holidays:
        for day in entry.days():
            if day in taken:
                problems.append(_("Line %(line)s overlaps line %(other)s on %(day)s.",
                                  line=number, other=taken[day], day=day.isoformat()))
                break
            taken[day] = number
    for day in workdays:
        if day in taken:
            problems.append(_("%(day)s is both a holiday and a make-up working day.",
                              day=day.isoformat()))
    if not holidays and not problems:
        problems.append(_("Enter at least one holiday range."))
    if problems:
        raise ArrangementError(problems)
    return Arrangement(year, sorted((h for _n, h in holidays), key=lambda h: h.start),
                       sorted(workdays))


def _read_holidays(year: int, text: str, problems: list[str]) -> list[tuple[int, HolidayRange]]:
    found = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = RANGE_LINE.match(line)
        if not match or not match.group(3).strip():
            problems.append(_("Line %(line)s: write the first day, the last day (may be left out "
                              "for one day) and the holiday's name, e.g. "
                              "2027-02-05 至 2027-02-11 春节.", line=number))
            continue
        start, end = _parse_date(match.group(1)), _parse_date(match.group(2) or match.group(1))
        bad = [t for t, d in ((match.group(1), start), (match.group(2), end)) if t and d is None]
        if bad:
            problems.append(_("Line %(line)s: %(value)s is not a date.", line=number, value=bad[0]))
            continue
        if start > end:
            problems.append(_("Line %(line)s: the first day %(start)s is after the last day "
                              "%(end)s.", line=number, start=start.isoformat(), end=end.isoformat()))
        elif start.year != year or end.year != year:
            problems.append(_("Line %(line)s: the days must lie in %(year)s.",
                              line=number, year=year))
        else:
            found.append((number, HolidayRange(start, end, match.group(3).strip()[:60])))
    return found


def _read_workdays(year: int, text: str, problems: list[str]) -> list[date]:
    days = set()
    for token in re.split(r"[\s,，、;；]+", (text or "").strip()):
        if not token:
            continue
        day = _parse_date(token) if re.fullmatch(DATE, token) else None
        if day is None:
            problems.append(_("%(value)s is not a date (write make-up working days like "
                              "2027-02-20).", value=token))
        elif day.year != year:
            problems.append(_("The make-up working day %(day)s is not in %(year)s.",
                              day=day.isoformat(), year=year))
        elif day.weekday() < 5:
            problems.append(_("%(day)s is a Monday to Friday: make-up working days are Saturdays "
                              "or Sundays.", day=day.isoformat()))
        else:
            days.add(day)
    return sorted(days)


def stored_arrangement(year: int) -> Arrangement:
    """The year as the calendar holds it: runs of days off that are weekdays or named (a plain
    weekend is no holiday), and the weekend days worked."""
    rows = db.session.execute(sa.select(WorkCalendarDay).where(year_span(year))
                              .order_by(WorkCalendarDay.day)).scalars().all()
    result, run = Arrangement(year), []
    for row in rows:
        off = not row.is_workday and (row.day.weekday() < 5 or row.note)
        if off and run and row.day == run[-1].day + timedelta(days=1):
            run.append(row)
            continue
        if run:
            result.holidays.append(_range_of(run))
        run = [row] if off else []
        if row.is_workday and row.day.weekday() >= 5:
            result.make_up_workdays.append(row.day)
    if run:
        result.holidays.append(_range_of(run))
    return result


def _range_of(run: list[WorkCalendarDay]) -> HolidayRange:
    names = []
    for row in run:
        name = (row.note or "").removesuffix(MAKE_UP_SUFFIX)
        if name and name not in names:
            names.append(name)
    return HolidayRange(run[0].day, run[-1].day, "、".join(names) or DEFAULT_NAME)


def enter_arrangement(actor, arrangement: Arrangement) -> None:
    """Write the published arrangement over the whole year (no day provisional any more) and
    record the change. The caller commits, then invalidates the cached calendar."""
    year = arrangement.year
    before = stored_arrangement(year)
    names = {day: entry.name for entry in arrangement.holidays for day in entry.days()}
    worked = set(arrangement.make_up_workdays)
    rows = {row.day: row for row in db.session.execute(
        sa.select(WorkCalendarDay).where(year_span(year))).scalars()}
    for day in year_days(year):
        row = rows.get(day) or WorkCalendarDay(day=day)
        row.is_workday = day not in names and (day.weekday() < 5 or day in worked)
        row.note = names.get(day) or (MAKE_UP_WORKDAY_NOTE if day in worked else None)
        row.provisional = False
        db.session.add(row)
    db.session.flush()
    record_change(actor, "work_calendar_year", year, f"{year} 年放假安排", "update", {
        "holidays": (before.holiday_lines(), arrangement.holiday_lines()),
        "make_up_workdays": (before.workday_texts(), arrangement.workday_texts()),
    })
