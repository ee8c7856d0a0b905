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

In-app messages leave nothing to chance outside the database (being marked sent *is* their
delivery), so they skip the claim: a batch of due in-app rows is rendered and marked sent in one
transaction, each row's update guarded by the state and attempt count read. A deliverer stopped
in the middle commits nothing, and the next run delivers the batch — once.

A run keeps going until nothing is due, ``limit`` rows were handled, or NOTIFY_RUN_SECONDS have
passed (the scheduler starts the next run on its interval), in-app batches and the other
channels' rows taking turns so neither waits behind the other.

Settings (with these defaults): NOTIFY_MAX_ATTEMPTS 6, NOTIFY_BACKOFF_SECONDS 60 (doubling per
attempt, at most NOTIFY_MAX_BACKOFF_SECONDS 21600), NOTIFY_LEASE_SECONDS 300,
NOTIFY_HTTP_TIMEOUT 10 (must stay well below the lease), NOTIFY_RUN_SECONDS 10,
NOTIFY_IN_APP_BATCH 200.
"""
from __future__ import annotations

import socket
import time
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from flask import current_app
from flask_babel import gettext as _

from models.base import db, utcnow
from models.fields import BIGINT_MAX, whole_number
from models.notify.messages import Message, message_context, preview, render_message
from models.notify.outbox import Notification
from models.settings import setting
from models.tickets.tables import Ticket
from models.vocabulary import Channel, NotificationState

from .channels import channel_configs
from .senders import DeliveryError, Outgoing, sender_for
from .senders.base import http_timeout

DEFAULTS = {"NOTIFY_MAX_ATTEMPTS": 6, "NOTIFY_BACKOFF_SECONDS": 60, "NOTIFY_LEASE_SECONDS": 300,
            "NOTIFY_MAX_BACKOFF_SECONDS": 6 * 3600, "NOTIFY_RUN_SECONDS": 10,
            "NOTIFY_IN_APP_BATCH": 200}
EXTERNAL_TURN = 20  # rows of the other channels between two in-app batches


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
    """Claim the next due row of a channel that sends outside (not in-app) after ``after_id``:
    (id, outcome, attempts) or None when none is due.

    outcome: 'claimed' (send it), 'lost' (another deliverer was faster), 'failed' (given up
    without sending: channel switched off, or the last allowed attempt was interrupted)."""
    query = (sa.select(Notification.id, Notification.state, Notification.attempts,
                       Notification.channel)
             .where(Notification.id > after_id, Notification.channel != Channel.IN_APP, _due(now))
             .order_by(Notification.id).limit(1))
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
    if not configs[channel].enabled:
        configs.update(channel_configs())  # switched on since this run began?
    if not configs[channel].enabled:
        values = {"state": NotificationState.FAILED, "next_attempt_at": None,
                  "last_error": _("The %(channel)s channel is switched off.",
                                  channel=channel.label)}
        outcome, new_attempts = "failed", attempts
    elif state == NotificationState.SENDING and attempts >= _setting("NOTIFY_MAX_ATTEMPTS"):
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


def _failure_values(attempts: int, error: str, now: datetime) -> tuple[dict, str]:
    """What a failed attempt leaves on its row: retried after a doubling delay, or failed."""
    if attempts >= _setting("NOTIFY_MAX_ATTEMPTS"):
        return {"state": NotificationState.FAILED, "next_attempt_at": None,
                "last_error": error[:2000]}, "failed"
    delay = min(_setting("NOTIFY_BACKOFF_SECONDS") * 2 ** max(attempts - 1, 0),
                _setting("NOTIFY_MAX_BACKOFF_SECONDS"))
    return {"state": NotificationState.PENDING, "next_attempt_at": now + timedelta(seconds=delay),
            "last_error": error[:2000]}, "retried"


def _record_failure(row_id: int, attempts: int, error: str, now: datetime) -> str:
    values, outcome = _failure_values(attempts, error, now)
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == row_id, Notification.state == NotificationState.SENDING,
               Notification.attempts == attempts)
        .values(**values)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return outcome


def deliver_due(now: datetime | None = None, limit: int | None = None) -> dict:
    """Deliver due outbox rows in id order (see the module's text for when a run stops);
    returns counts by outcome."""
    stats = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0, "lost": 0}
    configs = channel_configs()
    db.session.commit()  # every claim and every outcome is a transaction of its own
    templates_cache: dict = {}
    stop_at = time.monotonic() + _setting("NOTIFY_RUN_SECONDS")
    after_id = 0
    handled = 0

    def room() -> int:
        if time.monotonic() >= stop_at:
            return 0
        return limit - handled if limit is not None else 1 << 30

    while room() > 0:
        batch = min(room(), _setting("NOTIFY_IN_APP_BATCH"))
        in_app = _deliver_in_app_batch(now or utcnow(), batch, templates_cache, stats)
        handled += in_app
        external = 0
        while external < EXTERNAL_TURN and room() > 0:
            at = now or utcnow()
            claim = _claim_next(at, after_id, configs)
            if claim is None:
                break
            row_id, outcome, attempts = claim
            after_id = row_id
            external += 1
            handled += 1
            if outcome != "claimed":
                stats[outcome] += 1
                continue
            stats["claimed"] += 1
            stats[_deliver_claimed(row_id, attempts, at, configs, templates_cache)] += 1
        if not in_app and not external:
            break
    return stats


def _deliver_in_app_batch(now: datetime, size: int, templates_cache: dict, stats: dict) -> int:
    """Render up to ``size`` due in-app rows and mark them sent, in one transaction; returns
    how many rows were looked at."""
    query = (sa.select(Notification)
             .where(Notification.channel == Channel.IN_APP, _due(now))
             .order_by(Notification.id).limit(size))
    if _is_postgresql():
        query = query.with_for_update(skip_locked=True)  # held until the commit below
    rows = db.session.scalars(query).all()
    tickets = {t.id: t for t in db.session.scalars(sa.select(Ticket).where(
        Ticket.id.in_({r.ticket_id for r in rows if r.ticket_id})))} if rows else {}
    updates = [(row.id, row.state, row.attempts,
                *_in_app_outcome(row, tickets.get(row.ticket_id), now, templates_cache))
               for row in rows]
    if not _is_postgresql():
        db.session.rollback()  # end the read: SQLite's updates below start as a write
    for row_id, state, attempts, values, outcome in updates:
        result = db.session.execute(
            sa.update(Notification)
            .where(Notification.id == row_id, Notification.state == state,
                   Notification.attempts == attempts, _due(now))
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            stats["claimed"] += 1
            stats[outcome] += 1
        else:
            stats["lost"] += 1
    db.session.commit()
    return len(rows)


def _in_app_outcome(row: Notification, ticket: Ticket | None, now: datetime,
                    templates_cache: dict) -> tuple[dict, str]:
    """The values an in-app row gets from this attempt, and the outcome's name."""
    attempts = row.attempts + 1
    try:
        message = render_message(row.template, row.channel, message_context(row, ticket),
                                 cache=templates_cache)
    except SQLAlchemyError:
        raise  # the database's trouble: the whole batch waits for the next run
    except Exception as exc:  # a row that cannot be rendered must not hold up the others
        current_app.logger.warning("notification %s attempt %s failed: %s", row.id, attempts,
                                   describe_error(exc))
        values, outcome = _failure_values(attempts, describe_error(exc), now)
        return {**values, "attempts": attempts}, outcome
    payload = {**(row.payload or {}),
               "_rendered": {"subject": message.subject, "body": message.body}}
    values = {"state": NotificationState.SENT, "sent_at": utcnow(), "next_attempt_at": None,
              "attempts": attempts, "payload": payload}
    if message.error:  # a broken custom template: the default text went out
        values["last_error"] = message.error
    elif row.state == NotificationState.SENDING:
        values["last_error"] = _("The previous attempt was interrupted; delivered now.")
    return values, "sent"


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
    import requests  # imported by the sender that raised it, if any

    if isinstance(exc, (socket.timeout, TimeoutError, requests.Timeout)):
        return f"timed out after {http_timeout()} s"
    if isinstance(exc, (ConnectionError, requests.ConnectionError)):
        return f"connection failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def retry_failed(notification_ids) -> int:
    """An administrator sends failed rows again: back to pending, attempts reset (not committed)."""
    ids = [n for n in (whole_number(i, BIGINT_MAX) for i in notification_ids) if n is not None]
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
