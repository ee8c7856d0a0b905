"""Statistics in the JSON API (/api/v1/stats…) for big screens (大屏) and integrations: the
indicators, hotspots and seasonality of models/stats, scoped to the caller. Thin: parameters
in, one domain call, JSON out."""
from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from flask import g, jsonify, request
from flask_babel import gettext as _

from models.clock import DateOutOfRange, local_today, parse_day
from models.stats.analysis import hotspots, seasonality
from models.stats.definitions import definitions
from models.stats.indicators import indicators
from models.stats.scope import reads_area_views
from models.vocabulary import Role

from .api import ApiError, authenticated, bp

API_GROUPS = ("grid", "community", "street", "department", "assignee", "category", "month")
MAX_TOP = 100


def _reader():
    """Whose scope the figures follow: the signed-in user, or an integration client read as a
    leader of its scope area (everything when it has none)."""
    principal = g.principal
    if principal.user is not None:
        return principal.user
    area = principal.client.scope_area
    return SimpleNamespace(id=0, role=Role.LEADER if area is not None else Role.ADMIN,
                           scope_area=area, scope_area_id=principal.client.scope_area_id,
                           department_id=None)


def _day(name: str, default: date) -> date:
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    try:
        return parse_day(value)
    except DateOutOfRange as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    except ValueError:
        raise ApiError(422, "invalid", _("%(name)s must be a date YYYY-MM-DD.", name=name)) from None


def _area_reader():
    """The caller of an area view (hotspots, seasonality): the roles whose view is an area
    (models.stats.scope.reads_area_views); a grid worker or handler is told in words."""
    reader = _reader()
    if not reads_area_views(reader):
        raise ApiError(403, "area_view", _(
            "Hotspots and seasonality show areas: they are for the command centres, the "
            "communities and the leaders. Your own figures are at /api/v1/stats."))
    return reader


def _range() -> tuple[date, date]:
    today = local_today()
    return _day("from", today.replace(day=1)), _day("to", today)


def _top() -> int:
    value = request.args.get("top") or "10"
    try:
        top = int(value)
    except ValueError:
        top = 0
    if not 1 <= top <= MAX_TOP:
        raise ApiError(422, "invalid", _("top must be a whole number from 1 to %(max)s.",
                                         max=MAX_TOP))
    return top


@bp.get("/stats")
@authenticated
def stats():
    date_from, date_to = _range()
    group_by = request.args.get("group_by") or None
    if group_by is not None and group_by not in API_GROUPS:
        raise ApiError(422, "invalid", _("group_by must be one of: %(groups)s.",
                                         groups=", ".join(API_GROUPS)))
    rows = indicators(_reader(), date_from, date_to, area=request.args.get("area") or None,
                      category=request.args.get("category") or None, group_by=group_by)
    return jsonify({"from": date_from.isoformat(), "to": date_to.isoformat(),
                    "group_by": group_by, "rows": [row.as_dict() for row in rows],
                    "definitions": definitions()})


@bp.get("/stats/hotspots")
@authenticated
def stats_hotspots():
    reader = _area_reader()
    date_from, date_to = _range()
    spots = hotspots(reader, date_from, date_to, area=request.args.get("area") or None,
                     category=request.args.get("category") or None, top=_top())
    days = (date_to - date_from).days + 1
    return jsonify({"from": date_from.isoformat(), "to": date_to.isoformat(),
                    "previous_from": (date_from - timedelta(days=days)).isoformat(),
                    "previous_to": (date_from - timedelta(days=1)).isoformat(),
                    "items": [spot.as_dict() for spot in spots]})


@bp.get("/stats/seasonality")
@authenticated
def stats_seasonality():
    reader = _area_reader()
    today = local_today()
    date_from = _day("from", date(today.year - 2, 1, 1))
    date_to = _day("to", today)
    body = seasonality(reader, date_from, date_to, area=request.args.get("area") or None,
                       category=request.args.get("category") or None)
    body["counts"] = {str(cat): months for cat, months in body["counts"].items()}
    return jsonify({"from": date_from.isoformat(), "to": date_to.isoformat(), **body})
