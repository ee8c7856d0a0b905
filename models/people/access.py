"""Who sees which tickets, and what of them; which areas and people a user may pick.

Every list, count, detail page, filter, form and action uses this (the role sets are in
models.people.roles).
"""
from __future__ import annotations

from typing import Callable, Iterable, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.base import db
from models.people.api_clients import ApiClient
from models.people.department import Department
from models.people.phones import mask_phone
from models.people.roles import (AREA_SCOPED_ROLES, ASSIGNABLE_ROLES, EVERYWHERE_ROLES,
                                 FULL_PHONE_ROLES, MANAGER_ROLES, READ_ONLY_ROLES, REPORTING_ROLES)
from models.people.user import User
from models.reference_cache import cached
from models.tickets.co_tasks import co_handled_by, department_co_handles
from models.tickets.tables import Ticket
from models.vocabulary import AreaLevel, Role


def sees_everywhere(user: User) -> bool:
    """Administrators see every area and every ticket, whatever their scope area."""
    return user.role in EVERYWHERE_ROLES


def ticket_scope(user: User) -> sa.ColumnElement[bool]:
    """SQL condition selecting the tickets this user may see."""
    if sees_everywhere(user):
        return sa.true()
    if user.role in AREA_SCOPED_ROLES:
        area = scope_area_row(user)
        if area is None:
            return sa.false()
        return getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id
    own = [Ticket.assigned_user_id == user.id, Ticket.created_by_id == user.id]
    if user.role == Role.HANDLER and user.department_id is not None:
        # The department's queue: tickets sent to the department and not yet taken by a person.
        own.append(sa.and_(Ticket.assigned_department_id == user.department_id,
                           Ticket.assigned_user_id.is_(None)))
        # A case the department was called onto as co-handler (主办/协办): it reads the whole
        # ticket, and acts only on its own task (models.tickets.cohandling).
        own.append(co_handled_by(user.department_id))
    return sa.or_(*own)


def area_within_scope(user: User, area: Area) -> bool:
    """Every ticket in ``area`` lies inside this user's scope (so "in area" implies the scope)."""
    if sees_everywhere(user):
        return True
    return (user.role in AREA_SCOPED_ROLES and user.scope_area is not None
            and area.is_within(user.scope_area))


def scope_area_row(user: User | ApiClient):
    """The scope area of a user or an API client as a cached row (``id``, ``level``,
    ``path``), without a lazy load."""
    from models.reference_cache import area_rows

    if user.scope_area_id is None:
        return None
    return area_rows().get(user.scope_area_id) or user.scope_area


def can_see_ticket(user: User, ticket: Ticket) -> bool:
    if sees_everywhere(user):
        return True
    if user.role in AREA_SCOPED_ROLES:
        area = scope_area_row(user)
        return area is not None and getattr(ticket, LEVEL_COLUMN[area.level]) == area.id
    if ticket.assigned_user_id == user.id or ticket.created_by_id == user.id:
        return True
    if user.role != Role.HANDLER or user.department_id is None:
        return False
    return ((ticket.assigned_department_id == user.department_id
             and ticket.assigned_user_id is None)
            or department_co_handles(user.department_id, ticket.id))


def can_edit_tickets(user: User) -> bool:
    """Managers correct, bulk-edit and dispatch the tickets of their scope."""
    return user.active and user.role in MANAGER_ROLES


def can_report_tickets(user: User) -> bool:
    """Staff enter hotline and walk-in reports, grid workers their patrol finds; leaders only read."""
    return user.active and user.role in REPORTING_ROLES


def can_act(user: User) -> bool:
    """False for read-only roles (leaders) and deactivated users, whatever the channel."""
    return user.active and user.role not in READ_ONLY_ROLES


def can_see_reporter_phone(user: User, ticket: Ticket) -> bool:
    return user.role in FULL_PHONE_ROLES or ticket.assigned_user_id == user.id


