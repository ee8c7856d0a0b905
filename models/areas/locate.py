"""Where a report belongs: point → grid by point-in-polygon over all grid boundaries.

The index (a shapely STRtree over every grid polygon, and the cells of models/areas/grid_cells.py
that answer most points without shapely) is built once per process and rebuilt after any
committed change of an area, in every process (models/reference_cache.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import shapely
import sqlalchemy as sa
from flask_babel import gettext as _
from shapely import STRtree
from shapely.geometry import Point, box, shape
from shapely.ops import nearest_points

from models.areas.coordinates import distance_m, to_wgs84
from models.areas.geometry import in_china
from models.areas.grid_cells import GridCells
from models.areas.hierarchy import Area
from models.base import db
from models.errors import ActionInvalid
from models.process_memory import give_back_freed_memory
from models.reference_cache import cached, forget
from models.settings import setting
from models.vocabulary import AreaLevel

# How far outside every community a point may lie and still be placed (in the nearest one).
OUTSIDE_AREA_LIMIT_M = 5000


@dataclass(frozen=True)
class Placement:
    area_id: int  # the grid, or the nearest community when the point is in no grid
    lon: float  # WGS-84
    lat: float
    flagged: bool  # True: outside every grid, sent to the nearest community's office


class _AreaIndex:
    def __init__(self, rows: list[tuple[int, str, AreaLevel, dict]]) -> None:
        rows = [(i, code, level, shape_of) for (i, code, level, _b), shape_of
                in zip(rows, _shapes([b for _i, _code, _level, b in rows]))]
        grids = [(i, code, s) for i, code, level, s in rows if level == AreaLevel.GRID]
        # Sorted by code: a point on a shared border goes to the grid with the smallest code.
        grids.sort(key=lambda g: g[1])
        self.grid_ids = [g[0] for g in grids]
        self.grid_shapes = [g[2] for g in grids]
        self.grid_tree = STRtree(self.grid_shapes) if grids else None
        self.grid_extent = [float(v) for v in shapely.total_bounds(self.grid_shapes)] \
            if grids else None
        self.grid_cells = GridCells(self.grid_shapes, self.grid_extent) \
            if grids else None
        communities = [(i, s) for i, code, level, s in rows if level == AreaLevel.COMMUNITY]
        self.community_ids = [c[0] for c in communities]
        self.community_shapes = [c[1] for c in communities]
        self.community_tree = STRtree(self.community_shapes) if communities else None

    def grid_at(self, lon: float, lat: float) -> int | None:
        """The grid with the smallest code among those whose closed polygon holds the point."""
        if self.grid_cells is None:
            return None
        position = self.grid_cells.grid_at(lon, lat)
        return None if position is None else self.grid_ids[position]

    def grids_in_box(self, min_lon: float, min_lat: float, max_lon: float,
                     max_lat: float) -> list[int]:
        """Ids of the grids that reach into the box, by grid code."""
        if self.grid_tree is None:
            return []
        hits = self.grid_tree.query(box(min_lon, min_lat, max_lon, max_lat), predicate="intersects")
        return [self.grid_ids[i] for i in sorted(int(h) for h in hits)]

    def grids_extent(self) -> list[float] | None:
        return self.grid_extent

    def nearest_community(self, point: Point) -> tuple[int, shapely.Geometry] | None:
        """The id and the boundary of the community nearest to the point."""
        if self.community_tree is None:
            return None
        position = int(self.community_tree.nearest(point))
        return self.community_ids[position], self.community_shapes[position]


def _shapes(boundaries: list) -> list:
    """Polygons from GeoJSON: as text, read by GEOS itself (no Python object per coordinate,
    whose freed memory a worker would keep: ~60 MB at 25,600 grids), or as dicts."""
    if boundaries and all(isinstance(b, str) for b in boundaries):
        return list(shapely.from_geojson(boundaries))
    return [b if isinstance(b, shapely.Geometry) else shape(b) for b in boundaries]


def _build_index() -> _AreaIndex:
    rows = db.session.execute(
        sa.select(Area.id, Area.code, Area.level, sa.cast(Area.boundary, sa.Text))
        .where(Area.level.in_([AreaLevel.GRID, AreaLevel.COMMUNITY]), Area.active.is_(True),
               Area.boundary.is_not(None))).all()
    index = _AreaIndex(rows)
    del rows
    give_back_freed_memory()  # the boundaries' text and the lattice's work arrays: ~40 MB
    return index


def area_index() -> _AreaIndex:
    """The index of this process, rebuilt after any committed change of an area (read-only)."""
    return cached(("areas",), "area_index", _build_index)


def invalidate_area_index() -> None:
    """Drop this process's index (tests that rebuild the areas behind the ORM's back)."""
    forget("areas")


def locate(lon: float, lat: float, coord_system: str | None = None) -> Placement:
    """The grid of a point (given in WGS-84, GCJ-02 or BD-09)."""
    try:
        lon, lat = float(lon), float(lat)
        if coord_system is not None:
            lon, lat = to_wgs84(lon, lat, coord_system)
        # 7 decimals is about 1 cm: what a phone can mean, without float noise like ...999998.
        lon, lat = round(lon, 7), round(lat, 7)
    except (TypeError, ValueError):
        raise ActionInvalid(_("Give longitude and latitude as numbers, and coord_system as "
                              "wgs84, gcj02 or bd09.")) from None
    if not in_china(lon, lat):
        raise ActionInvalid(_("The point lies outside China (longitude %(lon)s, latitude %(lat)s).",
                              lon=round(lon, 6), lat=round(lat, 6)))
    index = area_index()
    grid_id = index.grid_at(lon, lat)
    if grid_id is not None:
        return Placement(grid_id, lon, lat, False)
    point = Point(lon, lat)
    nearest = index.nearest_community(point)
    if nearest is None:
        raise ActionInvalid(_("No grid or community boundaries are configured yet."))
    community_id, community_shape = nearest
    _check_within_reach(point, community_shape)
    return Placement(community_id, lon, lat, True)


def _check_within_reach(point: Point, community) -> None:
    """A point in no grid goes to the nearest community when it lies near the area served (a
    phone's fix beside a border, a square between grids); one farther away is another city's
    case, refused in words (it was placed, flagged, hundreds of kilometres off)."""
    limit = setting("OUTSIDE_AREA_LIMIT_M", OUTSIDE_AREA_LIMIT_M)
    on_border = nearest_points(community, point)[0]
    away = distance_m(point.x, point.y, on_border.x, on_border.y)
    if away > limit:
        raise ActionInvalid(_(
            "The place lies %(km)s km outside the area served here (at most %(limit)s km): "
            "check the place, or report it where it lies.", km=f"{away / 1000:.1f}",
            limit=f"{limit / 1000:g}"))
