"""The notification outbox: rows written with the event, delivered later by the scheduler."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import BigId, UTCDateTime, db, str_enum, utcnow
from models.people.user import User
from models.vocabulary import Channel, NotificationState


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("ticket_events.id"))
    recipient_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recipient_address: Mapped[str | None] = mapped_column(sa.String(255))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    template: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    state: Mapped[NotificationState] = mapped_column(
        str_enum(NotificationState), default=NotificationState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One message per event, channel and recipient, also across retries and restarts.
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recipient: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_notifications_state_next_attempt", "state", "next_attempt_at"),
        sa.Index("ix_notifications_recipient_state", "recipient_user_id", "state"),
    )


class NotificationTemplate(db.Model):
    """The text of one kind of message on one channel (sandboxed Jinja), editable by admins."""

    __tablename__ = "notification_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_kind: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (sa.UniqueConstraint("event_kind", "channel",
                                          name="uq_notification_templates_kind_channel"),)


class ChannelSetting(db.Model):
    """Where a channel delivers (webhook URL and secret, robot URLs, SMTP server) and whether it is on."""

    __tablename__ = "channel_settings"

    channel: Mapped[Channel] = mapped_column(str_enum(Channel), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
