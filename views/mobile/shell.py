"""Shared helpers of the phone app's pages."""
from __future__ import annotations

from flask import url_for

from models.people.roles import FIELD_ROLES


def ticket_page_url(user, ticket_id: int) -> str:
    """Where a link to a ticket takes this person: field staff to the phone page, the others
    to the admin panel's ticket page (used by notification links)."""
    if getattr(user, "is_authenticated", False) and user.role in FIELD_ROLES:
        return url_for("mobile.ticket", ticket_id=ticket_id)
    return url_for("ticket.details_view", id=ticket_id)
