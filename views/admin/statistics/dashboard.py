"""The statistics dashboard (统计看板): the key figures of the chosen range and scope, the trend,
the categories and grids with the most reports, each grid worker's count, time and
satisfaction, and the standing questions of the focus categories (where they are reported most,
in which months they peak)."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from flask_admin import expose
from flask_babel import gettext as _

from models import Category, User, db
from models.clock import local_today, next_month
from models.evaluation import measures
from models.evaluation.ranking import month_start, monthly_ranking
from models.evaluation.schemes import EvaluatedRole
from models.people.access import sees_everywhere, ticket_scope
from models.people.roles import ALL_ROLES, CONFIGURING_ROLES, EVALUATION_READER_ROLES
from models.reference_cache import area_rows, user_rows
from models.settings import setting
from models.stats.analysis import months_between
from models.stats.definitions import BY_CODE
from models.stats.rollups import changes_waiting
from models.stats.scope import reads_area_views
from models.vocabulary import Role

from ..base import GridDeskView
from .analysis import ANALYSIS_MAX_DAYS, SEASON_YEARS, peak_months, season_range
from .figures import (definitions, figures, fmt, largest, list_url, page_context, rows,
                      totals, viewer)
from .filters import StatsFilters, read_filters

TOP_GRIDS = 15
TOP_CATEGORIES = 15
WORKERS_SHOWN = 100  # a whole city's grid workers (~25,000) made a 30 MB page
TREND_BY_DAY_UP_TO = 62  # days; longer ranges are drawn by month
RANKED_SHOWN = 3
WAITING_CAP = 10_000  # changes not yet in the figures, counted up to this
WORKER_PATROL_COLUMNS = ("patrol_found", "patrol_coverage", "patrol_day_coverage")
WORKER_CODES = ("dispatched", "closed", "avg_hours", "satisfaction_rate", "rated",
                *WORKER_PATROL_COLUMNS)


class DashboardView(GridDeskView):
    allowed_roles = ALL_ROLES

    @expose("/")
    def index(self):
        user = viewer()
        filters = read_filters(user)
        return self.render("admin/stats/dashboard.html", **page_context(filters),
                           **dashboard(filters),
                           waiting=changes_waiting(ticket_scope(user), WAITING_CAP),
                           waiting_cap=WAITING_CAP, waiting_hint=user.role in CONFIGURING_ROLES,
                           fold_seconds=current_app.config["JOB_INTERVALS"]["fold_statistics"])


def dashboard(filters: StatsFilters) -> dict:
    values = totals(filters)
    by_month = filters.days > TREND_BY_DAY_UP_TO
    # A department receives its cases by dispatch (a report counts for whom it was reported
    # to): its trend, categories and grids are charted by dispatches, everyone else's by reports.
    measure = "dispatched" if filters.department is not None else "received"
    trend = trend_chart(filters, "month" if by_month else "day", measure)
    workers, workers_total = worker_rows(filters)
    # The analysis and the map are area views: linked (with the focus categories' places and
    # seasons, which read areas) only for the roles that read them.
    area_views = reads_area_views(viewer())
    return {"figures": figures(filters, values), "definitions": definitions(),
            "area_views": area_views, "bar_measure": BY_CODE[measure].name,
            # A handler reads their department's figures: no grid worker's row is theirs.
            "show_workers": not (filters.own_only and filters.department is not None),
            "rankings": month_rankings(viewer(), filters),
            "trend_title": (_("%(figure)s and closed per month", figure=BY_CODE[measure].name)
                            if by_month else
                            _("%(figure)s and closed per day", figure=BY_CODE[measure].name)),
            "top_grids": TOP_GRIDS, "workers": workers, "workers_total": workers_total,
            "focus": focus(filters) if area_views else [],
            "worker_heads": {code: BY_CODE[code] for code in WORKER_PATROL_COLUMNS},
            "chart_data": {"trend": trend,
                           "category": bars(filters, "category", TOP_CATEGORIES, measure),
                           "grid": bars(filters, "grid", TOP_GRIDS, measure),
                           "workers": workers_chart(workers)}}


def _period(filters: StatsFilters, key: str, group_by: str) -> tuple[date, date]:
    """The days of one trend point, cut to the filters' range."""
    if group_by == "day":
        day = date.fromisoformat(key)
        return day, day
    year, month = (int(part) for part in key.split("-"))
    first = date(year, month, 1)
    last = next_month(first) - timedelta(days=1)
    return max(first, filters.start), min(last, filters.end)


