"""The admin home page: the user's open work at a glance, and warnings for administrators."""
from __future__ import annotations

import sqlalchemy as sa
from flask_admin import expose
from flask_login import current_user

from models import Ticket, db, utcnow
from models.calendar import MISSING, PROVISIONAL, year_states
from models.clock import local_today
from models.people.access import ticket_scope
from models.people.roles import COMMAND_ROLES
from models.tickets.co_tasks import co_handled_by
from models.tickets.deadlines import overdue_condition
from models.vocabulary import OPEN_STATUSES

from .base import GridDeskIndexView
from .statistics.figures import HOME_CARDS, figures, totals
from .statistics.filters import month_filters
from .ticket_views import list_filter_args


def open_ticket_counts(user) -> dict:
    """Open tickets by status in the user's scope (reads the open-state indexes only)."""
    rows = db.session.execute(
        sa.select(Ticket.status, sa.func.count())
        .where(ticket_scope(user), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.status)).all()
    counts = {status: 0 for status in OPEN_STATUSES}
    counts.update(dict(rows))
    overdue = db.session.execute(
        sa.select(sa.func.count()).select_from(Ticket)
        .where(ticket_scope(user), overdue_condition(utcnow()))).scalar_one()
    co_handling = None
    if user.department_id is not None:  # the department's co-handling queue (协办)
        co_handling = db.session.execute(
            sa.select(sa.func.count()).select_from(Ticket)
            .where(ticket_scope(user), Ticket.status.in_(OPEN_STATUSES),
                   co_handled_by(user.department_id, still_owed=True))).scalar_one()
    return {"by_status": counts, "overdue": overdue, "co_handling": co_handling}



def calendar_notices() -> dict[str, list[int]]:
    """This year and next, when the work calendar lacks them or holds them provisionally."""
    this_year = local_today().year
    states = year_states((this_year, this_year + 1))
    return {"missing_years": [y for y, s in states.items() if s == MISSING],
            "provisional_years": [y for y, s in states.items() if s == PROVISIONAL]}


def month_figures(user) -> dict:
    """This month's key figures in the user's scope (the statistics dashboard's, linked)."""
    filters = month_filters(user)
    values = totals(filters)
    return {"figures": figures(filters, values, only=HOME_CARDS),
            "figures_args": filters.args(), "list_args": list_filter_args}


class HomeView(GridDeskIndexView):
    @expose("/")
    def index(self):
        context = {"counts": open_ticket_counts(current_user), "missing_years": [],
                   "provisional_years": [], **month_figures(current_user._get_current_object())}
        # Administrators and command centres: their deadlines follow a missing or provisional year.
        if current_user.role in COMMAND_ROLES:
            context.update(calendar_notices())
        return self.render("admin/home.html", **context)
