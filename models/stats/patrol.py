"""Patrol figures beside the indicators: rounds walked and grid coverage.

Rounds come from the patrol rounds table (models.patrol, scoped by its one rule ``round_scope``),
by the local day they started — one row per round, read by the indexed start time; they are not
in the daily rollups. Coverage is the share of the active grids of a group that had at least one
round in the range: per area (the grids inside it), per grid worker (the grids of their scope
area), in total (the grids of the caller's scope, or of the area asked for). Groupings without
grids (department, category, month, day) and a category filter have no patrol figures (None).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models.areas.hierarchy import Area
from models.base import db
from models.clock import local_zone
from models.people.access import sees_everywhere
from models.people.roles import AREA_SCOPED_ROLES, PATROLLING_ROLES
from models.people.user import User
from models.patrol.queries import round_scope
from models.patrol.tables import PatrolRound
from models.vocabulary import AreaLevel

AREA_GROUPS = {"district": 0, "street": 1, "community": 2, "grid": 3}
TOTAL = "all"


def patrol_figures(user: User, date_from: date, date_to: date, area: Area | None,
                   category, group_by: str | None) -> dict:
    """{group key: {"patrol_rounds": n, "patrol_coverage": ratio or None}}; {} where the
    grouping or filter has no patrol figures."""
    if category is not None or group_by not in (None, "assignee", *AREA_GROUPS):
        return {}
    zone = local_zone()
    start = datetime.combine(date_from, time.min, zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, zone)
    grid = aliased(Area)
    query = (sa.select(PatrolRound.worker_id, grid.id, grid.path)
             .join(grid, PatrolRound.grid_id == grid.id)
             .where(PatrolRound.started_at >= start, PatrolRound.started_at < end,
                    round_scope(user)))
    if area is not None:
        query = query.where(grid.path.startswith(area.path))
    rounds = db.session.execute(query).all()
    if group_by == "assignee":
        return _by_worker(rounds)
    universe = _grids(user, area)
    depth = AREA_GROUPS.get(group_by)
    counts, covered, totals = defaultdict(int), defaultdict(set), defaultdict(int)
    for _worker, grid_id, path in rounds:
        key = TOTAL if depth is None else _ancestor(path, depth)
        counts[key] += 1
        covered[key].add(grid_id)
    for grid_id, path in universe:
        totals[TOTAL if depth is None else _ancestor(path, depth)] += 1
    keys = set(totals) | set(counts)
    return {key: {"patrol_rounds": counts[key],
                  "patrol_coverage": len(covered[key]) / totals[key] if totals[key] else None}
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


def _by_worker(rounds) -> dict:
    counts, covered = defaultdict(int), defaultdict(set)
    for worker_id, grid_id, _path in rounds:
        counts[worker_id] += 1
        covered[worker_id].add(grid_id)
    workers = db.session.scalars(sa.select(User).where(User.id.in_(list(counts)))).all() \
        if counts else []
    result = {}
    for worker in workers:
        scope = worker.scope_area
        own = db.session.scalar(sa.select(sa.func.count()).select_from(Area).where(
            Area.level == AreaLevel.GRID, Area.active.is_(True),
            Area.path.startswith(scope.path))) if scope is not None else 0
        result[worker.id] = {"patrol_rounds": counts[worker.id],
                             "patrol_coverage": len(covered[worker.id]) / own if own else None}
    return result


