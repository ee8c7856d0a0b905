"""The generic JSON webhook (e.g. an SMS gateway): signed with HMAC-SHA256, with an
Idempotency-Key so that the receiver can drop a repeat."""
from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from models.base import db, utcnow
from models.notify.messages import Message
from models.tickets.tables import TicketEvent
from models.vocabulary import Channel

from .base import DeliveryError, HttpSender, Outgoing, json_body, post


class WebhookSender(HttpSender):
    channel = Channel.WEBHOOK
    fields = ("url", "secret")
    secret_fields = ("secret",)

    def send(self, outgoing: Outgoing, values: dict) -> None:
        url = values.get("url")
        if not url:
            raise DeliveryError(_("No webhook URL is configured."))
        body = json_body(webhook_document(outgoing.row, outgoing.ticket, outgoing.message,
                                          utcnow()))
        headers = {"X-GridDesk-Timestamp": str(int(time.time())),
                   "Idempotency-Key": outgoing.row.dedupe_key}
        if values.get("secret"):
            headers["X-GridDesk-Signature"] = sign_body(values["secret"], body)
        post(url, body, headers)


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
