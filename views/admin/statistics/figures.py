"""The figures every statistics page shows: the indicator rows of models.stats for the page's
filters, the key-figure cards with their definitions, and the links from a figure to the tickets
behind it. Nothing is counted here: every number comes from models.stats."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Category, User
from models.clock import local_today
from models.stats.definitions import BY_CODE, INDICATORS
from models.stats.drilldown import COUNTED, counts_tickets, figure_key
from models.stats.indicators import indicators, largest_groups

from ..ticket_views import list_filter_args
from .filters import StatsFilters, filter_choices


def viewer() -> User:
    return current_user._get_current_object()


# --- the calls into models.stats ----------------------------------------------------------------

def rows(filters: StatsFilters, group_by: str | None = None, *, start: date | None = None,
         end: date | None = None, category: Category | None = None,
         codes: tuple[str, ...] | None = None) -> list:
    """The indicator rows of models.stats for these filters (optionally another range or
    category; ``codes``: only the indicators a chart shows, read with only their measures)."""
    return indicators(viewer(), start or filters.start,
                      end or filters.end, area=filters.area,
                      category=category if category is not None else filters.category,
                      department=filters.department, assignee=filters.assignee,
                      group_by=group_by, codes=codes)


def largest(filters: StatsFilters, group_by: str, code: str, limit: int, *,
            category: Category | None = None) -> list:
    """The ``limit`` groups with the most ``code`` for these filters (models.stats)."""
    return largest_groups(viewer(), filters.start, filters.end, group_by=group_by, code=code,
                          limit=limit, area=filters.area,
                          category=category if category is not None else filters.category,
                          department=filters.department, assignee=filters.assignee)


def totals(filters: StatsFilters) -> dict:
    return rows(filters)[0].values


# --- links to the tickets behind a figure ---------------------------------------------------------

def list_url(filters: StatsFilters, measure: str | None = None, *, start: date | None = None,
             end: date | None = None, grid_id: int | None = None,
             category_id: int | None = None, user_id: int | None = None, **criteria) -> str:
    """Where a figure leads: for a figure of tickets (models.stats.drilldown.TICKET_MEASURES)
    the ticket list holding exactly those tickets; for a figure of events the page that says
    how many events on how many tickets and lists each ticket with its count."""
    if measure is not None and not counts_tickets(measure) and not criteria:
        area = grid_id or (filters.area.id if filters.area else "")
        return url_for("stats_figure.index", measure=measure, **filters.args(**{
            "from": (start or filters.start).isoformat(), "to": (end or filters.end).isoformat(),
            "area": area, "category": category_id or (filters.category.id if filters.category
                                                      else ""),
            "assignee": user_id or (filters.assignee.id if filters.assignee
                                    and not filters.own_only else "")}))
    return ticket_list_url(filters, measure, start=start, end=end, grid_id=grid_id,
                           category_id=category_id, user_id=user_id, **criteria)


def ticket_list_url(filters: StatsFilters, measure: str | None = None, *,
                    start: date | None = None, end: date | None = None,
                    grid_id: int | None = None, category_id: int | None = None,
                    user_id: int | None = None, **criteria) -> str:
    """The ticket list showing the tickets with a fact of ``measure`` on these days
    (models.stats.drilldown), in the filters' area and category; each ticket once."""
    args: dict = {}
    if grid_id:
        args["grid"] = grid_id
    elif filters.area is not None:
        args[filters.area.level.value] = filters.area.id
    category = category_id or (filters.category.id if filters.category else None)
    if category:
        args["category"] = category
    args.update(criteria)
    user = user_id or (filters.assignee.id if filters.assignee else None)
    if measure is not None:
        args["figure"] = figure_key(measure, start or filters.start, end or filters.end,
                                    filters.department.id if filters.department else None, user)
    elif filters.department is not None:
        args["department"] = filters.department.id
    if measure is None and user:
        args["assignee"] = user
    return url_for("ticket.index_view", **list_filter_args(**args))


# --- figures -----------------------------------------------------------------------------------

