"""Shapes the figures of models.stats for the statistics pages: cards with their definitions and
drill-down links, chart series, tables. Nothing is counted here: every number comes from the
indicator and analysis functions of models.stats."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from datetime import date, timedelta

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Category, User, db
from models.clock import local_today
from models.settings import setting
from models.stats.definitions import BY_CODE, INDICATORS
from models.stats.drilldown import COUNTED, figure_key
from models.stats import analysis as stats_analysis
from models.stats.indicators import indicators
from models.stats.map_layers import scope_grids, ticket_points
from models.vocabulary import Role

from .stats_filters import StatsFilters
from .ticket_views import list_filter_args

ANALYSIS_DEFAULT_DAYS = 90
ANALYSIS_MAX_DAYS = 366  # hotspots and recurrences; seasonality reads its own three years
TOP_GRIDS = 15
TOP_CATEGORIES = 15
TREND_BY_DAY_UP_TO = 62  # days; longer ranges are drawn by month
SEASON_YEARS = 3


# --- the calls into models.stats ----------------------------------------------------------------

def rows(filters: StatsFilters, group_by: str | None = None, *, start: date | None = None,
         end: date | None = None, category: Category | None = None) -> list:
    """The indicator rows of models.stats for these filters (optionally another range or category)."""
    return indicators(current_user._get_current_object(), start or filters.start,
                      end or filters.end, area=filters.area,
                      category=category if category is not None else filters.category,
                      department=filters.department, assignee=filters.assignee,
                      group_by=group_by)


def totals(filters: StatsFilters) -> dict:
    return rows(filters)[0].values


# --- links to the ticket list ------------------------------------------------------------------

def list_url(filters: StatsFilters, measure: str | None = None, *, start: date | None = None,
             end: date | None = None, grid_id: int | None = None,
             category_id: int | None = None, user_id: int | None = None, **criteria) -> str:
    """The ticket list showing the tickets behind a figure: those with a fact of ``measure`` on
    these days (models.stats.drilldown), in the filters' area and category."""
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
    ("satisfaction_rate", "satisfied", "average_rating"), ("rating_coverage", "rated", "rated"),
    ("avg_hours", "closed", "avg_work_hours"), ("median_hours", "closed", "median_work_hours"),
    ("patrol_found", "patrol_found", None), ("invalidated", "invalidated", "merged"),
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


def figures(filters: StatsFilters, values: dict, only: tuple | None = None) -> list[Figure]:
    result = []
    for code, measure, second in CARDS:
        if only is not None and code not in only:
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


# --- the dashboard -----------------------------------------------------------------------------

def dashboard(filters: StatsFilters) -> dict:
    values = totals(filters)
    by_month = filters.days > TREND_BY_DAY_UP_TO
    trend = trend_chart(filters, "month" if by_month else "day")
    workers = worker_rows(filters)
    return {"figures": figures(filters, values), "definitions": definitions(),
            "trend_title": _("Received and closed per month") if by_month
            else _("Received and closed per day"),
            "top_grids": TOP_GRIDS, "workers": workers, "focus": focus(filters),
            "chart_data": {"trend": trend, "category": bars(filters, "category", TOP_CATEGORIES),
                           "grid": bars(filters, "grid", TOP_GRIDS),
                           "workers": workers_chart(workers)}}


def _period(filters: StatsFilters, key: str, group_by: str) -> tuple[date, date]:
    """The days of one trend point, cut to the filters' range."""
    if group_by == "day":
        day = date.fromisoformat(key)
        return day, day
    year, month = (int(part) for part in key.split("-"))
    first = date(year, month, 1)
    last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    return max(first, filters.start), min(last, filters.end)


