"""The board (看板): the four columns the users know, scoped to the user, with deadline colours."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.base import db, utcnow
from models.categories import Category, in_category
from models.people.access import ticket_scope
from models.people.user import User
from models.reference_cache import area_rows, category_rows, department_rows, user_rows
from models.settings import setting
from models.tickets.cohandling import tasks_by_ticket
from models.tickets.deadlines import deadline_state, running_deadline
from models.tickets.listing import capped_count, count_cap
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

    # Labels from the reference caches: no query per card.
    @property
    def category_name(self) -> str:
        row = category_rows().get(self.ticket.category_id)
        return row.name if row else ""

    @property
    def place(self) -> str:
        """The grid, or the community when the ticket has no grid."""
        row = area_rows().get(self.ticket.grid_id or self.ticket.community_id)
        return row.name if row else ""

    @property
    def department_name(self) -> str:
        row = department_rows().get(self.ticket.assigned_department_id)
        return row.name if row else ""

    @property
    def assignee_name(self) -> str:
        row = user_rows().get(self.ticket.assigned_user_id)
        return row.display_name if row else ""


@dataclass
class Column:
    key: str
    statuses: tuple
    count: int = 0  # at most count_cap(); past it ``capped``
    capped: bool = False
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
    """Five statements whatever the scope: the counts (capped, ``listing.capped_count``), the
    cards' ids, the cards' tickets, their supervision, their co-handling tasks. Names come from
    the reference caches (Card)."""
    now = now or utcnow()
    stalled_after = timedelta(hours=setting("STALLED_AFTER_HOURS", 48))
    since = now - timedelta(days=RECENTLY_CLOSED_DAYS)
    conditions = _conditions(user, filters)
    wheres = []
    for key, statuses in COLUMNS:
        where = conditions + [Ticket.status.in_(statuses)]
        if key == "closed":
            where.append(Ticket.closed_at >= since)
        wheres.append(where)
    cap = count_cap()
    counts = db.session.execute(sa.select(*(
        capped_count(sa.select(Ticket.id).where(*where), cap) for where in wheres))).one()
    ids = _card_ids(wheres)
    tickets = {t.id: t for t in db.session.execute(
        sa.select(Ticket).where(Ticket.id.in_([i for column in ids for i in column]))
        .options(selectinload(Ticket.supervision))).scalars()} if any(ids) else {}
    tasks = tasks_by_ticket(tickets)
    columns = []
    for (key, statuses), count, column_ids in zip(COLUMNS, counts, ids):
        column = Column(key, statuses, min(count, cap), capped=count > cap)
        column.cards = [Card(t, deadline_state(t, now),
                             key != "closed" and now - t.last_activity_at > stalled_after,
                             tasks[t.id])
                        for t in (tickets[i] for i in column_ids)]
        columns.append(column)
    return columns


def _card_ids(wheres: list) -> list[list[int]]:
    """Each column's first CARDS_PER_COLUMN ticket ids in its order, in one statement."""
    parts = []
    for n, ((key, _statuses), where) in enumerate(zip(COLUMNS, wheres)):
        sort = Ticket.closed_at if key == "closed" else Ticket.last_activity_at
        part = (sa.select(Ticket.id, sort.label("sort"))
                .where(*where).order_by(sort.desc() if key == "closed" else sort.asc(), Ticket.id)
                .limit(CARDS_PER_COLUMN).subquery())
        parts.append(sa.select(sa.literal(n).label("column"), part.c.id, part.c.sort))
    rows: list[list] = [[] for _ in COLUMNS]
    for column, ticket_id, sort in db.session.execute(sa.union_all(*parts)):
        rows[column].append((ticket_id, sort))
    found = []
    for (key, _statuses), column in zip(COLUMNS, rows):
        column.sort()  # by id, then (stable) by the column's order: the ORDER BY above
        column.sort(key=lambda row: row[1], reverse=key == "closed")
        found.append([ticket_id for ticket_id, _sort in column])
    return found
