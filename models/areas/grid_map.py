"""The grid map anyone may see: grid boundaries as GeoJSON (no tiles needed) and the communities.

The public map asks for the grids of the area it shows (a bounding box), never for all of them:
a city has tens of thousands of grids, a phone screen a few dozen."""
from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import undefer

from models.areas.hierarchy import Area
from models.areas.locate import area_index
from models.base import db
from models.errors import ActionInvalid
from models.vocabulary import AreaLevel

MAX_BOX_DEGREES = 0.2  # about 20 km: a phone map zoomed out to a whole district at most
MAX_GRIDS = 500  # per answer, whatever the density of the grids


@dataclass(frozen=True)
class Box:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def parse_box(text: str | None) -> Box:
    """``minlon,minlat,maxlon,maxlat`` (WGS-84 degrees) → a Box, or ActionInvalid saying what is
    wrong: not four finite numbers, not in order, off the globe, or larger than the map may ask."""
    parts = (text or "").split(",")
    try:
        numbers = [float(part) for part in parts] if len(parts) == 4 else []
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise ActionInvalid(_("Give the map area as bbox=minlon,minlat,maxlon,maxlat: four "
                              "numbers in degrees."))
    area = Box(*numbers)
    if not (-180 <= area.min_lon < area.max_lon <= 180 and -90 <= area.min_lat < area.max_lat <= 90):
        raise ActionInvalid(_("The map area bbox must run from west to east and from south to "
                              "north, within longitude -180…180 and latitude -90…90."))
    largest = MAX_BOX_DEGREES + 1e-9  # 121.3 - 121.1 is 0.20000000000000284
    if area.max_lon - area.min_lon > largest or area.max_lat - area.min_lat > largest:
        raise ActionInvalid(_("The map area is too large (at most %(max)s degrees a side): zoom "
                              "in.", max=MAX_BOX_DEGREES))
    return area


def grid_feature_collection(area: Box, limit: int = MAX_GRIDS) -> dict:
    """Active grids with a boundary that reach into ``area``, as a GeoJSON FeatureCollection
    (WGS-84) with their names; at most ``limit`` of them (then ``truncated`` is true)."""
    ids = area_index().grids_in_box(area.min_lon, area.min_lat, area.max_lon, area.max_lat)
    grids = db.session.execute(
        sa.select(Area).options(undefer(Area.boundary))
        .where(Area.id.in_(ids[:limit]), Area.level == AreaLevel.GRID, Area.active.is_(True),
               Area.boundary.is_not(None))
        .order_by(Area.code)).scalars() if ids else []
    return {"type": "FeatureCollection", "truncated": len(ids) > limit,
            "features": [{"type": "Feature", "geometry": grid.boundary,
                          "properties": {"id": grid.id, "name": grid.name}} for grid in grids]}


def grids_extent() -> list[float] | None:
    """[minlon, minlat, maxlon, maxlat] of all active grids (from the in-memory index), where the
    map starts; None when no grid has a boundary."""
    return area_index().grids_extent()


def active_communities() -> list[Area]:
    """Communities a resident can name when they only have an address."""
    return list(db.session.execute(sa.select(Area).where(
        Area.level == AreaLevel.COMMUNITY, Area.active.is_(True)).order_by(Area.code)).scalars())
