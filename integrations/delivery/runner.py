"""Delivering the notification outbox: claim a due row, send it through its channel's sender,
record the outcome; retry with backoff, and give up visibly (state ``failed``).

``deliver_due`` is called by the scheduler (and by tests); ``retry_failed`` by the administrator's
"send again". Each row is claimed on its own and the attempt is recorded and COMMITTED before
anything is sent (state ``sending``, ``attempts + 1``, ``next_attempt_at = now + lease``); only then
is the message sent, and the outcome committed. A deliverer killed in the middle leaves the row
in ``sending``: once its lease has expired, the next run sends it again with the same idempotency
key (the row's dedupe key), which the receiver sees (``Idempotency-Key`` header, e-mail
``Message-ID``) and can use to drop the repeat.

Claiming is safe with two deliverers: PostgreSQL skips rows another transaction holds
(``FOR UPDATE SKIP LOCKED``), and on both databases the claim is a conditional UPDATE on the
state and attempt count the deliverer read, so only one of two racing claims changes the row.

Settings (with these defaults): NOTIFY_MAX_ATTEMPTS 6, NOTIFY_BACKOFF_SECONDS 60 (doubling per
attempt, at most NOTIFY_MAX_BACKOFF_SECONDS 21600), NOTIFY_LEASE_SECONDS 300,
NOTIFY_HTTP_TIMEOUT 10 (must stay well below the lease).
"""
from __future__ import annotations

import socket
import uuid
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from models.base import db, utcnow
from models.notify.messages import Message, message_context, preview, render_message
from models.notify.outbox import Notification
from models.settings import setting
from models.tickets.tables import Ticket
from models.vocabulary import Channel, NotificationState

from .channels import channel_configs
from .senders import DeliveryError, Outgoing, sender_for
from .senders.base import http_timeout

DEFAULTS = {"NOTIFY_MAX_ATTEMPTS": 6, "NOTIFY_BACKOFF_SECONDS": 60, "NOTIFY_LEASE_SECONDS": 300,
            "NOTIFY_MAX_BACKOFF_SECONDS": 6 * 3600}


def _setting(name: str):
    return setting(name, DEFAULTS[name])


# --- claiming and recording --------------------------------------------------------------------

def _due(now: datetime):
    """Pending rows whose time has come, and rows left 'sending' by a deliverer that stopped."""
    return sa.and_(Notification.state.in_([NotificationState.PENDING, NotificationState.SENDING]),
                   sa.or_(Notification.next_attempt_at.is_(None),
                          Notification.next_attempt_at <= now))


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _claim_next(now: datetime, after_id: int, configs: dict) -> tuple[int, str, int] | None:
    """Claim the next due row after ``after_id``: (id, outcome, attempts) or None when none is due.

    outcome: 'claimed' (send it), 'lost' (another deliverer was faster), 'failed' (given up
    without sending: channel switched off, or the last allowed attempt was interrupted)."""
    query = (sa.select(Notification.id, Notification.state, Notification.attempts,
                       Notification.channel)
             .where(Notification.id > after_id, _due(now)).order_by(Notification.id).limit(1))
    if _is_postgresql():
        query = query.with_for_update(skip_locked=True)
    found = db.session.execute(query).first()
    if found is None:
        db.session.rollback()
        return None
    row_id, state, attempts, channel = found
    if not _is_postgresql():
        db.session.rollback()  # end the read: SQLite's claim below starts as a write
    guard = [Notification.id == row_id, Notification.state == state,
             Notification.attempts == attempts, _due(now)]
    if channel != Channel.IN_APP and not configs[channel].enabled:
        configs.update(channel_configs())  # switched on since this run began?
    config = configs[channel]
    if channel != Channel.IN_APP and not config.enabled:
        values = {"state": NotificationState.FAILED, "next_attempt_at": None,
                  "last_error": _("The %(channel)s channel is switched off.",
                                  channel=channel.label)}
        outcome, new_attempts = "failed", attempts
    elif (state == NotificationState.SENDING and attempts >= _setting("NOTIFY_MAX_ATTEMPTS")
          and channel != Channel.IN_APP):  # nothing left the system: deliver it, once
        values = {"state": NotificationState.FAILED, "next_attempt_at": None,
                  "last_error": _("The deliverer stopped during the last attempt; whether the "
                                  "message arrived is unknown.")}
        outcome, new_attempts = "failed", attempts
    else:
        values = {"state": NotificationState.SENDING, "attempts": attempts + 1,
                  "next_attempt_at": now + timedelta(seconds=_setting("NOTIFY_LEASE_SECONDS"))}
        if state == NotificationState.SENDING:
            values["last_error"] = _("The previous attempt was interrupted; sent again with the "
                                     "same idempotency key.")
        outcome, new_attempts = "claimed", attempts + 1
    result = db.session.execute(sa.update(Notification).where(*guard).values(**values)
                                .execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount != 1:
        return row_id, "lost", attempts
    return row_id, outcome, new_attempts


def _record_success(row_id: int, message: Message, payload: dict) -> None:
    payload = {**payload, "_rendered": {"subject": message.subject, "body": message.body}}
    values = {"state": NotificationState.SENT, "sent_at": utcnow(), "next_attempt_at": None,
              "payload": payload}
    if message.error:  # a broken custom template: the default text went out
        values["last_error"] = message.error
    # Otherwise the last error stays: what went wrong before the message got through.
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == row_id,
               Notification.state.not_in([NotificationState.SENT, NotificationState.READ]))
        .values(**values)
        .execution_options(synchronize_session=False))
    db.session.commit()


