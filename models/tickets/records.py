"""Ticket operations of the foundation: opening a ticket with its first event, editing fields."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from models.areas.hierarchy import Area, lineage
from models.base import db, utcnow
from models.categories import Category
from models.clock import local_zone
from models.errors import ActionInvalid, Conflict
from models.fields import check_text, clean_email
from models.people.phones import clean_phone
from models.people.user import User
from models.reference_cache import AreaRow, area_lineage
from models.tickets.attachments import Upload, save_attachment
from models.tickets.corrections import Correction, apply_correction
from models.tickets.duplicates import NearbyCheck
from models.tickets.numbering import new_tracking_code, number_new_ticket
from models.tickets.reported import checked_for_duplicates_as_written, reported_with_ids
from models.tickets.tables import Ticket
from models.tickets.timeline import append_event
from models.vocabulary import ActorKind, AreaLevel, Priority, Source, TicketStatus

ALL_LEVELS = ("district", "street", "community", "grid")


def ticket_list_loads(levels: tuple[str, ...] = ALL_LEVELS) -> tuple:
    """Loader options for a page of tickets: the category is joined; the area ``levels`` the
    page shows, the department and the assignee come in one small IN query each. Joining all of
    them costs PostgreSQL more to plan (~30 ms) than to run (<1 ms)."""
    return (joinedload(Ticket.category).joinedload(Category.parent),
            *(selectinload(getattr(Ticket, level)) for level in levels),
            selectinload(Ticket.assigned_department), selectinload(Ticket.assigned_user),
            # the current supervision (督办), defined with it in models/tickets/supervision.py
            selectinload(Ticket.supervision))


class TicketChangedError(Conflict):
    """The ticket changed after the user loaded it; their change was not applied."""

    @staticmethod
    def default_message() -> str:
        return _("This ticket was changed meanwhile by someone else. Reload it and try again.")


class TicketInputError(ActionInvalid):
    """Input that cannot become a ticket field."""


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise TicketChangedError(TicketChangedError.default_message())


def open_ticket(*, category: Category, title: str, description: str, source: Source,
                area: Area | AreaRow | None, lat: float | None = None, lon: float | None = None,
                address: str | None = None, priority: Priority = Priority.NORMAL,
                reporter_name: str | None = None, reporter_phone: str | None = None,
                reporter_email: str | None = None, actor: User | None = None,
                at: datetime | None = None, photos: Sequence[Upload] = (),
                details: dict | None = None, nearby: NearbyCheck | None = None) -> Ticket:
    """Create a pending ticket placed in ``area`` (usually its grid) with its first event.

    ``photos`` (checked uploads) are kept on that first event, and ``details`` (e.g. which
    integration client sent the report) join its details. ``nearby``, a duplicate check, is
    run by the ticket's write (its ``found`` is then set).
    """
    at = at or utcnow()
    if not (title or "").strip():
        raise TicketInputError(_("The title is required."))
    phone = clean_phone(reporter_phone)  # every refusal before the number is taken
    reporter_email = clean_email(reporter_email)
    check_ticket_texts(title=title.strip(), description=description, address=address,
                       reporter_name=reporter_name, reporter_email=reporter_email)
    numbered = number_new_ticket(at.astimezone(local_zone()).date())
    ticket = Ticket(
        number=numbered.number,
        tracking_code=new_tracking_code(),
        title=title.strip(), description=(description or "").strip(), category=category,
        priority=priority, source=source, status=TicketStatus.PENDING, lat=lat, lon=lon,
        address=address, reporter_name=reporter_name, reporter_phone=phone,
        reporter_email=reporter_email, created_by_id=actor.id if actor else None,
        created_at=at, updated_at=at, last_activity_at=at,
        event_seq=0, rework_count=0, location_flagged=False,
    )
    reported_with_ids(ticket, numbered)
    checked_for_duplicates_as_written(ticket, nearby)
    if area is not None:
        place_ticket(ticket, area)
    db.session.add(ticket)
    created = append_event(ticket, "create", actor=actor,
                           actor_kind=ActorKind.USER if actor else ActorKind.REPORTER,
                           to_status=TicketStatus.PENDING, note=description, at=at,
                           details={"source": source.value, **(details or {})})
    if photos:
        db.session.flush()
        for photo in photos:
            save_attachment(ticket, created, photo, uploaded_by=actor)
    return ticket


def check_ticket_texts(**texts: str | None) -> None:
    """Refuse texts a ticket cannot store (a NUL, longer than the column) before the ticket is
    numbered, so a refusal leaves no gap in the numbers."""
    for name, value in texts.items():
        check_text(_TEXT_LABELS[name], value, getattr(Ticket, name))


_TEXT_LABELS = {"title": _l("The title"), "description": _l("The description"),
                "address": _l("The address"), "reporter_name": _l("The reporter's name"),
                "reporter_email": _l("The reporter's e-mail")}


def place_ticket(ticket: Ticket, area: Area | AreaRow) -> None:
    """Store the four area levels of ``area`` on the ticket (from the cached area rows; an area
    this transaction's snapshot of them does not hold yet is read from the database)."""
    levels = area_lineage(area.id) or lineage(area)
    ticket.district_id = levels[AreaLevel.DISTRICT].id if AreaLevel.DISTRICT in levels else None
    ticket.street_id = levels[AreaLevel.STREET].id if AreaLevel.STREET in levels else None
    ticket.community_id = levels[AreaLevel.COMMUNITY].id if AreaLevel.COMMUNITY in levels else None
    ticket.grid_id = levels[AreaLevel.GRID].id if AreaLevel.GRID in levels else None
    ticket.current_level = area.level


def edit_ticket_fields(ticket: Ticket, actor: User, changes: dict, *,
                       expected_version: int | None) -> Correction:
    """Correct descriptive fields of a ticket; records one "edit" event with old and new values
    (a new category or priority is followed through: models.tickets.corrections)."""
    check_version(ticket, expected_version)
    if "title" in changes and not (changes["title"] or "").strip():
        raise TicketInputError(_("The title is required."))
    cleaned = {}
    for name, new in changes.items():
        if isinstance(new, str):
            new = new.strip() or None if name != "description" else new.strip()
        cleaned[name] = new
    if "reporter_phone" in cleaned:
        cleaned["reporter_phone"] = clean_phone(cleaned["reporter_phone"])
    if cleaned.get("priority") is not None:
        cleaned["priority"] = Priority(cleaned["priority"])
    _check_category(cleaned)
    return apply_correction(ticket, actor, cleaned)


def correct_tickets(ticket: Ticket, actor: User, changes: dict, reason: str | None) -> Correction:
    """A staff correction of category, priority or deadline (e.g. after a hotline shift),
    with the reason on the timeline. Only staff who may edit tickets in this scope may do it."""
    from models.errors import ActionForbidden
    from models.people.access import can_edit_tickets, can_see_ticket

    if not (can_edit_tickets(actor) and can_see_ticket(actor, ticket)):
        raise ActionForbidden(_("You may not correct this ticket."))
    if not (reason or "").strip():
        raise TicketInputError(_("Give the reason for the correction."))
    if not changes:
        raise TicketInputError(_("Choose what to correct."))
    _check_category(changes)
    if changes.get("handle_deadline") is not None:
        changes = {**changes, "handle_deadline": _corrected_deadline(ticket,
                                                                     changes["handle_deadline"])}
    return apply_correction(ticket, actor, changes, reason.strip())


def _corrected_deadline(ticket: Ticket, value) -> datetime:
    """A handling deadline given in a correction (text or datetime, local time when no zone):
    a real date and time, not before the ticket was reported."""
    from models.clock import format_local
    from models.tickets.owner_deadlines import parse_new_deadline

    deadline = parse_new_deadline(value)
    if deadline < ticket.created_at:
        raise TicketInputError(_("The deadline cannot lie before the ticket was reported "
                                 "(%(reported)s).", reported=format_local(ticket.created_at)))
    return deadline


def _check_category(changes: dict) -> None:
    category = changes.get("category")
    if "category" in changes and (category is None or not category.active
                                  or category.parent_id is None):
        raise TicketInputError(_("Choose an active sub-category."))