def reporter_phone_for(user: User, ticket: Ticket, phone: str | None = None) -> str:
    """The reporter's number as this user may read it: the ticket's first reporter's, or
    ``phone`` of another reporter of the ticket (one who joined it), masked the same way.
    ``ticket`` may be a plain row with the columns reporter_phone and assigned_user_id (the
    export)."""
    phone = ticket.reporter_phone if phone is None else phone
    return phone or "" if can_see_reporter_phone(user, ticket) else mask_phone(phone)


# --- what a user may pick in filters and forms ------------------------------------------------

def _pickable_areas(user: User, levels: Iterable[AreaLevel], active_only: bool) -> sa.Select:
    query = sa.select(Area).where(Area.level.in_(list(levels)))
    if active_only:
        query = query.where(Area.active.is_(True))
    scope = user.scope_area
    if not sees_everywhere(user) and scope is not None:
        query = query.where(Area.path.startswith(scope.path))
    return query


def pickable_areas(user: User, levels: Iterable[AreaLevel], *,
                   active_only: bool = False) -> list[Area]:
    """The areas of these levels offered to this user (board and list filters, intake form):
    those inside their scope area, in tree order. Without a scope area, all of them. For
    anything new (``active_only``) inactive areas are left out; filters still find old tickets."""
    areas = db.session.execute(_pickable_areas(user, levels, active_only)).scalars()
    in_tree = tree_order()
    return sorted(areas, key=lambda area: in_tree(area.path))


def tree_order() -> Callable[[str], tuple[str, ...]]:
    """A sort key for a materialized path: under its parent, among its siblings by code
    ("第八网格" before "第十网格"; the path's ids as text put id 10 before 9)."""
    from models.reference_cache import area_rows

    rows = area_rows()  # once per sort, not per area (a city has 25,600 grids)

    def key(path: str) -> tuple[str, ...]:
        return tuple(rows[int(part)].code if int(part) in rows else part
                     for part in path.strip("/").split("/") if part)
    return key


def _scope_key(user: User) -> str | None:
    """What the pickable lists of a user depend on: their scope area's path (None: everywhere)."""
    scope = user.scope_area
    return None if sees_everywhere(user) or scope is None else scope.path


class AreaName(NamedTuple):
    id: int
    name: str
    level: AreaLevel


class DepartmentName(NamedTuple):
    id: int
    name: str


def pickable_area_names(user: User, levels: Iterable[AreaLevel]) -> tuple[AreaName, ...]:
    """pickable_areas as plain rows for filter options (id, name, level), kept per process and
    scope until an area changes: the process's own area rows (a city has 25,600 grids: no ORM
    objects per page view, and no second copy of each row in every scope's list)."""
    from models.reference_cache import area_rows

    levels = tuple(sorted(levels, key=lambda level: level.depth))
    query = _pickable_areas(user, levels, False).with_only_columns(Area.id, Area.name, Area.level,
                                                                   Area.path)

    def load() -> tuple:
        rows, in_tree = area_rows(), tree_order()
        found = sorted(db.session.execute(query), key=lambda row: in_tree(row.path))
        return tuple(rows.get(row.id) or AreaName(*row[:3]) for row in found)

    return cached(("areas",), ("pickable_area_names", _scope_key(user), levels), load)


AREA_CHOICES_SHOWN = 1000  # a drop-down of 25,600 grids is neither readable nor quick to draw


def area_choices(user: User, levels: Iterable[AreaLevel], chosen: Area | None = None
                 ) -> tuple[AreaName, ...]:
    """The areas a filter offers: pickable_area_names, whole levels from the top while the list
    stays within AREA_CHOICES_SHOWN; of the levels below, the areas inside the chosen area (a
    city administrator picks a street, then its communities and grids are offered)."""
    levels = tuple(sorted(levels, key=lambda level: level.depth))
    if chosen is None:  # the page as first opened: the same list for everyone of this scope
        return cached(("areas",), ("area_choices", _scope_key(user), levels, AREA_CHOICES_SHOWN),
                      lambda: _area_choices(user, levels, None))
    return _area_choices(user, levels, chosen)


