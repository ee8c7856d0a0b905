"""Supervision (督办) in the JSON API: put a ticket under supervision, answer it, lift it.
Thin: JSON in, one call into models/tickets/supervision.py, the ticket out."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _

from models.tickets import supervision

from .api import (ApiError, authenticated, bp, idempotent, json_body, ticket_after_action,
                  version_of, visible_ticket)
from .inputs import integer, text

SUPERVISION_BODY = {"version": integer(), "level": text(limit=16), "note": text(),
                    "expected_by": text(limit=40)}


def _staff_request() -> tuple:
    principal = g.principal
    if principal.user is None:
        raise ApiError(403, "forbidden", _("Integrations may only rate or reopen for the reporter."))
    data = json_body(SUPERVISION_BODY)
    return principal, data, version_of(data)


@bp.post("/tickets/<int:ticket_id>/actions/supervise")
@authenticated
@idempotent
def supervise_ticket(ticket_id: int):
    ticket = visible_ticket(ticket_id)
    principal, data, version = _staff_request()
    supervision.supervise(ticket, principal.user, level=data.get("level"), note=data.get("note"),
                          expected_by=data.get("expected_by"), expected_version=version)
    return ticket_after_action(ticket, principal)


@bp.post("/tickets/<int:ticket_id>/actions/supervision_reply")
@authenticated
@idempotent
def reply_to_supervision(ticket_id: int):
    ticket = visible_ticket(ticket_id)
    principal, data, version = _staff_request()
    supervision.reply_to_supervision(ticket, principal.user, note=data.get("note"),
                                     expected_version=version)
    return ticket_after_action(ticket, principal)


@bp.post("/tickets/<int:ticket_id>/actions/lift_supervision")
@authenticated
@idempotent
def lift_supervision(ticket_id: int):
    ticket = visible_ticket(ticket_id)
    principal, data, version = _staff_request()
    supervision.lift_supervision(ticket, principal.user, note=data.get("note"),
                                 expected_version=version)
    return ticket_after_action(ticket, principal)
