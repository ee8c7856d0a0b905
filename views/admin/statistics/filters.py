"""The statistics pages' filter form: a date range and a scope (area, category, department, grid
worker), read from the URL, checked, and kept inside what the user may see."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import request
from flask_babel import gettext as _

from models import Area, AreaLevel, Category, Department, User, db
from models.clock import DateOutOfRange, local_today, parse_day
from models.people.access import (area_choices, area_within_scope, department_choices,
                                  grid_worker_choices, pickable_department_names,
                                  pickable_people_names, sees_everywhere)
from models.people.roles import AREA_SCOPED_ROLES
from models.stats.scope import MAX_DAYS, own_unit
from views.inputs import whole_number

MAX_RANGE_DAYS = MAX_DAYS  # the seasonality reads up to three years
DEFAULT_DAYS = 30


@dataclass
class StatsFilters:
    start: date
    end: date
    area: Area | None = None
    category: Category | None = None
    department: Department | None = None
    assignee: User | None = None
    errors: list[str] = field(default_factory=list)
    # Fixed by the user's role (models.stats.scope.own_unit): a grid worker's figures are
    # their own, a handler's their department's.
    own_only: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def args(self, **overrides) -> dict[str, str]:
        """The URL arguments that reproduce these filters (for links between the pages)."""
        values = {"from": self.start.isoformat(), "to": self.end.isoformat(),
                  "area": self.area.id if self.area else "",
                  "category": self.category.id if self.category else "",
                  "department": self.department.id if self.department and not self.own_only
                  else "",
                  "assignee": self.assignee.id if self.assignee and not self.own_only else ""}
        values.update(overrides)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}

    def sheet_args(self) -> dict[str, str] | None:
        """The indicator sheet's URL arguments for these filters (it names areas and categories
        by code), grouped by the level below the area; None when a department or a person is
        chosen, which the sheet does not take."""
        if self.department is not None or self.assignee is not None or self.own_only:
            return None
        below = {"district": "street", "street": "community", "community": "grid"}
        level = self.area.level.value if self.area is not None else None
        values = {"from": self.start.isoformat(), "to": self.end.isoformat(),
                  "area": self.area.code if self.area else "",
                  "category": self.category.code if self.category else "",
                  "group_by": below.get(level, "")}
        return {k: v for k, v in values.items() if v}


def _date(name: str, label: str, errors: list[str]) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_day(text)
    except DateOutOfRange as exc:  # far dates would overflow the ranges built from them
        errors.append(f"{label}: {exc}")
        return None
    except ValueError:
        errors.append(_("%(label)s “%(value)s” is not a date like 2026-01-31; the default is used.",
                        label=label, value=text[:20]))
        return None


def _pick(name: str, model, allowed_ids: Callable[[], set[int]] | None, label: str,
          errors: list[str]):
    """The row chosen as ``name``; ``allowed_ids`` (asked only when a choice is made: a city's
    people are 32,529) the ids the user may choose, None: any."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    row_id = whole_number(text)
    row = db.session.get(model, row_id) if row_id is not None else None
    if row is None or (allowed_ids is not None and row.id not in allowed_ids()):
        errors.append(_("%(label)s: the choice is not available to you; it is left out.",
                        label=label))
        return None
    return row


def read_filters(user: User, *, max_days: int = MAX_RANGE_DAYS,
                 default_days: int = DEFAULT_DAYS) -> StatsFilters:
    """The filters of this request; bad values are named in ``errors`` and replaced by defaults."""
    errors: list[str] = []
    today = local_today()
    end = _date("to", _("End date"), errors) or today
    start = _date("from", _("Start date"), errors) or end - timedelta(days=default_days - 1)
    if start > end:
        errors.append(_("The start date is after the end date; the default range is shown."))
        end, start = today, today - timedelta(days=default_days - 1)
    if (end - start).days + 1 > max_days:
        errors.append(_("The range is longer than %(days)s days; it is shortened to end on %(end)s.",
                        days=max_days, end=end.isoformat()))
        start = end - timedelta(days=max_days - 1)
    filters = StatsFilters(start=start, end=end, errors=errors)
    filters.area = _read_area(user, errors)
    filters.category = _pick("category", Category, None, _("Category"), errors)
    own = own_unit(user)
    if own is not None:
        (filters.department, filters.assignee), filters.own_only = own, True
    else:
        filters.department = _pick(
            "department", Department, lambda: {d.id for d in pickable_department_names(user)},
            _("Department"), errors)
        filters.assignee = _pick(
            "assignee", User, lambda: {row[0] for row in pickable_people_names(user)},
            _("Grid worker"), errors)
    return filters


def _read_area(user: User, errors: list[str]) -> Area | None:
    area = _pick("area", Area, None, _("Area"), errors)
    if area is not None and not area_within_scope(user, area):
        errors.append(_("%(name)s is outside your area; your own area is shown.", name=area.name))
        area = None
    if area is None and user.role in AREA_SCOPED_ROLES and not sees_everywhere(user):
        area = user.scope_area
    return area


def filter_choices(user: User, filters: StatsFilters | None = None) -> dict:
    """What the filter form offers this user, from the process's plain rows. A city's 29,136
    areas, 3,648 departments and 25,600 grid workers made a 2.7 MB form: past
    AREA_CHOICES_SHOWN, the areas and departments of whole levels from the top and those of the
    chosen area (as the board's filters), and the grid workers of the chosen area."""
    chosen = _narrowed_to(user, filters)
    categories = db.session.execute(
        db.select(Category).order_by(Category.code)).scalars().all()
    kept = filters.department.id if filters is not None and filters.department else None
    return {"areas": area_choices(user, [AreaLevel.DISTRICT, AreaLevel.STREET,
                                         AreaLevel.COMMUNITY, AreaLevel.GRID], chosen),
            "categories": categories, "departments": department_choices(user, chosen, kept),
            "people": grid_worker_choices(user, chosen, filters.assignee.id
                                          if filters is not None and filters.assignee else None)}


def _narrowed_to(user: User, filters: StatsFilters | None) -> Area | None:
    """The area the user narrowed the form to (their own area, shown by default, is not)."""
    area = filters.area if filters is not None else None
    return area if area is not None and area.id != user.scope_area_id else None


def month_filters(user: User) -> StatsFilters:
    """This month so far, in the user's own scope (the home page's figures)."""
    today = local_today()
    filters = StatsFilters(start=today.replace(day=1), end=today)
    own = own_unit(user)
    if own is not None:
        (filters.department, filters.assignee), filters.own_only = own, True
    elif user.role in AREA_SCOPED_ROLES and not sees_everywhere(user):
        filters.area = user.scope_area
    return filters
