"""The analysis page (分析研判): hotspots (grid × category, against the previous period),
recurring problems, the month × category seasonality over up to three years, and trends."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from flask import request
from flask_admin import expose
from flask_babel import gettext as _

from models.clock import next_month
from models.settings import setting
from models.stats import analysis as stats_analysis
from views.inputs import whole_number

from .area_views import AreaStatsView
from .figures import list_url, page_context, viewer
from .filters import StatsFilters, read_filters

ANALYSIS_DEFAULT_DAYS = 90
ANALYSIS_MAX_DAYS = stats_analysis.HOTSPOT_MAX_DAYS  # seasonality reads its own three years
SEASON_YEARS = 3


class AnalysisView(AreaStatsView):
    """For the roles whose view is an area (AreaStatsView)."""

    @expose("/")
    def index(self):
        filters = read_filters(viewer(), default_days=ANALYSIS_DEFAULT_DAYS,
                               max_days=ANALYSIS_MAX_DAYS)
        options = analysis_options(filters)
        extra = [("top", _("Top"), options.top_n), ("k", _("At least"), options.k)]
        # The analyses read area and category only: no department or person to pick here.
        return self.render("admin/stats/analysis.html", **page_context(filters),
                           extra_fields=extra, unit_filters=False, **analysis(filters, options))


@dataclass
class AnalysisOptions:
    top_n: int = 10
    k: int = 3
    window_days: int = 30


def analysis_options(filters: StatsFilters) -> AnalysisOptions:
    """Top N (1–50) and the recurrence threshold k (2–20) from the URL; bad values are named."""
    options = AnalysisOptions()
    for name, attr, low, high in (("top", "top_n", 1, 50), ("k", "k", 2, 20)):
        text = request.args.get(name, "").strip()
        if not text:
            continue
        number = whole_number(text)
        if number is None or not low <= number <= high:
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
    user = viewer()
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


def season_chart(filters: StatsFilters, season: list, start: date, end: date) -> dict:
    """Month × category heat map from the first month with reports: the categories with any
    report, the busiest on top; the peak months of the focus categories and the busiest."""
    first = min((cell.month for cell in season if cell.count), default=end.strftime("%Y-%m"))
    months = [m for m in stats_analysis.months_between(start, end) if m >= first]
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
        month_end = next_month(month_start) - timedelta(days=1)
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


# --- seasons: also the dashboard's standing questions ---------------------------------------

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
