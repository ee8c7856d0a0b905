"""Delivering the notification outbox: in-app, e-mail, generic webhook, WeCom and DingTalk robots.

``deliver_due`` is called by the scheduler (and by tests). Each row is claimed on its own and the
attempt is recorded and COMMITTED before anything is sent (state ``sending``, ``attempts + 1``,
``next_attempt_at = now + lease``); only then is the message sent, and the outcome committed.
A deliverer killed in the middle leaves the row in ``sending``: once its lease has expired,
the next run sends it again with the same idempotency key (the row's dedupe key), which the
receiver sees (``Idempotency-Key`` header, e-mail ``Message-ID``) and can use to drop the repeat.

Claiming is safe with two deliverers: PostgreSQL skips rows another transaction holds
(``FOR UPDATE SKIP LOCKED``), and on both databases the claim is a conditional UPDATE on the
state and attempt count the deliverer read, so only one of two racing claims changes the row.

Settings (``current_app.config``, with these defaults): NOTIFY_MAX_ATTEMPTS 6,
NOTIFY_BACKOFF_SECONDS 60 (doubling per attempt, at most NOTIFY_MAX_BACKOFF_SECONDS 21600),
NOTIFY_LEASE_SECONDS 300, NOTIFY_HTTP_TIMEOUT 10 (must stay well below the lease).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import smtplib
import socket
import ssl
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _

from models.base import db, utcnow
from models.notify.messages import Message, message_context, preview, render_message
from models.notify.outbox import ChannelSetting, Notification
from models.vocabulary import Channel, NotificationState

DEFAULTS = {"NOTIFY_MAX_ATTEMPTS": 6, "NOTIFY_BACKOFF_SECONDS": 60, "NOTIFY_LEASE_SECONDS": 300,
            "NOTIFY_HTTP_TIMEOUT": 10, "NOTIFY_MAX_BACKOFF_SECONDS": 6 * 3600}
USER_AGENT = "GridDesk-Notify/1.0"
WECOM_MAX_BYTES = 4000  # WeCom accepts at most 4096 bytes of markdown

# Fields of each channel's settings, and which of them are secrets (never shown back in full).
CHANNEL_FIELDS = {
    Channel.WEBHOOK: ("url", "secret"),
    Channel.WECOM: ("url",),
    Channel.DINGTALK: ("url", "secret"),
    Channel.EMAIL: ("host", "port", "username", "password", "from_addr", "security"),
}
# The robot URLs carry their access token (WeCom ?key=, DingTalk ?access_token=): secrets too.
SECRET_FIELDS = {
    Channel.WEBHOOK: ("secret",),
    Channel.WECOM: ("url",),
    Channel.DINGTALK: ("url", "secret"),
    Channel.EMAIL: ("password",),
}
EXTERNAL_CHANNELS = (Channel.WEBHOOK, Channel.EMAIL, Channel.WECOM, Channel.DINGTALK)
EMAIL_SECURITY = ("none", "starttls", "ssl")


def setting(name: str):
    value = current_app.config.get(name, DEFAULTS[name]) if has_app_context() else DEFAULTS[name]
    return DEFAULTS[name] if value is None else value


class DeliveryError(Exception):
    """A message could not be delivered (the receiver said no, or could not be reached)."""


# --- channel settings --------------------------------------------------------------------------

@dataclass
class ChannelConfig:
    enabled: bool
    values: dict


def channel_configs() -> dict[Channel, ChannelConfig]:
    rows = {row.channel: row for row in db.session.execute(sa.select(ChannelSetting)).scalars()}
    configs = {}
    for channel in Channel:
        row = rows.get(channel)
        enabled = True if channel == Channel.IN_APP and row is None else bool(row and row.enabled)
        configs[channel] = ChannelConfig(enabled, dict(row.settings or {}) if row else {})
    return configs


def mask_secret(value: str | None) -> str:
    """'••••1234' — enough to recognise a saved secret, never the secret itself."""
    if not value:
        return ""
    return "••••" + (value[-4:] if len(value) >= 12 else "")


def mask_url(value: str | None) -> str:
    """A robot URL with its token hidden: the host and path stay readable."""
    if not value:
        return ""
    parts = urllib.parse.urlsplit(value)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else ""
    return (shown + "?" if parts.query else shown + "/") + mask_secret(parts.query or parts.path)


def masked(channel: Channel, field: str, value) -> str:
    if field == "url" and field in SECRET_FIELDS.get(channel, ()):
        return mask_url(value)
    return mask_secret(value)


class SettingsError(ValueError):
    pass


def merged_settings(channel: Channel, stored: dict, values: dict,
                    clear=frozenset()) -> dict:
    """Stored settings updated by a form: an empty secret keeps the saved one, ``clear``
    removes it; other empty fields are removed."""
    channel = Channel(channel)
    merged = dict(stored or {})
    for field in CHANNEL_FIELDS.get(channel, ()):
        value = values.get(field)
        if isinstance(value, str):
            value = value.strip()
        if field in SECRET_FIELDS.get(channel, ()):
            if field in clear:
                merged.pop(field, None)
            elif value:
                merged[field] = value
        elif value in (None, ""):
            merged.pop(field, None)
        else:
            merged[field] = value
    if channel == Channel.EMAIL:
        merged["starttls"] = merged.get("security") == "starttls"
    return merged


def save_channel_settings(channel: Channel, enabled: bool, values: dict,
                          clear=frozenset()) -> ChannelSetting:
    """Store a channel's settings (not committed); SettingsError when it cannot be switched on."""
    channel = Channel(channel)
    row = db.session.get(ChannelSetting, channel)
    if row is None:
        row = ChannelSetting(channel=channel, enabled=False, settings={})
        db.session.add(row)
    stored = merged_settings(channel, row.settings, values, clear)
    if enabled:
        problem = settings_problem(channel, stored)
        if problem:
            raise SettingsError(problem)
    row.enabled = bool(enabled)
    row.settings = stored
    return row