def _periods(filters: StatsFilters, group_by: str) -> list[str]:
    """Every day or month of the range, so that quiet days show as 0."""
    keys, day = [], filters.start
    while day <= filters.end:
        key = day.isoformat() if group_by == "day" else day.strftime("%Y-%m")
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def trend_chart(filters: StatsFilters, group_by: str) -> dict:
    found = {row.key: row.values for row in rows(filters, group_by)}
    keys = _periods(filters, group_by)
    series = []
    for code, area in (("received", True), ("closed", False)):
        data = []
        for key in keys:
            start, end = _period(filters, key, group_by)
            value = found.get(key, {}).get(code) or 0
            data.append({"value": value, "url": list_url(filters, code, start=start, end=end)})
        series.append({"name": BY_CODE[code].name, "data": data, "area": area})
    return {"labels": [k[5:] if group_by == "day" else k for k in keys], "series": series}


def bars(filters: StatsFilters, group_by: str, top: int) -> dict:
    found = [row for row in rows(filters, group_by) if row.key and row.values["received"]]
    found.sort(key=lambda row: (-row.values["received"], row.label))
    found = found[:top]
    option = {"grid": "grid_id", "category": "category_id"}[group_by]
    data = [{"value": row.values["received"],
             "url": list_url(filters, "received", **{option: row.key})} for row in found]
    return {"labels": [row.label for row in found],
            "series": [{"name": BY_CODE["received"].name, "data": data}]}


def worker_rows(filters: StatsFilters) -> list[dict]:
    found = {row.key: row for row in rows(filters, "assignee") if row.key}
    if not found:
        return []
    people = db.session.execute(sa.select(User).where(
        User.id.in_(list(found)), User.role == Role.GRID_WORKER)).scalars().all()
    result = []
    for person in sorted(people, key=lambda u: (u.scope_area.path if u.scope_area else "", u.id)):
        values = found[person.id].values
        result.append({
            "id": person.id, "name": person.display_name,
            "grid": person.scope_area.name if person.scope_area else "",
            "dispatched": values["dispatched"], "closed": values["closed"],
            "hours": values["avg_hours"], "hours_text": fmt(values["avg_hours"], "hours"),
            "satisfaction": values["satisfaction_rate"],
            "satisfaction_text": fmt(values["satisfaction_rate"], "ratio"),
            "rated": values["rated"],
            "dispatched_url": list_url(filters, "dispatched", user_id=person.id),
            "closed_url": list_url(filters, "closed", user_id=person.id)})
    return result


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
        grids = [r for r in rows(filters, "grid", category=category)
                 if r.key and r.values["received"]]
        top = max(grids, key=lambda r: (r.values["received"], -r.key), default=None)
        season_start, season_end = season_range(filters)
        months = peak_months({r.key: r.values["received"] for r in rows(
            filters, "month", category=category, start=season_start)})
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


def season_range(filters: StatsFilters) -> tuple[date, date]:
    """Up to three years ending with the filters' end (whole months)."""
    end = filters.end
    start = date(end.year - SEASON_YEARS, end.month, 1) + timedelta(days=32)
    return start.replace(day=1), end


def peak_months(counts: dict[str, int], top: int = 3) -> str:
    """The calendar months with the most reports over the years read ("YYYY-MM" → count), most
    first, with their counts: "7月（12 件）、6月（11 件）、8月（9 件）"."""
    per_month: dict[int, int] = {}
    for key, count in counts.items():
        month = int(str(key)[5:7])
        per_month[month] = per_month.get(month, 0) + (count or 0)
    ranked = sorted((m for m, n in per_month.items() if n), key=lambda m: (-per_month[m], m))
    return "、".join(_("month %(month)s (%(count)s)", month=m, count=per_month[m])
                    for m in ranked[:top])


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


# --- the map ---------------------------------------------------------------------------------------

def map_labels() -> dict:
    return {"legend": _("Received"), "count": _("Received"), "open_list": _("Open the tickets"),
            "grids": _("Grids"), "names": _("Grid names"), "markers": _("Tickets"),
            "heat": _("Heat map"),
            "sampled": _("The newest %(shown)s of %(total)s tickets are drawn as markers."),
            "failed": _("The map data could not be loaded.")}


