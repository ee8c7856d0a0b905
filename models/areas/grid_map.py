"""The grid map anyone may see: grid boundaries as GeoJSON (no tiles needed) and the communities."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import undefer

from models.areas.hierarchy import Area
from models.base import db
from models.vocabulary import AreaLevel

MAX_GRIDS = 3000


def grid_feature_collection(limit: int = MAX_GRIDS) -> dict:
    """Active grids with a boundary, as a GeoJSON FeatureCollection (WGS-84), with their names."""
    grids = db.session.execute(
        sa.select(Area).options(undefer(Area.boundary))
        .where(Area.level == AreaLevel.GRID, Area.active.is_(True), Area.boundary.is_not(None))
        .order_by(Area.code).limit(limit)).scalars()
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": grid.boundary,
                          "properties": {"id": grid.id, "name": grid.name}} for grid in grids]}


def active_communities() -> list[Area]:
    """Communities a resident can name when they only have an address."""
    return list(db.session.execute(sa.select(Area).where(
        Area.level == AreaLevel.COMMUNITY, Area.active.is_(True)).order_by(Area.code)).scalars())
