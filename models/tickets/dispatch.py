"""The responsibility matrix: rule checks and resolving who owns a ticket."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _

from models.areas.hierarchy import Area, lineage
from models.base import db
from models.categories import Category
from models.people.department import Department
from models.people.user import User
from models.reference_cache import (area_lineage, area_rows, cached, category_rows,
                                    department_rows, user_rows)
from models.tickets.dispatch_rules import DispatchRule
from models.vocabulary import AreaLevel, DeadlineUnit, DepartmentKind, ResponsibleKind, Role


class DispatchRuleError(ValueError):
    pass


def check_dispatch_rule(rule: DispatchRule) -> None:
    if rule.responsible_kind == ResponsibleKind.DEPARTMENT and rule.department is None:
        raise DispatchRuleError(_("Choose the responsible department."))
    if rule.responsible_kind != ResponsibleKind.DEPARTMENT:
        rule.department = None
    if rule.department is not None and rule.department.id in (rule.co_department_ids or []):
        raise DispatchRuleError(_("%(department)s is responsible here; it cannot also be a "
                                  "co-handling department of the same rule.",
                                  department=rule.department.name))
    for value, unit, label in ((rule.accept_deadline, rule.accept_deadline_unit, _("acceptance")),
                               (rule.handle_deadline, rule.handle_deadline_unit, _("handling"))):
        if (value is None) != (unit is None):
            raise DispatchRuleError(
                _("Give both the %(which)s deadline and its unit, or neither.", which=label))
    with db.session.no_autoflush:  # the rule, not yet checked whole, is not written by a query
        _check_departments_serve(rule)


def _check_departments_serve(rule: DispatchRule) -> None:
    """The departments a rule names serve its area: another street's office would receive the
    street's cases and its staff would not find the place in their area."""
    from models.people.access import department_serves

    area = rule.area
    if area is None or area.id is None:
        return
    named = [rule.department] if rule.department is not None else []
    for department in [*named, *rule.co_departments]:
        if department.id is not None and not department_serves(department, area):
            raise DispatchRuleError(_(
                "%(department)s belongs to %(its_area)s and does not serve %(area)s; choose a "
                "department of %(area)s or of an area above it.", department=department.name,
                its_area=department.area.name, area=area.name))


def check_department_area(department: Department) -> None:
    """A department given another area keeps serving every active rule that names it (as
    responsible or co-handling department): else that rule's cases would go where the place is
    not in the department's area. Refused in words, naming the rule, which is changed first."""
    from models.people.access import department_serves

    if department.id is None or department.area is None:
        return
    with db.session.no_autoflush:  # the department's new area is not written by the query
        rules = db.session.execute(sa.select(DispatchRule).where(
            DispatchRule.active.is_(True))).scalars().all()
        for rule in rules:
            named = rule.department_id == department.id \
                or department.id in (rule.co_department_ids or [])
            if named and not department_serves(department, rule.area):
                raise DispatchRuleError(_(
                    "The dispatch rule \"%(rule)s\" names %(department)s, which would then no "
                    "longer serve %(area)s; change or switch off that rule first.",
                    rule=str(rule), department=department.name, area=rule.area.name))


@dataclass(frozen=True)
class Owner:
    """Who a ticket of a category in an area belongs to, and why."""

    department: Department | None
    user: User | None
    level: AreaLevel
    rule: DispatchRule | None  # None: no rule covers it, the command centre queue takes it


def most_specific_first(rules: list[DispatchRule], category: Category,
                        area: Area) -> list[DispatchRule]:
    """The rules that cover the category in the area, most specific first: deepest category,
    then deepest area, then explicit order. The one place this ordering is defined."""
    covering = [r for r in rules
                if r.active and r.category_id in (category.id, category.parent_id)
                and area.path.startswith(r.area.path)]
    return sorted(covering, key=lambda r: (r.category_id != category.id,
                                           -r.area.level.depth, r.sort_order, r.id))


# Why a rule covering a cell cannot take its tickets (stored in dispatch events, shown on the matrix).
DEPARTMENT_INACTIVE = "department_inactive"
NO_GRID_WORKER = "no_grid_worker"
NO_COMMUNITY_OFFICE = "no_community_office"
NO_RULE = "no_rule"


