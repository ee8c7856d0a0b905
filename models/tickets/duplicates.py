"""Possible duplicates at intake: same category, close by, open or closed recently."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa

from models.areas.coordinates import distance_m
from models.base import db, utcnow
from models.categories import Category
from models.settings import setting
from models.tickets.tables import Ticket
from models.vocabulary import OPEN_STATUSES, TicketStatus

METRES_PER_DEGREE_LAT = 111_320.0


def possible_duplicates(category: Category, lon: float | None, lat: float | None, *,
                        now: datetime | None = None, exclude_id: int | None = None,
                        limit: int = 10, seen_by=None) -> list[tuple[Ticket, float]]:
    """Tickets of the same category within the category's radius, nearest first, with metres.
    With ``seen_by`` (a user), only those inside that user's scope: the candidates a ticket
    could be merged into, or a caller a staff member enters could be added to."""
    if lon is None or lat is None:
        return []
    now = now or utcnow()
    radius = category.duplicate_radius_m or 50
    days = setting("DUPLICATE_WINDOW_DAYS", 7)
    dlat = radius / METRES_PER_DEGREE_LAT
    dlon = radius / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    near = (Ticket.category_id == category.id,
            Ticket.lat.between(lat - dlat, lat + dlat), Ticket.lon.between(lon - dlon, lon + dlon))
    if exclude_id is not None:
        near += (Ticket.id != exclude_id,)
    if seen_by is not None:
        from models.people.access import ticket_scope

        near += (ticket_scope(seen_by),)
    # Two branches, not one OR: each has its own partial index (open tickets by category and
    # place; closed tickets by category and place), read in one statement.
    def branch(*condition):
        return sa.select(sa.select(Ticket.id).where(*condition, *near).limit(200).subquery().c.id)

    ids = sa.union_all(branch(Ticket.status.in_(OPEN_STATUSES)),
                       branch(Ticket.status == TicketStatus.CLOSED,
                              Ticket.closed_at >= now - timedelta(days=days)))
    candidates = db.session.execute(sa.select(Ticket).where(Ticket.id.in_(ids)).order_by(
        Ticket.status == TicketStatus.CLOSED, Ticket.id)).scalars()
    found = []
    for ticket in candidates:
        metres = distance_m(lon, lat, ticket.lon, ticket.lat)
        if metres <= radius:
            found.append((ticket, metres))
    found.sort(key=lambda pair: pair[1])
    return found[:limit]