def _area_choices(user: User, levels: tuple[AreaLevel, ...], chosen: Area | None
                  ) -> tuple[AreaName, ...]:
    from models.reference_cache import area_rows

    names = pickable_area_names(user, levels)
    shown = _levels_shown([name.level for name in names])
    if shown is None:
        return names
    rows = area_rows()
    inside = chosen.path if chosen is not None else None
    return tuple(name for name in names if name.level in shown or (
        inside is not None and rows[name.id].path.startswith(inside)))


def department_choices(user: User, chosen: Area | None = None,
                       kept: int | None = None) -> tuple[DepartmentName, ...]:
    """The departments a filter offers: pickable_department_names; when they are more than
    AREA_CHOICES_SHOWN (a city has thousands of offices), those of whole area levels from the
    top while the list stays within it, and those serving the chosen area (above it and inside
    it), as for areas. ``kept`` (the department filtered by now) stays offered."""
    if chosen is None and kept is None:  # the page as first opened
        return cached(("departments", "areas"),
                      ("department_choices", _scope_key(user), AREA_CHOICES_SHOWN),
                      lambda: _department_choices(user, None, None))
    return _department_choices(user, chosen, kept)


def _department_choices(user: User, chosen: Area | None, kept: int | None
                        ) -> tuple[DepartmentName, ...]:
    from models.reference_cache import area_rows, department_rows

    names = pickable_department_names(user)
    areas, departments = area_rows(), department_rows()
    area_of = [areas.get(departments[name.id].area_id) if name.id in departments else None
               for name in names]
    shown = _levels_shown([area.level if area is not None else None for area in area_of])
    if shown is None:
        return names
    above = set(chosen.ancestor_ids) if chosen is not None else set()
    return tuple(name for name, area in zip(names, area_of) if name.id == kept or area is None
                 or area.level in shown or (chosen is not None and (
                     area.id in above or area.path.startswith(chosen.path))))


class PersonName(NamedTuple):
    id: int
    display_name: str
    grid: str  # the name of their scope area ("" when none)


def grid_worker_choices(user: User, chosen: Area | None = None,
                        kept: int | None = None) -> tuple[PersonName, ...]:
    """The grid workers a filter offers: those of pickable_people_names; when they are more
    than AREA_CHOICES_SHOWN (a city has ~25,000), those inside the chosen area if they are few
    enough, else none (the filter asks for an area first). ``kept`` (the person filtered by
    now) stays offered."""
    from models.reference_cache import area_rows, user_rows

    people, areas = user_rows(), area_rows()
    workers = [people[row[0]] for row in pickable_people_names(user)
               if row[0] in people and people[row[0]].role == Role.GRID_WORKER]
    if len(workers) > AREA_CHOICES_SHOWN:
        inside = [p for p in workers if chosen is not None and p.scope_area_id in areas
                  and areas[p.scope_area_id].path.startswith(chosen.path)]
        workers = inside if len(inside) <= AREA_CHOICES_SHOWN else []
        if kept in people and kept not in {p.id for p in workers}:
            workers = [people[kept]] + workers
    return tuple(PersonName(p.id, p.display_name, areas[p.scope_area_id].name
                            if p.scope_area_id in areas else "") for p in workers)


def _levels_shown(levels: list[AreaLevel | None]) -> set[AreaLevel | None] | None:
    """Of the items' levels (None: above every area), the whole levels from the top whose
    items together stay within AREA_CHOICES_SHOWN (at least the top one); None when all do."""
    per_level: dict[AreaLevel | None, int] = {}
    for level in levels:
        per_level[level] = per_level.get(level, 0) + 1
    shown, total = set(), 0
    for level in sorted(per_level, key=lambda level: level.depth if level is not None else -1):
        if shown and total + per_level[level] > AREA_CHOICES_SHOWN:
            break
        shown.add(level)
        total += per_level[level]
    return None if len(shown) == len(per_level) else shown