def gap_reason_label(reason: str) -> str:
    return {DEPARTMENT_INACTIVE: _("the department is inactive"),
            NO_GRID_WORKER: _("the grid has no active grid worker"),
            NO_COMMUNITY_OFFICE: _("the community has no active community office"),
            NO_RULE: _("no rule")}.get(reason, reason)


class Staffing:
    """Who is there to take tickets: read from the database, one question at a time."""

    def grid_worker(self, grid: Area | None) -> User | None:
        return grid_worker_of(grid) if grid is not None else None

    def community_office(self, community: Area | None) -> Department | None:
        return community_office_of(community)


@dataclass(frozen=True)
class Resolution:
    """The matrix applied to one place: the owner, and the covering rules passed over (why)."""

    owner: Owner | None  # None: no rule can take it, the command centre queue does
    passed_over: tuple[tuple[DispatchRule, str], ...] = ()


def resolve(rules: list[DispatchRule], levels: dict[AreaLevel, Area],
            staffing: Staffing) -> Resolution:
    """The one resolution of the responsibility matrix, used by dispatch and the matrix page:
    the first of the covering ``rules`` (most specific first) whose responsible party exists
    and is active takes the ticket; a rule whose department is inactive, whose grid has no
    active worker or whose community has no office is passed over, with the reason."""
    passed = []
    for rule in rules:
        owner, reason = _owner_from_rule(rule, levels, staffing)
        if owner is not None:
            return Resolution(owner, tuple(passed))
        passed.append((rule, reason))
    return Resolution(None, tuple(passed))


def resolve_owner(category: Category, area: Area) -> Owner:
    """The responsibility matrix applied to one category and one area (usually a grid)."""
    return resolve_place(category, area)[0]


def resolve_place(category: Category, area: Area) -> tuple[Owner, Resolution]:
    """The owner of one cell as rows of the current session (see ``owner_in_memory``)."""
    owner, resolution = owner_in_memory(category, area)
    return _attached(owner), Resolution(
        _attached(resolution.owner) if resolution.owner is not None else None,
        tuple((db.session.get(DispatchRule, rule.id), reason)
              for rule, reason in resolution.passed_over))


def owner_in_memory(category, area) -> tuple[Owner, Resolution]:
    """The owner of one cell resolved on the cached matrix, without a query: its department,
    user and rule are plain read-only rows (``.id`` …), not ORM instances. ``category`` needs
    ``id`` and ``parent_id``; ``area`` ``id``, ``path`` and ``level``."""
    matrix = matrix_in_memory()
    levels = area_lineage(area.id)
    if not levels:  # an area committed after this transaction's snapshot of the areas
        levels = {level: _AreaView.of(a) for level, a in lineage(area).items()}
    here = levels[area.level]
    resolution = resolve(most_specific_first(list(matrix.rules_for(category)), category, here),
                         levels, matrix)
    return resolution.owner or matrix.command_centre_owner(levels), resolution


def ticket_place(ticket) -> Area | None:
    """The deepest area the ticket is placed in."""
    return db.session.get(Area, _place_id(ticket))


def _place_id(ticket) -> int | None:
    return ticket.grid_id or ticket.community_id or ticket.street_id or ticket.district_id


def ticket_owner(ticket, *, attached: bool = True) -> tuple[Owner, Resolution]:
    """Who the responsibility matrix gives this ticket to, from where it stands (a ticket
    flagged outside every grid goes to its community's office).

    ``attached=False`` gives the owner as the matrix's cached rows (``owner_in_memory``: ids,
    the rule's deadlines, co-handling departments and label) without a query — what a dispatch
    needs to write its event."""
    # Without a query where it can: the process's copy of the area rows has what is read below.
    area = (None if attached else area_rows().get(_place_id(ticket))) or ticket_place(ticket)
    if area is None:
        return Owner(None, None, AreaLevel.DISTRICT, None), Resolution(None)
    if ticket.location_flagged and area.level == AreaLevel.COMMUNITY:
        return Owner(community_office_of(area), None, AreaLevel.COMMUNITY, None), Resolution(None)
    if not attached:
        return owner_in_memory(ticket.category, area)
    return resolve_place(ticket.category, area)


