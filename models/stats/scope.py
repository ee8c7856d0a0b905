"""Which statistics a user reads, and the filters of a statistics query (area, category, days).

The scope follows models.people.access: administrators read everything; command centres,
community staff and leaders their scope area; a department handler their department's
figures (the department as the unit each fact counts for: cases are dispatched to the
department, not to the person); a grid worker their own. ``own_unit`` says which unit the
dashboard of a person without an area shows.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.base import db
from models.categories import Category
from models.clock import next_month
from models.errors import WorkflowError
from models.people.access import area_within_scope, sees_everywhere
from models.people.department import Department
from models.people.roles import AREA_REPORT_ROLES, AREA_SCOPED_ROLES
from models.people.user import User
from models.stats.tables import StatsDaily, StatsMonthly
from models.vocabulary import Role

# The longest range a statistics question may cover, its days counted with both ends (the
# pages' count): any three years, for the seasonality (the pages narrow a longer one, the API
# refuses it).
MAX_DAYS = 3 * 366


class StatsQueryError(WorkflowError):
    """A statistics question that cannot be answered as asked (422, message in the user's words)."""


def scope_condition(user: User, table) -> sa.ColumnElement[bool]:
    """SQL on a statistics table (facts or daily rows) for what ``user`` may read."""
    if sees_everywhere(user):
        return sa.true()
    if user.role in AREA_SCOPED_ROLES:
        area = user.scope_area
        if area is None:
            return sa.false()
        return getattr(table, LEVEL_COLUMN[area.level]) == area.id
    if user.role == Role.HANDLER and user.department_id is not None:
        return table.department_id == user.department_id
    return table.user_id == user.id


def reads_area_views(user) -> bool:
    """Whether the user reads the area views (analysis, map, monthly report): models.people.roles
    AREA_REPORT_ROLES."""
    return user.role in AREA_REPORT_ROLES


def own_unit(user: User) -> tuple[Department | None, User | None] | None:
    """The unit whose figures a person without an area view reads, as (department, person):
    a department handler their department (the unit each fact of a case dispatched to it counts
    for), a grid worker (or a handler with no department) themselves. None for the roles whose
    view is an area (``reads_area_views``): they choose a unit, or none, in their area."""
    if reads_area_views(user):
        return None
    if user.role == Role.HANDLER and user.department is not None:
        return user.department, None
    return None, user


def find_area(user: User, code: "str | Area | None") -> Area | None:
    """The area asked for (by code, or as it is), refused when it lies outside the scope."""
    if not code:
        return None
    area = code if isinstance(code, Area) else db.session.scalars(
        sa.select(Area).where(Area.code == code)).first()
    if area is None:
        raise StatsQueryError(_("No area has the code %(code)s.", code=code))
    code = area.code
    if not sees_everywhere(user) and user.role in AREA_SCOPED_ROLES and \
            not area_within_scope(user, area):
        raise StatsQueryError(_("The area %(code)s is outside your scope.", code=code))
    return area


def find_category(code: "str | Category | None") -> Category | None:
    if not code:
        return None
    if isinstance(code, Category):
        return code
    category = db.session.scalars(sa.select(Category).where(Category.code == code)).first()
    if category is None:
        raise StatsQueryError(_("No category has the code %(code)s.", code=code))
    return category


def category_ids(category: Category) -> list[int]:
    """The category and its sub-categories (two levels)."""
    return list(db.session.scalars(sa.select(Category.id).where(
        sa.or_(Category.id == category.id, Category.parent_id == category.id))))


def filters(user: User, table, date_from: date, date_to: date, area: Area | None,
            category: Category | None, department=None, assignee=None) -> list:
    """``department`` / ``assignee``: the unit a fact counts for (a Department / User or None)."""
    check_range(date_from, date_to)
    period = period_column(table)
    where = [scope_condition(user, table), period >= date_from, period <= date_to]
    if department is not None:
        where.append(table.department_id == department.id)
    if assignee is not None:
        where.append(table.user_id == assignee.id)
    if area is not None:
        where.append(getattr(table, LEVEL_COLUMN[area.level]) == area.id)
    if category is not None:
        where.append(table.category_id.in_(category_ids(category)))
    return where


def period_column(table):
    """The date a statistics row counts for: its day, or a monthly row's month (first day)."""
    return table.month if table is StatsMonthly else table.day


def rollup_parts(date_from: date, date_to: date, by_day: bool = False) -> list[tuple]:
    """The rollup tables that together count every day from ``date_from`` to ``date_to`` once,
    as (table, first, last): the range's whole months from the monthly rows, the days before
    and after them from the daily rows (all daily when ``by_day`` or no month is whole)."""
    check_range(date_from, date_to)
    first_whole = date_from if date_from.day == 1 else next_month(date_from)
    after_whole = (date_to + timedelta(days=1)).replace(day=1)  # the day after the last whole
    if by_day or first_whole >= after_whole:
        return [(StatsDaily, date_from, date_to)]
    parts = [(StatsMonthly, first_whole, after_whole - timedelta(days=1))]
    if date_from < first_whole:
        parts.insert(0, (StatsDaily, date_from, first_whole - timedelta(days=1)))
    if after_whole <= date_to:
        parts.append((StatsDaily, after_whole, date_to))
    return parts


def rollup_rows(user: User, date_from: date, date_to: date, area: Area | None,
                category: Category | None, department=None, assignee=None, *,
                columns: Callable, by_day: bool = False):
    """A subquery of the rollup rows counting the range's days once (``rollup_parts``), in
    ``user``'s scope and the filters (as ``filters``); ``columns(table)`` gives each part's
    labelled columns (the same labels in every part)."""
    ids = category_ids(category) if category is not None else None
    parts = []
    for table, first, last in rollup_parts(date_from, date_to, by_day):
        where = filters(user, table, first, last, area, None, department, assignee)
        if ids is not None:
            where.append(table.category_id.in_(ids))
        parts.append(sa.select(*columns(table)).where(*where))
    return (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("rollup")


def check_range(date_from: date, date_to: date, max_days: int | None = None) -> None:
    """Refuse a range backwards, or longer than ``max_days`` (counted with both ends)."""
    if date_from > date_to:
        raise StatsQueryError(_("The start date is after the end date."))
    if max_days is not None and (date_to - date_from).days + 1 > max_days:
        if max_days <= 366:
            raise StatsQueryError(_("Ask for at most a year at a time."))
        raise StatsQueryError(_("Ask for at most three years at a time."))


def summed(column):
    """The sum of a rollup measure over rows, as a whole number (0 over none): PostgreSQL sums
    BIGINT as NUMERIC, which arrives as a Decimal (~100 bytes each; a city year by person is
    25,600 groups × a dozen measures)."""
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.BigInteger)
