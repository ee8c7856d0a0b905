"""The resident's report from the public page: limits first, then a new ticket through intake,
or — when the resident recognised an open case nearby — joining that case."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _

from models.base import db, utcnow
from models.categories import Category
from models.errors import ActionInvalid
from models.people.phones import clean_phone
from models.tickets.actions import Actor
from models.tickets.attachments import Upload
from models.tickets.intake import Report, report_ticket
from models.tickets.public_limits import check_public_report
from models.tickets.reporters import is_publicly_listed, join_ticket, joinable
from models.tickets.tables import Ticket
from models.vocabulary import AttachmentKind, Source

RESIDENT_SOURCE = Source.WEB  # the public report page is the resident's web channel


@dataclass
class PublicReport:
    category_id: int | None
    description: str
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    area_id: int | None = None
    name: str | None = None
    phone: str | None = None
    photos: list[Upload] = field(default_factory=list)
    honeypot: str | None = None
    join_id: int | None = None  # the open case nearby the resident said is theirs
    ip: str | None = None


def submit_public_report(report: PublicReport, now: datetime | None = None) -> tuple[Ticket, str]:
    """Refuse (nothing stored) or take the report; returns the ticket and the resident's own
    tracking code. The caller commits, or rolls back on a refusal (the limits' counts too)."""
    now = now or utcnow()
    phone = clean_phone(report.phone)
    check_public_report(honeypot=report.honeypot, description=report.description,
                        photo_count=len(report.photos), ip=report.ip, phone=phone, now=now)
    category = db.session.get(Category, report.category_id) if report.category_id else None
    if category is None or not category.active or not is_publicly_listed(category.id):
        raise ActionInvalid(_("Choose what kind of problem it is."))
    photos = [Upload(AttachmentKind.BEFORE, p.filename, p.data, gps=p.gps) for p in report.photos]
    if report.join_id is not None:
        ticket = db.session.get(Ticket, report.join_id)
        if not joinable(ticket, category, report.lon, report.lat, public=True):
            raise ActionInvalid(_("That case can no longer be joined. Send your report as a "
                                  "new one."))
        joined = join_ticket(ticket, Actor.reporter(), source=RESIDENT_SOURCE, name=report.name,
                             phone=phone, note=report.description, photos=photos, now=now)
        code = joined.tracking_code
    else:
        ticket = report_ticket(Report(
            category_id=category.id, description=report.description, lat=report.lat,
            lon=report.lon, coord_system="wgs84", address=report.address,
            area_id=report.area_id, source=RESIDENT_SOURCE, reporter_name=report.name,
            reporter_phone=phone, photos=photos), now=now).ticket
        code = ticket.tracking_code
    return ticket, code
