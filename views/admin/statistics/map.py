"""The statistics map (统计地图): the grids of the user's scope shaded by their reports for the
chosen category and range, ticket markers and a heat layer (Leaflet; works without tiles)."""
from __future__ import annotations

from flask import jsonify, url_for
from flask_admin import expose
from flask_babel import gettext as _

from models import User
from models.settings import map_tiles
from models.stats.map_layers import scope_grids, ticket_points

from .area_views import AreaStatsView
from .figures import list_url, page_context, rows, viewer
from .filters import StatsFilters, read_filters


class MapView(AreaStatsView):
    """For the roles whose view is an area (AreaStatsView)."""
    json_endpoints = ("geojson",)

    @expose("/")
    def index(self):
        filters = read_filters(viewer())
        tiles = map_tiles()
        config = {"tile_url": tiles["url"], "attribution": tiles["attribution"],
                  "subdomains": tiles["subdomains"],
                  "data_url": url_for(".geojson", **filters.args()),
                  "show_markers": True, "show_heat": False, "labels": map_labels()}
        return self.render("admin/stats/map.html", **page_context(filters), map_config=config)

    @expose("/grids.geojson")
    def geojson(self):
        return jsonify(map_geojson(viewer(), read_filters(viewer())))


def map_labels() -> dict:
    return {"legend": _("Received"), "count": _("Received"), "open_list": _("Open the tickets"),
            "grids": _("Grids"), "names": _("Grid names"), "markers": _("Tickets"),
            "heat": _("Heat map"),
            "sampled": _("The newest %(shown)s of %(total)s tickets are drawn as markers."),
            "failed": _("The map data could not be loaded.")}


def map_geojson(user: User, filters: StatsFilters) -> dict:
    """The grids in the user's scope shaded by their received count (models.stats indicators),
    and a bounded sample of ticket points (models.stats.map_layers)."""
    counts = {row.key: row.values["received"] for row in rows(filters, "grid") if row.key}
    features = []
    for grid in scope_grids(user, filters.area):
        if not grid.boundary:
            continue
        count = counts.get(grid.id, 0)
        features.append({"type": "Feature", "geometry": grid.boundary, "properties": {
            "id": grid.id, "code": grid.code, "name": grid.name, "count": count,
            "center": [grid.centroid_lon, grid.centroid_lat]
            if grid.centroid_lon is not None else None,
            "url": list_url(filters, "received", grid_id=grid.id)}})
    points = ticket_points(user, filters.start, filters.end, area=filters.area,
                           category_id=filters.category.id if filters.category else None,
                           department_id=filters.department.id if filters.department else None,
                           assignee_id=filters.assignee.id if filters.assignee else None)
    return {"type": "FeatureCollection", "features": features,
            "max": max((f["properties"]["count"] for f in features), default=0),
            "markers": [[lat, lon, number, url_for("ticket.details_view", id=ticket_id), title]
                        for lat, lon, ticket_id, number, title in points.markers],
            "heat": [[round(lat, 5), round(lon, 5)] for lat, lon in points.heat],
            "markers_total": points.total}