def _periods(filters: StatsFilters, group_by: str) -> list[str]:
    """Every day or month of the range, so that quiet days show as 0."""
    if group_by != "day":
        return months_between(filters.start, filters.end)
    return [(filters.start + timedelta(days=n)).isoformat() for n in range(filters.days)]


def trend_chart(filters: StatsFilters, group_by: str, measure: str = "received") -> dict:
    found = {row.key: row.values for row in rows(filters, group_by, codes=(measure, "closed"))}
    keys = _periods(filters, group_by)
    series = []
    for code, area in ((measure, True), ("closed", False)):
        data = []
        for key in keys:
            start, end = _period(filters, key, group_by)
            value = found.get(key, {}).get(code) or 0
            data.append({"value": value, "url": list_url(filters, code, start=start, end=end)})
        series.append({"name": BY_CODE[code].name, "data": data, "area": area})
    return {"labels": [k[5:] if group_by == "day" else k for k in keys], "series": series}


def bars(filters: StatsFilters, group_by: str, top: int, measure: str = "received") -> dict:
    found = largest(filters, group_by, measure, top)
    option = {"grid": "grid_id", "category": "category_id"}[group_by]
    data = [{"value": row.values[measure],
             "url": list_url(filters, measure, **{option: row.key})} for row in found]
    return {"labels": [row.label for row in found],
            "series": [{"name": BY_CODE[measure].name, "data": data}]}


def worker_rows(filters: StatsFilters) -> tuple[list[dict], int]:
    """The grid workers' rows in their grids' order; past WORKERS_SHOWN (a city has ~25,000)
    the WORKERS_SHOWN with the most closed tickets (then the most dispatched to them), most
    first. And how many there are."""
    found = {row.key: row for row in rows(filters, "assignee", codes=WORKER_CODES) if row.key}
    people, areas = user_rows(), area_rows()
    workers = [people[key] for key in found
               if key in people and people[key].role == Role.GRID_WORKER]

    def place(person):
        area = areas.get(person.scope_area_id)
        return (area.path if area else "", person.id)

    total = len(workers)
    if total > WORKERS_SHOWN:
        workers.sort(key=lambda p: (-found[p.id].values["closed"],
                                    -found[p.id].values["dispatched"], place(p)))
        workers = workers[:WORKERS_SHOWN]
    else:
        workers.sort(key=place)
    result = []
    for person in workers:
        values = found[person.id].values
        area = areas.get(person.scope_area_id)
        result.append({
            "id": person.id, "name": person.display_name,
            "grid": area.name if area else "",
            "dispatched": values["dispatched"], "closed": values["closed"],
            "hours": values["avg_hours"], "hours_text": fmt(values["avg_hours"], "hours"),
            "satisfaction": values["satisfaction_rate"],
            "satisfaction_text": fmt(values["satisfaction_rate"], "ratio"),
            "rated": values["rated"],
            "patrol_found": values["patrol_found"],
            "patrol_found_url": list_url(filters, "patrol_found", user_id=person.id),
            "patrol_coverage_text": fmt(values["patrol_coverage"], "ratio"),
            "patrol_day_coverage_text": fmt(values["patrol_day_coverage"], "ratio"),
            "dispatched_url": list_url(filters, "dispatched", user_id=person.id),
            "closed_url": list_url(filters, "closed", user_id=person.id)})
    return result, total


