"""The indicators of any date range and scope, read from the rollups.

    indicators(user, date_from, date_to, area=None, category=None, group_by=None)
        -> list[IndicatorRow]

``user`` is who asks (their scope: models.stats.scope); ``date_from``/``date_to`` are local
(Asia/Shanghai) days, both included; ``area`` an Area (any level) or its code; ``category`` a
Category or its code (the category and its sub-categories); ``group_by`` one of GROUPS or None
for one total row. Each row has the group's key and label and every indicator's value
(``values[code]``, None where a ratio has no denominator); the definitions are in
models.stats.definitions (``INDICATORS``, ``definitions()``).

Counts and sums come from ``stats_monthly`` for a range's whole months and ``stats_daily`` for
the days around them (models.stats.scope ``rollup_rows``); medians from the closure rows of
``stats_facts`` (one per closure, so they are exact to the second); "overdue now" is a state,
not a day's fact: it is read from the open tickets through deadlines.overdue_condition (the
partial index on open tickets), for groupings by place, category or owner.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from datetime import date, datetime
from statistics import median

import sqlalchemy as sa
from flask_babel import gettext as _

from models.base import db, utcnow
from models.people.access import ticket_scope
from models.people.department import Department
from models.people.user import User
from models.reference_cache import area_rows, category_rows, department_rows, user_rows
from models.stats.definitions import INDICATORS
from models.stats.patrol import patrol_figures
from models.stats.scope import (StatsQueryError, category_ids, filters, find_area,
                                find_category, period_column, rollup_rows, summed)
from models.stats.tables import MEASURES, StatsFact
from models.vocabulary import OPEN_STATUSES

GROUPS = ("grid", "community", "street", "district", "department", "assignee", "category",
          "month", "day")
_COLUMN = {"grid": "grid_id", "community": "community_id", "street": "street_id",
           "district": "district_id", "department": "department_id", "assignee": "user_id",
           "category": "category_id"}
_TICKET_COLUMN = {"grid": "grid_id", "community": "community_id", "street": "street_id",
                  "district": "district_id", "department": "assigned_department_id",
                  "assignee": "assigned_user_id", "category": "category_id"}
TOTAL = "all"
_NO_PATROL = {"patrol_rounds": None, "patrol_coverage": None, "patrol_day_coverage": None}


@dataclass(slots=True)  # a city's groupings are tens of thousands of rows
class IndicatorRow:
    key: object  # the group's id (0: none), "YYYY-MM" / "YYYY-MM-DD", or "all"
    label: str
    values: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "values": self.values}


def indicators(user: User, date_from: date, date_to: date, *, area=None, category=None,
               department: Department | None = None, assignee: User | None = None,
               group_by: str | None = None, codes=None,
               now: datetime | None = None) -> list[IndicatorRow]:
    """``codes``: only these indicators (default: all of them). The rows are the same; each
    row's values hold just these codes, read with only the measures they are computed from
    (``inputs``), and without the medians' statement when none of them is a median. ``now``:
    the moment "overdue now" is counted at (default: the present)."""
    if group_by is not None and group_by not in GROUPS:
        raise StatsQueryError(_("group_by must be one of: %(groups)s.", groups=", ".join(GROUPS)))
    area, category = find_area(user, area), find_category(category)
    units = (department, assignee)
    measures, with_medians = inputs(codes)
    sums = _sums(user, date_from, date_to, area, category, group_by, units, measures)
    medians = _medians(user, date_from, date_to, area, category, group_by, units) \
        if with_medians else {}
    overdue = _overdue_now(user, area, category, group_by, units, now or utcnow())
    patrol = _patrol(user, date_from, date_to, area, category, group_by, units,
                     set(sums) | set(overdue))
    keys = sorted(set(sums) | set(overdue) | {k for k, v in patrol.items() if v["patrol_rounds"]},
                  key=lambda k: (str(type(k)), k))
    labels = group_labels(group_by, keys)
    rows = []
    for key in keys:
        values = compute(sums.get(key, Sums()),
                         medians.get(key, (None, None)))
        values["overdue_now"] = overdue.get(key, 0) if group_by not in ("month", "day") else None
        values.update(patrol.get(key, _NO_PATROL if not patrol else
                                 {"patrol_rounds": 0, "patrol_coverage": None,
                                  "patrol_day_coverage": None}))
        rows.append(IndicatorRow(key, labels.get(key, str(key)), _only(values, codes)))
    if group_by is None and not rows:
        values = compute(dict.fromkeys(MEASURES, 0), (None, None))
        values["overdue_now"] = 0
        values.update(patrol.get(TOTAL, _NO_PATROL))
        rows.append(IndicatorRow(TOTAL, labels[TOTAL], _only(values, codes)))
    return rows


def _only(values: dict, codes) -> dict:
    return values if codes is None else {code: values[code] for code in codes}


_MEDIANS = "medians"


@cache
def _inputs_of_each() -> dict[str, frozenset]:
    """Indicator code → the measures (and ``_MEDIANS``) ``compute`` derives it from, found by
    asking ``compute`` itself: each input changed alone, the codes whose value moves depend on
    it. So the definitions stay in one place, and reading fewer columns cannot change a figure."""
    found: dict[str, set] = defaultdict(set)
    # Two unlike starting points, so that a figure computed only past some threshold, or from a
    # difference that happens to be zero at one point, still shows what it reads at the other.
    for base_sums, base_medians in ((dict.fromkeys(MEASURES, 3), (3.0, 5.0)),
                                    ({name: 11 + 2 * i for i, name in enumerate(MEASURES)},
                                     (13.0, 17.0))):
        reference = compute(base_sums, base_medians)
        changed = {name: compute({**base_sums, name: base_sums[name] + 4}, base_medians)
                   for name in MEASURES}
        changed[_MEDIANS] = compute(base_sums, (base_medians[0] + 4, base_medians[1] + 4))
        for code in reference:
            found[code] |= {name for name, values in changed.items()
                            if values[code] != reference[code]}
    return {code: frozenset(names) for code, names in found.items()}


def inputs(codes) -> tuple[tuple[str, ...], bool]:
    """(the measures to sum, whether the medians are needed) for these indicator codes (None:
    all). "overdue now" and the patrol figures are read apart (they are not sums of the days)."""
    if codes is None:
        return MEASURES, True
    each = _inputs_of_each()
    unknown = set(codes) - set(each)
    if unknown:
        raise ValueError(f"unknown indicator codes: {sorted(unknown)}")
    needed = set().union(*(each[code] for code in codes))
    return tuple(name for name in MEASURES if name in needed), _MEDIANS in needed


def _patrol(user, date_from, date_to, area, category, group_by, units, shown) -> dict:
    """Patrol figures of the groups (models.stats.patrol). Rounds belong to grid workers: none
    for a department; for one chosen person (a grid worker's own figures) that person's rounds
    and coverage, in total or as their own row. ``shown``: the groups with a row anyway (a
    grid worker shown for an overdue case only walked no round: 0 %, not "no data")."""
    department, assignee = units
    if department is not None:
        return {}
    if assignee is None:
        return patrol_figures(user, date_from, date_to, area, category, group_by,
                              workers=list(shown) if group_by == "assignee" else ())
    if group_by not in (None, "assignee"):
        return {}
    mine = patrol_figures(user, date_from, date_to, area, category, "assignee",
                          workers=[assignee.id], only=assignee.id).get(assignee.id)
    return {} if mine is None else {TOTAL if group_by is None else assignee.id: mine}


def compute(sums: dict, medians: tuple) -> dict:
    """Every indicator of one group from its summed measures and the medians of its closures'
    handling seconds (natural, working; None without closures)."""
    def ratio(part, whole):
        return part / whole if whole else None

    closed, rated = sums["closed"], sums["rated"]
    natural, working = medians
    values = {name: sums[name] for name in (
        "received", "dispatched", "accepted", "accepted_in_time", "closed", "closed_in_time",
        "rework", "returned", "reopened", "rated", "rated_by_reporter", "follow_ups",
        "escalated", "merged", "invalidated", "patrol_found", "co_handled", "co_handled_done",
        "co_handled_in_time", "closed_rated")}
    values.update(
        ever_overdue=sums["overdue_marked"],
        response_rate=ratio(sums["accepted_in_time"], sums["accepted"]),
        on_time_rate=ratio(sums["closed_in_time"], closed),
        overdue_rate=ratio(closed - sums["closed_in_time"], closed),
        rework_rate=ratio(sums["rework"], closed + sums["rework"]),
        return_rate=ratio(sums["returned"], sums["dispatched"]),
        satisfaction_rate=ratio(sums["satisfied"], rated),
        average_rating=ratio(sums["rating_sum"], rated),
        rating_coverage=ratio(sums["closed_rated"], closed),
        co_handled_on_time_rate=ratio(sums["co_handled_in_time"], sums["co_handled_done"]),
        avg_hours=_hours(ratio(sums["handling_seconds"], closed)),
        avg_work_hours=_hours(ratio(sums["handling_work_seconds"], closed)),
        median_hours=_hours(natural),
        median_work_hours=_hours(working),
        # models.stats.patrol fills these in
        patrol_rounds=None, patrol_coverage=None, patrol_day_coverage=None,
    )
    return {indicator.code: values.get(indicator.code) for indicator in INDICATORS}


def _hours(seconds):
    return None if seconds is None else seconds / 3600


def _group_column(table, group_by: str | None):
    if group_by is None:
        return sa.literal(TOTAL)
    if group_by in ("day", "month"):
        return period_column(table)  # months folded in Python (portable across databases)
    return getattr(table, _COLUMN[group_by])


def _key(group_by, value):
    if group_by == "month":
        return value.strftime("%Y-%m")
    if group_by == "day":
        return value.isoformat()
    return value


def largest_groups(user: User, date_from: date, date_to: date, *, group_by: str, code: str,
                   limit: int, area=None, category=None, department: Department | None = None,
                   assignee: User | None = None) -> list[IndicatorRow]:
    """The ``limit`` groups with the most ``code`` (a count summed from the rollups, such as
    ``received``), most first, ties by label; only groups with some. Each row holds just
    ``code``, the same value ``indicators`` gives it. For a chart of the first few of tens of
    thousands of groups (a city's 25,600 grids): no row is built for the others."""
    if group_by not in _COLUMN or _inputs_of_each().get(code) != frozenset({code}):
        raise ValueError(f"largest_groups counts a summed measure by place, owner or category, "
                         f"not {code!r} by {group_by!r}")
    area, category = find_area(user, area), find_category(category)
    query = _sum_query(user, date_from, date_to, area, category, group_by,
                       (department, assignee), (code,))
    found = [(key, int(value)) for key, value in db.session.execute(query) if key and value]
    labels = group_labels(group_by, [key for key, _value in found])
    found.sort(key=lambda pair: (-pair[1], labels.get(pair[0], str(pair[0])), pair[0]))
    return [IndicatorRow(key, labels.get(key, str(key)), {code: value})
            for key, value in found[:limit]]


def _sum_query(user, date_from, date_to, area, category, group_by, units,
               measures: tuple[str, ...]) -> sa.Select:
    """Each group's sums of ``measures`` over the range (a period grouping: per day or month
    row, folded by ``_sums``)."""
    def columns(table):
        return [_group_column(table, group_by).label("g"),
                *(getattr(table, name).label(name) for name in measures)]

    found = rollup_rows(user, date_from, date_to, area, category, *units, columns=columns,
                        by_day=group_by == "day")
    return sa.select(found.c.g, *(summed(found.c[name]).label(name) for name in measures)) \
        .group_by(found.c.g)


def _sums(user, date_from, date_to, area, category, group_by, units=(None, None),
          measures: tuple[str, ...] = MEASURES) -> dict:
    """Each group's sums of ``measures`` (a measure not read counts 0)."""
    query = _sum_query(user, date_from, date_to, area, category, group_by, units, measures)
    sums: dict = defaultdict(Sums)
    for row in db.session.execute(query):
        target = sums[_key(group_by, row.g)]
        for name in measures:
            target[name] += int(getattr(row, name) or 0)
    return dict(sums)


class Sums(dict):
    """One group's summed measures; those not read are 0 (a city's grids are tens of
    thousands of groups: each holds only what was asked)."""

    def __missing__(self, name):
        if name not in MEASURES:
            raise KeyError(name)
        return 0


def _medians(user, date_from, date_to, area, category, group_by, units=(None, None)) -> dict:
    """Exact medians of the closures' handling seconds per group: (natural, working). On
    PostgreSQL the database takes them (percentile_cont, the same "mean of the two middle
    values" as statistics.median); elsewhere Python does, over the closure rows."""
    where = [StatsFact.closed > 0,
             *filters(user, StatsFact, date_from, date_to, area, category, *units)]
    if db.session.get_bind().dialect.name == "postgresql":
        group = (sa.func.to_char(StatsFact.day, "YYYY-MM") if group_by == "month"
                 else _group_column(StatsFact, group_by)).label("g")
        query = (sa.select(group, *(sa.func.percentile_cont(0.5).within_group(column)
                                    for column in (StatsFact.handling_seconds,
                                                   StatsFact.handling_work_seconds)))
                 .where(*where).group_by(group))
        return {(key if group_by == "month" else _key(group_by, key)): (float(n), float(w))
                for key, n, w in db.session.execute(query)}
    group = _group_column(StatsFact, group_by).label("g")
    query = sa.select(group, StatsFact.handling_seconds, StatsFact.handling_work_seconds) \
        .where(*where)
    durations: dict = defaultdict(lambda: ([], []))
    for row in db.session.execute(query):
        natural, working = durations[_key(group_by, row.g)]
        natural.append(row.handling_seconds)
        working.append(row.handling_work_seconds)
    return {key: (median(n), median(w)) for key, (n, w) in durations.items()}


def _overdue_now(user, area, category, group_by, units, now: datetime) -> dict:
    from models.tickets.deadlines import overdue_condition
    from models.tickets.tables import Ticket
    from models.areas.hierarchy import LEVEL_COLUMN

    if group_by in ("month", "day"):
        return {}
    column = sa.literal(TOTAL) if group_by is None else \
        sa.func.coalesce(getattr(Ticket, _TICKET_COLUMN[group_by]), 0)
    query = (sa.select(column.label("g"), sa.func.count())
             .where(Ticket.status.in_(OPEN_STATUSES), overdue_condition(now),
                    ticket_scope(user)).group_by(column))
    if area is not None:
        query = query.where(getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id)
    if category is not None:
        query = query.where(Ticket.category_id.in_(category_ids(category)))
    if units[0] is not None:
        query = query.where(Ticket.assigned_department_id == units[0].id)
    if units[1] is not None:
        query = query.where(Ticket.assigned_user_id == units[1].id)
    return {key: count for key, count in db.session.execute(query)}


def group_labels(group_by: str | None, keys) -> dict:
    """Display names of group keys (areas, departments, people, categories; months as they are)."""
    if group_by is None:
        return {TOTAL: "合计"}
    if group_by in ("month", "day"):
        return {key: key for key in keys}
    # From the process's plain rows: a city's grids or people are tens of thousands of keys.
    rows, name = {"department": (department_rows, "name"), "assignee": (user_rows, "display_name"),
                  "category": (category_rows, "name")}.get(group_by, (area_rows, "name"))
    found = rows()
    labels = {0: "（未指定）"}
    labels.update((key, getattr(found[key], name)) for key in keys if key and key in found)
    return labels