def settings_problem(channel: Channel, values: dict) -> str | None:
    if channel in (Channel.WEBHOOK, Channel.WECOM, Channel.DINGTALK):
        url = values.get("url") or ""
        if not url.startswith(("http://", "https://")):
            return _("Give the URL (http:// or https://) before switching the channel on.")
    if channel == Channel.EMAIL:
        if not values.get("host") or not values.get("from_addr"):
            return _("Give the SMTP server and the sender address before switching e-mail on.")
        if values.get("security", "none") not in EMAIL_SECURITY:
            return _("Unknown connection security.")
    return None


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
    elif state == NotificationState.SENDING and attempts >= setting("NOTIFY_MAX_ATTEMPTS"):
        values = {"state": NotificationState.FAILED, "next_attempt_at": None,
                  "last_error": _("The deliverer stopped during the last attempt; whether the "
                                  "message arrived is unknown.")}
        outcome, new_attempts = "failed", attempts
    else:
        values = {"state": NotificationState.SENDING, "attempts": attempts + 1,
                  "next_attempt_at": now + timedelta(seconds=setting("NOTIFY_LEASE_SECONDS"))}
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
    if attempts >= setting("NOTIFY_MAX_ATTEMPTS"):
        values = {"state": NotificationState.FAILED, "next_attempt_at": None}
        outcome = "failed"
    else:
        delay = min(setting("NOTIFY_BACKOFF_SECONDS") * 2 ** max(attempts - 1, 0),
                    setting("NOTIFY_MAX_BACKOFF_SECONDS"))
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
    from models.tickets.tables import Ticket

    row = db.session.get(Notification, row_id)
    payload = dict(row.payload or {})
    try:
        ticket = db.session.get(Ticket, row.ticket_id) if row.ticket_id else None
        context = message_context(row, ticket)
        message = render_message(row.template, row.channel, context, cache=templates_cache)
        SENDERS[row.channel](row, ticket, message, configs[row.channel].values)
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
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {setting('NOTIFY_HTTP_TIMEOUT')} s"
    if isinstance(exc, ConnectionError):
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


# --- the senders -------------------------------------------------------------------------------

def _send_in_app(row, ticket, message, values) -> None:
    """Nothing leaves the system: the bell reads 'sent' rows of the recipient."""


def _post_json(url: str, document: dict, headers: dict | None = None) -> tuple[int, bytes]:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _post(url, body, headers or {})


