"""Scheduler jobs with the clock set by the test, and the single-scheduler lock."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from jobs.sweeps import acceptance_timeouts, calendar_check, deadline_sweep, expiries
from models import Channel, Notification, Ticket, TicketEvent, TicketStatus, db
from models.tickets.deadlines import deadline_state, handling_warning_due, invalidate_calendar
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

from .conftest import database_url
from .processes import free_port, lines_within, run_py, stop

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def world(world):
    """conftest's world, with the working-day calendar read afresh."""
    invalidate_calendar()
    return world


def ticket_at(world, when: datetime, lon: float = 120.004) -> Ticket:
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=lon, lat=30.006), now=when).ticket
    db.session.commit()
    return ticket


def actions(ticket) -> list[str]:
    return db.session.execute(sa.select(TicketEvent.action).where(
        TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)).scalars().all()


def inbox(ticket, template) -> list[int]:
    return db.session.execute(sa.select(Notification.recipient_user_id).where(
        Notification.ticket_id == ticket.id, Notification.template == template,
        Notification.channel == Channel.IN_APP).order_by(Notification.id)).scalars().all()


def test_the_warning_query_picks_exactly_the_yellow_tickets(world):
    """The sweep reads only tickets due for a warning; its SQL agrees with deadline_state on both
    sides of the share, on either database."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    base = ticket_at(world, start)
    perform(base, "accept", Actor.staff(world.users["gridworker"]),
            expected_version=base.version, now=start + timedelta(minutes=5))
    db.session.commit()
    total = base.handle_deadline - base.created_at
    now = start + total * 0.5
    cases = [(0.1, TicketStatus.IN_PROGRESS), (0.45, TicketStatus.IN_PROGRESS),
             (0.79, TicketStatus.IN_PROGRESS), (0.81, TicketStatus.IN_PROGRESS),
             (0.95, TicketStatus.PENDING_REVIEW), (1.2, TicketStatus.IN_PROGRESS),
             (0.9, TicketStatus.PENDING), (0.9, TicketStatus.SUSPENDED)]
    made = []
    for share, status in cases:  # share: of each ticket's own time used at `now`
        ticket = ticket_at(world, start)
        ticket.status = status
        ticket.created_at = now - total * share
        ticket.handle_deadline = ticket.created_at + total
        made.append(ticket)
    made[4].deadlines_from = made[4].created_at + total * 0.9  # clock started later: half used
    db.session.commit()
    handled = (TicketStatus.IN_PROGRESS, TicketStatus.PENDING_REVIEW)

    def yellow_in_python():
        return {t.id for t in made if t.status in handled and deadline_state(t, now) == "yellow"}

    def picked_by_sql():
        return set(db.session.execute(sa.select(Ticket.id).where(
            handling_warning_due(now), Ticket.id.in_([t.id for t in made]))).scalars())

    assert yellow_in_python() == picked_by_sql() == {made[3].id}
    made[4].deadlines_from = None
    db.session.commit()
    assert yellow_in_python() == picked_by_sql() == {made[3].id, made[4].id}
    assert deadline_sweep(now)["warned"] == 2


def test_warning_at_the_share_is_sent_once(world):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)  # Monday
    ticket = ticket_at(world, start)
    perform(ticket, "accept", Actor.staff(world.users["gridworker"]),
            expected_version=ticket.version, now=start + timedelta(minutes=5))
    db.session.commit()
    total = ticket.handle_deadline - ticket.created_at
    assert deadline_sweep(ticket.created_at + total * 0.5) == {"warned": 0, "overdue": 0,
                                                              "escalated": 0}
    assert deadline_sweep(ticket.created_at + total * 0.85)["warned"] == 1
    assert deadline_sweep(ticket.created_at + total * 0.9)["warned"] == 0
    assert actions(ticket).count("deadline_warning") == 1
    assert inbox(ticket, "deadline_warning") == [world.users["gridworker"].id]


def test_overdue_then_unaccepted_climbs_to_the_district_and_no_further(world):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    ticket = ticket_at(world, start)
    perform(ticket, "accept", Actor.staff(world.users["gridworker"]),
            expected_version=ticket.version, now=start + timedelta(minutes=5))
    db.session.commit()
    now = ticket.handle_deadline + timedelta(minutes=1)
    assert deadline_sweep(now) == {"warned": 0, "overdue": 1, "escalated": 1}
    assert deadline_sweep(now) == {"warned": 0, "overdue": 0, "escalated": 0}  # idempotent
    levels = [ticket.current_level.value]
    assert ticket.status == TicketStatus.PENDING
    assert ticket.assigned_department_id == world.departments["office1"].id
    assert set(inbox(ticket, "overdue")) >= {world.users["gridworker"].id, world.users["street"].id}
    for _ in range(4):
        now = (ticket.accept_deadline or now) + timedelta(minutes=1)
        acceptance_timeouts(now)
        levels.append(ticket.current_level.value)
    assert levels == ["community", "street", "district", "district", "district"]
    assert ticket.assigned_department_id == world.departments["district_centre"].id
    assert actions(ticket).count("escalate") == 3
    events = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "escalate")).scalars().all()
    assert all(e.actor_kind.value == "system" and e.actor_user_id is None for e in events)
    assert inbox(ticket, "escalate")  # the new owners heard about it


def test_acceptance_timeout_waits_over_a_holiday(world):
    start = datetime(2025, 9, 30, 16, 0, tzinfo=SH)  # the afternoon before National Day
    ticket = ticket_at(world, start)
    deadline = ticket.accept_deadline.astimezone(SH)
    assert deadline.date() == datetime(2025, 10, 9).date()  # 2 working hours: 1.5 h + 0.5 h
    assert acceptance_timeouts(datetime(2025, 10, 5, 12, 0, tzinfo=SH)) == {"escalated": 0}
    assert acceptance_timeouts(deadline + timedelta(minutes=1)) == {"escalated": 1}
    assert ticket.current_level.value == "community"


def test_lapsed_extension_and_long_suspension(world, app):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    first, second = ticket_at(world, start), ticket_at(world, start)
    worker, staff = Actor.staff(world.users["gridworker"]), Actor.staff(world.users["community"])
    for t in (first, second):
        perform(t, "accept", worker, expected_version=t.version, now=start)
    perform(first, "request_extension", worker, expected_version=first.version, now=start,
            until=(first.handle_deadline + timedelta(days=3)).isoformat(), note="需要配件")
    perform(second, "suspend", staff, expected_version=second.version, now=start, note="等待业主")
    db.session.commit()
    deadline = first.handle_deadline
    result = expiries(deadline + timedelta(minutes=1))
    assert result["extensions_lapsed"] == 1 and first.extension_requested_until is None
    assert first.handle_deadline == deadline
    later = start + timedelta(days=app.config["SUSPENSION_MAX_DAYS"], minutes=1)
    assert expiries(later)["resumed"] == 1 and second.status == TicketStatus.IN_PROGRESS
    assert expiries(later) == {"extensions_lapsed": 0, "resumed": 0}


def test_calendar_check_warns_administrators_once(world):
    now = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    assert calendar_check(now) == {"warned": 1, "days_filled": 0}
    assert calendar_check(now) == {"warned": 0, "days_filled": 0}
    assert calendar_check(datetime(2026, 6, 1, tzinfo=SH)) == {"warned": 0, "days_filled": 0}  # too early to nag


def test_rating_closes_after_the_window(world, app):
    from models import AttachmentKind
    from models.errors import ActionForbidden
    from models.tickets.attachments import Upload

    from .test_workflow import photo_bytes

    ticket = ticket_at(world, datetime(2026, 3, 2, 9, 0, tzinfo=SH))
    worker, staff = Actor.staff(world.users["gridworker"]), Actor.staff(world.users["community"])
    perform(ticket, "accept", worker, expected_version=ticket.version)
    perform(ticket, "submit", worker, expected_version=ticket.version, note="好了",
            attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    perform(ticket, "approve", staff, expected_version=ticket.version)
    ticket.closed_at -= timedelta(days=app.config["RATING_WINDOW_DAYS"] + 1)
    db.session.commit()
    with pytest.raises(ActionForbidden):
        perform(ticket, "rate", Actor.reporter(), expected_version=ticket.version, rating=5)


# --- sweeps that go on past a failing ticket --------------------------------------------------
def test_tickets_whose_escalation_always_fails_do_not_starve_the_others(world, monkeypatch,
                                                                         caplog):
    """A ticket whose escalation is refused (here: its community office was deactivated, so
    there is no one above its grid worker) used to be read first on every run; a page full of
    them kept every other late ticket from being escalated, run after run."""
    from jobs import sweeps
    from models import Role

    from .factories import add_user

    monkeypatch.setattr(sweeps, "BATCH", 2)  # a page of the walk: two tickets
    add_user(world, "gridworker3", Role.GRID_WORKER, world.areas["grid3"])
    db.session.commit()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    stuck = [ticket_at(world, start, lon=120.024) for _ in range(3)]
    good = [ticket_at(world, start) for _ in range(5)]
    assert {t.assigned_user_id for t in stuck} == {world.users["gridworker3"].id}
    world.departments["office2"].active = False
    db.session.commit()
    now = max(t.accept_deadline for t in stuck + good) + timedelta(minutes=1)

    with caplog.at_level("WARNING", logger="griddesk.jobs"):
        assert acceptance_timeouts(now) == {"escalated": 5}
    assert all(t.current_level.value == "community" and t.status == TicketStatus.PENDING
               for t in good)
    assert all(t.current_level.value == "grid" and "escalate" not in actions(t) for t in stuck)
    for ticket in stuck:  # each refusal is logged with its reason
        assert ticket.number in caplog.text
    assert "上一级未配置接收部门" in caplog.text
    assert acceptance_timeouts(now) == {"escalated": 0}


def test_one_failing_ticket_does_not_roll_back_the_sweep(world, monkeypatch, caplog):
    """An unexpected error on one ticket undoes that ticket's step only: the others' steps are
    committed, the error is logged, and the next run tries that ticket again."""
    from models.tickets import workflow

    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    tickets = [ticket_at(world, start) for _ in range(3)]
    worker = Actor.staff(world.users["gridworker"])
    for t in tickets:
        perform(t, "accept", worker, expected_version=t.version, now=start + timedelta(minutes=5))
    db.session.commit()
    bad = tickets[1]
    escalation_target = workflow.escalation_target

    def breaks_on_bad(ticket):
        if ticket.id == bad.id:
            raise RuntimeError("connection reset while reading the office")
        return escalation_target(ticket)

    monkeypatch.setattr(workflow, "escalation_target", breaks_on_bad)
    now = max(t.handle_deadline for t in tickets) + timedelta(minutes=1)
    with caplog.at_level("ERROR", logger="griddesk.jobs"):
        assert deadline_sweep(now) == {"warned": 0, "overdue": 2, "escalated": 2}
    assert "connection reset" in caplog.text and bad.number in caplog.text
    db.session.rollback()  # what is left is what the sweep committed
    assert [t.status for t in tickets] == [TicketStatus.PENDING, TicketStatus.IN_PROGRESS,
                                           TicketStatus.PENDING]
    assert bad.overdue_at is None and "overdue" not in actions(bad)  # its step, undone whole
    monkeypatch.undo()
    assert deadline_sweep(now) == {"warned": 0, "overdue": 1, "escalated": 1}
    assert actions(bad)[-2:] == ["overdue", "escalate"]


def test_jobs_write_no_events_and_no_outbox_rows_themselves():
    """Every effect of a job goes through a domain operation in models/ (issue 9)."""
    import ast

    for path in (ROOT / "jobs").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree)
                 if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not names & {"append_event", "record_event", "notify_event", "Notification",
                            "TicketEvent", "perform"}, path.name
        assert "models.notify.outbox" not in modules, path.name


def test_the_outbox_has_one_key_format(world):
    """Staff, reporter and administrator messages are keyed cause:channel:recipient, and a long
    e-mail address still fits the key (it used to overflow it on PostgreSQL)."""
    import re

    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    email = "a" * 140 + "@example.cn"
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006, reporter_phone="13900001111",
                                  reporter_email=email), now=start).ticket
    perform(ticket, "accept", Actor.staff(world.users["gridworker"]),
            expected_version=ticket.version, now=start)
    db.session.commit()
    calendar_check(datetime(2026, 11, 23, 10, 0, tzinfo=SH))
    rows = db.session.execute(sa.select(Notification)).scalars().all()
    assert {r.template for r in rows} >= {"dispatch", "reporter_accepted"}
    assert {r.template for r in rows} & {"calendar_missing", "calendar_provisional"}
    pattern = re.compile(r"^(event:\d+:ticket:\d+|calendar(_provisional)?:\d{4}):"
                         r"(in_app|webhook|email|wecom|dingtalk):(user:\d+|to:.+|sha256:[0-9a-f]+)$")
    for row in rows:
        assert pattern.match(row.dedupe_key) and len(row.dedupe_key) <= 160, row.dedupe_key
    assert {r.recipient_address for r in rows if r.channel == Channel.EMAIL} == {email}


# --- one scheduler only ---------------------------------------------------------------------
HOLDER = textwrap.dedent("""
    import os, sys, time
    os.environ["GRIDDESK_INSTANCE"] = sys.argv[2]
    sys.path.insert(0, sys.argv[3])
    from admin_app import create_app
    from config import Config
    from jobs.scheduler import SchedulerLock
    app = create_app(Config({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "x",
                             "GRIDDESK_ENV": "test"}))
    lock = SchedulerLock(app)
    got = lock.acquire(wait=True, interval=0.2)
    print("HELD", flush=True)
    time.sleep(120)
