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


@dataclass(frozen=True)
class MatrixCell:
    """One cell of the responsibility matrix: the winning rule, and whether it is set right here."""

    rule: DispatchRule | None
    explicit: bool

    @property
    def gap(self) -> bool:
        return self.rule is None


def matrix_cell(rules: list[DispatchRule], category: Category, area: Area) -> MatrixCell:
    ordered = most_specific_first(rules, category, area)
    if not ordered:
        return MatrixCell(None, False)
    winner = ordered[0]
    return MatrixCell(winner, winner.category_id == category.id and winner.area_id == area.id)


def resolve_owner(category: Category, area: Area) -> Owner:
    """The responsibility matrix applied to one category and one area (usually a grid)."""
    levels = lineage(area)
    for rule in matching_rules(category, area):
        owner = _owner_from_rule(rule, levels)
        if owner is not None:
            return owner
    return command_centre_owner(levels)


def _owner_from_rule(rule: DispatchRule, levels: dict[AreaLevel, Area]) -> Owner | None:
    if rule.responsible_kind == ResponsibleKind.DEPARTMENT:
        level = rule.department.area.level if rule.department else rule.area.level
        return Owner(rule.department, None, level, rule)
    if rule.responsible_kind == ResponsibleKind.GRID_WORKER:
        grid = levels.get(AreaLevel.GRID)
        worker = grid_worker_of(grid) if grid is not None else None
        if worker is None:
            return None  # no worker on this grid: the next rule or the command centre
        office = community_office_of(levels.get(AreaLevel.COMMUNITY))
        return Owner(office, worker, AreaLevel.GRID, rule)
    office = community_office_of(levels.get(AreaLevel.COMMUNITY))
    if office is None:
        return None
    return Owner(office, None, AreaLevel.COMMUNITY, rule)


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
