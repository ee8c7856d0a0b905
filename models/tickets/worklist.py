"""A field worker's own work list (the phone inbox) and their month in numbers.

"My tasks" are the tickets assigned to the person, or waiting in their department's queue —
never merely the ones they reported themselves — always inside models.people.access's scope.
Due-soon and on-time follow models.tickets.deadlines (the one definition of yellow, red and
"in time").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from models.base import db
from models.clock import local_zone, to_local
from models.people.access import ticket_scope
from models.people.user import User
from models.tickets.co_tasks import co_handled_by
from models.tickets.deadlines import RED, YELLOW, deadline_state_sql
from models.tickets.records import ticket_list_loads
from models.tickets.supervision import under_supervision
from models.tickets.tables import Ticket, TicketEvent
from models.vocabulary import OPEN_STATUSES, Role, TicketStatus

PENDING, IN_PROGRESS, REWORK, DUE_SOON = "pending", "in_progress", "rework", "due_soon"
SUPERVISED = "supervised"  # 督办: my cases being worked on that a higher level supervises now
CO_HANDLING = "co_handling"  # 协办: open cases on which the user's department owes a task
INBOX_TABS = (PENDING, IN_PROGRESS, REWORK, DUE_SOON, SUPERVISED)
WORKING_STATUSES = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS)


def my_tasks(user: User) -> sa.ColumnElement[bool]:
    """SQL: tickets assigned to this person or waiting in their department's queue."""
    mine = [Ticket.assigned_user_id == user.id]
    # Only handlers work from their department's queue (as in access.ticket_scope); a grid
    # worker's department is their community office, whose queue is the office's.
    if user.role == Role.HANDLER and user.department_id is not None:
        mine.append(sa.and_(Ticket.assigned_department_id == user.department_id,
                            Ticket.assigned_user_id.is_(None)))
    return sa.and_(ticket_scope(user), sa.or_(*mine))


def tab_condition(tab: str, now: datetime) -> sa.ColumnElement[bool]:
    """待受理: not yet accepted; 处理中: being handled; 审核退回: sent back by review (or reopened)
    and being handled again; 即将超期: yellow or red on its running deadline; 督办: not yet
    submitted and under supervision now (any level, models.tickets.supervision)."""
    if tab == PENDING:
        return Ticket.status == TicketStatus.PENDING
    if tab == IN_PROGRESS:
        return sa.and_(Ticket.status == TicketStatus.IN_PROGRESS, Ticket.rework_count == 0)
    if tab == REWORK:
        return sa.and_(Ticket.status == TicketStatus.IN_PROGRESS, Ticket.rework_count > 0)
    if tab == DUE_SOON:
        return sa.and_(Ticket.status.in_(WORKING_STATUSES),
                       deadline_state_sql(now).in_((YELLOW, RED)))
    if tab == SUPERVISED:
        return sa.and_(Ticket.status.in_(WORKING_STATUSES), under_supervision())
    raise ValueError(tab)


def running_deadline_sql():
    return sa.case((Ticket.status == TicketStatus.PENDING, Ticket.accept_deadline),
                   else_=Ticket.handle_deadline)


def co_handling_tasks(user: User) -> sa.ColumnElement[bool]:
    """SQL: open cases in the user's scope on which their department owes a co-handling task."""
    if user.department_id is None:
        return sa.false()
    return sa.and_(ticket_scope(user), Ticket.status.in_(OPEN_STATUSES),
                   co_handled_by(user.department_id, still_owed=True))


def inbox_tabs(user: User) -> tuple[str, ...]:
    """The inbox's tabs for this user: a handler's department may be called in to co-handle."""
    return INBOX_TABS + ((CO_HANDLING,) if user.role == Role.HANDLER else ())


def _tab_tickets(user: User, tab: str, now: datetime) -> sa.ColumnElement[bool]:
    if tab == CO_HANDLING:
        return co_handling_tasks(user)
    return sa.and_(my_tasks(user), tab_condition(tab, now))


