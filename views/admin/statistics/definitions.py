"""The definitions of the figures (指标口径): every indicator's name, definition and what it
counts, one anchor each, linked from the dashboard and from every figure's definition."""
from __future__ import annotations

from flask_admin import expose
from flask_babel import gettext as _

from models.people.roles import ALL_ROLES
from models.stats.definitions import INDICATORS, Indicator
from models.stats.drilldown import counts_tickets

from ..base import GridDeskView

STATES = {"overdue_now"}  # counted from the open tickets now, not from the range's events
MEASURE_OF = {"ever_overdue": "overdue_marked"}


def counts_what(indicator: Indicator) -> str:
    """What the figure's number is: tickets, events (a ticket may count twice), a ratio …"""
    if indicator.unit == "ratio":
        return _("a ratio")
    if indicator.unit == "hours":
        return _("hours")
    if indicator.unit == "stars":
        return _("stars (1–5)")
    if indicator.code == "patrol_rounds":
        return _("patrol rounds")
    if indicator.code in STATES or counts_tickets(MEASURE_OF.get(indicator.code, indicator.code)):
        return _("number of tickets")
    return _("events (one ticket may count more than once)")


class DefinitionsView(GridDeskView):
    allowed_roles = ALL_ROLES

    @expose("/")
    def index(self):
        return self.render("admin/stats/definitions.html",
                           indicators=[(i, counts_what(i)) for i in INDICATORS])