def _record_failure(row_id: int, attempts: int, error: str, now: datetime) -> str:
    if attempts >= _setting("NOTIFY_MAX_ATTEMPTS"):
        values = {"state": NotificationState.FAILED, "next_attempt_at": None}
        outcome = "failed"
    else:
        delay = min(_setting("NOTIFY_BACKOFF_SECONDS") * 2 ** max(attempts - 1, 0),
                    _setting("NOTIFY_MAX_BACKOFF_SECONDS"))
        values = {"state": NotificationState.PENDING,
                  "next_attempt_at": now + timedelta(seconds=delay)}
        outcome = "retried"
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == row_id, Notification.state == NotificationState.SENDING,
               Notification.attempts == attempts)
        .values(last_error=error[:2000], **values)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return outcome


def deliver_due(now: datetime | None = None, limit: int = 200) -> dict:
    """Deliver up to ``limit`` due outbox rows in id order; returns counts by outcome."""
    stats = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0, "lost": 0}
    configs = channel_configs()
    db.session.commit()  # every claim and every outcome is a transaction of its own
    templates_cache: dict = {}
    after_id = 0
    handled = 0
    while handled < limit:
        at = now or utcnow()
        claim = _claim_next(at, after_id, configs)
        if claim is None:
            break
        row_id, outcome, attempts = claim
        after_id = row_id
        handled += 1
        if outcome != "claimed":
            stats[outcome] += 1
            continue
        stats["claimed"] += 1
        stats[_deliver_claimed(row_id, attempts, at, configs, templates_cache)] += 1
    return stats


def _deliver_claimed(row_id: int, attempts: int, now: datetime, configs: dict,
                     templates_cache: dict) -> str:
    row = db.session.get(Notification, row_id)
    payload = dict(row.payload or {})
    try:
        ticket = db.session.get(Ticket, row.ticket_id) if row.ticket_id else None
        context = message_context(row, ticket)
        message = render_message(row.template, row.channel, context, cache=templates_cache)
        sender_for(row.channel).send(Outgoing(row, ticket, message), configs[row.channel].values)
    except Exception as exc:  # every failure is recorded on the row, never raised to the caller
        db.session.rollback()
        current_app.logger.warning("notification %s attempt %s failed: %s", row_id, attempts,
                                   describe_error(exc))
        return _record_failure(row_id, attempts, describe_error(exc), now)
    payload.pop("_rendered", None)
    _record_success(row_id, message, payload)
    return "sent"


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DeliveryError):
        return str(exc)
    if isinstance(exc, (socket.timeout, TimeoutError, requests.Timeout)):
        return f"timed out after {http_timeout()} s"
    if isinstance(exc, (ConnectionError, requests.ConnectionError)):
        return f"connection failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def retry_failed(notification_ids) -> int:
    """An administrator sends failed rows again: back to pending, attempts reset (not committed)."""
    ids = [int(i) for i in notification_ids if str(i).strip().isdigit()]
    if not ids:
        return 0
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(ids), Notification.state == NotificationState.FAILED)
        .values(state=NotificationState.PENDING, attempts=0, next_attempt_at=None)
        .execution_options(synchronize_session=False))
    return result.rowcount


def send_test(channel: Channel, address: str | None = None, values: dict | None = None) -> None:
    """Send the sample 'dispatch' message through a channel, outside the outbox (the admin's
    "send a test message" button), with the given or the saved settings.
    Raises DeliveryError with the reason."""
    channel = Channel(channel)
    if values is None:
        values = channel_configs()[channel].values
    row = Notification(id=0, channel=channel, template="dispatch", recipient_address=address,
                       dedupe_key=f"test:{uuid.uuid4().hex}", payload={})
    message = preview("dispatch", channel)
    try:
        sender_for(channel).send(Outgoing(row, None, message), values)
    except Exception as exc:
        raise DeliveryError(describe_error(exc)) from None
