"""The tickets behind a figure of events (派单、办结、审核退回、退回、重新打开、上报上级 …): the
figure's events and the tickets they happened to, said plainly ("7 次退回，涉及 5 件工单"), and
each ticket with its count (models.stats.drilldown.figure_tickets). Figures of tickets lead to
the ticket list itself (figures.list_url)."""
from __future__ import annotations

from flask import abort, request
from flask_admin import expose

from models.people.roles import ALL_ROLES
from models.stats.definitions import BY_CODE
from models.stats.drilldown import (COUNTED, LISTED_AT_MOST, FigureKey, counts_tickets,
                                    figure_tickets)

from ..base import GridDeskView
from .figures import page_context, ticket_list_url, viewer
from .filters import read_filters

# The indicator whose definition explains each measure's figure.
INDICATOR_OF = {"overdue_marked": "ever_overdue", "satisfied": "satisfaction_rate"}


class FigureTicketsView(GridDeskView):
    allowed_roles = ALL_ROLES

    def is_visible(self) -> bool:
        return False  # reached from the figures of the statistics pages

    @expose("/")
    def index(self):
        measure = request.args.get("measure", "")
        if measure not in COUNTED or counts_tickets(measure):
            abort(404)
        filters = read_filters(viewer())
        key = FigureKey(measure, filters.start, filters.end,
                        filters.department.id if filters.department else None,
                        filters.assignee.id if filters.assignee else None)
        found = figure_tickets(viewer(), key, area=filters.area, category=filters.category)
        return self.render("admin/stats/figure_tickets.html", **page_context(filters),
                           found=found, limit=LISTED_AT_MOST,
                           indicator=BY_CODE[INDICATOR_OF.get(measure, measure)],
                           list_url=ticket_list_url(filters, measure))