# --- the matrix in memory -------------------------------------------------------------------------
#
# The active rules, the grid workers, the community offices and the command centres as plain rows,
# read once per process and again after any change of rules, areas, departments or users
# (models/reference_cache.py). ``resolve`` and ``most_specific_first`` run on them unchanged: the
# rows carry the attributes they read (``rule.area.path``, ``department.area.level`` …).

MATRIX_KINDS = ("dispatch_rules", "areas", "departments", "users")


class _AreaView(NamedTuple):
    id: int
    path: str
    level: AreaLevel

    @classmethod
    def of(cls, area) -> "_AreaView":
        return cls(area.id, area.path, area.level)


class _DepartmentView(NamedTuple):
    id: int
    active: bool
    area: _AreaView | None


class _UserView(NamedTuple):
    id: int


class _RuleView(NamedTuple):
    id: int
    category_id: int
    area: _AreaView
    responsible_kind: ResponsibleKind
    department: _DepartmentView | None
    sort_order: int
    active: bool
    # what a dispatch reads besides the owner: the deadline override and the co-handlers
    accept_deadline: int | None = None
    accept_deadline_unit: DeadlineUnit | None = None
    handle_deadline: int | None = None
    handle_deadline_unit: DeadlineUnit | None = None
    co_department_ids: tuple | None = None

    def __str__(self) -> str:
        """As ``str(DispatchRule)``: "category @ area", from the cached labels."""
        category = category_rows().get(self.category_id)
        area = area_rows().get(self.area.id)
        return f"{category.label if category else '?'} @ {area.name if area else '?'}"


class MatrixInMemory(Staffing):
    """The matrix's rules and its staff as plain, shared, read-only rows."""

    def __init__(self, rules: dict[int, tuple[_RuleView, ...]], workers: dict[int, int],
                 offices: dict[int, _DepartmentView], centres: dict[int, _DepartmentView]) -> None:
        self._rules = MappingProxyType(rules)
        self._workers = MappingProxyType(workers)
        self._offices = MappingProxyType(offices)
        self._centres = MappingProxyType(centres)

    def rules_for(self, category: Category) -> tuple[_RuleView, ...]:
        return self._rules.get(category.id, ()) + (
            self._rules.get(category.parent_id, ()) if category.parent_id else ())

    def grid_worker(self, grid) -> _UserView | None:
        worker = self._workers.get(grid.id) if grid is not None else None
        return _UserView(worker) if worker is not None else None

    def community_office(self, community) -> _DepartmentView | None:
        return self._offices.get(community.id) if community is not None else None

    def command_centre_owner(self, levels) -> Owner:
        """As ``command_centre_owner``, from memory."""
        for level in (AreaLevel.STREET, AreaLevel.DISTRICT):
            area = levels.get(level)
            centre = self._centres.get(area.id) if area is not None else None
            if centre is not None:
                return Owner(centre, None, level, None)
        return Owner(None, None, AreaLevel.DISTRICT, None)


def _load_matrix() -> MatrixInMemory:
    areas = {a.id: _AreaView(a.id, a.path, a.level) for a in area_rows().values()}
    departments = {d.id: _DepartmentView(d.id, d.active, areas.get(d.area_id))
                   for d in department_rows().values()}
    rules: dict[int, list[_RuleView]] = {}
    for row in db.session.execute(sa.select(
            DispatchRule.id, DispatchRule.category_id, DispatchRule.area_id,
            DispatchRule.responsible_kind, DispatchRule.department_id, DispatchRule.sort_order,
            DispatchRule.accept_deadline, DispatchRule.accept_deadline_unit,
            DispatchRule.handle_deadline, DispatchRule.handle_deadline_unit,
            DispatchRule.co_department_ids)
            .where(DispatchRule.active.is_(True)).order_by(DispatchRule.id)):
        if row.area_id in areas:
            rules.setdefault(row.category_id, []).append(_RuleView(
                row.id, row.category_id, areas[row.area_id], row.responsible_kind,
                departments.get(row.department_id), row.sort_order, True,
                row.accept_deadline, row.accept_deadline_unit, row.handle_deadline,
                row.handle_deadline_unit,
                tuple(row.co_department_ids) if row.co_department_ids else None))
    workers: dict[int, int] = {}
    for user in sorted(user_rows().values()):  # by id: the first grid worker of a grid
        if user.role == Role.GRID_WORKER and user.active and user.scope_area_id is not None:
            workers.setdefault(user.scope_area_id, user.id)
    offices: dict[int, _DepartmentView] = {}
    centres: dict[int, _DepartmentView] = {}
    for department in sorted(department_rows().values()):
        if not department.active:
            continue
        if department.kind == DepartmentKind.COMMUNITY_OFFICE:
            offices.setdefault(department.area_id, departments[department.id])
        elif department.kind == DepartmentKind.COMMAND_CENTRE:
            centres.setdefault(department.area_id, departments[department.id])
    return MatrixInMemory({k: tuple(v) for k, v in rules.items()}, workers, offices, centres)


