"""The in-app inbox: a user's delivered messages, the bell's unread count, marking them read."""
from __future__ import annotations

import sqlalchemy as sa

from models.base import db, utcnow
from models.fields import BIGINT_MAX, whole_number
from models.notify.messages import Message, message_context, render_message
from models.notify.outbox import Notification
from models.vocabulary import Channel, NotificationState


def _mine(user_id: int):
    return sa.and_(Notification.recipient_user_id == user_id,
                   Notification.channel == Channel.IN_APP)


def unread_count(user_id: int, cap: int = 99) -> int:
    """Unread in-app messages of a user, counted up to cap + 1 (the bell shows '99+')."""
    capped = (sa.select(Notification.id)
              .where(_mine(user_id), Notification.state == NotificationState.SENT,
                     Notification.read_at.is_(None)).limit(cap + 1).subquery())
    return db.session.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one()


def inbox_page(user_id: int, page: int = 1, per_page: int = 20,
               unread_only: bool = False) -> tuple[list[Notification], bool]:
    """One page of a user's delivered in-app messages, newest first; and whether more follow."""
    states = [NotificationState.SENT] if unread_only else [NotificationState.SENT,
                                                           NotificationState.READ]
    rows = db.session.execute(
        sa.select(Notification).where(_mine(user_id), Notification.state.in_(states))
        .order_by(Notification.id.desc()).offset((max(page, 1) - 1) * per_page)
        .limit(per_page + 1)).scalars().all()
    return rows[:per_page], len(rows) > per_page


def mark_read(user_id: int, ids=None) -> int:
    """Mark the user's own messages read (all of them when ids is None); not committed."""
    query = sa.update(Notification).where(
        _mine(user_id), Notification.state == NotificationState.SENT,
        Notification.read_at.is_(None))
    if ids is not None:
        wanted = [n for n in (whole_number(i, BIGINT_MAX) for i in ids) if n is not None]
        if not wanted:
            return 0
        query = query.where(Notification.id.in_(wanted))
    result = db.session.execute(query.values(state=NotificationState.READ, read_at=utcnow())
                                .execution_options(synchronize_session=False))
    return result.rowcount


def displayed_text(row: Notification) -> Message:
    """What an in-app message says: the text rendered at delivery, else rendered now."""
    rendered = (row.payload or {}).get("_rendered")
    if rendered:
        return Message(rendered.get("subject", ""), rendered.get("body", ""), "stored")
    from models.tickets.tables import Ticket

    ticket = db.session.get(Ticket, row.ticket_id) if row.ticket_id else None
    return render_message(row.template, row.channel, message_context(row, ticket))
