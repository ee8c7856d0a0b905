"""Supervision (督办) in the admin panel: the box on the ticket page with its three steps, and
the page of all supervised tickets in the user's area. Thin: form → one call into
models/tickets/supervision.py → page."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from models import Ticket, db, utcnow
from models.errors import WorkflowError
from models.people.roles import AREA_REPORT_ROLES
from models.tickets import supervision
from models.tickets.actions import Action
from models.tickets.records import TicketChangedError
from models.vocabulary import OPEN_STATUSES
from views.inputs import whole_number

from .base import GridDeskView

STEPS = {"supervise": Action.SUPERVISE, "reply": Action.SUPERVISION_REPLY,
         "lift": Action.LIFT_SUPERVISION}


def _apply(step: str, ticket: Ticket, form) -> None:
    user = current_user._get_current_object()
    version = whole_number(form.get("version", "")) or -1
    if step == "supervise":
        supervision.supervise(ticket, user, level=form.get("level"), note=form.get("note"),
                              expected_by=form.get("expected_by"), expected_version=version)
    elif step == "reply":
        supervision.reply_to_supervision(ticket, user, note=form.get("note"),
                                         expected_version=version)
    else:
        supervision.lift_supervision(ticket, user, note=form.get("note"),
                                     expected_version=version)


class SupervisionMixin:
    """Mixed into TicketView (its get_one keeps the scope)."""

    def supervision_context(self, ticket: Ticket) -> dict:
        user = current_user._get_current_object()
        row = ticket.supervision
        today = supervision.local_day(utcnow())
        return {"supervision": row,
                "supervision_levels": supervision.SupervisionLevel.choices(),
                "supervision_steps": supervision.supervision_actions(user, ticket),
                "supervision_past_expected": row is not None and ticket.status in OPEN_STATUSES
                and row.is_past_expected(today),
                "supervision_today": today.isoformat()}

    @expose("/supervision/<int:ticket_id>/<step>", methods=["POST"])
    def supervision_step(self, ticket_id: int, step: str):
        ticket = self.get_one(ticket_id)  # 404 outside the scope
        if step not in STEPS:
            flash(_("Unknown action %(action)s.", action=step), "danger")
            return redirect(url_for(".details_view", id=ticket_id))
        try:
            _apply(step, ticket, request.form)
            db.session.commit()
            flash(_("%(action)s: done.", action=STEPS[step].label), "success")
        except WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        except StaleDataError:
            db.session.rollback()
            flash(TicketChangedError.default_message(), "danger")
        return redirect(url_for(".details_view", id=ticket_id))


class SupervisionListView(GridDeskView):
    """督办件: every ticket under supervision inside the user's area, with its state, level,
    expected date, whether that date has passed, and the handler's last reply."""

    allowed_roles = AREA_REPORT_ROLES

    @expose("/")
    def index(self):
        level = request.args.get("level") or None
        if level not in {value for value, _label in supervision.SupervisionLevel.choices()}:
            level = None
        past = request.args.get("past") == "1"
        now = utcnow()
        rows = supervision.supervised_tickets(current_user._get_current_object(), level=level,
                                              past_expected=past, now=now)
        today = supervision.local_day(now)
        from .ticket_views import list_filter_args  # the list imports this module

        list_url = url_for("ticket.index_view", **list_filter_args(supervision=level or "any"))
        return self.render("admin/supervision_list.html", rows=rows, level=level, past=past,
                           list_url=list_url,
                           levels=supervision.SupervisionLevel.choices(), today=today,
                           open_statuses=OPEN_STATUSES)
