"""Reading patrol rounds: who sees which, the supervisors' list, coverage and discoveries.

``patrol_coverage`` and ``patrol_discoveries`` are the statistics' entry points: ``scope`` is a
User (their visible area, as everywhere) or an Area (everything inside it).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.base import db, utcnow
from models.bulk import one_of
from models.categories import Category
from models.clock import local_day_start, local_zone
from models.people.access import sees_everywhere, ticket_scope
from models.people.roles import AREA_SCOPED_ROLES, PATROLLING_ROLES
from models.people.user import User
from models.patrol.tables import PatrolCheckIn, PatrolReport, PatrolRound
from models.tickets.tables import Ticket
from models.vocabulary import AreaLevel, Source

Scope = User | Area


def round_scope(user: User) -> sa.ColumnElement[bool]:
    """SQL condition selecting the rounds this user may read: administrators all, area-scoped
    roles those in the grids of their area, grid workers their own."""
    if sees_everywhere(user):
        return sa.true()
    if user.role in AREA_SCOPED_ROLES:
        if user.scope_area is None:
            return sa.false()
        return PatrolRound.grid_id.in_(_grid_ids_within(user.scope_area))
    if user.role in PATROLLING_ROLES:
        return PatrolRound.worker_id == user.id
    return sa.false()


def can_see_round(user: User, patrol: PatrolRound) -> bool:
    return db.session.execute(sa.select(sa.literal(True)).where(
        PatrolRound.id == patrol.id, round_scope(user))).first() is not None


def _grid_ids_within(area: Area) -> sa.Select:
    return sa.select(Area.id).where(Area.level == AreaLevel.GRID, Area.path.startswith(area.path))


@dataclass
class RoundFilters:
    grid_id: int | None = None
    worker_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    open_only: bool = False


def list_rounds(user: User, filters: RoundFilters, *, limit: int = 50,
                offset: int = 0) -> tuple[list[PatrolRound], int]:
    """The rounds this user may read, newest first, with the total count."""
    conditions = [round_scope(user)]
    if filters.grid_id:
        conditions.append(PatrolRound.grid_id == filters.grid_id)
    if filters.worker_id:
        conditions.append(PatrolRound.worker_id == filters.worker_id)
    if filters.date_from:
        conditions.append(PatrolRound.started_at >= local_day_start(filters.date_from))
    if filters.date_to:
        conditions.append(PatrolRound.started_at < local_day_start(filters.date_to + timedelta(1)))
    if filters.open_only:
        conditions.append(PatrolRound.ended_at.is_(None))
    total = db.session.execute(sa.select(sa.func.count()).select_from(PatrolRound)
                               .where(*conditions)).scalar_one()
    rows = db.session.execute(
        sa.select(PatrolRound).where(*conditions)
        .options(joinedload(PatrolRound.worker), joinedload(PatrolRound.grid),
                 selectinload(PatrolRound.check_ins), selectinload(PatrolRound.reports))
        .order_by(PatrolRound.started_at.desc(), PatrolRound.id.desc())
        .limit(limit).offset(offset)).scalars().all()
    return list(rows), total


def patrol_workers(user: User) -> list[User]:
    """The grid workers offered in the list's worker filter: those who patrolled in scope."""
    ids = sa.select(PatrolRound.worker_id).where(round_scope(user)).distinct()
    return list(db.session.execute(sa.select(User).where(User.id.in_(ids))
                                   .order_by(User.display_name, User.id)).scalars())


# --- statistics -------------------------------------------------------------------------------

@dataclass
class GridCoverage:
    grid: Area
    rounds: int
    last_round_at: datetime | None

    @property
    def covered(self) -> bool:
        return self.rounds > 0


