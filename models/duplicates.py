"""Possible duplicates at intake: same category, close by, open or closed recently."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from .base import utcnow
from .category import Category
from .coords import distance_m
from .enums import OPEN_STATUSES, TicketStatus
from .ticket import Ticket
from .base import db

METRES_PER_DEGREE_LAT = 111_320.0


def possible_duplicates(category: Category, lon: float | None, lat: float | None, *,
                        now: datetime | None = None, exclude_id: int | None = None,
                        limit: int = 10) -> list[tuple[Ticket, float]]:
    """Tickets of the same category within the category's radius, nearest first, with metres."""
    if lon is None or lat is None:
        return []
    now = now or utcnow()
    radius = category.duplicate_radius_m or 50
    days = current_app.config.get("DUPLICATE_WINDOW_DAYS", 7) if has_app_context() else 7
    dlat = radius / METRES_PER_DEGREE_LAT
    dlon = radius / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    recent = sa.or_(Ticket.status.in_(OPEN_STATUSES),
                    sa.and_(Ticket.status == TicketStatus.CLOSED,
                            Ticket.closed_at >= now - timedelta(days=days)))
    query = (sa.select(Ticket)
             .where(Ticket.category_id == category.id, recent,
                    Ticket.lat.between(lat - dlat, lat + dlat),
                    Ticket.lon.between(lon - dlon, lon + dlon))
             .limit(200))
    if exclude_id is not None:
        query = query.where(Ticket.id != exclude_id)
    found = []
    for ticket in db.session.execute(query).scalars():
        metres = distance_m(lon, lat, ticket.lon, ticket.lat)
        if metres <= radius:
            found.append((ticket, metres))
    found.sort(key=lambda pair: pair[1])
    return found[:limit]
