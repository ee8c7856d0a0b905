"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) in GridDesk's terms.

The rules live here; views/open311.py only parses HTTP and writes JSON or XML.

- A *service* is an active sub-category (小类) under an active top category; its code is the
  service_code and its custom fields are the service definition's attributes.
- A *service request* is a ticket; its service_request_id is the ticket number. Every open state
  reads as ``open``; closed and invalid (merged duplicate, not a real case) read as ``closed``.
- Posting a request is intake like any other channel: ``report_ticket`` with source OPEN311, on
  behalf of an integration client (the api_key is an ApiClient token).
- The resident's tracking code is the token of ``tokens/{token}``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload, selectinload

from models.base import db, utcnow
from models.categories import Category, publicly_listed_category_ids
from models.clock import DateOutOfRange, local_zone, parse_iso_datetime
from models.fields import TextRefused, clean_email, column_length, too_long_message
from models.people.api_clients import ApiClient
from models.people.tokens import client_for_token
from models.people.user import User
from models.tickets.actions import Action
from models.tickets.attachments import Upload
from models.tickets.intake import Report, report_ticket
from models.tickets.records import ticket_list_loads
from models.tickets.tables import Ticket, TicketEvent
from models.vocabulary import OPEN_STATUSES, AreaLevel, Source, TicketStatus

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Sortable stamp of the service list's shape. Categories carry no modification time yet, so this
# is the date of this implementation; deployments may set OPEN311_CHANGESET in the app config.
CHANGESET = "2026-11-23 00:00"
SERVICE_TYPE = "realtime"  # the service_request_id is returned at once
DEFAULT_SPAN = timedelta(days=90)  # GET requests: default and largest date range
MAX_REQUESTS = 1000  # GET requests: at most this many, newest first
MAX_DESCRIPTION = 4000  # characters, as the spec limits it
MAX_MEDIA_URL = 1000
FINISHED_STATUSES = (TicketStatus.CLOSED, TicketStatus.INVALID)
# Timeline steps whose note explains a closed or invalid ticket (the latest one wins).
STATUS_NOTE_ACTIONS = (Action.SUBMIT, Action.APPROVE, Action.INVALIDATE, Action.MERGE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class Open311Error(Exception):
    """A request refused with the spec's status: 400 invalid, 403 api_key or place, 404 unknown."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# --- services ------------------------------------------------------------------------------------
def services() -> list[Category]:
    """The categories a client may report: active sub-categories of active top categories."""
    parent = aliased(Category)
    return list(db.session.execute(
        sa.select(Category).join(parent, Category.parent_id == parent.id)
        .where(Category.active.is_(True), parent.active.is_(True))
        .order_by(parent.sort_order, parent.code, Category.sort_order, Category.code)
        .options(joinedload(Category.parent))).scalars())


def find_service(code: str | None) -> Category:
    code = (code or "").strip()
    if not code:
        raise Open311Error(400, _("service_code was not provided."))
    category = db.session.execute(
        sa.select(Category).where(Category.code == code)).scalar_one_or_none()
    if (category is None or not category.active or category.parent is None
            or not category.parent.active):
        raise Open311Error(404, _("service_code %(code)s was not found.", code=code))
    return category


def service_description(category: Category) -> str:
    return _("%(group)s / %(name)s: handled within %(amount)s %(unit)s.",
             group=category.parent.name if category.parent else "", name=category.name,
             amount=category.handle_deadline, unit=category.handle_deadline_unit.label)


def service_keywords(category: Category) -> str:
    words = [category.name, category.parent.name if category.parent else None, category.code]
    return ", ".join(w for w in words if w)




# --- time -----------------------------------------------------------------------------------------
def w3_datetime(value: datetime | None) -> str | None:
    """A stored (UTC) moment in the spec's w3 ISO 8601 form, in local time with its offset."""
    if value is None:
        return None
    return value.astimezone(local_zone()).replace(microsecond=0).isoformat()


# --- reading requests -----------------------------------------------------------------------------
def request_status(ticket: Ticket) -> str:
    return "open" if ticket.status in OPEN_STATUSES else "closed"


def updated_datetime(ticket: Ticket) -> datetime | None:
    """Last change; for a closed request the moment it was closed, as the spec says."""
    if ticket.status == TicketStatus.CLOSED and ticket.closed_at is not None:
        return ticket.closed_at
    return ticket.last_activity_at or ticket.updated_at


def public_address(ticket: Ticket) -> str | None:
    """The reported address, else the areas from the most specific to the most general."""
    if ticket.address:
        return ticket.address
    names = [a.name for a in (ticket.grid, ticket.community, ticket.street) if a is not None]
    return ", ".join(names) or None


def agency_responsible(ticket: Ticket) -> str | None:
    """The assigned department; for a ticket given to a person, that person's department or,
    for a grid worker, the grid's worker (never the person's name)."""
    if ticket.assigned_department is not None:
        return ticket.assigned_department.name
    user = ticket.assigned_user
    if user is None:
        return None
    if user.department is not None:
        return user.department.name
    if ticket.grid is not None:
        return _("Grid worker of %(grid)s", grid=ticket.grid.name)
    return None


def service_notice(ticket: Ticket) -> str | None:
    """What happens next, for an open request."""
    if ticket.status not in OPEN_STATUSES:
        return None
    agency = agency_responsible(ticket)
    if agency is None:
        return _("Received; the command centre will dispatch it.")
    if ticket.handle_deadline is None:
        return _("Dispatched to %(agency)s.", agency=agency)
    return _("Dispatched to %(agency)s, to be handled by %(deadline)s.", agency=agency,
             deadline=ticket.handle_deadline.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M"))


def status_notes(tickets: list[Ticket]) -> dict[int, str]:
    """Why each closed or invalid ticket is so: the note of its latest result, approval,
    invalidation or merge (read in one query for the whole list)."""
    finished = [t.id for t in tickets if t.status in FINISHED_STATUSES]
    notes: dict[int, str] = {}
    if not finished:
        return notes
    rows = db.session.execute(
        sa.select(TicketEvent.ticket_id, TicketEvent.action, TicketEvent.note, TicketEvent.details)
        .where(TicketEvent.ticket_id.in_(finished), TicketEvent.action.in_(STATUS_NOTE_ACTIONS))
        .order_by(TicketEvent.ticket_id, TicketEvent.seq))
    for ticket_id, action, note, details in rows:
        text = (note or "").strip()
        if not text and action == Action.MERGE and (details or {}).get("master_number"):
            text = _("Duplicate of %(number)s.", number=details["master_number"])
        if text:
            notes[ticket_id] = text
    return notes


def _with_relations(query):
    return query.options(*ticket_list_loads(),
                         selectinload(Ticket.assigned_user).selectinload(User.department))


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass
class RequestQuery:
    """GET requests' optional arguments, as sent (comma lists and w3 datetimes as text)."""

    service_request_id: str | None = None
    service_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    status: str | None = None


def find_requests(query: RequestQuery, *, now: datetime | None = None) -> list[Ticket]:
    """The requests matching the spec's filters: newest first, at most 1000, within 90 days."""
    numbers = _split(query.service_request_id)
    if numbers:  # overrides all other arguments
        statement = sa.select(Ticket).where(Ticket.number.in_(
            [n.upper() for n in numbers[:MAX_REQUESTS]]))
    else:
        start, end = _date_range(query.start_date, query.end_date, now or utcnow())
        statement = sa.select(Ticket).where(Ticket.created_at >= start, Ticket.created_at <= end)
        codes = _split(query.service_code)
        if codes:
            statement = statement.where(Ticket.category_id.in_(
                sa.select(Category.id).where(Category.code.in_(codes))))
        wanted = {s.lower() for s in _split(query.status)}
        if wanted - {"open", "closed"}:
            raise Open311Error(400, _("status may be open, closed or both (comma separated)."))
        if wanted == {"open"}:
            statement = statement.where(Ticket.status.in_(OPEN_STATUSES))
        elif wanted == {"closed"}:
            statement = statement.where(Ticket.status.in_(FINISHED_STATUSES))
    statement = (statement.where(Ticket.category_id.in_(publicly_listed_category_ids()))
                 .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_REQUESTS))
    return list(db.session.execute(_with_relations(statement)).unique().scalars())


def _date_range(start_text: str | None, end_text: str | None, now: datetime):
    try:
        start = parse_iso_datetime(start_text) if (start_text or "").strip() else None
        end = parse_iso_datetime(end_text, end_of_day=True) if (end_text or "").strip() else None
    except DateOutOfRange as exc:
        raise Open311Error(400, str(exc)) from None
    except ValueError:
        raise Open311Error(400, _("start_date and end_date must be ISO 8601 date-times, e.g. "
                                  "2026-01-01T00:00:00+08:00.")) from None
    if start is None and end is None:
        return now - DEFAULT_SPAN, now
    if start is None:
        return end - DEFAULT_SPAN, end
    if end is None:
        return start, start + DEFAULT_SPAN
    if end < start:
        raise Open311Error(400, _("end_date is before start_date."))
    if end - start > DEFAULT_SPAN:
        raise Open311Error(400, _("The date range may not span more than 90 days."))
    return start, end


def find_request(service_request_id: str) -> Ticket:
    number = (service_request_id or "").strip().upper()
    ticket = db.session.execute(_with_relations(
        sa.select(Ticket).where(Ticket.number == number,
                                Ticket.category_id.in_(publicly_listed_category_ids())))
    ).unique().scalar_one_or_none()
    if ticket is None:
        raise Open311Error(404, _("service_request_id %(id)s was not found.",
                                  id=service_request_id))
    return ticket


def request_for_token(token: str) -> Ticket:
    code = (token or "").strip().upper()
    ticket = None
    if code:
        ticket = db.session.execute(
            sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one_or_none()
    if ticket is None:
        raise Open311Error(404, _("token %(token)s was not found.", token=token))
    return ticket


# --- posting a request ----------------------------------------------------------------------------
def client_for_api_key(api_key: str | None) -> ApiClient:
    if not (api_key or "").strip():
        raise Open311Error(403, _("api_key is required to create a service request."))
    client = client_for_token(api_key.strip())
    if client is None:
        raise Open311Error(403, _("Invalid api_key: it is unknown or has been revoked."))
    return client


@dataclass
class PostedRequest:
    """POST requests' arguments, as sent (attributes: code → the values given for it)."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    media_url: str | None = None
    account_id: str | None = None
    device_id: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    # Photos sent as multipart `media` files (a common GeoReport extension, e.g. the `three` client)
    media: list[Upload] = field(default_factory=list)


@dataclass
class Created:
    ticket: Ticket
    duplicates: list[tuple]  # (a nearby case with id, number and status, metres): IntakeResult

    @property
    def service_notice(self) -> str | None:
        notice = service_notice(self.ticket)
        if self.duplicates:
            notice = " ".join(filter(None, [notice, _(
                "Similar reports nearby are already being handled: %(numbers)s.",
                numbers=", ".join(t.number for t, _m in self.duplicates[:5]))]))
        return notice


def create_request(client: ApiClient, posted: PostedRequest, *,
                   now: datetime | None = None) -> Created:
    """A posted service request → a placed, dispatched ticket (the caller commits)."""
    category = find_service(posted.service_code)
    media_url = _media_url(posted.media_url)
    description = (posted.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, _("The description may not be longer than %(max)s characters.",
                                  max=MAX_DESCRIPTION))
    report = Report(
        category_id=category.id,
        # The spec makes the description optional; GridDesk's tickets need one.
        description=description or category.name,
        address=(posted.address_string or "").strip()[:255] or None,
        source=Source.OPEN311,
        reporter_name=_reporter_name(posted.first_name, posted.last_name),
        reporter_phone=(posted.phone or "").strip() or None,
        reporter_email=_email(posted.email),
        answers=posted.attributes, extra={"media_url": media_url} if media_url else {},
        photos=list(posted.media), api_client=client)
    _place(report, client, posted)
    result = report_ticket(report, actor=None, now=now)
    return Created(result.ticket, result.duplicates)


def _place(report: Report, client: ApiClient, posted: PostedRequest) -> None:
    has_lat = bool((posted.lat or "").strip())
    has_long = bool((posted.long or "").strip())
    if has_lat != has_long:
        raise Open311Error(400, _("Send lat and long together."))
    if has_lat:
        report.lat, report.lon, report.coord_system = posted.lat.strip(), posted.long.strip(), \
            "wgs84"
        return
    if not ((posted.address_string or "").strip() or (posted.address_id or "").strip()):
        raise Open311Error(400, _("A location is required: lat and long, or address_string."))
    scope = client.scope_area
    if scope is None or scope.level not in (AreaLevel.GRID, AreaLevel.COMMUNITY):
        raise Open311Error(400, _(
            "GridDesk places every request in its grid: send lat and long (WGS-84). An address "
            "alone is accepted only from clients whose area is a single grid or community."))
    report.area_id = scope.id


def _reporter_name(first: str | None, last: str | None) -> str | None:
    first, last = (first or "").strip(), (last or "").strip()
    if _CJK.search(first + last):
        name = last + first  # 姓 then 名, without a space
    else:
        name = " ".join(part for part in (first, last) if part)
    limit = column_length(Ticket.reporter_name)
    if len(name) > limit:  # refused, as the README says, not cut
        raise Open311Error(400, too_long_message(_("The reporter's name"), limit))
    return name or None


def _email(value: str | None) -> str | None:
    try:
        return clean_email(value)
    except TextRefused as exc:
        raise Open311Error(400, exc.message) from None


def _media_url(value: str | None) -> str | None:
    url = (value or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_MEDIA_URL:
        raise Open311Error(400, _("media_url must be an http or https URL."))
    return url