def _assignable_people(user: User) -> sa.Select:
    """Active people of an assignable role inside the user's scope area, and the handlers of
    the departments serving it (``_serves``: a district department serves every street; the
    property office of another street's community does not)."""
    query = (sa.select(User).outerjoin(Department, User.department_id == Department.id)
             .where(User.active.is_(True), User.role.in_(ASSIGNABLE_ROLES)))
    scope = user.scope_area
    if not sees_everywhere(user) and scope is not None:
        department_area = aliased(Area)
        query = (query.outerjoin(Area, User.scope_area_id == Area.id)
                 .outerjoin(department_area, Department.area_id == department_area.id)
                 .where(sa.or_(sa.and_(User.role == Role.HANDLER,
                                       _serves(department_area, scope)),
                               Area.path.startswith(scope.path))))
    return query


def _serves(area, scope: Area) -> sa.ColumnElement[bool]:
    """SQL: a department of ``area`` serves ``scope`` — its area lies above the scope or inside
    it."""
    return sa.or_(area.id.in_(scope.ancestor_ids), area.path.startswith(scope.path))


def pickable_people(user: User) -> list[User]:
    """The people offered to this user to assign a ticket to, or to filter the list by."""
    query = (_assignable_people(user).options(joinedload(User.department))
             .order_by(Department.name, User.display_name, User.id))
    return list(db.session.execute(query).scalars())


def pickable_people_names(user: User) -> tuple:
    """pickable_people as plain (id, display name, department name or None) rows for filter
    options, kept per process and scope until a user, department or area changes."""
    from models.reference_cache import user_rows

    query = (_assignable_people(user).with_only_columns(User.id, User.display_name, Department.name)
             .order_by(Department.name, User.display_name, User.id))

    def load() -> tuple:
        # The names as the process's user rows hold them, one string per department: a city's
        # 32,529 people, kept per scope, without a second copy of every name.
        people, departments = user_rows(), {}
        return tuple((person_id, people[person_id].display_name if person_id in people else name,
                      departments.setdefault(department, department))
                     for person_id, name, department in db.session.execute(query))

    return cached(("users", "departments", "areas"), ("pickable_people_names", _scope_key(user)),
                  load)


def may_assign_to(user: User, person: User) -> bool:
    """Whether this user may give a ticket to ``person``: the people the assign form offers
    (pickable_people), whichever channel the assignment comes through."""
    found = db.session.execute(_assignable_people(user).with_only_columns(User.id)
                               .where(User.id == person.id)).first()
    return found is not None


def pickable_departments(user: User) -> list[Department]:
    """The departments offered to this user to assign or transfer to, to call in as
    co-handlers, or to filter by: the active departments serving the user's scope area — those
    of the areas above it (the district's departments serve every street) and inside it. Not
    another street's centre or another community's office. Administrators, and users without a
    scope area: every active department."""
    return list(db.session.execute(_pickable_departments(user)).scalars())


def _pickable_departments(user: User) -> sa.Select:
    query = sa.select(Department).where(Department.active.is_(True))
    scope = user.scope_area
    if not sees_everywhere(user) and scope is not None:
        query = query.join(Area, Area.id == Department.area_id).where(_serves(Area, scope))
    return query.order_by(Department.name, Department.id)


def department_serves(department: Department, area: Area) -> bool:
    """Whether ``department`` serves ``area`` (its area lies above it or inside it, as
    ``_serves`` says in SQL): whom a dispatch rule of that area may name. From the objects, so
    that a department's new area, not yet written, is judged too."""
    served = department.area
    return served is not None and (area.is_within(served) or served.is_within(area))


def may_send_to_department(user: User, department: Department) -> bool:
    """Whether this user may send a ticket to ``department`` (assign, transfer): the
    departments the forms offer (pickable_departments), whichever channel the action comes
    through."""
    found = db.session.execute(_pickable_departments(user).with_only_columns(Department.id)
                               .where(Department.id == department.id)).first()
    return found is not None


def pickable_department_names(user: User) -> tuple[DepartmentName, ...]:
    """pickable_departments as plain rows for filter options, kept per process and scope until
    a department or area changes."""
    query = _pickable_departments(user).with_only_columns(Department.id, Department.name)
    return cached(("departments", "areas"), ("pickable_department_names", _scope_key(user)),
                  lambda: tuple(DepartmentName(*row) for row in db.session.execute(query)))