""")


def start_holder(tmp_path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, database_url(), str(tmp_path), str(ROOT)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))


def wait_for_line(process, text, seconds=30) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        line = process.stdout.readline()
        if text in line:
            return True
    return False


def test_a_second_scheduler_waits_and_takes_over_when_the_first_dies(ctx, app, tmp_path):
    from jobs.scheduler import SchedulerLock

    first = start_holder(tmp_path)
    try:
        assert wait_for_line(first, "HELD")
        second = start_holder(tmp_path)
        try:
            mine = SchedulerLock(app)
            assert not mine.acquire(wait=False)  # held by the first process
            time.sleep(1.0)
            assert second.poll() is None  # still waiting
            first.kill()
            first.wait(10)
            assert wait_for_line(second, "HELD", seconds=30)  # took over
            assert not mine.acquire(wait=False)
        finally:
            second.kill()
            second.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    mine = SchedulerLock(app)
    deadline = time.time() + 15
    while not mine.acquire(wait=False) and time.time() < deadline:
        time.sleep(0.3)
    mine.release()


def test_the_demos_scheduler_holds_its_lock_while_the_demo_runs(ctx, app, tmp_path):
    """`python run.py scheduler` beside the running demo waits and says so, for as long as the
    demo runs (the demo used to drop its lock once its scheduler had started); when the demo is
    killed, the waiting scheduler takes over."""
    from jobs.scheduler import SchedulerLock

    demo = run_py(tmp_path, "serve", "--port", str(free_port()))
    second = None
    try:
        mine, deadline = SchedulerLock(app), time.time() + 60
        while mine.acquire(wait=False):  # not yet taken by the demo
            mine.release()
            if time.time() > deadline or demo.poll() is not None:
                stop(demo)
                pytest.fail("the running demo does not hold the scheduler lock:\n"
                            + demo.stdout.read()[-3000:])
            time.sleep(0.2)
        second = run_py(tmp_path, "scheduler")
        # A loaded machine may take a while to start Python and the app: wait for the line.
        said = "".join(lines_within(second, 90, until="waiting"))
        assert "another scheduler holds the lock; waiting" in said, said
        said += "".join(lines_within(second, 3))  # and it keeps waiting
        assert "scheduler lock acquired" not in said, said
        assert second.poll() is None
        assert not mine.acquire(wait=False)
        stop(demo)
        said = "".join(lines_within(second, 60, until="scheduler lock acquired"))
        assert "scheduler lock acquired" in said, said
    finally:
        stop(demo)
        if second is not None:
            stop(second)