def patrol_coverage(scope: Scope, days: int, *, now: datetime | None = None) -> list[GridCoverage]:
    """Every active grid of the scope, with its rounds started in the last ``days`` days and
    the start of its latest round (ever). Grids without a round come first."""
    now = now or utcnow()
    since = now - timedelta(days=max(1, days))
    grids = db.session.execute(sa.select(Area).where(
        Area.level == AreaLevel.GRID, Area.active.is_(True), _area_condition(scope))
        .order_by(Area.path)).scalars().all()
    recent = dict(db.session.execute(
        sa.select(PatrolRound.grid_id, sa.func.count()).where(PatrolRound.started_at >= since)
        .group_by(PatrolRound.grid_id)).all())
    latest = dict(db.session.execute(
        sa.select(PatrolRound.grid_id, sa.func.max(PatrolRound.started_at))
        .group_by(PatrolRound.grid_id)).all())
    rows = [GridCoverage(grid, recent.get(grid.id, 0), _aware(latest.get(grid.id)))
            for grid in grids]
    return sorted(rows, key=lambda row: row.covered)


def _area_condition(scope: Scope) -> sa.ColumnElement[bool]:
    if isinstance(scope, Area):
        return Area.path.startswith(scope.path)
    if sees_everywhere(scope):
        return sa.true()
    if scope.scope_area is None:
        return sa.false()
    return Area.path.startswith(scope.scope_area.path)


def _aware(value: datetime | None) -> datetime | None:
    # max() over a UTCDateTime column comes back naive on SQLite (no type processing)
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class WorkerCoverage:
    """How well a grid worker covered the grids of their area in a period: a grid-day (网格日)
    is one of their grids on one day; it is covered when they started a round there that day."""

    grids: int  # active grids of the worker's area
    days: int  # days of the period up to today
    grids_walked: int  # of their grids, those with at least one round of theirs
    grid_days_walked: int  # (grid, day) pairs with at least one round of theirs

    @property
    def grid_share(self) -> float | None:
        """Share of their grids walked at least once in the period."""
        return self.grids_walked / self.grids if self.grids else None

    @property
    def day_share(self) -> float | None:
        """Share of their grid-days walked: every grid every day is 100 %."""
        possible = self.grids * self.days
        return self.grid_days_walked / possible if possible else None


def days_so_far(date_from: date, date_to: date, today: date) -> int:
    """The days of the period that have begun (a period still running counts to today)."""
    return max(0, (min(date_to, today) - date_from).days + 1)


def walked_grid_days(date_from: date, date_to: date,
                     condition: sa.ColumnElement[bool] = sa.true()) -> set[tuple]:
    """(worker id, grid id, grid path, local day) of every round started in the period (both
    days included) that ``condition`` selects, once per worker, grid and day."""
    rows = db.session.execute(
        sa.select(PatrolRound.worker_id, PatrolRound.grid_id, Area.path, PatrolRound.started_at)
        .join(Area, PatrolRound.grid_id == Area.id)
        .where(PatrolRound.started_at >= local_day_start(date_from),
               PatrolRound.started_at < local_day_start(date_to + timedelta(1)), condition))
    zone = local_zone()
    return {(worker, grid, path, _aware(started).astimezone(zone).date())
            for worker, grid, path, started in rows}


def worker_coverage(workers: list, date_from: date, date_to: date, *,
                    today: date | None = None) -> dict[int, WorkerCoverage]:
    """worker id → their coverage of the active grids of their scope area in the period (their
    own rounds only). A worker without a scope area has no grids (coverage None). ``workers``:
    users or their plain rows (``reference_cache.user_rows``): ``id`` and ``scope_area_id``."""
    from models.clock import local_today
    from models.reference_cache import area_rows

    days = days_so_far(date_from, date_to, today or local_today())
    areas = area_rows()
    grid_paths = sorted((row.path, row.id) for row in areas.values()
                        if row.level == AreaLevel.GRID and row.active)
    paths = [path for path, _id in grid_paths]
    walked_by_worker: dict[int, set[tuple]] = {}
    if workers:
        for who, grid, _path, day in walked_grid_days(
                date_from, date_to, one_of(PatrolRound.worker_id, [w.id for w in workers])):
            walked_by_worker.setdefault(who, set()).add((grid, day))
    result = {}
    for worker in workers:
        area = areas.get(worker.scope_area_id)
        own: set[int] = set()
        if area is not None:  # the grids whose path begins with the area's: one sorted range
            first = bisect.bisect_left(paths, area.path)
            last = bisect.bisect_left(paths, area.path + "\U0010ffff")
            own = {grid_id for _path, grid_id in grid_paths[first:last]}
        pairs = {(grid, day) for grid, day in walked_by_worker.get(worker.id, ()) if grid in own}
        result[worker.id] = WorkerCoverage(len(own), days, len({g for g, _d in pairs}),
                                           len(pairs))
    return result


