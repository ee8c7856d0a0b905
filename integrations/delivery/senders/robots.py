"""Group robots of WeCom (企业微信) and DingTalk (钉钉): markdown messages to a chat group.

Both answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` on success; their URLs carry the
access token, so the URL itself is a secret."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import quote_plus

from flask_babel import gettext as _

from models.notify.messages import Message
from models.vocabulary import Channel

from .base import DeliveryError, HttpSender, Outgoing, json_body, post

WECOM_MAX_BYTES = 4000  # WeCom accepts at most 4096 bytes of markdown


class RobotSender(HttpSender):
    missing_url: str

    def send(self, outgoing: Outgoing, values: dict) -> None:
        url = values.get("url")
        if not url:
            raise DeliveryError(self.missing_url)
        _status, answer = post(self.signed_url(url, values),
                               json_body(self.document(outgoing.message)),
                               {"Idempotency-Key": outgoing.row.dedupe_key})
        robot_answer(answer)

    def signed_url(self, url: str, values: dict) -> str:
        return url

    def document(self, message: Message) -> dict:
        raise NotImplementedError


def robot_answer(answer: bytes) -> None:
    try:
        data = json.loads(answer.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise DeliveryError(f"not a JSON answer: {answer[:200]!r}") from None
    if not isinstance(data, dict) or data.get("errcode") != 0:
        raise DeliveryError(f"errcode {data.get('errcode') if isinstance(data, dict) else '?'}: "
                            f"{data.get('errmsg', '') if isinstance(data, dict) else data}")


class WeComSender(RobotSender):
    channel = Channel.WECOM
    secret_fields = ("url",)

    @property
    def missing_url(self) -> str:
        return _("No WeCom robot URL is configured.")

    def document(self, message: Message) -> dict:
        return wecom_document(message)


def _truncate_bytes(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


def wecom_document(message: Message) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"content": _truncate_bytes(message.body, WECOM_MAX_BYTES)}}


class DingTalkSender(RobotSender):
    channel = Channel.DINGTALK
    fields = ("url", "secret")
    secret_fields = ("url", "secret")

    @property
    def missing_url(self) -> str:
        return _("No DingTalk robot URL is configured.")

    def signed_url(self, url: str, values: dict) -> str:
        return dingtalk_url(url, values.get("secret"))

    def document(self, message: Message) -> dict:
        return dingtalk_document(message)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed-URL scheme: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")),
    URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"),
                      hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp_ms = timestamp_ms or int(time.time() * 1000)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def dingtalk_document(message: Message) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"title": message.subject or message.body[:30], "text": message.body}}