def map_geojson(user: User, filters: StatsFilters) -> dict:
    """The grids in the user's scope shaded by their received count (models.stats indicators),
    and a bounded sample of ticket points (models.stats.map_layers)."""
    counts = {row.key: row.values["received"] for row in rows(filters, "grid") if row.key}
    features = []
    for grid in scope_grids(user, filters.area):
        if not grid.boundary:
            continue
        count = counts.get(grid.id, 0)
        features.append({"type": "Feature", "geometry": grid.boundary, "properties": {
            "id": grid.id, "code": grid.code, "name": grid.name, "count": count,
            "center": [grid.centroid_lon, grid.centroid_lat]
            if grid.centroid_lon is not None else None,
            "url": list_url(filters, "received", grid_id=grid.id)}})
    points = ticket_points(user, filters.start, filters.end, area=filters.area,
                           category_id=filters.category.id if filters.category else None,
                           department_id=filters.department.id if filters.department else None,
                           assignee_id=filters.assignee.id if filters.assignee else None)
    return {"type": "FeatureCollection", "features": features,
            "max": max((f["properties"]["count"] for f in features), default=0),
            "markers": [[lat, lon, number, url_for("ticket.details_view", id=ticket_id), title]
                        for lat, lon, ticket_id, number, title in points.markers],
            "heat": [[round(lat, 5), round(lon, 5)] for lat, lon in points.heat],
            "markers_total": points.total}


# --- the analysis page -----------------------------------------------------------------------------

@dataclass
class AnalysisOptions:
    top_n: int = 10
    k: int = 3
    window_days: int = 30


def analysis_options(filters: StatsFilters) -> AnalysisOptions:
    """Top N (1–50) and the recurrence threshold k (2–20) from the URL; bad values are named."""
    from flask import request

    options = AnalysisOptions()
    for name, attr, low, high in (("top", "top_n", 1, 50), ("k", "k", 2, 20)):
        text = request.args.get(name, "").strip()
        if not text:
            continue
        if not text.isdigit() or not low <= int(text) <= high:
            filters.errors.append(_("“%(value)s” is not a number from %(low)s to %(high)s; "
                                    "%(default)s is used.", value=text[:10], low=low, high=high,
                                    default=getattr(options, attr)))
            continue
        setattr(options, attr, int(text))
    return options


class Cell(NamedTuple):
    """One month × category count of the seasonality."""
    month: str
    category_id: int
    category_name: str
    count: int


def analysis(filters: StatsFilters, options: AnalysisOptions) -> dict:
    """Hotspots, recurring problems, seasonality and trends (models.stats.analysis) for the page.
    The analyses read area and category; department and person narrow only the indicators."""
    user = current_user._get_current_object()
    scope = {"area": filters.area, "category": filters.category}
    previous = previous_period(filters)
    spots = stats_analysis.hotspots(user, filters.start, filters.end, top=options.top_n, **scope)
    season_start, season_end = season_range(filters)
    season = season_cells(stats_analysis.seasonality(user, season_start, season_end, **scope))
    repeats = stats_analysis.recurring_problems(user, filters.end, at_least=options.k,
                                                days=options.window_days, **scope)
    window = (filters.end - timedelta(days=options.window_days - 1), filters.end)
    heat = season_chart(filters, season, season_start, season_end)
    return {"top_n": options.top_n, "k": options.k, "window": options.window_days,
            "window_range": window, "previous": previous,
            "hotspots": hotspot_rows(filters, spots, previous),
            "recurring": recurring_rows(filters, repeats, window),
            "season_range": (heat["months"][0] if heat["months"] else season_start.isoformat(),
                             season_end.isoformat()),
            "season_peaks": heat.pop("peaks"),
            "season_height": 120 + 26 * len(heat["categories"]),
            "chart_data": {"seasonality": heat, "trends": trends_chart(filters, season)}}