def workers_chart(workers: list[dict]) -> dict:
    def point(value, url=None):
        return {"value": value, "url": url}

    return {"labels": [w["name"] for w in workers],
            "name_count": BY_CODE["closed"].name, "name_hours": BY_CODE["avg_hours"].name,
            "name_satisfaction": BY_CODE["satisfaction_rate"].name,
            "axis_count": _("Tickets"), "axis_hours": _("Hours"), "axis_share": _("Satisfaction"),
            "count": [point(w["closed"], w["closed_url"]) for w in workers],
            "hours": [point(round(w["hours"], 1) if w["hours"] is not None else None)
                      for w in workers],
            "satisfaction": [point(round(w["satisfaction"] * 100, 1)
                                   if w["satisfaction"] is not None else None) for w in workers]}


# --- the standing questions: where a focus category is reported most, and when it peaks ----------

def focus(filters: StatsFilters) -> list[dict]:
    names = setting("STATS_FOCUS_CATEGORIES", []) or []
    if not names or filters.category is not None:
        return []
    found = db.session.execute(sa.select(Category).where(Category.name.in_(names))).scalars().all()
    by_name = {c.name: c for c in found}
    items = []
    for name in names:
        category = by_name.get(name)
        if category is None:
            continue
        top = next(iter(largest(filters, "grid", "received", 1, category=category)), None)
        season_start, season_end = season_range(filters)
        months = peak_months({r.key: r.values["received"] for r in rows(
            filters, "month", category=category, start=season_start, codes=("received",))})
        items.append({
            "category": category, "top_grid": top.label if top else None,
            "top_count": top.values["received"] if top else 0,
            "top_url": list_url(filters, "received", grid_id=top.key, category_id=category.id)
            if top else None,
            "peak_months": months, "years": SEASON_YEARS,
            "season_url": url_for("stats_analysis.index", **filters.args(
                **{"from": max(filters.start, filters.end - timedelta(days=ANALYSIS_MAX_DAYS - 1))
                   .isoformat(), "category": category.id})) + "#gd-seasonality"})
    return items


# --- the month's rankings (绩效考核): each evaluated role's top, with the breakdown ------------

def ranking_month(filters: StatsFilters) -> date:
    """The month the dashboard ranks: the range's last month once it has ended, else the month
    before it (a month still running is not ranked yet)."""
    month = month_start(filters.end)
    if month >= month_start(local_today()):
        month = month_start(month - timedelta(days=1))
    return month


def breakdown_text(score) -> str:
    """The score's lines in one row: "按期办结率 +40.2 · 满意率 +18.0 · …"."""
    return " · ".join(f"{measures.label(line.key)} {line.contribution:+.1f}"
                      for line in score.lines if line.counted)


def month_rankings(user: User, filters: StatsFilters) -> dict | None:
    """That month's ranking of each evaluated role in the user's scope (as published when the
    month is frozen): the first few with their scores and breakdowns, each linked to its table."""
    if user.role not in EVALUATION_READER_ROLES:
        return None
    month = ranking_month(filters)
    scope = None if sees_everywhere(user) else user.scope_area
    roles = []
    for role in EvaluatedRole:
        ranking = monthly_ranking(scope, month, role)
        roles.append({
            "label": role.label, "published": ranking.published is not None,
            "min_cases": ranking.scheme.get("min_cases"),
            "rows": [{"rank": row.rank, "name": row.unit.label, "cases": row.cases,
                      "score": f"{row.score.total:.1f}", "breakdown": breakdown_text(row.score)}
                     for row in ranking.ranked[:RANKED_SHOWN]],
            "insufficient": len(ranking.insufficient),
            "url": url_for("evaluation.index", month=month.strftime("%Y-%m"), role=role.value)})
    return {"month": month, "roles": roles, "published": any(r["published"] for r in roles)}
