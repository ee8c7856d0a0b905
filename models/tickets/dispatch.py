"""The responsibility matrix: rule checks and resolving who owns a ticket."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from models.areas.hierarchy import Area, lineage
from models.base import db
from models.categories import Category
from models.people.department import Department
from models.people.user import User
from models.tickets.dispatch_rules import DispatchRule
from models.vocabulary import AreaLevel, DepartmentKind, ResponsibleKind, Role


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


def matching_rules(category: Category, area: Area) -> list[DispatchRule]:
    """Active rules for the category (or its parent) in the area (or an area above it)."""
    category_ids = [category.id] + ([category.parent_id] if category.parent_id else [])
    rules = db.session.execute(
        sa.select(DispatchRule)
        .where(DispatchRule.active.is_(True), DispatchRule.category_id.in_(category_ids),
               DispatchRule.area_id.in_(area.ancestor_ids))
        .options(joinedload(DispatchRule.area), joinedload(DispatchRule.department))
    ).scalars().all()
    return most_specific_first(list(rules), category, area)


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
    levels = lineage(area)
    resolution = resolve(matching_rules(category, area), levels, Staffing())
    return resolution.owner or command_centre_owner(levels), resolution


def ticket_place(ticket) -> Area | None:
    """The deepest area the ticket is placed in."""
    return db.session.get(Area, ticket.grid_id or ticket.community_id or ticket.street_id
                          or ticket.district_id)


def ticket_owner(ticket) -> tuple[Owner, Resolution]:
    """Who the responsibility matrix gives this ticket to, from where it stands (a ticket
    flagged outside every grid goes to its community's office)."""
    area = ticket_place(ticket)
    if area is None:
        return Owner(None, None, AreaLevel.DISTRICT, None), Resolution(None)
    if ticket.location_flagged and area.level == AreaLevel.COMMUNITY:
        return Owner(community_office_of(area), None, AreaLevel.COMMUNITY, None), Resolution(None)
    return resolve_place(ticket.category, area)


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


def community_office_of(community: Area | None) -> Department | None:
    if community is None:
        return None
    return db.session.execute(
        sa.select(Department).where(Department.area_id == community.id,
                                    Department.kind == DepartmentKind.COMMUNITY_OFFICE,
                                    Department.active.is_(True)).order_by(Department.id).limit(1)
    ).scalar_one_or_none()