def season_cells(season: dict) -> list[Cell]:
    labels = {c["id"]: c["label"] for c in season["categories"]}
    return [Cell(month, category_id, labels.get(category_id, ""), count)
            for category_id, months in season["counts"].items()
            for month, count in sorted(months.items())]


def previous_period(filters: StatsFilters) -> tuple[date, date]:
    """The range of the same length just before the filters' range."""
    end = filters.start - timedelta(days=1)
    return end - timedelta(days=filters.days - 1), end


def _change_text(count: int, before: int) -> str:
    if before == 0:
        return _("new") if count else "0"
    return f"{(count - before) / before * 100:+.0f}%"


def hotspot_rows(filters: StatsFilters, spots: list, previous: tuple[date, date]) -> list[dict]:
    result = []
    for spot in spots:
        result.append({
            "grid": spot.grid, "category": spot.category, "count": spot.count,
            "previous": spot.previous, "change": spot.count - spot.previous,
            "change_text": _change_text(spot.count, spot.previous),
            "url": list_url(filters, "received", grid_id=spot.grid_id,
                            category_id=spot.category_id),
            "previous_url": list_url(filters, "received", start=previous[0], end=previous[1],
                                     grid_id=spot.grid_id, category_id=spot.category_id)})
    return result


def recurring_rows(filters: StatsFilters, repeats: list, window: tuple[date, date]) -> list[dict]:
    return [{"grid": r.grid, "category": r.category, "count": r.count,
             "url": list_url(filters, "received", start=window[0], end=window[1],
                             grid_id=r.grid_id, category_id=r.category_id)}
            for r in repeats]


def _months(start: date, end: date) -> list[str]:
    keys, day = [], start.replace(day=1)
    while day <= end:
        keys.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return keys


def season_chart(filters: StatsFilters, season: list, start: date, end: date) -> dict:
    """Month × category heat map from the first month with reports: the categories with any
    report, the busiest on top; the peak months of the focus categories and the busiest."""
    first = min((cell.month for cell in season if cell.count), default=end.strftime("%Y-%m"))
    months = [m for m in _months(start, end) if m >= first]
    totals: dict[int, int] = {}
    names: dict[int, str] = {}
    for cell in season:
        totals[cell.category_id] = totals.get(cell.category_id, 0) + cell.count
        names[cell.category_id] = cell.category_name
    order = sorted((c for c in totals if totals[c]), key=lambda c: (totals[c], names[c]))
    row_of = {c: i for i, c in enumerate(order)}
    cells = []
    for cell in season:
        if cell.category_id not in row_of or cell.month not in months:
            continue
        month_start = date.fromisoformat(cell.month + "-01")
        month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        cells.append([months.index(cell.month), row_of[cell.category_id], cell.count,
                      list_url(filters, "received", start=max(month_start, start),
                               end=min(month_end, end), category_id=cell.category_id)])
    focus_names = setting("STATS_FOCUS_CATEGORIES", []) or []
    shown = [c for name in focus_names for c in order if names[c] == name]
    shown += [c for c in reversed(order) if c not in shown][:max(0, 4 - len(shown))]
    peaks = [(names[c], peak_months({cell.month: cell.count for cell in season
                                     if cell.category_id == c})) for c in shown]
    return {"months": months, "categories": [names[c] for c in order], "cells": cells,
            "max": max((c[2] for c in cells), default=0), "peaks": peaks}


def trends_chart(filters: StatsFilters, season: list, top: int = 5) -> dict:
    """Received per month of the largest categories over the seasonality's years."""
    totals: dict[int, int] = {}
    names: dict[int, str] = {}
    for cell in season:
        totals[cell.category_id] = totals.get(cell.category_id, 0) + cell.count
        names[cell.category_id] = cell.category_name
    largest = sorted(totals, key=lambda c: -totals[c])[:top]
    months = sorted({cell.month for cell in season})
    counts = {(c.category_id, c.month): c.count for c in season}
    return {"labels": months, "series": [
        {"name": names[c], "data": [{"value": counts.get((c, m), 0)} for m in months]}
        for c in largest]}
