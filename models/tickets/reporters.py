"""The reporters of a ticket: the one who reported it, and residents who later said "this is my
problem too" (joined it) instead of opening a second ticket.

Each reporter follows the case with their own tracking code and hears about it through their own
contact (phone, e-mail, or the tracking page itself); notices go to every reporter of a ticket
(models/notify/notices.py ``queue_reporter_notice``), so a joined resident is told when it closes
just like the first one, and like the reporters of tickets merged into it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from models.base import BigId, UTCDateTime, db, str_enum, utcnow
from models.categories import Category, publicly_listed_category_ids
from models.errors import ActionForbidden, ActionInvalid
from models.fields import check_text, clean_email
from models.people.access import can_report_tickets
from models.people.phones import clean_phone
from models.people.user import User
from models.tickets.actions import Action, Actor
from models.tickets.attachments import Upload, check_upload, save_attachment
from models.tickets.duplicates import possible_duplicates
from models.tickets.numbering import new_tracking_code
from models.tickets.records import TicketChangedError
from models.tickets.tables import Ticket
from models.tickets.timeline import append_event, check_note
from models.vocabulary import OPEN_STATUSES, ActorKind, AttachmentKind, Source


class TicketReporter(db.Model):
    """A further reporter of a ticket (the first one is on the ticket itself)."""

    __tablename__ = "ticket_reporters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("ticket_events.id"))
    source: Mapped[Source] = mapped_column(str_enum(Source))
    name: Mapped[str | None] = mapped_column(sa.String(64))
    phone: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(255))
    tracking_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Their own rating of the closed case (models/tickets/ratings.py), as the first reporter's
    # is on the ticket.
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
    )


@dataclass(frozen=True)
class Contact:
    """One reporter of a ticket as the notices and the tracking page see them."""

    tracking_code: str
    name: str | None
    phone: str | None
    email: str | None
    first: bool  # the one who reported the ticket (the others joined it)
    reporter_id: int | None = None  # a joined reporter's TicketReporter row
    join_event_id: int | None = None  # the timeline step where they joined

    @property
    def page_address(self) -> str:
        """Where a notice goes when the reporter left no phone or e-mail: their tracking page."""
        return f"track:{self.tracking_code}"

    @property
    def addresses(self) -> list[str]:
        return [a for a in (self.phone, self.email) if a] or [self.page_address]


def first_contact(ticket: Ticket) -> Contact:
    return Contact(ticket.tracking_code, ticket.reporter_name, ticket.reporter_phone,
                   ticket.reporter_email, True)


def _contact(row: TicketReporter) -> Contact:
    return Contact(row.tracking_code, row.name, row.phone, row.email, False, row.id, row.event_id)


def joined_reporter(ticket: Ticket, reporter_id: int | None) -> TicketReporter | None:
    """The further reporter ``reporter_id`` of this ticket; None for the first reporter or for a
    reporter of another ticket."""
    if reporter_id is None:
        return None
    row = db.session.get(TicketReporter, reporter_id)
    return row if row is not None and row.ticket_id == ticket.id else None


def further_reporters(ticket: Ticket) -> list[TicketReporter]:
    """Those who joined the ticket after its first reporter, in order."""
    return list(db.session.execute(sa.select(TicketReporter).where(
        TicketReporter.ticket_id == ticket.id).order_by(TicketReporter.id)).scalars())


def reporter_contacts(ticket: Ticket) -> list[Contact]:
    """Everyone who reported this ticket: the first reporter, then those who joined, in order."""
    return [first_contact(ticket), *(_contact(row) for row in further_reporters(ticket))]


def find_by_tracking_code(code: str) -> tuple[Ticket, Contact] | None:
    """The ticket a tracking code follows, and whose code it is; None for an unknown code."""
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        return None
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar()
    if ticket is not None:
        return ticket, first_contact(ticket)
    row = db.session.execute(sa.select(TicketReporter).where(
        TicketReporter.tracking_code == code)).scalar()
    if row is None:
        return None
    return db.session.get(Ticket, row.ticket_id), _contact(row)


def unused_tracking_code() -> str:
    while True:
        code = new_tracking_code()
        if find_by_tracking_code(code) is None:
            return code


# --- joining ------------------------------------------------------------------------------------

def joinable(ticket: Ticket | None, category: Category | None, lon: float | None,
             lat: float | None, *, public: bool, staff: User | None = None) -> bool:
    """Whether a reporter at (lon, lat) reporting ``category`` may join ``ticket``: it is one of
    the open possible duplicates of that report (for residents: of a publicly listed category;
    for a caller a staff member enters: of the tickets that staff member may see)."""
    if ticket is None or category is None or ticket.status not in OPEN_STATUSES:
        return False
    if public and not is_publicly_listed(ticket.category_id):
        return False
    return any(other.id == ticket.id
               for other, _m in possible_duplicates(category, lon, lat, seen_by=staff))


def is_publicly_listed(category_id: int) -> bool:
    return db.session.execute(publicly_listed_category_ids().where(
        Category.id == category_id)).first() is not None


def join_ticket(ticket: Ticket, actor: Actor, *, source: Source, name: str | None = None,
                phone: str | None = None, email: str | None = None, note: str | None = None,
                photos: list[Upload] | None = None, now: datetime | None = None) -> TicketReporter:
    """Add a further reporter to an open ticket (a ``join`` event on its timeline, with what
    they said as its note); they get their own tracking code and are told what happens to the
    case, closing included."""
    now = now or utcnow()
    if actor.kind == ActorKind.USER and (actor.user is None or not can_report_tickets(actor.user)):
        raise ActionForbidden(_("You may not report tickets."))
    if ticket.status not in OPEN_STATUSES:
        raise ActionInvalid(_("This case is no longer open; report the problem as a new one."))
    phone = clean_phone(phone)
    name, email, note = ((text or "").strip() or None for text in (name, email, note))
    check_text(_("The reporter's name"), name, TicketReporter.name)
    email = clean_email(email)
    check_note(note)
    uploads = [check_upload(Upload(AttachmentKind.BEFORE, p.filename, p.data, gps=p.gps))
               for p in photos or []]
    row = TicketReporter(ticket_id=ticket.id, source=source, phone=phone, name=name,
                         email=email, tracking_code=unused_tracking_code(), created_at=now)
    db.session.add(row)
    try:
        event = append_event(ticket, Action.JOIN, actor=actor.user, actor_kind=actor.kind, at=now,
                             note=note, details={"source": source.value,
                                                 "photos": len(uploads)})
        db.session.flush()
    except StaleDataError:
        raise TicketChangedError(TicketChangedError.default_message()) from None
    row.event_id = event.id
    for upload in uploads:
        save_attachment(ticket, event, upload, uploaded_by=actor.user)
    from models.notify.notices import queue_reporter_notice

    queue_reporter_notice(ticket, event, "reporter_joined", contacts=[_contact(row)])
    return row


def further_reporter_count(ticket: Ticket) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(TicketReporter).where(
        TicketReporter.ticket_id == ticket.id)).scalar_one()

