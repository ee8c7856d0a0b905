"""What a resident without an account may see: the categories to report, nearby open cases of
the same kind, and of their own case (by tracking code) a public-safe timeline, the after-photos
once closed and the notices sent to them.

Public-safe: no staff or department names, no phones, no internal notes, nothing of another
reporter; cases of categories that are not publicly listed are only shown to their own reporter.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models.base import db, utcnow
from models.categories import Category, publicly_listed_category_ids
from models.notify.messages import message_context, render_message
from models.notify.notices import reporter_notices
from models.people.phones import RUN, mask_phone
from models.tickets.actions import Action
from models.tickets.attachments import public_photo
from models.tickets.duplicates import possible_duplicates
from models.tickets.reporters import Contact, find_by_tracking_code
from models.tickets.tables import Attachment, Ticket, TicketEvent
from models.vocabulary import OPEN_STATUSES, AttachmentKind, Channel, TicketStatus

POPULAR_DAYS = 30
_POPULAR_CACHE: dict[str, tuple[float, list[int]]] = {}
POPULAR_CACHE_SECONDS = 600


def public_categories(now: datetime | None = None) -> list[Category]:
    """The categories a resident can report (active, publicly listed, no active sub-categories),
    the most reported in the last 30 days first."""
    rows = db.session.execute(sa.select(Category).where(
        Category.active.is_(True), Category.id.in_(publicly_listed_category_ids()))).scalars().all()
    leaves = [c for c in rows if not any(child.active for child in c.children)
              and (c.parent is None or c.parent.active)]
    rank = {cid: i for i, cid in enumerate(_most_reported(now))}
    return sorted(leaves, key=lambda c: (rank.get(c.id, len(rank)), c.sort_order, c.code))


def _most_reported(now: datetime | None) -> list[int]:
    """Category ids by ticket count over the last days, cached a while in each process (a
    ranking, not a figure anyone reads)."""
    cached = _POPULAR_CACHE.get("ids")
    if now is None and cached and time.monotonic() - cached[0] < POPULAR_CACHE_SECONDS:
        return cached[1]
    since = (now or utcnow()) - timedelta(days=POPULAR_DAYS)
    ids = list(db.session.execute(
        sa.select(Ticket.category_id).where(Ticket.created_at >= since)
        .group_by(Ticket.category_id).order_by(sa.func.count().desc(), Ticket.category_id))
        .scalars())
    if now is None:
        _POPULAR_CACHE["ids"] = (time.monotonic(), ids)
    return ids


def forget_popular_categories() -> None:
    _POPULAR_CACHE.clear()


def masked(text: str, names: tuple[str | None, ...] = ()) -> str:
    """A text with the phone numbers in it masked (138****5678), and the given names too."""
    text = RUN.sub(lambda m: mask_phone("".join(ch for ch in m.group(0) if ch.isdigit())), text)
    for name in names:
        if name and name.strip():
            text = text.replace(name.strip(), name.strip()[0] + "*" * (len(name.strip()) - 1))
    return text


@dataclass(frozen=True)
class NearbyCase:
    id: int
    category: str
    title: str
    metres: int
    status: str
    reported_at: datetime
    reporters: int


def nearby_open_cases(category: Category | None, lon: float | None,
                      lat: float | None) -> list[NearbyCase]:
    """Open cases of the same (publicly listed) category near the point: "是这件事吗？"."""
    from models.tickets.reporters import further_reporter_count, is_publicly_listed

    if category is None or not is_publicly_listed(category.id):
        return []
    return [NearbyCase(t.id, str(t.category), masked(t.title, (t.reporter_name,)), round(m),
                       t.status.label, t.created_at, 1 + further_reporter_count(t))
            for t, m in possible_duplicates(category, lon, lat, limit=5)
            if t.status in OPEN_STATUSES]


# --- the tracking page ----------------------------------------------------------------------

# What the resident reads for each step; steps not listed are internal and not shown.
PUBLIC_STEPS = {
    Action.CREATE: _l("We received the report"),
    Action.IMPORT: _l("We received the report"),
    Action.DISPATCH: _l("Sent to the office that handles it"),
    Action.ASSIGN: _l("Sent to the office that handles it"),
    Action.TRANSFER: _l("Sent to the office that handles it"),
    Action.RETURN: _l("Sent to the office that handles it"),
    Action.ESCALATE: _l("Passed on to a higher level for handling"),
    Action.ACCEPT: _l("Accepted, being handled"),
    Action.SUSPEND: _l("Handling paused"),
    Action.RESUME: _l("Handling resumed"),
    Action.SUBMIT: _l("Handled, the result is being checked"),
    Action.REJECT: _l("The result was checked and is being handled again"),
    Action.APPROVE: _l("Closed"),
    Action.INVALIDATE: _l("Checked: not a case to handle, closed as invalid"),
    Action.MERGE: _l("The same problem as another case; handled together with it"),
    Action.REOPEN: _l("Reopened: the reporter was not satisfied"),
    Action.RATE: _l("Rated by the reporter"),
    Action.FOLLOW_UP: _l("Follow-up call made"),
    Action.JOIN: _l("Another resident reported the same problem"),
}


@dataclass(frozen=True)
class PublicStep:
    at: datetime
    text: str
    stars: int | None = None


def public_timeline(ticket: Ticket, contact: Contact) -> list[PublicStep]:
    """The case's steps as this reporter may read them: their own rating, not another
    reporter's; the follow-up call (made to the first reporter) only on the first one's page."""
    events = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)).scalars()
    steps: list[PublicStep] = []
    for event in events:
        label = PUBLIC_STEPS.get(event.action)
        if event.id == contact.join_event_id:
            label = YOU_JOINED
        if label is None or not _theirs(event, contact):
            continue
        stars = (event.details or {}).get("rating") if event.action in ("rate", "follow_up") \
            else None
        text = str(label)
        if steps and steps[-1].text == text and stars is None:
            continue  # e.g. dispatch then assign: one step for the resident
        steps.append(PublicStep(event.created_at, text, stars))
    return steps


YOU_JOINED = _l("You reported the same problem and were added to this case")


def _theirs(event: TicketEvent, contact: Contact) -> bool:
    """Whether a rating step belongs to this reporter (other steps are everyone's)."""
    if event.action not in ("rate", "follow_up"):
        return True
    return (event.details or {}).get("reporter_id") == contact.reporter_id


def after_photos(ticket: Ticket) -> list[Attachment]:
    """The after-photos of a closed case (the result the resident may see)."""
    if ticket.status != TicketStatus.CLOSED:
        return []
    return list(db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.kind == AttachmentKind.AFTER)
        .order_by(Attachment.id)).scalars())


