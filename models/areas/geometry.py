"""Geometry rules: GeoJSON boundaries in WGS-84 and the bounds of China."""
from __future__ import annotations

from flask_babel import gettext as _
from shapely import is_valid_reason
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

# A generous bounding box of China (WGS-84): points outside are refused, not guessed.
CHINA_BOUNDS = (73.4, 3.8, 135.1, 53.6)  # min lon, min lat, max lon, max lat


class GeometryError(ValueError):
    """A boundary that cannot be used, with a message the administrator can act on."""


def in_china(lon: float, lat: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = CHINA_BOUNDS
    return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def parse_boundary(data: object) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (bare, or as a Feature) → a valid shapely geometry."""
    if not isinstance(data, dict):
        raise GeometryError(_("The boundary must be a GeoJSON object."))
    if data.get("type") == "Feature":
        data = data.get("geometry")
        if not isinstance(data, dict):
            raise GeometryError(_("The Feature has no geometry."))
    kind = data.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeometryError(_("The boundary must be a Polygon or MultiPolygon, not %(kind)s.", kind=kind))
    try:
        geometry = shape(data)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise GeometryError(_("Malformed coordinates: %(error)s", error=exc)) from None
    if geometry.is_empty:
        raise GeometryError(_("The boundary is empty or has no area."))
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (in_china(min_lon, min_lat) and in_china(max_lon, max_lat)):
        raise GeometryError(_("The coordinates lie outside China; give longitude first, then "
                                "latitude, in WGS-84."))
    if not geometry.is_valid:
        raise GeometryError(_("Invalid geometry: %(reason)s", reason=is_valid_reason(geometry)))
    if geometry.area == 0:
        raise GeometryError(_("The boundary is empty or has no area."))
    return geometry


def geometry_to_geojson(geometry: BaseGeometry) -> dict:
    return mapping(geometry)
