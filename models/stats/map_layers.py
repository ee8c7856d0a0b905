"""What the statistics map draws besides the counts (which come from the rollups): the grids'
shapes in a user's scope, and a bounded sample of ticket points for the markers and heat layer."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from models.areas.hierarchy import LEVEL_COLUMN, Area
from models.base import db
from models.categories import in_category
from models.people.access import pickable_areas, ticket_scope
from models.people.user import User
from models.tickets.listing import on_local_days
from models.tickets.tables import Ticket
from models.vocabulary import AreaLevel

# A browser draws a few hundred markers well and a heat layer of a few thousand points; more
# only repeats the shading. The newest tickets are shown, and the page says how many in all.
MARKER_CAP = 300
HEAT_CAP = 5000


@dataclass
class TicketPoints:
    markers: list[tuple[float, float, int, str, str]]  # lat, lon, id, number, title
    heat: list[tuple[float, float]]
    total: int  # tickets with a point in the range (counted up to HEAT_CAP + 1)


def scope_grids(user: User, area: Area | None = None) -> list[Area]:
    """The grids this user may see (inside ``area`` when given), with their boundaries."""
    grids = pickable_areas(user, [AreaLevel.GRID])
    if area is not None:
        grids = [g for g in grids if g.is_within(area)]
    return grids


def ticket_points(user: User, start: date, end: date, *, area: Area | None = None,
                  category_id: int | None = None, department_id: int | None = None,
                  assignee_id: int | None = None) -> TicketPoints:
    """Points of the tickets reported on these local days, in the user's scope and filters."""
    conditions = [ticket_scope(user), on_local_days(Ticket.created_at, start, end),
                  Ticket.lat.is_not(None), Ticket.lon.is_not(None)]
    if area is not None:
        conditions.append(getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id)
    if category_id is not None:
        conditions.append(in_category(category_id))
    if department_id is not None:
        conditions.append(Ticket.assigned_department_id == department_id)
    if assignee_id is not None:
        conditions.append(Ticket.assigned_user_id == assignee_id)
    rows = db.session.execute(
        sa.select(Ticket.lat, Ticket.lon, Ticket.id, Ticket.number, Ticket.title)
        .where(*conditions).order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(HEAT_CAP + 1)).all()
    points = [tuple(row) for row in rows]
    return TicketPoints(markers=points[:MARKER_CAP], heat=[(p[0], p[1]) for p in points[:HEAT_CAP]],
                        total=len(points))
