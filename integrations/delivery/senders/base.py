"""What every sender is: one class per delivery channel, behind one small interface.

A sender knows its channel's settings (which fields, which of them are secret, when they are
complete enough to switch the channel on) and how to send one rendered message. The runner finds
the sender by the outbox row's channel (``sender_for``) and never looks inside it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from flask_babel import gettext as _

from models.notify.messages import Message
from models.notify.outbox import Notification
from models.settings import setting
from models.tickets.tables import Ticket
from models.vocabulary import Channel

USER_AGENT = "GridDesk-Notify/1.0"
HTTP_TIMEOUT = 10  # seconds (NOTIFY_HTTP_TIMEOUT): must stay well below the runner's lease
ANSWER_BYTES = 65536
# The test receivers and a gateway on the same machine are reached directly, never through
# the environment's proxy.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class DeliveryError(Exception):
    """A message could not be delivered (the receiver said no, or could not be reached)."""


@dataclass
class Outgoing:
    """One message to send: the outbox row, its ticket (if any) and the rendered text."""
    row: Notification
    ticket: Ticket | None
    message: Message


class Sender:
    channel: ClassVar[Channel]
    fields: ClassVar[tuple[str, ...]] = ()
    secret_fields: ClassVar[tuple[str, ...]] = ()  # never shown back in full

    def problem(self, values: dict) -> str | None:
        """Why these settings cannot be switched on, or None."""
        return None

    def send(self, outgoing: Outgoing, values: dict) -> None:
        """Send the message with the channel's settings; raise DeliveryError (or any error of
        the transport) when it did not arrive."""
        raise NotImplementedError


class HttpSender(Sender):
    """A channel that POSTs JSON to a configured URL."""
    fields: ClassVar[tuple[str, ...]] = ("url",)

    def problem(self, values: dict) -> str | None:
        if not (values.get("url") or "").startswith(("http://", "https://")):
            return _("Give the URL (http:// or https://) before switching the channel on.")
        return None


def json_body(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def http_timeout() -> float:
    return setting("NOTIFY_HTTP_TIMEOUT", HTTP_TIMEOUT)


def post(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    """POST ``body`` with TLS verification, the configured timeout and no redirects (a 3xx is a
    failure, so a message never goes to another host); raises DeliveryError unless 2xx."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
    direct = {"http": None, "https": None, "all": None} if parts.hostname in LOCAL_HOSTS else None
    import requests  # here, not at the top: ~18 MB a web worker that never sends does not hold

    response = requests.post(
        url, data=body, timeout=http_timeout(), allow_redirects=False, verify=True, stream=True,
        proxies=direct,
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    with response:
        status, answer = response.status_code, response.raw.read(ANSWER_BYTES, decode_content=True)
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}: {answer[:300].decode('utf-8', 'replace')}".strip())
    return status, answer
