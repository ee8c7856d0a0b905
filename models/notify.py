"""Writing to the notification outbox, in the same transaction as the event that causes it.

Delivery (SMS gateway webhook, e-mail, WeCom, DingTalk, in-app) is the scheduler's job; here
only the rows are written, one per event, channel and recipient (the dedupe key makes a second
write of the same message a no-op).
"""
from __future__ import annotations

import sqlalchemy as sa

from .base import db
from .enums import Channel, NotificationState
from .notification import Notification
from .ticket import Ticket, TicketEvent


def queue_reporter_notice(ticket: Ticket, event: TicketEvent, template: str,
                          payload: dict | None = None) -> list[Notification]:
    """Tell a ticket's reporter (SMS through the webhook gateway, or e-mail) what happened."""
    queued = []
    for channel, address in ((Channel.WEBHOOK, ticket.reporter_phone),
                             (Channel.EMAIL, ticket.reporter_email)):
        if not address:
            continue
        key = f"event:{event.id}:{channel.value}:{address}:{ticket.id}"
        exists = db.session.execute(
            sa.select(Notification.id).where(Notification.dedupe_key == key)).first()
        if exists:
            continue
        notice = Notification(
            ticket_id=ticket.id, event_id=event.id, recipient_address=address, channel=channel,
            template=template, state=NotificationState.PENDING, attempts=0, dedupe_key=key,
            payload={"number": ticket.number, "tracking_code": ticket.tracking_code,
                     **(payload or {})})
        db.session.add(notice)
        queued.append(notice)
    return queued


def tell_merged_reporters(master: Ticket, event: TicketEvent) -> int:
    """When a case closes, the reporters of the tickets merged into it hear about it too."""
    duplicates = db.session.execute(
        sa.select(Ticket).where(Ticket.duplicate_of_id == master.id)).scalars().all()
    count = 0
    for duplicate in duplicates:
        count += len(queue_reporter_notice(duplicate, event, "master_closed",
                                           {"master_number": master.number}))
    return count