def fmt(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit in ("hours", "stars"):
        return f"{value:.1f}"
    return str(value)


# code, the measure whose tickets it links to, and a second line (code of a related figure).
CARDS = (
    ("received", "received", None), ("dispatched", "dispatched", None),
    ("closed", "closed", None), ("on_time_rate", "closed_in_time", "closed_in_time"),
    ("response_rate", "accepted_in_time", "accepted_in_time"), ("overdue_now", None, None),
    ("ever_overdue", "overdue_marked", None), ("overdue_rate", "closed", None),
    ("rework_rate", "rework", "rework"), ("return_rate", "returned", "returned"),
    ("reopened", "reopened", None), ("escalated", "escalated", None),
    ("satisfaction_rate", "satisfied", "average_rating"),
    ("rating_coverage", "closed_rated", "rated"),
    ("avg_hours", "closed", "avg_work_hours"), ("median_hours", "closed", "median_work_hours"),
    ("patrol_found", "patrol_found", None),
    # Patrol rounds (grid workers): rounds walked, grids and grid-days covered; no tickets behind.
    ("patrol_coverage", None, "patrol_day_coverage"), ("patrol_rounds", None, None),
    ("invalidated", "invalidated", "merged"),
    # Co-handling (协办), counted for the co-handling department apart from its lead cases.
    ("co_handled", "co_handled", "co_handled_in_time"),
)
HOME_CARDS = ("received", "closed", "on_time_rate", "overdue_now", "satisfaction_rate",
              "avg_hours")


@dataclass
class Figure:
    key: str
    label: str
    definition: str
    text: str
    value: object
    url: str | None
    detail: str = ""
    detail_url: str | None = None


# A department neither receives reports (its cases come by dispatch) nor walks patrol rounds:
# those cards would only ever show 0 or "—" on a department's page.
NOT_A_DEPARTMENTS = {"received", "patrol_found", "patrol_coverage", "patrol_rounds"}


def figures(filters: StatsFilters, values: dict, only: tuple | None = None) -> list[Figure]:
    result = []
    for code, measure, second in CARDS:
        if only is not None and code not in only:
            continue
        if filters.department is not None and code in NOT_A_DEPARTMENTS:
            continue
        indicator = BY_CODE[code]
        if code == "overdue_now":
            url = list_url(filters, overdue="1")
        else:
            url = list_url(filters, measure) if measure else None
        figure = Figure(code, indicator.name, indicator.definition,
                        fmt(values.get(code), indicator.unit), values.get(code), url)
        if second:
            other = BY_CODE[second]
            figure.detail = f"{other.name} {fmt(values.get(second), other.unit)}"
            if other.unit == "count" and second in COUNTED:
                figure.detail_url = list_url(filters, second)
        result.append(figure)
    return result


def definitions() -> list[tuple[str, str]]:
    return [(i.name, i.definition) for i in INDICATORS]


# --- the filter form's helpers -------------------------------------------------------------------

def presets(filters: StatsFilters) -> list[tuple]:
    today = local_today()
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [("30", _("Last 30 days"), (today - timedelta(days=29)).isoformat(), today.isoformat()),
            ("month", _("This month"), month_start.isoformat(), today.isoformat()),
            ("last_month", _("Last month"), last_month_end.replace(day=1).isoformat(),
             last_month_end.isoformat()),
            ("12m", _("Last 12 months"), (today - timedelta(days=364)).isoformat(),
             today.isoformat()),
            ("year", _("This year"), today.replace(month=1, day=1).isoformat(), today.isoformat())]


def scope_label(user: User, filters: StatsFilters) -> str:
    parts = [filters.area.name if filters.area else _("All areas")]
    if filters.category:
        parts.append(filters.category.name)
    if filters.department:
        parts.append(filters.department.name)
    if filters.assignee:
        parts.append(filters.assignee.display_name)
    return " · ".join(parts)




def page_context(filters: StatsFilters) -> dict:
    """What every statistics page's header and filter form show."""
    return {"filters": filters, "choices": filter_choices(viewer(), filters),
            "presets": presets(filters),
            "scope_label": scope_label(viewer(), filters)}
