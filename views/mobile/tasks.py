"""The field worker's pages: the task inbox, a ticket, 我的本月."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload

from models import Area, Ticket, TicketEvent, db, utcnow
from models.people.access import can_see_ticket, reporter_phone_for
from models.tickets.actions import RULES, Actor
from models.tickets.cohandling import (TASK_STEPS, allowed_task_actions, task_overdue,
                                       tasks_by_ticket, ticket_tasks)
from models.tickets.deadlines import deadline_state, running_deadline
from models.tickets.tables import Attachment
from models.tickets.workflow import allowed_actions
from models.tickets import supervision, worklist

from . import bp

TAB_LABELS = {"pending": _l("To accept"), "in_progress": _l("In progress"),
              "rework": _l("Sent back"), "due_soon": _l("Due soon or overdue"),
              "supervised": _l("Supervised"), "co_handling": _l("Co-handling")}
# The steps a field worker takes on the phone, in the order of the buttons.
PHONE_ACTIONS = ("accept", "note", "submit", "request_extension", "return", "escalate")


@bp.route("/")
def inbox():
    tab = request.args.get("tab", worklist.PENDING)
    tabs = worklist.inbox_tabs(current_user)
    if tab not in tabs:
        tab = worklist.PENDING
    now = utcnow()
    tickets = worklist.inbox(current_user, tab, now)
    states = {t.id: deadline_state(t, now) for t in tickets}
    deadlines = {t.id: running_deadline(t) for t in tickets}
    owed = {}
    if tab == worklist.CO_HANDLING:  # the card shows the department's own task, not the case
        for ticket_id, tasks in tasks_by_ticket(deadlines).items():
            mine = [t for t in tasks if t.department_id == current_user.department_id
                    and t.is_active]
            if mine:
                owed[ticket_id] = mine[0]
                deadlines[ticket_id] = mine[0].deadline
                states[ticket_id] = "red" if task_overdue(mine[0], now) else "green"
    return render_template(
        "mobile/inbox.html", active_tab="tasks", tab=tab, tabs=tabs,
        tab_labels=TAB_LABELS, counts=worklist.inbox_counts(current_user, now), tickets=tickets,
        states=states, deadlines=deadlines, owed_tasks=owed)


def visible_ticket_or_404(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not can_see_ticket(current_user, ticket):
        abort(404)
    return ticket


@bp.route("/tickets/<int:ticket_id>")
def ticket(ticket_id: int):
    ticket = visible_ticket_or_404(ticket_id)
    events = db.session.execute(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.seq.desc()).options(joinedload(TicketEvent.actor))).scalars().all()
    photos = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id).order_by(Attachment.id)).scalars().all()
    allowed = set(allowed_actions(Actor.staff(current_user), ticket))
    actions = [name for name in PHONE_ACTIONS if name in allowed]
    grid = db.session.get(Area, ticket.grid_id) if ticket.grid_id else None
    now = utcnow()
    tasks = [(task, task_overdue(task, now), allowed_task_actions(Actor.staff(current_user),
                                                                  ticket, task))
             for task in ticket_tasks(ticket.id)]
    return render_template(
        "mobile/ticket.html", active_tab="tasks", ticket=ticket, events=events, photos=photos,
        co_tasks=tasks, task_steps=TASK_STEPS,
        actions=actions, asks={name: RULES[name].asks for name in actions},
        grid_boundary=grid.boundary if grid is not None else None, grid=grid,
        state=deadline_state(ticket, now), deadline=running_deadline(ticket),
        reporter_phone=reporter_phone_for(current_user, ticket), back_url=url_for("mobile.inbox"),
        **supervision_context(ticket, now))


def supervision_context(ticket: Ticket, now) -> dict:
    """The ticket's supervision (督办) and whether this worker answers it here."""
    row = ticket.supervision
    return {"supervision": row,
            "supervision_past_expected": row is not None and ticket.is_open
            and row.is_past_expected(supervision.local_day(now)),
            "can_reply_supervision": supervision.may_reply(current_user, ticket)}


@bp.route("/me")
def me():
    month = worklist.my_month(current_user, utcnow())
    return render_template("mobile/me.html", active_tab="me", month=month)
