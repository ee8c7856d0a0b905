"""Deadlines on China's working-day calendar: natural hours, working hours, working days."""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import NamedTuple

import sqlalchemy as sa

from models.base import db
from models.calendar import WorkCalendarDay
from models.clock import local_zone
from models.reference_cache import cached, forget
from models.settings import setting
from models.vocabulary import (HANDLING_STATUSES, OPEN_STATUSES, DeadlineUnit, Priority,
                               TicketStatus)

DEFAULT_WORK_PERIODS = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
MAX_SPAN_DAYS = 3 * 366  # a deadline further out than this is a configuration error


class WorkCalendar:
    """Which local dates are working days: the table where it knows the year, else Monday–Friday."""

    def __init__(self, days: Mapping[date, bool], known_years: frozenset[int] | None = None) -> None:
        self._days = days
        self._known_years = known_years if known_years is not None else {d.year for d in days}
        self.guessed_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        if day in self._days:
            return self._days[day]
        if day.year not in self._known_years:
            self.guessed_years.add(day.year)
        return day.weekday() < 5


class CalendarDays(NamedTuple):
    days: Mapping[date, bool]  # read-only: shared by every request of the process
    known_years: frozenset[int]


def _load_calendar_days() -> CalendarDays:
    days = dict(db.session.execute(sa.select(WorkCalendarDay.day, WorkCalendarDay.is_workday)).all())
    return CalendarDays(MappingProxyType(days), frozenset(d.year for d in days))


def work_calendar() -> WorkCalendar:
    """The calendar table, read once per process and again after it changes (reference cache)."""
    loaded = cached(("calendar",), "work_calendar", _load_calendar_days)
    return WorkCalendar(loaded.days, loaded.known_years)


def invalidate_calendar() -> None:
    """Drop this process's copy (tests that write the table behind the ORM's back)."""
    forget("calendar")


def work_periods() -> tuple[tuple[time, time], ...]:
    return setting("GRIDDESK_WORK_PERIODS", DEFAULT_WORK_PERIODS)


def deadline_after(start: datetime, amount: int, unit: DeadlineUnit) -> datetime:
    """The moment ``amount`` units of ``unit`` after ``start`` (aware datetimes, UTC out)."""
    if amount <= 0:
        raise ValueError("a deadline needs a positive amount")
    if unit == DeadlineUnit.NATURAL_HOURS:
        return start + timedelta(hours=amount)
    local = start.astimezone(local_zone())
    calendar = work_calendar()
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


def working_seconds_between(start: datetime, end: datetime) -> float:
    """Working time from ``start`` to ``end`` in seconds: the part of it inside the work periods
    of working days (the calendar's, 调休 included) — the measure deadlines count in."""
    if end <= start:
        return 0.0
    zone = local_zone()
    calendar, periods = work_calendar(), work_periods()
    first, last = start.astimezone(zone), end.astimezone(zone)
    total, day = 0.0, first.date()
    while day <= last.date():
        if calendar.is_workday(day):
            for begin, finish in periods:
                low = max(first, datetime.combine(day, begin, zone))
                high = min(last, datetime.combine(day, finish, zone))
                if high > low:
                    total += (high - low).total_seconds()
        day += timedelta(days=1)
    return total


def _minutes_between(begin: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute)


def scaled_amount(amount: int, priority: Priority) -> int:
    """Urgent and emergency tickets get a shorter deadline (factors from the configuration)."""
    factors = setting("PRIORITY_DEADLINE_FACTORS", {})
    factor = float(factors.get(priority.value, 1.0))
    return max(1, math.ceil(amount * factor))


def ticket_deadlines(category, rule, priority: Priority, start: datetime) -> tuple[datetime, datetime]:
    """Acceptance and handling deadlines: the category's, overridden by the rule, scaled by priority."""
    accept = (category.accept_deadline, category.accept_deadline_unit)
    handle = (category.handle_deadline, category.handle_deadline_unit)
    if rule is not None and rule.accept_deadline and rule.accept_deadline_unit:
        accept = (rule.accept_deadline, rule.accept_deadline_unit)
    if rule is not None and rule.handle_deadline and rule.handle_deadline_unit:
        handle = (rule.handle_deadline, rule.handle_deadline_unit)
    return (deadline_after(start, scaled_amount(accept[0], priority), accept[1]),
            deadline_after(start, scaled_amount(handle[0], priority), handle[1]))


def set_deadlines(ticket, rule, start: datetime | None = None, *, accept: bool = True) -> None:
    """Give ``ticket`` the deadlines ``ticket_deadlines`` computes, counted from ``start``.

    ``start`` None means from the report (or from ``deadlines_from`` where the clock started
    later). ``rule`` is the dispatch rule of the ticket's matrix cell (its override applies).
    ``accept=False`` leaves the acceptance deadline alone (a ticket already accepted). A new
    clock also clears the sweep's warning and overdue marks, so the new owner is warned again.
    """
    for name, value in new_deadlines(ticket, rule, start, accept=accept).items():
        setattr(ticket, name, value)


