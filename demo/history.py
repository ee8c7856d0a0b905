"""Photos and outbox rows of the seeded past, as they would stand after that year.

The workflow writes the rows that go with an event (attachments, outbox rows) stamped with the
clock of the machine; here they get their event's time. The outbox rows of events older than a
day count as delivered back then (in-app messages also as read): a year of messages would
otherwise all wait for delivery at once, most of them to reporters' phones through an SMS
gateway the demo does not have. The last day's stay pending, so the outbox is seen at work.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from models.base import db
from models.notify.outbox import Notification
from models.tickets.tables import Attachment, TicketEvent
from models.vocabulary import Channel, NotificationState

STILL_PENDING = timedelta(days=1)


def settle_history(now: datetime) -> None:
    for table in (Attachment, Notification):
        when = sa.select(TicketEvent.created_at).where(TicketEvent.id == table.event_id)
        _update(sa.update(table).where(table.event_id.is_not(None))
                .values(created_at=when.scalar_subquery()))
    old = (Notification.state == NotificationState.PENDING, Notification.event_id.is_not(None),
           Notification.created_at < now - STILL_PENDING)
    _update(sa.update(Notification).where(*old, Notification.channel == Channel.IN_APP)
            .values(state=NotificationState.READ, sent_at=Notification.created_at,
                    read_at=Notification.created_at))
    _update(sa.update(Notification).where(*old)
            .values(state=NotificationState.SENT, sent_at=Notification.created_at))


def _update(statement) -> None:
    db.session.execute(statement.execution_options(synchronize_session=False))
