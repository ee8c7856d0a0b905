"""Analyses for the dashboards and big screens, read from the rollups (never from tickets):

* ``hotspots``: grid × category counts of the cases reported in a range, top N, each with the
  count of the previous period of the same length and the change;
* ``seasonality``: month × category counts over up to three years;
* ``recurring_problems``: a grid and category with at least k reports within the last N days
  (a list for proactive work, 从被动响应到主动治理);
* ``trend``: the indicators per day or per month.

Counts are "received" (the report's local day), scoped and filtered as the indicators are.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from models.base import db
from models.people.user import User
from models.stats.indicators import group_labels, indicators
from models.stats.scope import (MAX_DAYS, StatsQueryError, check_range, find_area, find_category,
                                period_column, rollup_rows, summed)

SEASON_MAX_DAYS = MAX_DAYS
# Hotspots (and recurrences) compare a range with the one just before it: at most a year, its
# days counted with both ends (the page's count).
HOTSPOT_MAX_DAYS = 366


@dataclass
class Hotspot:
    grid_id: int
    grid: str
    category_id: int
    category: str
    count: int
    previous: int

    @property
    def change(self) -> int:
        return self.count - self.previous

    @property
    def change_ratio(self) -> float | None:
        return self.change / self.previous if self.previous else None

    def as_dict(self) -> dict:
        return {"grid_id": self.grid_id, "grid": self.grid, "category_id": self.category_id,
                "category": self.category, "count": self.count, "previous": self.previous,
                "change": self.change, "change_ratio": self.change_ratio}


def _received(user, date_from, date_to, area, category, *dimensions: str):
    """The select of the cases reported in the range per ``dimensions`` (columns of the rollup
    rows; "period": the day, or the month of a monthly row), those with none left out."""
    def columns(table):
        return [*((period_column(table) if name == "period" else getattr(table, name))
                  .label(name) for name in dimensions), table.received.label("received")]

    found = rollup_rows(user, date_from, date_to, find_area(user, area),
                        find_category(category), columns=columns)
    total = summed(found.c.received)
    keys = [found.c[name] for name in dimensions]
    return sa.select(*keys, total).group_by(*keys).having(total > 0)


def _grid_category_counts(user, date_from, date_to, area, category) -> dict[tuple, int]:
    query = _received(user, date_from, date_to, area, category, "grid_id", "category_id")
    return {(grid, cat): int(count) for grid, cat, count in db.session.execute(query)}


def hotspots(user: User, date_from: date, date_to: date, *, area=None, category=None,
             top: int = 10) -> list[Hotspot]:
    """The ``top`` grid × category pairs by cases reported from ``date_from`` to ``date_to``;
    ``previous`` counts the same number of days just before."""
    check_range(date_from, date_to, HOTSPOT_MAX_DAYS)
    if top < 1:
        raise StatsQueryError(_("top must be a whole number of at least 1."))
    days = (date_to - date_from).days + 1
    now = _grid_category_counts(user, date_from, date_to, area, category)
    before = _grid_category_counts(user, date_from - timedelta(days=days),
                                   date_from - timedelta(days=1), area, category)
    ranked = sorted(now.items(), key=lambda item: (-item[1], item[0]))[:top]
    grids = group_labels("grid", [key[0] for key, _count in ranked])
    categories = group_labels("category", [key[1] for key, _count in ranked])
    return [Hotspot(grid, grids.get(grid, str(grid)), cat, categories.get(cat, str(cat)), count,
                    before.get((grid, cat), 0)) for (grid, cat), count in ranked]


def seasonality(user: User, date_from: date, date_to: date, *, area=None,
                category=None) -> dict:
    """Cases reported per month × category (at most three years): {"months": [...],
    "categories": [{"id", "label"}], "counts": {category id: {month: count}}}."""
    check_range(date_from, date_to, SEASON_MAX_DAYS)
    query = _received(user, date_from, date_to, area, category, "period", "category_id")
    counts: dict[int, dict[str, int]] = {}
    for day, cat, count in db.session.execute(query):  # days and months, folded into months
        month = day.strftime("%Y-%m")
        counts.setdefault(cat, {}).setdefault(month, 0)
        counts[cat][month] += int(count)
    labels = group_labels("category", list(counts))
    return {"months": months_between(date_from, date_to),
            "categories": [{"id": cat, "label": labels.get(cat, str(cat))}
                           for cat in sorted(counts)],
            "counts": counts}


def months_between(date_from: date, date_to: date) -> list[str]:
    """"YYYY-MM" of every month from ``date_from``'s to ``date_to``'s."""
    months, year, month = [], date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def recurring_problems(user: User, as_of: date, *, at_least: int = 3, days: int = 30,
                       area=None, category=None) -> list[Hotspot]:
    """Grid × category pairs with at least ``at_least`` reports in the ``days`` days up to
    ``as_of`` (``previous``: the same window before), most first."""
    if at_least < 1 or days < 1:
        raise StatsQueryError(_("The count and the number of days must be at least 1."))
    first = as_of - timedelta(days=days - 1)
    found = [spot for spot in hotspots(user, first, as_of, area=area, category=category,
                                       top=10 ** 6) if spot.count >= at_least]
    return found


def trend(user: User, date_from: date, date_to: date, *, by: str = "day", area=None,
          category=None):
    """The indicators per day (or per month) of the range."""
    if by not in ("day", "month"):
        raise StatsQueryError(_("A trend is by day or by month."))
    return indicators(user, date_from, date_to, area=area, category=category, group_by=by)
