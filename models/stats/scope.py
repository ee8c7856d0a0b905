"""Which statistics a user reads, and the filters of a statistics query (area, category, days).

The scope follows models.people.access: administrators read everything; command centres,
community staff and leaders their scope area; a department handler their department's
figures (the department as the unit each fact counts for: cases are dispatched to the
department, not to the person); a grid worker their own. ``own_unit`` says which unit the
dashboard of a person without an area shows.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.base import db
from models.categories import Category
from models.errors import WorkflowError
from models.people.access import area_within_scope, sees_everywhere
from models.people.department import Department
from models.people.roles import AREA_REPORT_ROLES, AREA_SCOPED_ROLES
from models.people.user import User
from models.vocabulary import Role

MAX_DAYS = 3 * 366 + 1


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
    where = [scope_condition(user, table), table.day >= date_from, table.day <= date_to]
    if department is not None:
        where.append(table.department_id == department.id)
    if assignee is not None:
        where.append(table.user_id == assignee.id)
    if area is not None:
        where.append(getattr(table, LEVEL_COLUMN[area.level]) == area.id)
    if category is not None:
        where.append(table.category_id.in_(category_ids(category)))
    return where


def check_range(date_from: date, date_to: date, max_days: int | None = None) -> None:
    if date_from > date_to:
        raise StatsQueryError(_("The start date is after the end date."))
    if max_days is not None and (date_to - date_from).days > max_days:
        raise StatsQueryError(_("Ask for at most three years at a time."))
