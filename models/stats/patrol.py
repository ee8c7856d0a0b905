"""Patrol figures beside the indicators: rounds walked, grid coverage and grid-day coverage.

Rounds come from the patrol rounds table (models.patrol, scoped by its one rule ``round_scope``),
by the local day they started — one row per round, read by the indexed start time; they are not
in the daily rollups. Coverage is the share of the active grids of a group that had at least one
round in the range: per area (the grids inside it), per grid worker (the grids of their scope
area), in total (the grids of the caller's scope, or of the area asked for). Groupings without
grids (department, category, month, day) and a category filter have no patrol figures (None).
Grid-day coverage (巡查日覆盖率) is the share of grid-days (a grid on a day of the period so far)
with a round started: per area any round in its grids, per grid worker their own rounds in the
grids of their area — models.patrol.queries (``walked_grid_days``, ``worker_coverage``) says
what a covered grid-day is, once.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models.areas.hierarchy import Area
from models.base import db
from models.clock import local_day_start
from models.people.access import sees_everywhere
from models.people.roles import AREA_SCOPED_ROLES, PATROLLING_ROLES
from models.people.user import User
from models.clock import local_today
from models.patrol.queries import days_so_far, round_scope, walked_grid_days, worker_coverage
from models.patrol.tables import PatrolRound
from models.reference_cache import user_rows
from models.vocabulary import AreaLevel

AREA_GROUPS = {"district": 0, "street": 1, "community": 2, "grid": 3}
TOTAL = "all"


def patrol_figures(user: User, date_from: date, date_to: date, area: Area | None,
                   category, group_by: str | None, *, workers=(),
                   only: int | None = None) -> dict:
    """{group key: {"patrol_rounds": n, "patrol_coverage": ratio or None,
    "patrol_day_coverage": ratio or None}}; {} where the grouping or filter has no patrol
    figures. ``workers``: by grid worker, the ids of further people whose figures are wanted
    although they walked no round (a grid worker who walked none covered 0 %, not "no data");
    ``only``: the rounds of this one person."""
    if category is not None or group_by not in (None, "assignee", *AREA_GROUPS):
        return {}
    start, end = local_day_start(date_from), local_day_start(date_to + timedelta(days=1))
    grid = aliased(Area)
    query = (sa.select(PatrolRound.worker_id, grid.id, grid.path)
             .join(grid, PatrolRound.grid_id == grid.id)
             .where(PatrolRound.started_at >= start, PatrolRound.started_at < end,
                    round_scope(user)))
    if area is not None:
        query = query.where(grid.path.startswith(area.path))
    if only is not None:
        query = query.where(PatrolRound.worker_id == only)
    rounds = db.session.execute(query).all()
    if group_by == "assignee":
        return _by_worker(rounds, date_from, date_to, workers)
    universe = _grids(user, area)
    depth = AREA_GROUPS.get(group_by)
    counts, covered, totals = defaultdict(int), defaultdict(set), defaultdict(int)
    for _worker, grid_id, path in rounds:
        key = TOTAL if depth is None else _ancestor(path, depth)
        counts[key] += 1
        covered[key].add(grid_id)
    for grid_id, path in universe:
        totals[TOTAL if depth is None else _ancestor(path, depth)] += 1
    walked = walked_grid_days(date_from, date_to, sa.and_(
        round_scope(user), Area.path.startswith(area.path) if area is not None else sa.true()))
    grid_days = defaultdict(set)
    for _worker, grid_id, path, day in walked:
        grid_days[TOTAL if depth is None else _ancestor(path, depth)].add((grid_id, day))
    days = days_so_far(date_from, date_to, local_today())
    keys = set(totals) | set(counts)
    return {key: {"patrol_rounds": counts[key],
                  "patrol_coverage": len(covered[key]) / totals[key] if totals[key] else None,
                  "patrol_day_coverage": len(grid_days[key]) / (totals[key] * days)
                  if totals[key] and days else None}
            for key in keys}


def _ancestor(path: str, depth: int) -> int:
    ids = [int(part) for part in path.strip("/").split("/")]
    return ids[depth] if depth < len(ids) else 0


def _grids(user: User, area: Area | None) -> list[tuple[int, str]]:
    """The active grids the caller's figures cover (id, path)."""
    query = sa.select(Area.id, Area.path).where(Area.level == AreaLevel.GRID,
                                                Area.active.is_(True))
    if area is not None:
        query = query.where(Area.path.startswith(area.path))
    if not sees_everywhere(user):
        if (user.role in AREA_SCOPED_ROLES or user.role in PATROLLING_ROLES) and \
                user.scope_area is not None:
            query = query.where(Area.path.startswith(user.scope_area.path))
        else:
            return []
    return db.session.execute(query).all()


def _by_worker(rounds, date_from: date, date_to: date, others=()) -> dict:
    counts = defaultdict(int)
    for worker_id, _grid_id, _path in rounds:
        counts[worker_id] += 1
    others = [key for key in others if isinstance(key, int) and key and key not in counts]
    people = user_rows()  # plain rows: a city's 25,600 grid workers are no ORM objects
    workers = [people[key] for key in counts if key in people]
    workers += [people[key] for key in others
                if key in people and people[key].role in PATROLLING_ROLES]
    coverage = worker_coverage(workers, date_from, date_to)
    return {worker.id: {"patrol_rounds": counts[worker.id],
                        "patrol_coverage": coverage[worker.id].grid_share,
                        "patrol_day_coverage": coverage[worker.id].day_share}
            for worker in workers}
