"""Who sees which tickets, and what of them. Every list, count, detail page and action uses this."""
from __future__ import annotations

import sqlalchemy as sa

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.people.phones import mask_phone
from models.people.user import User
from models.tickets.tables import Ticket
from models.vocabulary import AREA_SCOPED_ROLES, Role

# Roles that may phone the reporter back; others see a masked number unless they are the assignee.
PHONE_ROLES = {Role.ADMIN, Role.DISTRICT_CENTRE, Role.STREET_CENTRE, Role.COMMUNITY_STAFF}
STAFF_ROLES = {Role.DISTRICT_CENTRE, Role.STREET_CENTRE, Role.COMMUNITY_STAFF}


def ticket_scope(user: User) -> sa.ColumnElement[bool]:
    """SQL condition selecting the tickets this user may see."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role in AREA_SCOPED_ROLES:
        area = user.scope_area
        if area is None:
            return sa.false()
        return getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id
    own = [Ticket.assigned_user_id == user.id, Ticket.created_by_id == user.id]
    if user.role == Role.HANDLER and user.department_id is not None:
        # The department's queue: tickets sent to the department and not yet taken by a person.
        own.append(sa.and_(Ticket.assigned_department_id == user.department_id,
                           Ticket.assigned_user_id.is_(None)))
    return sa.or_(*own)


def area_within_scope(user: User, area: Area) -> bool:
    """Every ticket in ``area`` lies inside this user's scope (so "in area" implies the scope)."""
    if user.role == Role.ADMIN:
        return True
    return (user.role in AREA_SCOPED_ROLES and user.scope_area is not None
            and area.is_within(user.scope_area))


def can_see_ticket(user: User, ticket: Ticket) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role in AREA_SCOPED_ROLES:
        area = user.scope_area
        return area is not None and getattr(ticket, LEVEL_COLUMN[area.level]) == area.id
    if ticket.assigned_user_id == user.id or ticket.created_by_id == user.id:
        return True
    return (user.role == Role.HANDLER and user.department_id is not None
            and ticket.assigned_department_id == user.department_id
            and ticket.assigned_user_id is None)


def can_edit_tickets(user: User) -> bool:
    return user.role in PHONE_ROLES


def can_see_reporter_phone(user: User, ticket: Ticket) -> bool:
    return user.role in PHONE_ROLES or ticket.assigned_user_id == user.id


def reporter_phone_for(user: User, ticket: Ticket) -> str:
    return ticket.reporter_phone or "" if can_see_reporter_phone(user, ticket) \
        else mask_phone(ticket.reporter_phone)
