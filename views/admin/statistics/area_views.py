"""The statistics pages that show an area (analysis, map): offered in the menu and in links only
to the roles whose view is an area (models.people.roles.AREA_REPORT_ROLES). A grid worker or a
department handler who opens one by its address reads, in Chinese, what these pages are for and
where their own figures are (the dashboard), instead of a page of zeros."""
from __future__ import annotations

from flask import jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models.people.roles import AREA_REPORT_ROLES

from ..base import GridDeskView, refuse_access


def area_only_text() -> tuple[str, str]:
    return (_("This is an area view"),
            _("The analysis and the statistics map show areas: they are for the command centres, "
              "the communities and the leaders. Your own figures are on the statistics "
              "dashboard."))


class AreaStatsView(GridDeskView):
    allowed_roles = AREA_REPORT_ROLES
    # Endpoints answering the page's scripts: a JSON refusal instead of the page.
    json_endpoints: tuple[str, ...] = ()

    def inaccessible_callback(self, name, **kwargs):
        if not (current_user.is_authenticated and current_user.is_active):
            return refuse_access()
        title, text = area_only_text()
        if name in self.json_endpoints:
            return jsonify({"error": {"code": "area_view", "message": text}}), 403
        return self.render("admin/stats/area_only.html", title=title, text=text,
                           dashboard_url=url_for("stats.index")), 403
