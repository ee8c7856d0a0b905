"""Possible duplicates at intake: same category, close by, open or closed recently."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa

from models.areas.coordinates import distance_m
from models.base import db, utcnow
from models.categories import MAX_DUPLICATE_RADIUS_M, Category
from models.driver import run
from models.settings import setting
from models.transactions import statement_connection
from models.tickets.tables import (BANDS_PER_DEGREE, IS_CLOSED_SQL, IS_OPEN_SQL, LATITUDE_BAND,
                                   Ticket)
from models.vocabulary import TicketStatus

METRES_PER_DEGREE_LAT = 111_320.0
CANDIDATES_PER_BRANCH = 200
# The latitude bands a box of the largest radius can touch: the closed branch names each.
BANDS = math.ceil(2 * MAX_DUPLICATE_RADIUS_M / METRES_PER_DEGREE_LAT * BANDS_PER_DEGREE) + 1


def possible_duplicates(category: Category, lon: float | None, lat: float | None, *,
                        now: datetime | None = None, exclude_id: int | None = None,
                        limit: int = 10, seen_by=None) -> list[tuple[Ticket, float]]:
    """Tickets of the same category within the category's radius, nearest first (open before
    closed, then older first, at the same distance), with metres. With ``seen_by`` (a user),
    only those inside that user's scope: the candidates a ticket could be merged into, or a
    caller a staff member enters could be added to."""
    near = nearby_cases(category, lon, lat, now=now, exclude_id=exclude_id, limit=limit,
                        seen_by=seen_by)
    if not near:
        return []
    tickets = {ticket.id: ticket for ticket in db.session.execute(
        sa.select(Ticket).where(Ticket.id.in_([case.id for case, _m in near]))).scalars()}
    return [(tickets[case.id], metres) for case, metres in near]


def nearby_cases(category: Category, lon: float | None, lat: float | None, *,
                 now: datetime | None = None, exclude_id: int | None = None,
                 limit: int = 10, seen_by=None) -> list[tuple[sa.Row, float]]:
    """``possible_duplicates`` as light rows (id, number, status, lat, lon), without loading
    the tickets: what an intake tells the reporter."""
    if lon is None or lat is None:
        return []
    now = now or utcnow()
    radius = min(category.duplicate_radius_m or 50, MAX_DUPLICATE_RADIUS_M)
    dlat = radius / METRES_PER_DEGREE_LAT
    dlon = radius / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    box = {"category_id": category.id, "lat_low": lat - dlat, "lat_high": lat + dlat,
           "lon_low": lon - dlon, "lon_high": lon + dlon,
           "exclude_id": exclude_id if exclude_id is not None else 0,
           "closed_since": now - timedelta(days=setting("DUPLICATE_WINDOW_DAYS", 7)),
           **_bands(lat - dlat, lat + dlat)}
    statement = _NEARBY if seen_by is None else _nearby(_scope_of(seen_by))
    if db.session.autoflush:  # as a query of the session would: its pending tickets count too
        db.session.flush()
    found = [(case, metres) for case in run(statement_connection(), statement, box)
             if (metres := distance_m(lon, lat, case.lon, case.lat)) <= radius]
    found.sort(key=lambda pair: pair[1])  # stable: open before closed, then by id
    return found[:limit]


def _bands(low: float, high: float) -> dict:
    """The latitude bands from ``low`` to ``high`` as the parameters ``band_0`` … (the last one
    repeated into the slots left): ``LATITUDE_BAND`` as the database computes it (floor of the
    same double-precision product)."""
    first = math.floor(low * BANDS_PER_DEGREE)
    last = max(first, math.floor(high * BANDS_PER_DEGREE))
    return {f"band_{i}": float(min(first + i, last)) for i in range(BANDS)}


def _scope_of(user) -> sa.ColumnElement[bool]:
    from models.people.access import ticket_scope

    return ticket_scope(user)


def _nearby(*scope: sa.ColumnElement[bool]) -> sa.Select:
    """The candidates in the box, open before closed. Two branches, not one OR: each has its own
    partial index (open tickets by category and place; closed tickets by category, latitude
    band and longitude: a year of a big city's closures), and repeats that index's predicate
    and expression word for word so a kept plan uses it."""
    near = (Ticket.category_id == sa.bindparam("category_id"),
            Ticket.lat.between(sa.bindparam("lat_low"), sa.bindparam("lat_high")),
            Ticket.lon.between(sa.bindparam("lon_low"), sa.bindparam("lon_high")),
            Ticket.id != sa.bindparam("exclude_id"), *scope)

    def branch(*condition) -> sa.Select:
        found = sa.select(Ticket.id).where(*condition, *near).limit(CANDIDATES_PER_BRANCH)
        return sa.select(found.subquery().c.id)

    since = sa.bindparam("closed_since", type_=Ticket.closed_at.type)
    bands = [sa.bindparam(f"band_{i}", type_=sa.Float) for i in range(BANDS)]
    ids = sa.union_all(branch(IS_OPEN_SQL), branch(IS_CLOSED_SQL, Ticket.closed_at >= since,
                                                   LATITUDE_BAND.in_(bands)))
    return (sa.select(Ticket.id, Ticket.number, Ticket.status, Ticket.lat, Ticket.lon)
            .where(Ticket.id.in_(ids)).order_by(Ticket.status == TicketStatus.CLOSED, Ticket.id))


# Built once: the intake's check runs it on every report (its driver form is kept with it).
_NEARBY = _nearby()
