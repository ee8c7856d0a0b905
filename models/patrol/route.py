"""A patrol route: GPS points from the phone, checked, thinned and kept compact.

Stored as ``[[lon, lat, seconds since the round started], …]`` (WGS-84, 6 decimals ≈ 0.1 m).
Points closer than MIN_STEP_M to the last kept point, too inaccurate, or implying an impossible
speed are dropped; a route longer than MAX_ROUTE_POINTS is halved, so its size stays bounded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _

from models.areas.coordinates import distance_m
from models.areas.geometry import in_china
from models.errors import ActionInvalid

MAX_POINTS_PER_REQUEST = 200
MAX_ROUTE_POINTS = 3000
MIN_STEP_M = 5.0
MAX_ACCURACY_M = 100.0
MAX_SPEED_MPS = 40.0  # faster than any street vehicle: a GPS jump, not a walk
CLOCK_SLACK = timedelta(minutes=5)  # phones' clocks differ from the server's a little


@dataclass(frozen=True)
class RoutePoint:
    lon: float
    lat: float
    at: datetime
    accuracy: float | None = None


def check_position(lon: object, lat: object) -> tuple[float, float]:
    """A single WGS-84 position from a phone (check-ins, reports): numbers, inside China."""
    if lon in (None, "") or lat in (None, ""):
        raise ActionInvalid(_("Your location is not known yet: allow location access and try "
                              "again."))
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ActionInvalid(_("The location is not a pair of numbers.")) from None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)) or not in_china(lon_f, lat_f):
        raise ActionInvalid(_("The location lies outside China."))
    return lon_f, lat_f


def parse_points(raw: object) -> list[RoutePoint]:
    """``[[lon, lat, t, accuracy?], …]`` (the phone's compact form) or ``[{"lon":…, "lat":…,
    "t": epoch milliseconds, "accuracy": metres?}, …]`` → points, or a refusal of the whole
    batch naming the first bad point."""
    if not isinstance(raw, list):
        raise ActionInvalid(_("The route points must be a list."))
    if len(raw) > MAX_POINTS_PER_REQUEST:
        raise ActionInvalid(_("Too many route points at once (%(count)s; at most %(max)s).",
                              count=len(raw), max=MAX_POINTS_PER_REQUEST))
    points = []
    for number, item in enumerate(raw, start=1):
        points.append(_parse_point(number, item))
    for number, (before, after) in enumerate(zip(points, points[1:]), start=2):
        if after.at < before.at:
            raise ActionInvalid(_("Route point %(n)s is earlier than the one before it: the "
                                  "points must be in time order.", n=number))
    return points


def _parse_point(number: int, item: object) -> RoutePoint:
    if isinstance(item, list) and len(item) in (3, 4):
        item = dict(zip(("lon", "lat", "t", "accuracy"), item))
    if not isinstance(item, dict):
        raise ActionInvalid(_("Route point %(n)s is malformed.", n=number))
    try:
        lon, lat = float(item["lon"]), float(item["lat"])
        millis = float(item["t"])
        accuracy = float(item["accuracy"]) if item.get("accuracy") is not None else None
        at = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise ActionInvalid(_("Route point %(n)s is malformed.", n=number)) from None
    if not (math.isfinite(lon) and math.isfinite(lat)) or not in_china(lon, lat):
        raise ActionInvalid(_("Route point %(n)s lies outside China.", n=number))
    return RoutePoint(lon, lat, at, accuracy)


def check_times(points: list[RoutePoint], started_at: datetime, now: datetime) -> None:
    """Points belong to the round: not before it started, not in the future."""
    for number, point in enumerate(points, start=1):
        if point.at < started_at - CLOCK_SLACK or point.at > now + CLOCK_SLACK:
            raise ActionInvalid(_("Route point %(n)s has a time outside this round.", n=number))


def extend_route(route: list | None, points: list[RoutePoint],
                 started_at: datetime) -> tuple[list, float, int]:
    """The route with these points added (thinned); also the metres and points added."""
    route = list(route or [])
    added_m, kept = 0.0, 0
    for point in points:
        offset = max(0, round((point.at - started_at).total_seconds()))
        if route and offset <= route[-1][2]:
            continue  # already recorded (a retried batch) or out of order with the stored route
        if point.accuracy is not None and point.accuracy > MAX_ACCURACY_M:
            continue
        if route:
            lon, lat, last = route[-1]
            step = distance_m(lon, lat, point.lon, point.lat)
            if step < MIN_STEP_M or step / max(offset - last, 1) > MAX_SPEED_MPS:
                continue
            added_m += step
        route.append([round(point.lon, 6), round(point.lat, 6), offset])
        kept += 1
    return bound_route(route), added_m, kept


def bound_route(route: list) -> list:
    """Halve a route that grew past MAX_ROUTE_POINTS (first and last point kept)."""
    while len(route) > MAX_ROUTE_POINTS:
        route = route[:-1:2] + [route[-1]]
    return route


def route_latlngs(route: list | None) -> list[list[float]]:
    """[[lat, lon], …] as a map draws it."""
    return [[lat, lon] for lon, lat, _offset in (route or [])]
