"""The ticket list's filters and search as SQL conditions: one definition for the list page and
for every export of it ("export everything the list shows" runs later, in another thread or
process, from the same named filters).

A filter is a name and a value that JSON can carry: ``("status", "pending")``,
``("community", 12)``, ``("category", 3)``, ``("overdue", "1")``,
``("created", ["2026-01-01", "2026-01-31"])``, ``("closed", [...])``,
``("co_handling", 7)`` (协办: department 7 owes a co-handling task on the ticket).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone

import sqlalchemy as sa

from models.base import utcnow
from models.categories import in_category
from models.clock import local_day_start, local_zone
from models.people.phones import phone_search_key
from models.settings import setting
from models.tickets.co_tasks import co_handled_by
from models.tickets.deadlines import overdue_condition
from models.tickets.tables import Ticket

EQUAL_COLUMNS = {
    "status": Ticket.status, "priority": Ticket.priority, "source": Ticket.source,
    "district": Ticket.district_id, "street": Ticket.street_id,
    "community": Ticket.community_id, "grid": Ticket.grid_id,
    "department": Ticket.assigned_department_id, "assignee": Ticket.assigned_user_id}
DAY_RANGES = {"created": Ticket.created_at, "closed": Ticket.closed_at}
FILTER_NAMES = frozenset(EQUAL_COLUMNS) | frozenset(DAY_RANGES) | {"category", "overdue",
                                                                   "figure", "co_handling",
                                                                   "supervision"}


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def on_local_days(column, start, end) -> sa.ColumnElement[bool]:
    """``column`` (a time) falls on one of these local calendar days (GRIDDESK_TIMEZONE), both
    ends included."""
    start_at = local_day_start(_day(start)).astimezone(timezone.utc)
    end_at = datetime.combine(_day(end), time.max, local_zone()).astimezone(timezone.utc)
    return column.between(start_at, end_at)


def list_filter(name: str, value) -> sa.ColumnElement[bool]:
    """The list filter ``name`` with its (cleaned) value as a condition on tickets."""
    if name in EQUAL_COLUMNS:
        return EQUAL_COLUMNS[name] == value
    if name == "category":
        return in_category(int(value))
    if name == "overdue":
        return overdue_condition(utcnow(), overdue=str(value) == "1")
    if name == "co_handling":  # the department's co-handling queue: tasks it still owes
        return co_handled_by(int(value), still_owed=True)
    if name in DAY_RANGES:
        start, end = value
        return on_local_days(DAY_RANGES[name], start, end)
    if name == "supervision":  # under supervision (督办) now: "any" or one level
        from models.tickets.supervision import under_supervision

        return under_supervision(None if value == "any" else value)
    if name == "figure":  # the tickets behind a statistics figure
        from models.stats.drilldown import figure_condition, parse_figure_key

        key = parse_figure_key(value)
        if key is None:
            raise ValueError(f"not a statistics figure: {value!r}")
        return figure_condition(key)
    raise ValueError(f"unknown ticket list filter {name!r}")


def figure_key_valid(value) -> bool:
    """The "figure" filter's value names a statistics figure (models.stats.drilldown)."""
    from models.stats.drilldown import parse_figure_key

    return parse_figure_key(value) is not None


def list_search(term: str) -> sa.ColumnElement[bool]:
    """Index-friendly search: exact number / phone, otherwise words in title, address, number."""
    term = term.strip()
    if re.fullmatch(r"(?i)GD\d{8,}", term):
        return Ticket.number == term.upper()
    if re.fullmatch(r"\+?\d[\d\- ]{5,}", term):
        return Ticket.reporter_phone == phone_search_key(term)
    like = f"%{term}%"
    return sa.or_(Ticket.title.ilike(like), Ticket.address.ilike(like), Ticket.number.ilike(like))


def list_conditions(filters: list, search: str | None = None) -> list[sa.ColumnElement[bool]]:
    """Every named filter and the search of one list view (the user's scope is added apart)."""
    conditions = [list_filter(name, value) for name, value in filters]
    if search and search.strip():
        conditions.append(list_search(search))
    return conditions


def jsonable_filter_value(value):
    """A cleaned filter value as JSON keeps it (dates as ISO text, tuples as lists)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable_filter_value(v) for v in value]
    return value


def count_cap() -> int:
    """Where the lists and the board stop counting (DESIGN.md: no exact count of millions of
    rows per page view; the page says the count is capped)."""
    return setting("LIST_COUNT_CAP", 10000)


def capped_count(rows: sa.Select, cap: int) -> sa.ScalarSelect:
    """The number of ``rows``, counted up to ``cap + 1``: exact up to ``cap``, and above it
    only "more than ``cap``" (the caller shows that)."""
    inner = rows.with_only_columns(Ticket.id).order_by(None).limit(cap + 1).subquery()
    return sa.select(sa.func.count()).select_from(inner).scalar_subquery()
