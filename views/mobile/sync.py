"""The phone app's JSON endpoints: what the page (and its offline queue) sends.

Session-authenticated (the signed-in field user) with the CSRF token in the X-CSRFToken header,
and the API's own Idempotency-Key handling (views.api.idempotent): a step replayed from the
offline queue with the same key gets the first answer and changes nothing.
"""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from models import AttachmentKind, Priority, Source, db
from models.errors import WorkflowError
from models.tickets.actions import ACTIONS, Action
from models.tickets.attachments import Upload
from models.tickets.co_tasks import CoHandlingTask
from models.tickets.cohandling import TASK_ACTIONS, act_on_task
from models.tickets.intake import Report, report_ticket
from models.tickets.records import TicketChangedError
from models.tickets.supervision import reply_to_supervision
from models.tickets.workflow import Actor, perform
from views.api import ApiError, Principal, api_error_response, idempotent, workflow_error_response
from views.inputs import whole_number
from views.uploads import photo_uploads

from . import bp
from .shell import ticket_page_url
from .tasks import visible_ticket_or_404

MAX_PHOTOS = 6


bp.register_error_handler(ApiError, api_error_response)
bp.register_error_handler(WorkflowError, workflow_error_response)


@bp.get("/api/session")
def session_info():
    """A fresh CSRF token for the queue, which may replay hours after the page was loaded."""
    return jsonify({"csrf_token": generate_csrf(), "user": {
        "id": current_user.id, "display_name": current_user.display_name}})


def as_principal() -> None:
    g.principal = Principal(user=current_user._get_current_object())


def _photos(kind: AttachmentKind) -> list[Upload]:
    if len([f for f in request.files.getlist("photos") if f and f.filename]) > MAX_PHOTOS:
        raise ApiError(422, "invalid", _("At most %(count)s photos at a time.", count=MAX_PHOTOS))
    return photo_uploads(kind)


def _version() -> int:
    value = whole_number(request.form.get("version", ""))
    if value is None:
        raise ApiError(422, "invalid", _("Give the version of the ticket you are acting on."))
    return value


@bp.post("/api/tickets/<int:ticket_id>/actions/<action>")
def act(ticket_id: int, action: str):
    as_principal()
    return _act(ticket_id, action)


@idempotent
def _act(ticket_id: int, action: str):
    ticket = visible_ticket_or_404(ticket_id)
    if action == Action.SUPERVISION_REPLY:  # the handler's answer to a supervision (督办回复)
        return _reply_to_supervision(ticket)
    if action not in ACTIONS:
        raise ApiError(404, "not_found", _("Unknown action %(action)s.", action=action))
    kind = AttachmentKind.AFTER if action == "submit" else AttachmentKind.OTHER
    params = {"note": request.form.get("note")}
    if request.form.get("until"):
        params["until"] = request.form["until"]
    photos = _photos(kind)
    if photos:
        params["attachments"] = photos
    try:
        perform(ticket, action, Actor.staff(current_user), expected_version=_version(), **params)
    except TicketChangedError:
        raise _changed() from None
    return _done(ticket)


def _changed() -> ApiError:
    return ApiError(409, "conflict", _(
        "This ticket has been changed by someone else; your step was not saved. Open the "
        "ticket again to see its current state."))


def _reply_to_supervision(ticket):
    try:
        reply_to_supervision(ticket, current_user._get_current_object(),
                             note=request.form.get("note"), expected_version=_version())
    except TicketChangedError:
        raise _changed() from None
    return _done(ticket)


def _done(ticket):
    return jsonify({"ok": True, "ticket": {
        "id": ticket.id, "number": ticket.number, "status": ticket.status.value,
        "status_label": str(ticket.status.label), "version": ticket.version,
        "url": ticket_page_url(current_user, ticket.id)}}), 200


@bp.post("/api/tickets/<int:ticket_id>/tasks/<int:task_id>/actions/<action>")
def task_act(ticket_id: int, task_id: int, action: str):
    as_principal()
    return _task_act(ticket_id, task_id, action)


@idempotent
def _task_act(ticket_id: int, task_id: int, action: str):
    """A co-handling department's step on its own task (协办), from the phone."""
    ticket = visible_ticket_or_404(ticket_id)
    task = db.session.get(CoHandlingTask, task_id)
    if task is None or task.ticket_id != ticket.id or action not in TASK_ACTIONS:
        raise ApiError(404, "not_found", _("No such co-handling task on this ticket."))
    try:
        act_on_task(ticket, task, action, Actor.staff(current_user), note=request.form.get("note"),
                    expected_version=_version())
    except TicketChangedError:
        raise ApiError(409, "conflict", _(
            "This ticket has been changed by someone else; your step was not saved. Open the "
            "ticket again to see its current state.")) from None
    return jsonify({"ok": True, "ticket": {
        "id": ticket.id, "number": ticket.number, "status": ticket.status.value,
        "status_label": str(ticket.status.label), "version": ticket.version,
        "url": ticket_page_url(current_user, ticket.id)}}), 200


@bp.post("/api/reports")
def report():
    as_principal()
    return _report()


@idempotent
def _report():
    form = request.form
    try:
        category_id = whole_number(form.get("category_id", ""))
        if category_id is None:
            raise ValueError("category")
        lat = float(form["lat"]) if form.get("lat") else None
        lon = float(form["lon"]) if form.get("lon") else None
    except ValueError:
        raise ApiError(422, "invalid", _("Choose a category and give the place.")) from None
    result = report_ticket(Report(
        category_id=category_id, description=form.get("description") or "",
        lat=lat, lon=lon, address=form.get("address") or None, priority=Priority.NORMAL,
        source=Source.PATROL, photos=_photos(AttachmentKind.BEFORE)), actor=current_user)
    db.session.flush()
    ticket = result.ticket
    return jsonify({"ok": True, "ticket": {
        "id": ticket.id, "number": ticket.number, "status": ticket.status.value,
        "url": ticket_page_url(current_user, ticket.id)}}), 201
