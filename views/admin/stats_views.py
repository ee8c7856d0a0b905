"""The statistics pages (统计分析): dashboard, analysis and map. Each reads its filters, asks
models.stats for the figures (views/admin/stats_pages.py shapes them for the page) and renders."""
from __future__ import annotations

from flask import jsonify, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from models.people.roles import ALL_ROLES
from models.settings import map_tiles

from . import stats_pages as pages
from .base import GridDeskView
from .stats_filters import filter_choices, read_filters


def _user():
    return current_user._get_current_object()


def _common(filters) -> dict:
    return {"filters": filters, "choices": filter_choices(_user()),
            "presets": pages.presets(filters), "scope_label": pages.scope_label(_user(), filters)}


class DashboardView(GridDeskView):
    allowed_roles = ALL_ROLES

    @expose("/")
    def index(self):
        filters = read_filters(_user())
        return self.render("admin/stats/dashboard.html", **_common(filters),
                           **pages.dashboard(filters))


class AnalysisView(GridDeskView):
    allowed_roles = ALL_ROLES

    @expose("/")
    def index(self):
        filters = read_filters(_user(), default_days=pages.ANALYSIS_DEFAULT_DAYS,
                               max_days=pages.ANALYSIS_MAX_DAYS)
        options = pages.analysis_options(filters)
        extra = [("top", _("Top"), options.top_n), ("k", _("At least"), options.k)]
        # The analyses read area and category only: no department or person to pick here.
        return self.render("admin/stats/analysis.html", **_common(filters), extra_fields=extra,
                           unit_filters=False,
                           **pages.analysis(filters, options))


class MapView(GridDeskView):
    allowed_roles = ALL_ROLES

    @expose("/")
    def index(self):
        filters = read_filters(_user())
        tiles = map_tiles()
        config = {"tile_url": tiles["url"], "attribution": tiles["attribution"],
                  "subdomains": tiles["subdomains"],
                  "data_url": url_for(".geojson", **filters.args()),
                  "show_markers": True, "show_heat": False, "labels": pages.map_labels()}
        return self.render("admin/stats/map.html", **_common(filters), map_config=config)

    @expose("/grids.geojson")
    def geojson(self):
        filters = read_filters(_user())
        return jsonify(pages.map_geojson(_user(), filters))