@dataclass
class PatrolDiscoveries:
    total: int = 0  # tickets reported by patrol (source 巡查) in the period
    during_rounds: int = 0  # of which reported on a recorded round
    by_grid: dict[int, int] = field(default_factory=dict)  # grid id → tickets


def patrol_discoveries(scope: Scope, date_from: date, date_to: date) -> PatrolDiscoveries:
    """Problems found by patrols between two local dates (both included)."""
    conditions = [Ticket.source == Source.PATROL,
                  Ticket.created_at >= local_day_start(date_from),
                  Ticket.created_at < local_day_start(date_to + timedelta(1)),
                  _ticket_condition(scope)]
    rows = db.session.execute(
        sa.select(Ticket.grid_id, sa.func.count(), sa.func.count(PatrolReport.ticket_id))
        .outerjoin(PatrolReport, PatrolReport.ticket_id == Ticket.id)
        .where(*conditions).group_by(Ticket.grid_id)).all()
    result = PatrolDiscoveries()
    for grid_id, count, linked in rows:
        result.total += count
        result.during_rounds += linked
        if grid_id is not None:
            result.by_grid[grid_id] = count
    return result


def _ticket_condition(scope: Scope) -> sa.ColumnElement[bool]:
    if isinstance(scope, Area):
        return getattr(Ticket, LEVEL_COLUMN[scope.level]) == scope.id
    return ticket_scope(scope)


# --- the phone pages --------------------------------------------------------------------------

def report_categories(worker: User, *, limit_days: int = 90) -> list[Category]:
    """Sub-categories a patrol can report, the ones this worker reported most lately first."""
    since = utcnow() - timedelta(days=limit_days)
    used = (sa.select(Ticket.category_id, sa.func.count().label("n"))
            .where(Ticket.created_by_id == worker.id, Ticket.source == Source.PATROL,
                   Ticket.created_at >= since)
            .group_by(Ticket.category_id).subquery())
    return list(db.session.execute(
        sa.select(Category).outerjoin(used, used.c.category_id == Category.id)
        .where(Category.parent_id.is_not(None), Category.active.is_(True))
        .order_by(sa.func.coalesce(used.c.n, 0).desc(), Category.code)).scalars())


def visible_round(user: User, round_id: int) -> PatrolRound | None:
    """The round if this user may read it (supervisors in scope, the worker their own)."""
    return db.session.execute(sa.select(PatrolRound).where(
        PatrolRound.id == round_id, round_scope(user))).scalar_one_or_none()


def visible_check_in(user: User, check_in_id: int) -> PatrolCheckIn | None:
    return db.session.execute(
        sa.select(PatrolCheckIn).join(PatrolRound, PatrolCheckIn.round_id == PatrolRound.id)
        .where(PatrolCheckIn.id == check_in_id, round_scope(user))).scalar_one_or_none()


def recent_rounds(worker: User, limit: int = 5) -> list[PatrolRound]:
    return list(db.session.execute(
        sa.select(PatrolRound).where(PatrolRound.worker_id == worker.id)
        .order_by(PatrolRound.started_at.desc()).limit(limit)).scalars())
