"""Which level solves it (哪一级办结): per category, at which level its cases were actually closed
over the last months, beside the level the category says should normally solve them — so the
office sees where cases climb (seed 2: what the community should solve itself, what goes to the
street and the district).

The level a case was closed at is the level holding it when it closed (``Ticket.current_level``,
moved by dispatch, assignment, transfer and escalation)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from models.base import db, utcnow
from models.categories import Category
from models.tickets.tables import Ticket
from models.vocabulary import AREA_LEVELS, AreaLevel, HandlingLevel, TicketStatus


def expected_level(level: HandlingLevel) -> AreaLevel:
    return AreaLevel(level.value)


@dataclass
class CategoryLevels:
    category: Category
    closed: Counter = field(default_factory=Counter)  # AreaLevel → cases closed there

    @property
    def expected(self) -> AreaLevel:
        return expected_level(self.category.handling_level)

    @property
    def total(self) -> int:
        return sum(self.closed.values())

    @property
    def climbed(self) -> int:
        """Cases closed above the level the category says (a lower depth is higher up)."""
        return sum(n for level, n in self.closed.items() if level.depth < self.expected.depth)

    @property
    def climbed_share(self) -> float:
        return self.climbed / self.total if self.total else 0.0

    def share(self, level: AreaLevel) -> float:
        return self.closed[level] / self.total if self.total else 0.0


def closing_levels(categories: list[Category], months: int = 6,
                   scope: sa.ColumnElement[bool] | None = None,
                   now: datetime | None = None) -> list[CategoryLevels]:
    """For each category (a top-level one counts its sub-categories' cases too), the cases
    closed in the last ``months`` months (30 days each) inside ``scope``, by level."""
    since = (now or utcnow()) - timedelta(days=30 * months)
    query = (sa.select(Ticket.category_id, Ticket.current_level, sa.func.count())
             .where(Ticket.status == TicketStatus.CLOSED, Ticket.closed_at >= since)
             .group_by(Ticket.category_id, Ticket.current_level))
    if scope is not None:
        query = query.where(scope)
    counts: dict[int, Counter] = {}
    for category_id, level, n in db.session.execute(query):
        counts.setdefault(category_id, Counter())[AreaLevel(level)] += n
    rows = []
    for category in categories:
        row = CategoryLevels(category)
        for category_id in [category.id] + [c.id for c in getattr(category, "children", []) or []]:
            row.closed.update(counts.get(category_id, Counter()))
        rows.append(row)
    return rows


LEVELS_SHOWN = AREA_LEVELS
