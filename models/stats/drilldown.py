"""The tickets behind a statistics figure: those with a counted fact of that measure on those
local days (for that department or person), read from the same facts the figures sum up.

Two kinds of figures:

* figures of TICKETS (``TICKET_MEASURES``: received, merged, invalidated, found on patrol): a
  ticket has at most one such fact, so the figure is a number of tickets. It links to the ticket
  list filtered by ``figure_key(...)`` (read back with ``parse_figure_key``, filtered by
  ``figure_condition``), which holds exactly that many tickets.
* figures of EVENTS (every other counted measure: dispatches, closures, reworks, returns,
  reopenings, escalations, overdue marks, ratings …): one ticket can count several times, so the
  tickets behind the figure may be fewer than the figure. ``figure_tickets`` says both numbers
  ("7 次退回，涉及 5 件工单") and lists each ticket with its count, read from the same facts
  and the same scope the figure sums."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from models.base import db

from models.people.access import ticket_scope
from models.people.user import User
from models.stats.scope import filters, summed
from models.stats.tables import MEASURES, StatsFact
from models.tickets.tables import Ticket

# Durations are summed, not counted: a figure of tickets never stands on them alone.
COUNTED = tuple(m for m in MEASURES if not m.endswith("_seconds") and m != "rating_sum")
# At most one fact per ticket: the figure counts tickets (facts.py writes each once).
TICKET_MEASURES = ("received", "merged", "invalidated", "patrol_found")
# What one event of each other measure is called in "7 次退回，涉及 5 件工单".
EVENT_NAMES = {
    "dispatched": "派单", "accepted": "签收", "accepted_in_time": "按时签收", "closed": "办结",
    "closed_in_time": "按期办结", "rework": "审核退回", "returned": "退回", "reopened": "重新打开",
    "escalated": "上报上级", "rated": "评价", "satisfied": "满意评价（4 星及以上）",
    "rated_by_reporter": "群众自评", "follow_ups": "回访评价", "overdue_marked": "超期",
    "co_handled": "协办任务", "co_handled_done": "协办完成", "co_handled_in_time": "协办按期完成",
    "closed_rated": "已评价的办结",
}
LISTED_AT_MOST = 500
_PATTERN = re.compile(r"^(?P<measure>[a-z_]+):(?P<start>\d{4}-\d{2}-\d{2}):(?P<end>\d{4}-\d{2}-\d{2})"
                      r"(?::d(?P<department>\d{1,9}))?(?::u(?P<user>\d{1,9}))?$")


@dataclass(frozen=True)
class FigureKey:
    measure: str
    start: date
    end: date
    department_id: int | None = None
    user_id: int | None = None


def figure_key(measure: str, start: date, end: date, department_id: int | None = None,
               user_id: int | None = None) -> str:
    if measure not in COUNTED:
        raise ValueError(f"not a counted measure: {measure}")
    text = f"{measure}:{start.isoformat()}:{end.isoformat()}"
    if department_id:
        text += f":d{department_id}"
    if user_id:
        text += f":u{user_id}"
    return text


def parse_figure_key(text: str) -> FigureKey | None:
    """The key in a list URL, or None when it is not one (a hand-edited URL)."""
    match = _PATTERN.match((text or "").strip())
    if match is None or match["measure"] not in COUNTED:
        return None
    try:
        start, end = date.fromisoformat(match["start"]), date.fromisoformat(match["end"])
    except ValueError:
        return None
    if start > end:
        return None
    return FigureKey(match["measure"], start, end,
                     int(match["department"]) if match["department"] else None,
                     int(match["user"]) if match["user"] else None)


def figure_condition(key: FigureKey) -> sa.ColumnElement[bool]:
    """SQL condition on Ticket: it has a fact of this measure in the key's days and unit."""
    facts = sa.select(StatsFact.ticket_id).where(
        getattr(StatsFact, key.measure) > 0, StatsFact.day >= key.start, StatsFact.day <= key.end)
    if key.department_id:
        facts = facts.where(StatsFact.department_id == key.department_id)
    if key.user_id:
        facts = facts.where(StatsFact.user_id == key.user_id)
    return Ticket.id.in_(facts)


def counts_tickets(measure: str) -> bool:
    """The figure of this measure is a number of tickets (else a number of events)."""
    return measure in TICKET_MEASURES


@dataclass
class FigureTickets:
    """The tickets behind one figure of events: how many events, on how many tickets, and the
    tickets (most events first) that the user's ticket list shows, each with its count."""
    measure: str
    events: int
    tickets: int
    rows: list  # (Ticket, events) pairs, at most LISTED_AT_MOST
    not_shown: int  # counted tickets the user may not open (no longer theirs, another unit's)

    @property
    def event_name(self) -> str:
        return EVENT_NAMES.get(self.measure, self.measure)


def figure_tickets(user: User, key: FigureKey, *, area=None, category=None,
                   limit: int = LISTED_AT_MOST) -> FigureTickets:
    """The facts of the key's measure on its days in the user's statistics scope (and the area,
    category, department and person asked for): the same rows the figure sums up."""
    column = getattr(StatsFact, key.measure)
    where = [column > 0, *filters(user, StatsFact, key.start, key.end, area, category)]
    if key.department_id:
        where.append(StatsFact.department_id == key.department_id)
    if key.user_id:
        where.append(StatsFact.user_id == key.user_id)
    events, tickets = db.session.execute(
        sa.select(summed(column),
                  sa.func.count(sa.distinct(StatsFact.ticket_id))).where(*where)).one()
    per_ticket = (sa.select(StatsFact.ticket_id, summed(column).label("n"))
                  .where(*where).group_by(StatsFact.ticket_id).subquery())
    visible = (sa.select(Ticket, per_ticket.c.n)
               .join(per_ticket, per_ticket.c.ticket_id == Ticket.id).where(ticket_scope(user)))
    listed = visible.options(joinedload(Ticket.grid), joinedload(Ticket.category))
    shown = db.session.execute(sa.select(sa.func.count())
                               .select_from(visible.subquery())).scalar_one()
    rows = [(ticket, int(n)) for ticket, n in db.session.execute(
        listed.order_by(per_ticket.c.n.desc(), Ticket.id.desc()).limit(limit))]
    return FigureTickets(key.measure, int(events), int(tickets), rows, int(tickets) - shown)
