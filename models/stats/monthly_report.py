"""The monthly report of one area (月度报告): what the printable page and its PDF show, gathered
from the one definition of each figure — indicators from models.stats.indicators, rankings from
models.evaluation.ranking, hotspots from models.stats.analysis. Nothing is counted here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from models.areas.hierarchy import Area
from models.base import utcnow
from models.clock import local_today, next_month
from models.people.access import pickable_areas
from models.people.user import User
from models.stats.definitions import BY_CODE, INDICATORS
from models.stats.indicators import IndicatorRow, indicators
from models.stats.scope import StatsQueryError, find_area
from models.vocabulary import AREA_LEVELS, AreaLevel

# The places a report compares, one level below its area; a grid compares its people.
PLACE_GROUP = {AreaLevel.DISTRICT: "street", AreaLevel.STREET: "community",
               AreaLevel.COMMUNITY: "grid", AreaLevel.GRID: "assignee"}
# The rankings a report of each level shows (evaluation's roles).
RANKED_ROLES = {AreaLevel.DISTRICT: ("community", "department"),
                AreaLevel.STREET: ("community", "grid_worker"),
                AreaLevel.COMMUNITY: ("grid_worker",), AreaLevel.GRID: ("grid_worker",)}
# The figures of the summary and of the comparison tables, in this order.
KEY_FIGURES = ("received", "closed", "on_time_rate", "response_rate", "rework_rate",
               "satisfaction_rate", "avg_hours", "overdue_now")
TOP = 10


@dataclass
class MonthlyReport:
    area: Area
    month: date  # the first day
    last_day: date
    total: dict
    previous: dict
    by_place: list[IndicatorRow]
    place_group: str
    by_category: list[IndicatorRow]
    by_day: list[IndicatorRow]
    rankings: list = field(default_factory=list)
    hotspots: list = field(default_factory=list)
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def indicators(self):
        return INDICATORS

    @property
    def key_figures(self):
        return [BY_CODE[code] for code in KEY_FIGURES]


def parse_month(text: str | None) -> date:
    """"2026-11" → 1 November 2026; no text: last month (the one a report is usually about)."""
    if not text:
        return (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(text))
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise StatsQueryError(_("Give the month as YYYY-MM, e.g. 2026-11."))
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_end(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def report_areas(user: User) -> list[Area]:
    """The areas whose report this user may read: their scope area and everything inside it."""
    return pickable_areas(user, AREA_LEVELS)


def report_area(user: User, code: str | None) -> Area:
    """The area asked for (by code), inside the user's scope; without a code, the user's own."""
    if code:
        return find_area(user, code)
    areas = report_areas(user)
    if not areas:
        raise StatsQueryError(_("You have no area to report on."))
    own = user.scope_area
    return own if own is not None and own in areas else areas[0]


def monthly_report(user: User, area: Area, month: date) -> MonthlyReport:
    last = month_end(month)
    before = (month - timedelta(days=1)).replace(day=1)

    def total(start: date, end: date) -> dict:
        return indicators(user, start, end, area=area)[0].values

    report = MonthlyReport(
        area=area, month=month, last_day=last, total=total(month, last),
        previous=total(before, month_end(before)),
        by_place=indicators(user, month, last, area=area, group_by=PLACE_GROUP[area.level]),
        place_group=PLACE_GROUP[area.level],
        by_category=_top(indicators(user, month, last, area=area, group_by="category")),
        by_day=indicators(user, month, last, area=area, group_by="day"))
    report.rankings = _rankings(area, month)
    report.hotspots = _hotspots(user, area, month, last)
    return report


def _top(rows: list[IndicatorRow], code: str = "received") -> list[IndicatorRow]:
    return sorted(rows, key=lambda r: -(r.values.get(code) or 0))[:TOP]


def _rankings(area: Area, month: date) -> list:
    from models.evaluation.ranking import monthly_ranking

    return [monthly_ranking(area, month, role) for role in RANKED_ROLES[area.level]]


def _hotspots(user: User, area: Area, start: date, end: date) -> list:
    from models.stats.analysis import hotspots

    return hotspots(user, start, end, area=area, top=TOP)