INBOX_LIMIT = 100  # tickets a tab shows, the most urgent (the page says when there are more)


def inbox(user: User, tab: str, now: datetime, limit: int | None = None) -> list[Ticket]:
    """One tab of the inbox, most urgent first (nearest running deadline, then oldest)."""
    deadline = running_deadline_sql()
    return list(db.session.execute(
        sa.select(Ticket).where(_tab_tickets(user, tab, now))
        .order_by(deadline.is_(None), deadline, Ticket.id).limit(limit or INBOX_LIMIT)
        .options(*ticket_list_loads(("grid",)))).scalars())


def inbox_counts(user: User, now: datetime) -> dict[str, int]:
    """How many tickets each tab holds (one query)."""
    row = db.session.execute(sa.select(*(
        sa.func.count().filter(tab_condition(tab, now)).label(tab) for tab in INBOX_TABS
    )).select_from(Ticket).where(my_tasks(user))).one()
    counts = {tab: int(getattr(row, tab) or 0) for tab in INBOX_TABS}
    if CO_HANDLING in inbox_tabs(user):
        counts[CO_HANDLING] = db.session.execute(sa.select(sa.func.count()).select_from(Ticket)
                                                 .where(co_handling_tasks(user))).scalar_one()
    return counts


def is_my_task(user: User, ticket: Ticket) -> bool:
    return db.session.execute(sa.select(Ticket.id).where(
        Ticket.id == ticket.id, my_tasks(user))).first() is not None


# --- 我的本月 ------------------------------------------------------------------------------------
@dataclass
class MyMonth:
    start: datetime
    accepted: int = 0          # tickets this person accepted this month
    submitted: int = 0         # results they submitted
    submitted_in_time: int = 0  # … at or before the handling deadline (deadlines.in_time)
    closed: int = 0            # their results approved this month
    sent_back: int = 0         # their results sent back for rework this month
    average_hours: float | None = None  # accepted → submitted, over this month's submits
    open_now: int = 0          # tickets in their hands now

    @property
    def on_time_share(self) -> float | None:
        return self.submitted_in_time / self.submitted if self.submitted else None


def month_start(now: datetime) -> datetime:
    local = to_local(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def my_month(user: User, now: datetime) -> MyMonth:
    """This calendar month (local time) of one field worker, from the timeline."""
    start = month_start(now).astimezone(local_zone())
    result = MyMonth(start=start)
    mine = sa.and_(TicketEvent.actor_user_id == user.id, TicketEvent.created_at >= start,
                   TicketEvent.created_at <= now)
    counts = dict(db.session.execute(
        sa.select(TicketEvent.action, sa.func.count()).where(
            mine, TicketEvent.action.in_(("accept", "submit"))).group_by(TicketEvent.action)).all())
    result.accepted, result.submitted = counts.get("accept", 0), counts.get("submit", 0)
    submits = db.session.execute(
        sa.select(TicketEvent.created_at, TicketEvent.details, Ticket.accepted_at)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(mine, TicketEvent.action == "submit")).all()
    result.submitted_in_time = sum(1 for _at, details, _acc in submits
                                   if (details or {}).get("in_time", True))
    spans = [(at - accepted) for at, _details, accepted in submits if accepted and at >= accepted]
    if spans:
        result.average_hours = sum(spans, timedelta()).total_seconds() / 3600 / len(spans)
    decided = dict(db.session.execute(
        sa.select(TicketEvent.action, sa.func.count())
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.submitted_by_id == user.id, TicketEvent.created_at >= start,
               TicketEvent.created_at <= now, TicketEvent.action.in_(("approve", "reject")))
        .group_by(TicketEvent.action)).all())
    result.closed, result.sent_back = decided.get("approve", 0), decided.get("reject", 0)
    result.open_now = db.session.execute(sa.select(sa.func.count()).select_from(Ticket).where(
        my_tasks(user), Ticket.status.in_(WORKING_STATUSES))).scalar() or 0
    return result