def _post(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    """POST with http.client (urllib would re-case our header names), through the environment's
    HTTP(S) proxy when one is set and the host is not exempt; raises DeliveryError unless 2xx."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = setting("NOTIFY_HTTP_TIMEOUT")
    proxy = None
    if host not in ("127.0.0.1", "localhost", "::1") and not urllib.request.proxy_bypass(host):
        proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy:
        proxy_parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        proxy_host, proxy_port = proxy_parts.hostname, proxy_parts.port or 8080
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if proxy:
            connection = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=timeout,
                                                     context=context)
            connection.set_tunnel(host, port)
        else:
            connection = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                     context=context)
    elif proxy:
        connection = http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout)
        target = url
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        status, answer = response.status, response.read(65536)
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}: {answer[:300].decode('utf-8', 'replace')}".strip())
    return status, answer


def webhook_document(row, ticket, message: Message, sent_at: datetime) -> dict:
    """The generic webhook's JSON body (see docs in the admin channel page)."""
    payload = row.payload or {}
    status = ticket.status.value if ticket is not None else payload.get("status")
    return {
        "id": row.id,
        "event": _event_action(row),
        "template": row.template,
        "ticket": {"number": ticket.number if ticket is not None else payload.get("number"),
                   "title": ticket.title if ticket is not None else payload.get("title"),
                   "status": status,
                   "tracking_code": ticket.tracking_code if ticket is not None
                   else payload.get("tracking_code")},
        "recipient": row.recipient_address or (row.recipient.phone if row.recipient else None),
        "text": message.body,
        "sent_at": sent_at.isoformat(timespec="seconds"),
    }


def _event_action(row) -> str:
    from models.tickets.tables import TicketEvent

    if (row.payload or {}).get("action"):
        return row.payload["action"]
    if row.event_id is not None:
        action = db.session.execute(sa.select(TicketEvent.action).where(
            TicketEvent.id == row.event_id)).scalar_one_or_none()
        if action:
            return action
    return row.template


def sign_body(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _send_webhook(row, ticket, message, values) -> None:
    url = values.get("url")
    if not url:
        raise DeliveryError(_("No webhook URL is configured."))
    document = webhook_document(row, ticket, message, utcnow())
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"X-GridDesk-Timestamp": str(int(time.time())), "Idempotency-Key": row.dedupe_key}
    if values.get("secret"):
        headers["X-GridDesk-Signature"] = sign_body(values["secret"], body)
    status, _answer = _post(url, body, headers)
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def _robot_answer(status: int, answer: bytes) -> None:
    """WeCom and DingTalk answer HTTP 200 with {"errcode": 0, "errmsg": "ok"} on success."""
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    try:
        data = json.loads(answer.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise DeliveryError(f"not a JSON answer: {answer[:200]!r}") from None
    if not isinstance(data, dict) or data.get("errcode") != 0:
        raise DeliveryError(f"errcode {data.get('errcode') if isinstance(data, dict) else '?'}: "
                            f"{data.get('errmsg', '') if isinstance(data, dict) else data}")


def _truncate_bytes(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


def wecom_document(message: Message) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"content": _truncate_bytes(message.body, WECOM_MAX_BYTES)}}


def _send_wecom(row, ticket, message, values) -> None:
    url = values.get("url")
    if not url:
        raise DeliveryError(_("No WeCom robot URL is configured."))
    _robot_answer(*_post_json(url, wecom_document(message),
                              {"Idempotency-Key": row.dedupe_key}))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed-URL scheme: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")),
    URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"),
                      hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp_ms = timestamp_ms or int(time.time() * 1000)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def dingtalk_document(message: Message) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"title": message.subject or message.body[:30], "text": message.body}}


def _send_dingtalk(row, ticket, message, values) -> None:
    url = values.get("url")
    if not url:
        raise DeliveryError(_("No DingTalk robot URL is configured."))
    _robot_answer(*_post_json(dingtalk_url(url, values.get("secret")), dingtalk_document(message),
                              {"Idempotency-Key": row.dedupe_key}))


def message_id(dedupe_key: str, from_addr: str) -> str:
    """A stable Message-ID per outbox row: a receiving mailbox can drop a repeat."""
    domain = from_addr.rsplit("@", 1)[-1].strip(" >") if "@" in from_addr else "griddesk.local"
    return f"<{hashlib.sha256(dedupe_key.encode('utf-8')).hexdigest()[:32]}.notify@{domain}>"


def _send_email(row, ticket, message, values) -> None:
    address = row.recipient_address
    if not address:
        raise DeliveryError(_("The message has no e-mail address."))
    host, from_addr = values.get("host"), values.get("from_addr")
    if not host or not from_addr:
        raise DeliveryError(_("No SMTP server is configured."))
    email = EmailMessage()
    email["Subject"] = message.subject or message.body.splitlines()[0][:80]
    email["From"] = from_addr
    email["To"] = address
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id(row.dedupe_key, from_addr)
    email["X-GridDesk-Idempotency-Key"] = row.dedupe_key
    email.set_content(message.body, charset="utf-8")
    send_mail(email, values)


def send_mail(email: EmailMessage, values: dict) -> None:
    host = values["host"]
    port = int(values.get("port") or 0)
    security = values.get("security") or ("starttls" if values.get("starttls") else "none")
    timeout = setting("NOTIFY_HTTP_TIMEOUT")
    if security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port or 465, timeout=timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port or 25, timeout=timeout)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if values.get("username"):
            smtp.login(values["username"], values.get("password") or "")
        smtp.send_message(email)


SENDERS = {Channel.IN_APP: _send_in_app, Channel.WEBHOOK: _send_webhook,
           Channel.WECOM: _send_wecom, Channel.DINGTALK: _send_dingtalk,
           Channel.EMAIL: _send_email}


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
        SENDERS[channel](row, None, message, values)
    except Exception as exc:
        raise DeliveryError(describe_error(exc)) from None


# --- the in-app inbox --------------------------------------------------------------------------

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
        wanted = [int(i) for i in ids if str(i).strip().isdigit()]
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
