"""Deadlines on China's working-day calendar: natural hours, working hours, working days."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from .base import db
from .calendar import WorkCalendarDay
from .clock import local_zone
from .enums import DeadlineUnit

DEFAULT_WORK_PERIODS = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
MAX_SPAN_DAYS = 3 * 366  # a deadline further out than this is a configuration error


class WorkCalendar:
    """Which local dates are working days: the table where it knows the year, else Monday–Friday."""

    def __init__(self, start: date, end: date) -> None:
        rows = db.session.execute(
            sa.select(WorkCalendarDay.day, WorkCalendarDay.is_workday)
            .where(WorkCalendarDay.day.between(start, end))).all()
        self._days = dict(rows)
        self._known_years = {d.year for d in self._days}
        self.guessed_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        if day in self._days:
            return self._days[day]
        if day.year not in self._known_years:
            self.guessed_years.add(day.year)
        return day.weekday() < 5


def work_periods() -> tuple[tuple[time, time], ...]:
    if has_app_context():
        return current_app.config.get("GRIDDESK_WORK_PERIODS", DEFAULT_WORK_PERIODS)
    return DEFAULT_WORK_PERIODS


def deadline_after(start: datetime, amount: int, unit: DeadlineUnit) -> datetime:
    """The moment ``amount`` units of ``unit`` after ``start`` (aware datetimes, UTC out)."""
    if amount <= 0:
        raise ValueError("a deadline needs a positive amount")
    if unit == DeadlineUnit.NATURAL_HOURS:
        return start + timedelta(hours=amount)
    zone = local_zone()
    local = start.astimezone(zone)
    calendar = WorkCalendar(local.date(), local.date() + timedelta(days=MAX_SPAN_DAYS))
    if unit == DeadlineUnit.WORKING_DAYS:
        return _add_working_days(local, amount, calendar).astimezone(start.tzinfo)
    return _add_working_minutes(local, amount * 60, calendar).astimezone(start.tzinfo)


def _add_working_days(local: datetime, days: int, calendar: WorkCalendar) -> datetime:
    """N working days later, at the same time of day (a report on a holiday starts next workday)."""
    day = local.date()
    for _ in range(MAX_SPAN_DAYS):
        if days == 0:
            break
        day += timedelta(days=1)
        if calendar.is_workday(day):
            days -= 1
    else:
        raise ValueError("deadline beyond the calendar span")
    if not calendar.is_workday(local.date()):
        # Counted from the next working day's start: the deadline ends at that day's close.
        return datetime.combine(day, work_periods()[-1][1], local.tzinfo)
    return datetime.combine(day, local.timetz())


def _add_working_minutes(local: datetime, minutes: int, calendar: WorkCalendar) -> datetime:
    periods = work_periods()
    day, moment = local.date(), local.timetz().replace(tzinfo=None)
    for _ in range(MAX_SPAN_DAYS):
        if calendar.is_workday(day):
            for begin, end in periods:
                if moment >= end:
                    continue
                begin = max(begin, moment)
                available = _minutes_between(begin, end)
                if minutes <= available:
                    finish = datetime.combine(day, begin) + timedelta(minutes=minutes)
                    return finish.replace(tzinfo=local.tzinfo)
                minutes -= available
        day += timedelta(days=1)
        moment = time(0, 0)
    raise ValueError("deadline beyond the calendar span")


def _minutes_between(begin: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute)
