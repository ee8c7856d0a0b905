"""The responsibility matrix page (责任矩阵): categories × areas, each cell resolved exactly as
dispatch resolves a ticket (models.tickets.dispatch.resolve), with the staff loaded once."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from models.areas.hierarchy import Area
from models.base import db
from models.categories import Category
from models.people.department import Department
from models.people.user import User
from models.tickets.dispatch import (NO_RULE, Staffing, gap_reason_label, most_specific_first,
                                     resolve)
from models.tickets.dispatch_rules import DispatchRule
from models.vocabulary import AreaLevel, DepartmentKind, Role


class KnownStaffing(Staffing):
    """The grid workers and community offices, read in two queries for a whole page."""

    def __init__(self, workers: dict[int, User], offices: dict[int, Department]) -> None:
        self._workers, self._offices = workers, offices

    @classmethod
    def load(cls) -> "KnownStaffing":
        workers: dict[int, User] = {}
        for user in db.session.execute(
                sa.select(User).where(User.role == Role.GRID_WORKER, User.active.is_(True),
                                      User.scope_area_id.is_not(None)).order_by(User.id)).scalars():
            workers.setdefault(user.scope_area_id, user)
        offices: dict[int, Department] = {}
        for office in db.session.execute(
                sa.select(Department).where(Department.kind == DepartmentKind.COMMUNITY_OFFICE,
                                            Department.active.is_(True))
                .order_by(Department.id)).scalars():
            offices.setdefault(office.area_id, office)
        return cls(workers, offices)

    def grid_worker(self, grid: Area | None) -> User | None:
        return self._workers.get(grid.id) if grid is not None else None

    def community_office(self, community: Area | None) -> Department | None:
        return self._offices.get(community.id) if community is not None else None


@dataclass(frozen=True)
class MatrixCell:
    """One cell: the rule set for it (exactly here, or inherited), and the places in it where
    dispatch finds nobody, with the reasons (a cell above the grid level is checked grid by
    grid, since tickets are placed in grids)."""

    rule: DispatchRule | None
    explicit: bool
    gaps: tuple[tuple[Area, tuple[str, ...]], ...] = ()
    places: int = 1
    # The rule's co-handling departments (主办/协办: "城管 主办, 市场监管 协办"), active ones:
    # dispatch calls exactly these in beside the responsible party.
    co_departments: tuple[Department, ...] = ()

    @property
    def gap(self) -> bool:
        return bool(self.gaps)

    @property
    def reasons(self) -> list[str]:
        """Each reason once, in words, e.g. "the grid has no active grid worker (甲一网格)"."""
        by_reason: dict[str, list[str]] = defaultdict(list)
        for place, reasons in self.gaps:
            for reason in reasons:
                by_reason[reason].append(place.name)
        return [f"{gap_reason_label(reason)}（{'、'.join(names[:3])}"
                f"{'…' if len(names) > 3 else ''}）" for reason, names in by_reason.items()]


@dataclass
class Matrix:
    rows: list[tuple[Category, list[tuple[Area, MatrixCell]]]]

    @property
    def gaps(self) -> int:
        return sum(1 for _category, cells in self.rows for _area, cell in cells if cell.gap)


def build_matrix(categories: list[Category], areas: list[Area]) -> Matrix:
    rules = db.session.execute(
        sa.select(DispatchRule).where(DispatchRule.active.is_(True))
        .options(joinedload(DispatchRule.area), joinedload(DispatchRule.department)
                 .joinedload(Department.area))).scalars().all()
    by_category: dict[int, list[DispatchRule]] = defaultdict(list)
    for rule in rules:
        by_category[rule.category_id].append(rule)
    places = _places_below(areas)
    known = _areas_by_id([p for group in places.values() for p in group])
    staffing = KnownStaffing.load()
    co_ids = {i for rule in rules for i in rule.co_department_ids or [] if isinstance(i, int)}
    co_departments = {d.id: d for d in db.session.execute(
        sa.select(Department).where(Department.id.in_(co_ids), Department.active.is_(True))
    ).scalars()} if co_ids else {}
    rows = []
    for category in categories:
        candidates = by_category[category.id] + by_category.get(category.parent_id, [])
        rows.append((category, [(area, _cell(candidates, category, area, places[area.id], known,
                                             staffing, co_departments)) for area in areas]))
    return Matrix(rows)


def _cell(rules: list[DispatchRule], category: Category, area: Area, places: list[Area],
          known: dict[int, Area], staffing: Staffing,
          co_departments: dict[int, Department] | None = None) -> MatrixCell:
    ordered = most_specific_first(rules, category, area)
    winner = ordered[0] if ordered else None
    gaps = []
    for place in places:
        levels = {known[i].level: known[i] for i in place.ancestor_ids if i in known}
        resolution = resolve(most_specific_first(rules, category, place), levels, staffing)
        if resolution.owner is None:
            reasons = tuple(dict.fromkeys(r for _rule, r in resolution.passed_over)) or (NO_RULE,)
            gaps.append((place, reasons))
    explicit = winner is not None and winner.category_id == category.id \
        and winner.area_id == area.id
    co = tuple(co_departments[i] for i in (winner.co_department_ids or [])
               if i in (co_departments or {})) if winner is not None else ()
    return MatrixCell(winner, explicit, tuple(gaps), len(places), co)


def _places_below(areas: list[Area]) -> dict[int, list[Area]]:
    """The grids inside each area (the area itself when it is a grid or has none)."""
    places: dict[int, list[Area]] = {a.id: [] for a in areas}
    upper = [a for a in areas if a.level != AreaLevel.GRID]
    if upper:
        depth = upper[0].level.depth
        grids = db.session.execute(
            sa.select(Area).where(Area.level == AreaLevel.GRID,
                                  sa.or_(*(Area.path.startswith(a.path) for a in upper)))
            .order_by(Area.path)).scalars().all() if len(upper) <= 200 else \
            db.session.execute(sa.select(Area).where(Area.level == AreaLevel.GRID)
                               .order_by(Area.path)).scalars().all()
        for grid in grids:
            ids = grid.ancestor_ids
            if len(ids) > depth and ids[depth] in places:
                places[ids[depth]].append(grid)
    for area in areas:
        places[area.id] = places[area.id] or [area]
    return places


def _areas_by_id(places: list[Area]) -> dict[int, Area]:
    ids = {i for place in places for i in place.ancestor_ids}
    found = {a.id: a for a in places}
    missing = ids - set(found)
    if missing:
        found.update({a.id: a for a in db.session.execute(
            sa.select(Area).where(Area.id.in_(missing))).scalars()})
    return found
