"""Deadlines on China's working-day calendar, as a hotline operator would count them by hand."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from models import DeadlineUnit, Priority, TicketStatus, WorkCalendarDay, db
from models.clock import local_today
from models.tickets.deadlines import (GREEN, PAUSED, RED, YELLOW, deadline_after, deadline_state,
                                      invalidate_calendar, scaled_amount, work_calendar)

from .factories import build_world, make_ticket

SH = ZoneInfo("Asia/Shanghai")
WD, WH, NH = DeadlineUnit.WORKING_DAYS, DeadlineUnit.WORKING_HOURS, DeadlineUnit.NATURAL_HOURS


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def due(start: datetime, amount: int, unit: DeadlineUnit) -> datetime:
    return deadline_after(start, amount, unit).astimezone(SH)


@pytest.fixture()
def calendar(ctx):
    invalidate_calendar()
    yield
    invalidate_calendar()


@pytest.mark.parametrize("start, amount, expected", [
    # National Day 2025: 1–8 October off; Sunday 28 Sept and Saturday 11 Oct are make-up workdays.
    (local(2025, 9, 26, 15, 0), 1, local(2025, 9, 28, 15, 0)),    # Fri → the make-up Sunday
    (local(2025, 9, 30, 15, 0), 1, local(2025, 10, 9, 15, 0)),    # over the whole holiday
    (local(2025, 9, 30, 15, 0), 3, local(2025, 10, 11, 15, 0)),   # the make-up Saturday counts
    (local(2025, 10, 3, 10, 0), 1, local(2025, 10, 9, 17, 30)),   # reported on a holiday
    # Spring Festival 2026: 15–23 Feb off; Saturday 14 Feb and Saturday 28 Feb are workdays.
    (local(2026, 2, 13, 11, 0), 1, local(2026, 2, 14, 11, 0)),
    (local(2026, 2, 14, 11, 0), 1, local(2026, 2, 24, 11, 0)),
    (local(2026, 2, 27, 9, 30), 1, local(2026, 2, 28, 9, 30)),
    (local(2026, 2, 27, 9, 30), 2, local(2026, 3, 2, 9, 30)),
])
def test_working_days_follow_holidays_and_make_up_days(calendar, start, amount, expected):
    assert due(start, amount, WD) == expected


@pytest.mark.parametrize("start, hours, expected", [
    (local(2026, 3, 3, 11, 0), 2, local(2026, 3, 3, 14, 30)),     # over the lunch break
    (local(2026, 3, 3, 12, 15), 1, local(2026, 3, 3, 14, 30)),    # reported during lunch
    (local(2026, 3, 3, 16, 30), 2, local(2026, 3, 4, 10, 0)),     # overnight
    (local(2026, 3, 3, 20, 0), 1, local(2026, 3, 4, 10, 0)),      # reported in the evening
    (local(2026, 2, 13, 17, 0), 1, local(2026, 2, 14, 9, 30)),    # into the make-up Saturday
    (local(2026, 2, 14, 17, 0), 2, local(2026, 2, 24, 10, 30)),   # over Spring Festival
    (local(2025, 9, 30, 17, 0), 8, local(2025, 10, 10, 9, 30)),   # 0.5 h + 7 h on 9 Oct + 0.5 h
])
def test_working_hours_skip_lunch_nights_and_holidays(calendar, start, hours, expected):
    assert due(start, hours, WH) == expected


def test_natural_hours_ignore_the_calendar(calendar):
    assert due(local(2025, 10, 1, 10, 0), 24, NH) == local(2025, 10, 2, 10, 0)


def test_next_year_counts_the_statutory_holidays_before_they_are_published(calendar):
    # Changed by issue 9 § 5: 2027 is no longer counted Monday–Friday. chinese-calendar stops at
    # 2026, so 2027 holds the law's holidays, provisionally: Friday 1 January is a day off.
    assert db.session.get(WorkCalendarDay, date(2027, 1, 1)).provisional
    start = local(2026, 12, 31, 10, 0)
    assert due(start, 2, WD) == local(2027, 1, 5, 10, 0)  # 1 Jan off, then the weekend
    cal = work_calendar()
    assert not cal.is_workday(date(2027, 1, 1))
    assert 2027 not in cal.guessed_years


def test_a_missing_year_is_counted_monday_to_friday_and_noticed(calendar):
    # From 2027 on the session's calendar holds 2028 (next year): take it away in this
    # transaction only (rolled back after the test).
    db.session.execute(sa.delete(WorkCalendarDay).where(WorkCalendarDay.day >= date(2028, 1, 1)))
    start = local(2027, 12, 31, 10, 0)
    assert due(start, 1, WD) == local(2028, 1, 3, 10, 0)  # Sat 1 Jan 2028 skipped as a weekend only
    cal = work_calendar()
    cal.is_workday(date(2028, 1, 3))
    assert 2028 in cal.guessed_years


def test_the_admin_home_says_next_year_is_provisional(ctx, login_as):
    build_world()
    db.session.commit()
    html = login_as("admin").get("/admin/").get_data(as_text=True)
    next_year = local_today().year + 1  # chinese-calendar 1.11.0 stops at 2026
    assert f"gd-calendar-provisional-{next_year}" in html and "国务院调休安排尚未公布" in html
    assert "gd-calendar-warning" not in html


def test_the_admin_home_warns_when_next_year_is_missing(ctx, login_as):
    build_world()
    next_year = local_today().year + 1
    db.session.execute(sa.delete(WorkCalendarDay).where(
        WorkCalendarDay.day >= date(next_year, 1, 1)))
    db.session.commit()
    try:
        html = login_as("admin").get("/admin/").get_data(as_text=True)
        assert "gd-calendar-warning" in html and f"没有 {next_year} 年的数据" in html
    finally:
        from .conftest import fill_test_calendar

        fill_test_calendar()  # as the session began
        db.session.commit()
        invalidate_calendar()


def test_an_administrator_correction_to_the_calendar_counts(calendar):
    day = db.session.get(WorkCalendarDay, date(2026, 3, 4))
    day.is_workday = False  # e.g. a local closure
    db.session.commit()
    try:
        invalidate_calendar()
        assert due(local(2026, 3, 3, 10, 0), 1, WD) == local(2026, 3, 5, 10, 0)
    finally:
        day.is_workday = True
        db.session.commit()
        invalidate_calendar()


def test_priority_shortens_the_deadline(ctx):
    assert scaled_amount(4, Priority.NORMAL) == 4
    assert scaled_amount(4, Priority.URGENT) == 2
    assert scaled_amount(4, Priority.EMERGENCY) == 1
    assert scaled_amount(1, Priority.EMERGENCY) == 1


def test_deadline_colours(ctx):
    world = build_world()
    start = local(2026, 3, 2, 9, 0)
    ticket = make_ticket(world, "grid1", created_at=start.astimezone(ZoneInfo("UTC")),
                         status=TicketStatus.IN_PROGRESS, assignee=world.users["gridworker"])
    ticket.handle_deadline = start + timedelta(hours=10)
    assert deadline_state(ticket, start + timedelta(hours=5)) == GREEN
    assert deadline_state(ticket, start + timedelta(hours=8)) == YELLOW  # 80 % used
    assert deadline_state(ticket, start + timedelta(hours=10, minutes=1)) == RED
    ticket.status, ticket.suspended_at = TicketStatus.SUSPENDED, start + timedelta(hours=2)
    ticket.resume_status = TicketStatus.IN_PROGRESS
    # The clock is paused: neither yellow nor red while suspended, even past the deadline.
    assert deadline_state(ticket, start + timedelta(days=30)) == PAUSED
    ticket.suspended_at = start + timedelta(hours=11)
    assert deadline_state(ticket, start + timedelta(hours=12)) == PAUSED


def test_work_periods_come_from_the_configuration(app, calendar):
    from config import ConfigError, parse_work_periods

    old = app.config["GRIDDESK_WORK_PERIODS"]
    app.config["GRIDDESK_WORK_PERIODS"] = parse_work_periods("08:30-12:00,14:00-18:00")
    try:
        assert due(local(2026, 3, 3, 11, 0), 2, WH) == local(2026, 3, 3, 15, 0)
    finally:
        app.config["GRIDDESK_WORK_PERIODS"] = old
    with pytest.raises(ConfigError):
        parse_work_periods("12:00-09:00")
