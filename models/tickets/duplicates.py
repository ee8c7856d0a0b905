"""Possible duplicates at intake: same category, close by, open or closed recently."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

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
    the tickets. (An intake runs the same check with its write: ``NearbyCheck``.)"""
    check = nearby_check(category, lon, lat, now=now, exclude_id=exclude_id, limit=limit)
    if check is None:
        return []
    statement = _NEARBY if seen_by is None else _nearby(_scope_of(seen_by))
    if db.session.autoflush:  # as a query of the session would: its pending tickets count too
        db.session.flush()
    return check.nearest(run(statement_connection(), statement, check.values))


class NearbyCase(NamedTuple):
    id: int
    number: str
    status: TicketStatus
    lat: float
    lon: float


@dataclass
class NearbyCheck:
    """The duplicate check of one point: the box its statement reads (``values``), and the
    radius and count that ``nearest`` keeps of the candidates found there. A reported ticket's
    write runs it (models/tickets/reported.py): on PostgreSQL as a column of its own statement,
    elsewhere just before it."""

    lon: float
    lat: float
    radius: float
    limit: int
    values: dict
    found: list[tuple] | None = None  # (case, metres) as ``nearest``; set by the write

    def nearest(self, candidates) -> list[tuple]:
        """(candidate, metres) of the candidates (rows or ``NearbyCase``s with id, number,
        status, lat, lon; open before closed, then by id) within the radius, nearest first."""
        found = [(case, metres) for case in candidates
                 if (metres := distance_m(self.lon, self.lat, case.lon, case.lat)) <= self.radius]
        found.sort(key=lambda pair: pair[1])  # stable: open before closed, then by id
        return found[:self.limit]

    def values_named(self, prefix: str) -> dict:
        return {prefix + name: value for name, value in self.values.items()}

    def read(self, connection: sa.Connection) -> list[tuple]:
        """The check as a statement of its own on ``connection``."""
        return self.nearest(run(connection, _NEARBY, self.values))


def nearby_check(category: Category, lon: float | None, lat: float | None, *,
                 now: datetime | None = None, exclude_id: int | None = None,
                 limit: int = 10) -> NearbyCheck | None:
    """The check of a point (None without one), the category's radius: nothing is read yet."""
    if lon is None or lat is None:
        return None
    now = now or utcnow()
    radius = min(category.duplicate_radius_m or 50, MAX_DUPLICATE_RADIUS_M)
    dlat = radius / METRES_PER_DEGREE_LAT
    dlon = radius / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    box = {"category_id": category.id, "lat_low": lat - dlat, "lat_high": lat + dlat,
           "lon_low": lon - dlon, "lon_high": lon + dlon,
           "exclude_id": exclude_id if exclude_id is not None else 0,
           "closed_since": now - timedelta(days=setting("DUPLICATE_WINDOW_DAYS", 7)),
           **_bands(lat - dlat, lat + dlat)}
    return NearbyCheck(lon, lat, radius, limit, box)


# The parameters of the check as a column of another statement are named with this prefix.
NEARBY_PREFIX = "nearby_"


def nearby_column() -> sa.ColumnElement:
    """PostgreSQL: the check's candidates as one JSON column of another statement (the reported
    ticket's write: one round trip, not two), read back by ``cases_from_column``. Its
    parameters are the check's ``values_named(NEARBY_PREFIX)``."""
    found = _nearby(prefix=NEARBY_PREFIX, ordered=False).subquery("nearby")
    return sa.select(sa.func.json_agg(aggregate_order_by(
        sa.func.json_build_array(found.c.id, found.c.number, found.c.status, found.c.lat,
                                 found.c.lon),
        *_candidate_order(found.c)))).scalar_subquery()


def cases_from_column(value) -> list[NearbyCase]:
    return [NearbyCase(id_, number, TicketStatus(status), lat, lon)
            for id_, number, status, lat, lon in value or ()]


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


def _nearby(*scope: sa.ColumnElement[bool], prefix: str = "", ordered: bool = True) -> sa.Select:
    """The candidates in the box, open before closed, then by id (``ordered``), its parameters
    named with ``prefix``. Two branches, not one OR: each has its own
    partial index (open tickets by category and place; closed tickets by category, latitude
    band and longitude: a year of a big city's closures), and repeats that index's predicate
    and expression word for word so a kept plan uses it."""
    def given(name: str, **kwargs) -> sa.BindParameter:
        return sa.bindparam(prefix + name, **kwargs)

    near = (Ticket.category_id == given("category_id"),
            Ticket.lat.between(given("lat_low"), given("lat_high")),
            Ticket.lon.between(given("lon_low"), given("lon_high")),
            Ticket.id != given("exclude_id"), *scope)

    def branch(*condition) -> sa.Select:
        found = sa.select(Ticket.id).where(*condition, *near).limit(CANDIDATES_PER_BRANCH)
        return sa.select(found.subquery().c.id)

    since = given("closed_since", type_=Ticket.closed_at.type)
    bands = [given(f"band_{i}", type_=sa.Float) for i in range(BANDS)]
    ids = sa.union_all(branch(IS_OPEN_SQL), branch(IS_CLOSED_SQL, Ticket.closed_at >= since,
                                                   LATITUDE_BAND.in_(bands)))
    found = sa.select(Ticket.id, Ticket.number, Ticket.status, Ticket.lat, Ticket.lon) \
        .where(Ticket.id.in_(ids))
    return found.order_by(*_candidate_order(Ticket)) if ordered else found


def _candidate_order(columns) -> tuple:
    """The candidates' order before their distance is known: open before closed, then by id
    (``nearest`` sorts by distance keeping it)."""
    return columns.status == TicketStatus.CLOSED, columns.id


# Built once: run on every report (its driver form is kept with it); on PostgreSQL an intake
# runs it as ``nearby_column`` of its write.
_NEARBY = _nearby()
