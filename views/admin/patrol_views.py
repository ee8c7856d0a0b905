"""Supervisors' patrol pages: rounds per grid and worker, a round on the grid map, coverage."""
from __future__ import annotations

from datetime import date

from flask import abort, request, url_for
from flask_admin import expose
from flask_login import current_user

from models import AreaLevel
from models.areas.hierarchy import Area
from models.patrol.queries import (RoundFilters, list_rounds, patrol_coverage, patrol_workers,
                                   visible_check_in, visible_round)
from models.patrol.rounds import round_summary
from models.patrol.route import route_latlngs
from models.people.access import can_see_ticket, pickable_areas
from models.people.roles import PATROL_OVERSIGHT_ROLES
from views.inputs import whole_number
from views.mobile.patrol import check_in_photo_response

from .base import GridDeskView

PAGE_SIZE = 50
COVERAGE_DAYS = (1, 3, 7, 14, 30)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return whole_number(value)


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _user():
    return current_user._get_current_object()


def _grid_features(grids: list[Area], properties: dict[int, dict] | None = None) -> dict:
    """GeoJSON of these grids' boundaries for the Leaflet map (no tiles: offline)."""
    features = [{"type": "Feature", "geometry": grid.boundary,
                 "properties": {"id": grid.id, "name": grid.name,
                                **(properties or {}).get(grid.id, {})}}
                for grid in grids if grid.boundary]
    return {"type": "FeatureCollection", "features": features}


class PatrolRoundsView(GridDeskView):
    allowed_roles = PATROL_OVERSIGHT_ROLES

    @expose("/")
    def index(self):
        filters = RoundFilters(grid_id=_int_arg("grid"), worker_id=_int_arg("worker"),
                               date_from=_date_arg("from"), date_to=_date_arg("to"),
                               open_only=request.args.get("open") == "1")
        page = max(_int_arg("page") or 1, 1)
        rows, total = list_rounds(_user(), filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return self.render("admin/patrol_list.html", rows=rows, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), filters=filters,
                           grids=pickable_areas(_user(), [AreaLevel.GRID]),
                           workers=patrol_workers(_user()), summary_of=round_summary)

    @expose("/round/<int:round_id>")
    def round_page(self, round_id: int):
        patrol = visible_round(_user(), round_id)
        if patrol is None:
            abort(404)
        check_ins = [{"lat": c.lat, "lon": c.lon, "label": c.place or c.note or "",
                      "at": c.at.isoformat()} for c in patrol.check_ins]
        tickets = [link.ticket for link in patrol.reports]
        problems = [{"lat": t.lat, "lon": t.lon, "label": f"{t.number} {t.category.name}",
                     "url": url_for("ticket.details_view", id=t.id)
                     if can_see_ticket(_user(), t) else None}
                    for t in tickets if t.lat is not None]
        map_data = {"grids": _grid_features([patrol.grid]), "route": route_latlngs(patrol.route),
                    "check_ins": check_ins, "problems": problems}
        return self.render("admin/patrol_round.html", round=patrol, map_data=map_data,
                           summary=round_summary(patrol), tickets=tickets,
                           visible=lambda t: can_see_ticket(_user(), t))

    @expose("/check-in/<int:check_in_id>/photo")
    @expose("/check-in/<int:check_in_id>/photo/<any(thumbnail):size>")
    def check_in_photo(self, check_in_id: int, size: str | None = None):
        visit = visible_check_in(_user(), check_in_id)
        if visit is None:
            abort(404)
        return check_in_photo_response(visit, thumbnail=size == "thumbnail")


class PatrolCoverageView(GridDeskView):
    allowed_roles = PATROL_OVERSIGHT_ROLES

    @expose("/")
    def index(self):
        days = _int_arg("days") or 7
        days = min(max(days, 1), 365)
        rows = patrol_coverage(_user(), days)
        properties = {row.grid.id: {"rounds": row.rounds, "covered": row.covered}
                      for row in rows}
        covered = sum(1 for row in rows if row.covered)
        return self.render("admin/patrol_coverage.html", rows=rows, days=days,
                           day_choices=COVERAGE_DAYS, covered=covered,
                           map_data={"grids": _grid_features([r.grid for r in rows], properties)})