def matrix_in_memory() -> MatrixInMemory:
    return cached(MATRIX_KINDS, "matrix_in_memory", _load_matrix)


def _attached(owner: Owner) -> Owner:
    """The owner as rows of this session (primary-key lookups, usually in the identity map)."""
    return Owner(db.session.get(Department, owner.department.id) if owner.department else None,
                 db.session.get(User, owner.user.id) if owner.user else None,
                 owner.level,
                 db.session.get(DispatchRule, owner.rule.id) if owner.rule else None)


def _owner_from_rule(rule: DispatchRule, levels: dict[AreaLevel, Area],
                     staffing: Staffing) -> tuple[Owner | None, str | None]:
    if rule.responsible_kind == ResponsibleKind.DEPARTMENT:
        department = rule.department
        if department is None or not department.active:
            return None, DEPARTMENT_INACTIVE
        level = department.area.level if department.area is not None else rule.area.level
        return Owner(department, None, level, rule), None
    office = staffing.community_office(levels.get(AreaLevel.COMMUNITY))
    if rule.responsible_kind == ResponsibleKind.GRID_WORKER:
        worker = staffing.grid_worker(levels.get(AreaLevel.GRID))
        if worker is None:
            return None, NO_GRID_WORKER
        return Owner(office, worker, AreaLevel.GRID, rule), None
    if office is None:
        return None, NO_COMMUNITY_OFFICE
    return Owner(office, None, AreaLevel.COMMUNITY, rule), None


def command_centre_owner(levels: dict[AreaLevel, Area]) -> Owner:
    """The command centre of the lowest level (street, then district) covering the area."""
    for level in (AreaLevel.STREET, AreaLevel.DISTRICT):
        area = levels.get(level)
        if area is None:
            continue
        centre = db.session.execute(
            sa.select(Department).where(Department.area_id == area.id,
                                        Department.kind == DepartmentKind.COMMAND_CENTRE,
                                        Department.active.is_(True))
            .order_by(Department.id).limit(1)).scalar_one_or_none()
        if centre is not None:
            return Owner(centre, None, level, None)
    return Owner(None, None, AreaLevel.DISTRICT, None)


def grid_worker_of(grid: Area) -> User | None:
    return db.session.execute(
        sa.select(User).where(User.scope_area_id == grid.id, User.role == Role.GRID_WORKER,
                              User.active.is_(True)).order_by(User.id).limit(1)
    ).scalar_one_or_none()


def office_at(ticket, level: AreaLevel) -> tuple[AreaLevel, Department | None]:
    """Who takes a ticket at ``level`` (an escalation): the community office of its community,
    or the command centre of the lowest level up to ``level`` covering it — as
    ``community_office_of`` and ``command_centre_owner`` find them, from the matrix in memory."""
    place = ticket.grid_id or ticket.community_id or ticket.street_id or ticket.district_id
    levels = (area_lineage(place) or lineage(ticket_place(ticket))) if place is not None else {}
    matrix = matrix_in_memory()
    if level == AreaLevel.COMMUNITY:
        office = matrix.community_office(levels.get(AreaLevel.COMMUNITY))
        return level, db.session.get(Department, office.id) if office is not None else None
    owner = matrix.command_centre_owner({lv: a for lv, a in levels.items()
                                         if lv.depth <= level.depth})
    return owner.level, (db.session.get(Department, owner.department.id)
                         if owner.department is not None else None)


def community_office_of(community: Area | None) -> Department | None:
    if community is None:
        return None
    return db.session.execute(
        sa.select(Department).where(Department.area_id == community.id,
                                    Department.kind == DepartmentKind.COMMUNITY_OFFICE,
                                    Department.active.is_(True)).order_by(Department.id).limit(1)
    ).scalar_one_or_none()