def new_deadlines(ticket, rule, start: datetime | None = None, *, accept: bool = True) -> dict:
    """What ``set_deadlines`` sets on the ticket (column → value), without setting it: a batch
    step decides a page of tickets before writing them at once."""
    accept_at, handle_at = ticket_deadlines(ticket.category, rule, ticket.priority,
                                            start or ticket.deadlines_from or ticket.created_at)
    changes = {"accept_deadline": accept_at} if accept else {}
    changes["handle_deadline"] = handle_at
    if start is not None:
        changes["deadlines_from"] = start
    changes["warned_at"] = changes["overdue_at"] = None
    return changes


# --- overdue: the one definition --------------------------------------------------------------
#
# A ticket's clock runs against one deadline at a time: the acceptance deadline while it is
# pending, the handling deadline while it is in progress or waiting for review. It is overdue
# (red) once that deadline has passed — "in time" means at or before the deadline — and yellow
# once the warning share of the time from the clock's start to that deadline is used.
# A suspended ticket's clock is paused: it is neither yellow nor red while suspended (on resume
# its deadlines move by the paused time). Closed and invalid tickets have no deadline state.
# deadline_state is the Python form; deadline_state_sql, overdue_condition and
# handling_warning_due are the same rule in SQL (tests compare them on both databases).

GREEN, YELLOW, RED, PAUSED = "green", "yellow", "red", "paused"


def running_deadline_field(ticket) -> str | None:
    """Which deadline the ticket's clock runs against now (None: no clock running)."""
    if ticket.status == TicketStatus.PENDING:
        return "accept_deadline"
    if ticket.status in HANDLING_STATUSES:
        return "handle_deadline"
    return None


def running_deadline(ticket) -> datetime | None:
    field = running_deadline_field(ticket)
    return getattr(ticket, field) if field else None


def deadline_state(ticket, now: datetime) -> str | None:
    """green, yellow (most of the time used), red (overdue) or paused (suspended: the clock
    stands still); None when the ticket is finished. See the definition above."""
    if ticket.status not in OPEN_STATUSES:
        return None
    if ticket.status == TicketStatus.SUSPENDED:
        return PAUSED
    deadline = running_deadline(ticket)
    if deadline is None:
        return GREEN
    if deadline < now:
        return RED
    start = ticket.deadlines_from or ticket.created_at
    if deadline > start and start + (deadline - start) * warning_share() <= now:
        return YELLOW
    return GREEN


def is_overdue(ticket, now: datetime) -> bool:
    return deadline_state(ticket, now) == RED


def in_time(moment: datetime, deadline: datetime | None) -> bool:
    """Whether a step taken at ``moment`` met ``deadline``: at or before it (none: met) — the
    other side of the boundary where a ticket turns overdue."""
    return deadline is None or moment <= deadline


def warning_share() -> float:
    return setting("DEADLINE_WARNING_SHARE", 0.8)


def _clocks():
    """(status condition, deadline column) for each state whose clock runs."""
    from models.tickets.tables import Ticket

    return ((Ticket.status == TicketStatus.PENDING, Ticket.accept_deadline),
            (Ticket.status.in_(HANDLING_STATUSES), Ticket.handle_deadline))


def overdue_condition(now: datetime, overdue: bool = True):
    """SQL for "overdue" (deadline_state red), or its exact opposite (NULLs included)."""
    if overdue:
        return sa.or_(*(sa.and_(status, deadline < now) for status, deadline in _clocks()))
    running = [status for status, _deadline in _clocks()]
    return sa.or_(sa.not_(sa.or_(*running)),
                  *(sa.and_(status, sa.or_(deadline.is_(None), deadline >= now))
                    for status, deadline in _clocks()))


def _warning_due(status, deadline, now: datetime):
    """SQL for yellow on one clock: not yet overdue, and the warning share of its time used."""
    from models.base import UTCDateTime
    from models.tickets.tables import Ticket

    share = warning_share()
    start = sa.func.coalesce(Ticket.deadlines_from, Ticket.created_at)
    if db.session.get_bind().dialect.name == "sqlite":
        day = sa.func.julianday
        point = day(start) + (day(deadline) - day(start)) * share
        used_enough = point <= day(sa.cast(sa.literal(now, UTCDateTime()), sa.String))
    else:
        span = (deadline - start).self_group().op("*", return_type=sa.Interval())(share)
        used_enough = start + span <= now
    return sa.and_(status, deadline.is_not(None), deadline >= now, deadline > start, used_enough)


def handling_warning_due(now: datetime):
    """SQL for yellow tickets being handled (in progress or waiting for review)."""
    status, deadline = _clocks()[1]
    return _warning_due(status, deadline, now)


def deadline_state_sql(now: datetime):
    """deadline_state as one SQL expression (for statistics and for checking the two agree)."""
    from models.tickets.tables import Ticket

    return sa.case(
        (Ticket.status.not_in(OPEN_STATUSES), sa.null()),
        (Ticket.status == TicketStatus.SUSPENDED, PAUSED),
        (overdue_condition(now), RED),
        (sa.or_(*(_warning_due(status, deadline, now) for status, deadline in _clocks())), YELLOW),
        else_=GREEN)
