"""Issue 9: one definition of overdue (board, home, list, API, sweep agree; SQL = Python on both
databases) and one deadline function (dispatch, assign, transfer, escalate, return, reopen and a
priority change all apply the rule's override and the priority)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from jobs.sweeps import deadline_sweep
from models import (DeadlineUnit, DispatchRule, Priority, Ticket, TicketEvent, TicketStatus, db,
                    utcnow)
from models.tickets.board import BoardFilters, build_board
from models.tickets.deadlines import (PAUSED, RED, YELLOW, deadline_state, deadline_state_sql,
                                      handling_warning_due, invalidate_calendar, overdue_condition)
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

SH = ZoneInfo("Asia/Shanghai")
GRID1 = (120.004, 30.006)


@pytest.fixture()
def world(world):
    invalidate_calendar()
    return world


def this_monday() -> datetime:
    """09:00 on the Monday of the latest week whose five weekdays are all working days: recent
    enough for the reopen window, and no holiday moves the deadlines the tests expect (during
    the Spring Festival or National Day this is the week before)."""
    from models.tickets.deadlines import work_calendar

    today = utcnow().astimezone(SH).date()
    monday = today - timedelta(days=today.weekday())
    calendar = work_calendar()
    while not all(calendar.is_workday(monday + timedelta(days=d)) for d in range(5)):
        monday -= timedelta(days=7)
    return datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=SH)


def report(world, when: datetime, priority: Priority = Priority.NORMAL) -> Ticket:
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=GRID1[0], lat=GRID1[1], priority=priority), now=when).ticket
    db.session.commit()
    return ticket


def do(ticket, action, world, who, now, **params):
    actor = Actor.system() if who is None else Actor.staff(world.users[who])
    perform(ticket, action, actor, expected_version=ticket.version, now=now, **params)
    db.session.commit()


# --- the SQL form and the Python form agree ----------------------------------------------------

def tickets_in_every_state(world, start: datetime) -> dict[str, Ticket]:
    """Tickets in every state, moved there by the workflow (escalated, extended, reopened…)."""
    hour = timedelta(hours=1)
    t = {name: report(world, start + i * timedelta(minutes=7)) for i, name in enumerate((
        "pending", "in_progress", "review", "closed", "suspended_pending", "suspended_handling",
        "invalid", "escalated", "escalated_late", "extended", "reopened", "returned",
        "no_deadline"))}
    for name in ("in_progress", "review", "closed", "suspended_handling", "escalated_late",
                 "extended", "reopened"):
        do(t[name], "accept", world, "gridworker", start + hour)
    do(t["review"], "submit", world, "gridworker", start + 2 * hour, note="已清运",
       attachments=[_after_photo()])
    for name in ("closed", "reopened"):
        do(t[name], "submit", world, "gridworker", start + 2 * hour, note="已清运",
           attachments=[_after_photo()])
        do(t[name], "approve", world, "community", start + 3 * hour)
    do(t["reopened"], "reopen", world, "community", start + 4 * hour, note="又满了")
    do(t["suspended_pending"], "suspend", world, "community", start + hour, note="等待回复")
    do(t["suspended_handling"], "suspend", world, "community", start + 30 * hour, note="等待回复")
    do(t["invalid"], "invalidate", world, "community", start + hour, note="重复上报")
    do(t["escalated"], "escalate", world, "gridworker", start + hour, note="需要社区协调")
    # In progress past its handling deadline, then escalated on timeout by the sweep.
    late = t["escalated_late"].handle_deadline + timedelta(minutes=5)
    deadline_sweep(late)
    assert t["escalated_late"].status == TicketStatus.PENDING
    do(t["extended"], "request_extension", world, "gridworker", start + 2 * hour,
       until=(t["extended"].handle_deadline + timedelta(days=3)).isoformat(), note="需要配件")
    do(t["extended"], "approve_extension", world, "street", start + 3 * hour)
    do(t["returned"], "return", world, "gridworker", start + 2 * hour, note="不归网格管")
    t["no_deadline"].accept_deadline = t["no_deadline"].handle_deadline = None
    db.session.commit()
    return t


def _after_photo():
    from models import AttachmentKind
    from models.tickets.attachments import Upload

    from .test_workflow import photo_bytes

    return Upload(AttachmentKind.AFTER, "after.jpg", photo_bytes())


def test_sql_and_python_say_the_same_for_every_state_at_every_moment(world):
    start = this_monday()
    made = tickets_in_every_state(world, start)
    ids = [t.id for t in made.values()]
    seen = set()
    moments = [start + timedelta(minutes=m) for m in (30, 100, 115, 200, 600, 1500, 2000, 2900)]
    moments += [start + timedelta(days=d) for d in (2, 4, 9, 30)]
    for now in moments:
        db.session.expire_all()
        tickets = db.session.execute(sa.select(Ticket).where(Ticket.id.in_(ids))).scalars().all()
        python = {t.id: deadline_state(t, now) for t in tickets}
        sql = dict(db.session.execute(
            sa.select(Ticket.id, deadline_state_sql(now)).where(Ticket.id.in_(ids))).all())
        assert sql == python, now
        late = set(db.session.execute(sa.select(Ticket.id).where(
            Ticket.id.in_(ids), overdue_condition(now))).scalars())
        on_time = set(db.session.execute(sa.select(Ticket.id).where(
            Ticket.id.in_(ids), overdue_condition(now, overdue=False))).scalars())
        assert late == {i for i, state in python.items() if state == RED}, now
        assert late | on_time == set(ids) and not late & on_time
        warned = set(db.session.execute(sa.select(Ticket.id).where(
            Ticket.id.in_(ids), handling_warning_due(now))).scalars())
        assert warned == {t.id for t in tickets if python[t.id] == YELLOW
                          and t.status in (TicketStatus.IN_PROGRESS, TicketStatus.PENDING_REVIEW)}
        seen |= set(python.values())
    assert seen == {"green", "yellow", "red", "paused", None}  # every colour was compared
    assert python[made["suspended_handling"].id] == PAUSED  # suspended past its deadline


# --- board, home, list and API agree --------------------------------------------------------

def board_state(client, ticket) -> str:
    html = client.get("/admin/board/").get_data(as_text=True)
    match = re.search(r'gd-card gd-card-(\w+)[^"]*" href="[^"]*details/\?id=%d"' % ticket.id, html)
    assert match, f"{ticket.number} is not on the board"
    return match.group(1)


def home_overdue(client) -> int:
    html = client.get("/admin/").get_data(as_text=True)
    return int(re.search(r'gd-stat-number text-danger">(\d+)</div><div class="text-muted">超期',
                         html).group(1))


def listed_overdue(client) -> set[str]:
    page = client.get("/admin/ticket/").get_data(as_text=True)
    from .test_ticket_list import listed

    html = client.get("/admin/ticket/?" + overdue_filter_arg(page)).get_data(as_text=True)
    return set(listed(html))


def overdue_filter_arg(list_html: str) -> str:
    from .test_ticket_list import filter_indexes

    return f"flt0_{filter_indexes(list_html)['超期']}=1"


def api_overdue(app, flag: str) -> set[str]:
    from .test_api import auth, token_for

    client = app.test_client()
    body = client.get(f"/api/v1/tickets?overdue={flag}&limit=100",
                      headers=auth(token_for(client, "street"))).get_json()
    return {item["number"] for item in body["items"]}


def test_an_escalated_ticket_is_not_overdue_anywhere_and_a_late_one_is_overdue_everywhere(
        world, login_as, app):
    now = utcnow()
    # Two weeks: longer than any run of days off (the Spring Festival with its weekends), so
    # a deadline in working days has passed whatever day the tests run.
    reported = now - timedelta(days=14)
    # Reported then, accepted, never handled: past its handling deadline.
    late = report(world, reported)
    do(late, "accept", world, "gridworker", reported + timedelta(minutes=5))
    # The same, then escalated by the grid worker just now: a new owner, new deadlines.
    escalated = report(world, reported)
    do(escalated, "accept", world, "gridworker", reported + timedelta(minutes=5))
    do(escalated, "escalate", world, "gridworker", now - timedelta(minutes=1), note="需社区协调")
    # And one suspended after its deadline: its clock is paused.
    paused = report(world, reported)
    do(paused, "accept", world, "gridworker", reported + timedelta(minutes=5))
    do(paused, "suspend", world, "street", now - timedelta(hours=1), note="等待业主")

    client = login_as("street")
    assert board_state(client, late) == "red"
    assert board_state(client, escalated) == "green"
    assert board_state(client, paused) == "paused"
    assert home_overdue(client) == 1
    assert listed_overdue(client) == {late.number}
    assert api_overdue(app, "true") == {late.number}
    assert api_overdue(app, "false") == {escalated.number, paused.number}
    assert escalated.status == TicketStatus.PENDING and escalated.handle_deadline > now


# --- one deadline function ------------------------------------------------------------------

@pytest.fixture()
def override(world):
    """The garbage rule of the district with its own deadlines: 2 h to accept, 8 h to handle."""
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    rule.accept_deadline, rule.accept_deadline_unit = 2, DeadlineUnit.NATURAL_HOURS
    rule.handle_deadline, rule.handle_deadline_unit = 8, DeadlineUnit.NATURAL_HOURS
    db.session.commit()
    return rule


def deadlines_from(ticket, now):
    return ticket.accept_deadline - now, ticket.handle_deadline - now


URGENT = (timedelta(hours=1), timedelta(hours=4))  # the rule's 2 h and 8 h, halved


@pytest.mark.parametrize("step", ["assign", "transfer", "escalate", "return"])
def test_a_new_owner_gets_the_rules_deadlines_scaled_by_priority(world, override, step):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    ticket = report(world, start, Priority.URGENT)
    assert deadlines_from(ticket, start) == URGENT  # dispatch
    now = start + timedelta(hours=2)
    params = {"assign": ("community", {"user_id": world.users["gridworker2"].id}),
              "transfer": ("street", {"department_id": world.departments["sanitation"].id,
                                      "note": "环卫负责"}),
              "escalate": ("gridworker", {"note": "需社区协调"}),
              "return": ("gridworker", {"note": "不归网格管"})}[step]
    do(ticket, step, world, params[0], now, **params[1])
    assert ticket.status == TicketStatus.PENDING
    assert deadlines_from(ticket, now) == URGENT
    assert ticket.deadlines_from == now


def test_a_reopened_case_gets_the_rules_handling_deadline(world, override):
    start = this_monday() - timedelta(days=7)
    ticket = report(world, start, Priority.URGENT)
    do(ticket, "accept", world, "gridworker", start + timedelta(minutes=5))
    do(ticket, "submit", world, "gridworker", start + timedelta(hours=1), note="已清运",
       attachments=[_after_photo()])
    do(ticket, "approve", world, "community", utcnow() - timedelta(hours=1))
    reopened = utcnow()
    do(ticket, "reopen", world, "community", reopened, note="又满了")
    assert ticket.handle_deadline - reopened == URGENT[1]


def test_escalation_on_timeout_restarts_the_clock_for_the_new_owner(world):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    ticket = report(world, start)
    do(ticket, "accept", world, "gridworker", start + timedelta(minutes=5))
    now = ticket.handle_deadline + timedelta(minutes=1)
    assert deadline_sweep(now) == {"warned": 0, "overdue": 1, "escalated": 1}
    assert ticket.status == TicketStatus.PENDING
    assert ticket.assigned_department_id == world.departments["office1"].id
    assert ticket.handle_deadline > now and ticket.accept_deadline > now
    assert deadline_state(ticket, now) == "green"
    assert ticket.overdue_at is None and ticket.warned_at is None  # the new owner is warned anew
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket).where(
        overdue_condition(now))).scalar_one() == 0


def test_the_systems_deadline_marks_are_not_activity_so_a_neglected_ticket_stays_stalled(world):
    """The sweep's warning and overdue mark are events on the timeline, but nobody touched the
    ticket: the board keeps it stalled and first in its column (most neglected first). A
    person's step, or an escalation that hands it to someone else, is activity."""
    world.categories["garbage"].escalate_when_overdue = False
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
    neglected, worked = report(world, start), report(world, start)
    accepted = start + timedelta(minutes=5)
    for ticket in (neglected, worked):
        do(ticket, "accept", world, "gridworker", accepted)
    assert neglected.last_activity_at == accepted
    warn_at = accepted + (neglected.handle_deadline - accepted) * 0.9
    assert deadline_sweep(warn_at)["warned"] == 2
    late = neglected.handle_deadline + timedelta(days=3)
    do(worked, "note", world, "gridworker", late - timedelta(hours=1), note="已联系环卫")
    assert deadline_sweep(late) == {"warned": 0, "overdue": 2, "escalated": 0}
    db.session.expire_all()

    assert db.session.execute(sa.select(TicketEvent.action).where(
        TicketEvent.ticket_id == neglected.id).order_by(TicketEvent.seq)).scalars().all()[-2:] == [
        "deadline_warning", "overdue"]
    assert db.session.get(Ticket, neglected.id).last_activity_at == accepted
    assert db.session.get(Ticket, worked.id).last_activity_at == late - timedelta(hours=1)
    column = {c.key: c for c in build_board(world.users["admin"], BoardFilters(), now=late)}
    cards = {card.ticket.id: card for card in column["in_progress"].cards}
    assert cards[neglected.id].stalled and not cards[worked.id].stalled
    assert [card.ticket.id for card in column["in_progress"].cards][:2] == [neglected.id, worked.id]

    world.categories["garbage"].escalate_when_overdue = True  # handed up: the new holder's clock
    db.session.commit()
    again = report(world, start)
    do(again, "accept", world, "gridworker", accepted)
    later = again.handle_deadline + timedelta(minutes=1)
    assert deadline_sweep(later)["escalated"] == 1
    assert db.session.get(Ticket, again.id).last_activity_at == later
