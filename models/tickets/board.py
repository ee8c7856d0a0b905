"""The board (看板): the four columns the users know, scoped to the user, with deadline colours."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.base import db, utcnow
from models.categories import Category, in_category
from models.people.access import ticket_scope
from models.people.user import User
from models.settings import setting
from models.tickets.cohandling import tasks_by_ticket
from models.tickets.deadlines import deadline_state, running_deadline
from models.tickets.records import ticket_list_loads
from models.tickets.supervision import under_supervision
from models.tickets.tables import Ticket
from models.vocabulary import TicketStatus

CARDS_PER_COLUMN = 30
RECENTLY_CLOSED_DAYS = 7
COLUMNS = (
    ("pending", (TicketStatus.PENDING,)),
    ("in_progress", (TicketStatus.IN_PROGRESS, TicketStatus.SUSPENDED)),
    ("pending_review", (TicketStatus.PENDING_REVIEW,)),
    ("closed", (TicketStatus.CLOSED,)),
)


@dataclass
class Card:
    ticket: Ticket
    state: str | None  # green / yellow / red / paused (deadline_state), None when closed
    stalled: bool
    tasks: list = field(default_factory=list)  # co-handling tasks (主办/协办), a badge each

    @property
    def due(self) -> datetime | None:
        """The deadline the card's colour is measured against."""
        return running_deadline(self.ticket)


@dataclass
class Column:
    key: str
    statuses: tuple
    count: int = 0
    cards: list[Card] = field(default_factory=list)


@dataclass
class BoardFilters:
    area: Area | None = None
    category: Category | None = None
    department_id: int | None = None
    supervised: bool = False  # only tickets under supervision (督办)


def _conditions(user: User, filters: BoardFilters) -> list:
    conditions = [ticket_scope(user)]
    if filters.area is not None:
        conditions.append(getattr(Ticket, LEVEL_COLUMN[filters.area.level]) == filters.area.id)
    if filters.category is not None:
        conditions.append(in_category(filters.category.id))
    if filters.department_id:
        conditions.append(Ticket.assigned_department_id == filters.department_id)
    if filters.supervised:
        conditions.append(under_supervision())
    return conditions


def build_board(user: User, filters: BoardFilters, now: datetime | None = None) -> list[Column]:
    now = now or utcnow()
    stalled_after = timedelta(hours=setting("STALLED_AFTER_HOURS", 48))
    since = now - timedelta(days=RECENTLY_CLOSED_DAYS)
    conditions = _conditions(user, filters)
    columns = []
    for key, statuses in COLUMNS:
        where = conditions + [Ticket.status.in_(statuses)]
        if key == "closed":
            where.append(Ticket.closed_at >= since)
        column = Column(key, statuses)
        column.count = db.session.execute(
            sa.select(sa.func.count()).select_from(Ticket).where(*where)).scalar_one()
        order = Ticket.closed_at.desc() if key == "closed" else Ticket.last_activity_at.asc()
        tickets = db.session.execute(
            sa.select(Ticket).where(*where).order_by(order, Ticket.id).limit(CARDS_PER_COLUMN)
            .options(*ticket_list_loads(("community", "grid")))).scalars().all()
        tasks = tasks_by_ticket(t.id for t in tickets)
        column.cards = [Card(t, deadline_state(t, now),
                             key != "closed" and now - t.last_activity_at > stalled_after,
                             tasks[t.id])
                        for t in tickets]
        columns.append(column)
    return columns
