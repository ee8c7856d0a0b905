"""Intake: every channel turns a report into a placed, dispatched ticket through this function."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from flask_babel import gettext as _

from models.areas.hierarchy import Area
from models.areas.coordinates import WGS84
from models.areas.locate import locate
from models.base import db, utcnow
from models.categories import Category
from models.custom_fields import check_attributes
from models.errors import ActionForbidden, ActionInvalid, PlaceMissing
from models.people.access import can_report_tickets, scope_area_row
from models.people.api_clients import ApiClient
from models.people.user import User
from models.reference_cache import AreaRow, area_rows, category_rows
from models.tickets.attachments import Upload, check_upload
from models.tickets.duplicates import nearby_cases, nearby_check
from models.tickets.records import open_ticket
from models.tickets.tables import Ticket
from models.tickets.workflow import dispatch
from models.vocabulary import AreaLevel, AttachmentKind, Priority, Source


@dataclass
class Report:
    category_id: int | None
    description: str
    title: str | None = None
    lat: float | None = None
    lon: float | None = None
    coord_system: str | None = None
    address: str | None = None
    area_id: int | None = None  # a grid or community picked by staff when there are no coordinates
    priority: Priority = Priority.NORMAL
    source: Source = Source.WALK_IN
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    # Answers to the category's custom fields, as texts per field code; None when the channel
    # does not ask for them. When given they are checked, required fields included.
    answers: dict[str, list[str]] | None = None
    extra: dict = field(default_factory=dict)  # other facts the channel brings, kept as they are
    photos: list[Upload] = field(default_factory=list)  # the reporter's, kept as "before" photos
    api_client: ApiClient | None = None  # the integration client that sent the report


@dataclass
class IntakeResult:
    ticket: Ticket
    duplicates: list[tuple]  # (a case nearby with id, number, status, lat, lon; metres)


def check_report(report: Report) -> tuple[Category, Area | AreaRow, float | None, float | None,
                                          bool]:
    """Validate a report and find where it belongs, without writing anything."""
    category = db.session.get(Category, report.category_id) if report.category_id else None
    if category is None or not category.active:
        raise ActionInvalid(_("Choose an active category."))
    if any(row.active and row.parent_id == category.id for row in category_rows().values()):
        raise ActionInvalid(_("Choose a sub-category of %(name)s.", name=category.name))
    if report.answers is not None:
        check_attributes(category, report.answers)  # before anything else is looked up
    if not (report.description or "").strip():
        raise ActionInvalid(_("Describe the problem."))
    lat = lon = None
    flagged = False
    if report.lat not in (None, "") or report.lon not in (None, ""):
        placement = locate(report.lon, report.lat, report.coord_system)
        area = _area(placement.area_id)
        lon, lat, flagged = placement.lon, placement.lat, placement.flagged
    elif report.area_id:
        area = _area(int(report.area_id))
        if area is None or not area.active or area.level not in (AreaLevel.GRID,
                                                                  AreaLevel.COMMUNITY):
            raise ActionInvalid(_("Choose the grid or community of the report."))
    else:
        raise PlaceMissing(_("Give the coordinates, or choose the grid or community."))
    return category, area, lon, lat, flagged


def _area(area_id: int) -> Area | AreaRow | None:
    """The area from the process's copy of the area rows (no query); one this transaction's
    copy does not hold yet (just created) from the session."""
    return area_rows().get(area_id) or db.session.get(Area, area_id)


def report_ticket(report: Report, *, actor: User | None = None,
                  now: datetime | None = None) -> IntakeResult:
    """Create, place and dispatch a ticket; also return the possible duplicates nearby."""
    now = now or utcnow()
    if actor is not None and not can_report_tickets(actor):
        raise ActionForbidden(_("A %(role)s may not report tickets.", role=actor.role.label))
    photos = [check_upload(replace(photo, kind=AttachmentKind.BEFORE)) for photo in report.photos]
    report, from_photo = _located_by_photo(report, photos)
    category, area, lon, lat, flagged = check_report(report)
    scope = scope_area_row(report.api_client) if report.api_client is not None else None
    if scope is not None and not area.is_within(scope):
        raise ActionForbidden(_("The place lies outside the area of this API client (%(area)s).",
                                area=scope.name))
    attributes = {} if report.answers is None else check_attributes(category, report.answers)
    attributes.update(report.extra)
    check = nearby_check(category, lon, lat, now=now)  # run by the write, as part of it
    description = report.description.strip()
    title = (report.title or "").strip() or description.splitlines()[0][:40]
    ticket = open_ticket(
        category=category, title=title, description=description, source=report.source,
        area=area, lat=lat, lon=lon, address=(report.address or "").strip() or None,
        priority=report.priority, reporter_name=(report.reporter_name or "").strip() or None,
        reporter_phone=report.reporter_phone, reporter_email=report.reporter_email,
        actor=actor, at=now, photos=photos, nearby=check,
        details={**_channel(report), **({"location_from": "photo"} if from_photo else {})})
    ticket.location_flagged = flagged
    ticket.attributes = attributes or None
    dispatch(ticket, now)  # its first flush writes the ticket, decided in full, in one INSERT
    if check is None:
        return IntakeResult(ticket, [])
    if check.found is None:  # (never so today: every reported ticket's write runs its check)
        check.found = nearby_cases(category, lon, lat, now=now, exclude_id=ticket.id)
    return IntakeResult(ticket, check.found)


def _located_by_photo(report: Report, photos: list[Upload]) -> tuple[Report, bool]:
    """A report without coordinates takes the place where its first photo was taken (the GPS in
    its EXIF, read before the EXIF was dropped), when that place lies inside one of our grids
    (an old photo from elsewhere in the gallery must not move the report)."""
    if report.lat not in (None, "") or report.lon not in (None, "") or not photos \
            or photos[0].gps is None:
        return report, False
    lat, lon = photos[0].gps
    try:
        if locate(lon, lat, WGS84).flagged:
            return report, False
    except ActionInvalid:
        return report, False
    return replace(report, lat=lat, lon=lon, coord_system=WGS84), True


def _channel(report: Report) -> dict:
    client = report.api_client
    return {"api_client": {"id": client.id, "name": client.name}} if client is not None else {}
