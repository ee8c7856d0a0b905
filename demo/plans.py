"""A year of reports planned before any is made: when, what, where, through which channel, how
urgent, and how far each case has come by now (older cases are mostly closed)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import accumulate

from demo.city import CATEGORY_TREE, CHRONIC_PARKING, CHRONIC_PARKING_SHARE, City, Grid
from models.categories import Category
from models.clock import local_zone, to_local
from models.vocabulary import Priority, Source, TicketStatus

# Month factors on the base weight: the plum-rain season (梅雨, June–July) and summer storms
# block the drains, typhoons fell trees, cold snaps burst pipes.
SEASONALITY = {
    "0101": {1: 1.2, 2: 1.5, 7: 1.2, 8: 1.2},
    "0202": {5: 2.0, 6: 7.0, 7: 7.0, 8: 5.0, 9: 2.0},
    "0302": {6: 1.4, 7: 1.6, 8: 1.6},
    "0501": {11: 1.3, 12: 1.3, 1: 1.3},
    "0504": {12: 2.0, 1: 2.5, 2: 2.0},
    "0601": {7: 3.0, 8: 5.0, 9: 4.0},
    "0901": {5: 1.3, 6: 1.3, 7: 1.4, 8: 1.4, 9: 1.3},
    "0902": {5: 1.3, 6: 1.3, 7: 1.4, 8: 1.4, 9: 1.3},
}
URGENT_PRONE = {"0203", "0402", "0502", "0504", "0601", "0801"}
LESS_PATROL = {"0203", "0301", "0302", "0401", "0802"}  # residents call these in, patrols rarely see them

SOURCE_WEIGHTS = [(Source.PATROL, 36), (Source.PHONE, 24), (Source.WECHAT, 18), (Source.WEB, 8),
                  (Source.WALK_IN, 8), (Source.API, 6)]

# Final status by age of the ticket (days): older tickets are mostly closed, recent ones open.
# No suspension is older than a month: the scheduler resumes those by itself.
STATUS_BY_AGE = [
    (1, {TicketStatus.PENDING: 55, TicketStatus.IN_PROGRESS: 30, TicketStatus.PENDING_REVIEW: 6,
         TicketStatus.CLOSED: 6, TicketStatus.INVALID: 3}),
    (7, {TicketStatus.PENDING: 20, TicketStatus.IN_PROGRESS: 35, TicketStatus.PENDING_REVIEW: 15,
         TicketStatus.CLOSED: 22, TicketStatus.SUSPENDED: 3, TicketStatus.INVALID: 5}),
    (30, {TicketStatus.PENDING: 4, TicketStatus.IN_PROGRESS: 14, TicketStatus.PENDING_REVIEW: 8,
          TicketStatus.CLOSED: 63, TicketStatus.SUSPENDED: 5, TicketStatus.INVALID: 6}),
    (90, {TicketStatus.IN_PROGRESS: 5, TicketStatus.PENDING_REVIEW: 2, TicketStatus.CLOSED: 86,
          TicketStatus.INVALID: 7}),
    (10**6, {TicketStatus.IN_PROGRESS: 1.5, TicketStatus.CLOSED: 90.5, TicketStatus.INVALID: 8}),
]


@dataclass
class Plan:
    created: datetime
    category: Category
    grid: Grid
    source: Source
    status: TicketStatus  # where the case stands now
    priority: Priority = Priority.NORMAL
    chronic: bool = False
    merge_of: int | None = None  # index of an earlier plan this one duplicates
    text: tuple[str, str, str] | None = None  # title, what was seen, address (set when reported)
    to_grid_worker: bool = False  # the community office sends it on to the grid's own worker


def _weighted(rng: random.Random, table: dict):
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


def plan_tickets(city: City, count: int) -> list[Plan]:
    rng, zone = city.rng, local_zone()
    now_local = city.now.astimezone(zone)
    subs = [(code, weight) for _parent, children in CATEGORY_TREE
            for code, _n, _l, _a, _h, _p, weight in children]
    grid_weights = [rng.uniform(0.6, 1.6) for _ in city.grids]
    chronic = next(g for g in city.grids
                   if (g.community_index, g.number) == CHRONIC_PARKING)
    # More reports lately (the system caught on), so the board has a live queue to show.
    day_weights = list(accumulate(1.0 + 0.5 * (1 - d / 365) + 6.0 * 0.93 ** d for d in range(365)))
    plans: list[Plan] = []
    for _ in range(count):
        days_ago = rng.choices(range(365), cum_weights=day_weights)[0]
        day = now_local.date() - timedelta(days=days_ago)
        month = day.month
        weights = [w * SEASONALITY.get(code, {}).get(month, 1.0) for code, w in subs]
        code = rng.choices([c for c, _ in subs], weights=weights)[0]
        category = city.categories[code]
        is_chronic = code == "0201" and rng.random() < CHRONIC_PARKING_SHARE
        grid = chronic if is_chronic else rng.choices(city.grids, weights=grid_weights)[0]
        sources = dict(SOURCE_WEIGHTS)
        if code in LESS_PATROL or is_chronic:
            sources[Source.PATROL] = 6
        source = _weighted(rng, sources)
        if source == Source.PATROL:
            moment = time(rng.randint(8, 16), rng.randint(0, 59))
        else:
            moment = time(rng.choices(range(24), weights=[1, 1, 1, 1, 1, 1, 2, 5, 8, 9, 9, 8,
                                                          6, 7, 8, 8, 8, 7, 6, 6, 5, 4, 3, 2])[0],
                          rng.randint(0, 59))
        created = datetime.combine(day, moment, zone)
        if created > now_local - timedelta(minutes=15):
            created = now_local - timedelta(minutes=rng.randint(15, 600))
        created = created.astimezone(city.now.tzinfo)
        source = by_day(source, created)
        age_days = (city.now - created).total_seconds() / 86400
        table = next(t for limit, t in STATUS_BY_AGE if age_days < limit)
        status = _weighted(rng, table)
        if code in URGENT_PRONE:
            priority = _weighted(rng, {Priority.NORMAL: 55, Priority.URGENT: 35, Priority.EMERGENCY: 10})
        else:
            priority = _weighted(rng, {Priority.NORMAL: 90, Priority.URGENT: 9, Priority.EMERGENCY: 1})
        plans.append(Plan(created=created, category=category, grid=grid, source=source,
                           status=status, priority=priority, chronic=is_chronic))
    plans.extend(plan_caseload(city))
    plans.sort(key=lambda p: p.created)
    _ensure_every_status(city, plans)
    # About half of the invalid tickets are duplicates of an earlier report of the same problem.
    for index, plan in enumerate(plans):
        if plan.status != TicketStatus.INVALID or rng.random() < 0.45:
            continue
        candidates = [i for i in range(index - 1, -1, -1)
                      if plans[i].created > plan.created - timedelta(days=10)
                      and plans[i].status != TicketStatus.INVALID
                      and plans[i].merge_of is None][:30]
        if candidates:
            original = rng.choice(candidates)
            plan.merge_of = original
            plan.category, plan.grid = plans[original].category, plans[original].grid
            plan.chronic = plans[original].chronic
            if plan.source == Source.PATROL:
                plan.source = Source.PHONE
    return plans


def _ensure_every_status(city: City, plans: list[Plan]) -> None:
    """Small counts could miss a status by chance: give each missing one to a recent ticket."""
    present = {p.status for p in plans}
    for status in TicketStatus:
        if status in present:
            continue
        recent = [p for p in plans[-40:] if p.status in (TicketStatus.IN_PROGRESS, TicketStatus.CLOSED)]
        city.rng.choice(recent).status = status
        present.add(status)




# --------------------------------------------------------------------------------------------
# The month's ranking needs cases: in the last complete month and in the current one, most grid
# workers handle a few cases of their grid — disputes (03 goes to the grid's own worker) and
# what the community office sends them to settle at the door (sorting, stairwells, e-bike
# charging) — and each handling department closes a few cases of its own, so the rankings have
# real rows. A few newcomers and two departments stay below the minimum number of cases (样本不足).
# --------------------------------------------------------------------------------------------
GRID_CASES = (3, 4, 4, 5)  # a grid worker's cases in a month (some escalate to the community)
NEWCOMERS = 4  # grid workers with one case or none
DEPARTMENT_CASES = (5, 6, 7)
DEPARTMENT_WORK = {  # department key → the category the matrix sends it, and where
    "cg": ("0503", None), "zf": ("0901", None), "zj": ("0401", None), "hw": ("0102", None),
    "sj": ("0203", lambda g: g.community_index != 0), "xf": ("0801", None),
    "wxwy": ("0203", lambda g: g.community_index == 0),
    "jlwy": ("0201", lambda g: g.community_index == 3),
}  # 杭州翠苑物业 (sewers, seasonal) gets no extra cases
FEW_CASES = {"xf": 2}  # a department with too few cases to be ranked
GRID_WORK = {"0301": False, "0302": False, "0104": True, "0204": True, "0802": True}


def by_day(source: Source, created: datetime) -> Source:
    """Grid workers patrol by day (8:00–17:00): a case found at another hour was phoned in.
    (A report moved to before now, or a caseload's moment, can fall at night; its patrol round
    would then run through midnight.)"""
    if source == Source.PATROL and not 8 <= to_local(created).hour < 17:
        return Source.PHONE
    return source


def month_windows(now_local: datetime) -> list[tuple[datetime, datetime]]:
    """When the cases of the last complete month and of the current month are reported: early
    enough in a month to close within it (the current month: before now)."""
    first = now_local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous = (first - timedelta(days=1)).replace(day=1)
    windows = [(previous + timedelta(hours=8), previous + (first - previous) * 0.6)]
    if now_local - first > timedelta(hours=1):
        windows.append((first + min(timedelta(hours=8), (now_local - first) * 0.1),
                        now_local - timedelta(minutes=30)))
    return windows


def plan_caseload(city: City) -> list[Plan]:
    rng = random.Random(city.rng.random())
    now_local = city.now.astimezone(local_zone())
    newcomers = set(rng.sample(range(len(city.grids)), NEWCOMERS))
    plans = []
    for start, end in month_windows(now_local):
        def moment() -> datetime:
            return (start + (end - start) * rng.random()).astimezone(city.now.tzinfo)

        for index, grid in enumerate(city.grids):
            count = rng.choice((0, 1)) if index in newcomers else rng.choice(GRID_CASES)
            for _ in range(count):
                code = rng.choice(list(GRID_WORK))
                source = Source.PATROL if rng.random() < 0.5 else Source.PHONE
                created = moment()
                plans.append(Plan(created, city.categories[code], grid, by_day(source, created),
                                  TicketStatus.CLOSED, to_grid_worker=GRID_WORK[code]))
        for key, (code, where) in DEPARTMENT_WORK.items():
            grids = [g for g in city.grids if where is None or where(g)]
            for _ in range(FEW_CASES.get(key) or rng.choice(DEPARTMENT_CASES)):
                created = moment()
                plans.append(Plan(created, city.categories[code], rng.choice(grids),
                                  by_day(_weighted(rng, dict(SOURCE_WEIGHTS)), created),
                                  TicketStatus.CLOSED))
    return plans