def photo_for_tracking_code(code: str, attachment_id: int) -> Attachment | None:
    """The photo behind ``attachment_id`` when the holder of this tracking code (the first
    reporter's or a joined one's) may see it (attachments.public_photo); None otherwise."""
    found = find_by_tracking_code(code)
    attachment = db.session.get(Attachment, attachment_id)
    if found is None or attachment is None or attachment.ticket_id != found[0].id:
        return None
    return attachment if public_photo(attachment, found[0].tracking_code) else None


@dataclass(frozen=True)
class PublicNotice:
    at: datetime
    channel: str
    text: str


def notices_for(ticket: Ticket, contact: Contact) -> list[PublicNotice]:
    """Every notice written to this reporter about this case, with the text it carries — the
    tracking page is their inbox, also where no SMS gateway or mail server is configured."""
    shown = []
    for row in reporter_notices(ticket, contact.addresses):
        rendered = (row.payload or {}).get("_rendered")
        if rendered is None:
            message = render_message(row.template, row.channel, message_context(row, ticket))
            rendered = {"subject": message.subject, "body": message.body}
        text = rendered["subject"] if row.channel in (Channel.IN_APP, Channel.EMAIL) \
            else rendered["body"]
        shown.append(PublicNotice(row.created_at, _channel_name(row.channel), text))
    return shown


def _channel_name(channel: Channel) -> str:
    if channel == Channel.WEBHOOK:
        return _("SMS")
    if channel == Channel.EMAIL:
        return _("E-mail")
    return _("This page")
