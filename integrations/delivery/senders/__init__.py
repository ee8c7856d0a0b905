"""One sender per delivery channel; the runner finds it by the outbox row's channel."""
from __future__ import annotations

from models.vocabulary import Channel

from .base import DeliveryError, Outgoing, Sender
from .in_app import InAppSender
from .robots import DingTalkSender, WeComSender
from .smtp import EmailSender
from .webhook import WebhookSender

SENDERS: dict[Channel, Sender] = {sender.channel: sender for sender in (
    InAppSender(), WebhookSender(), WeComSender(), DingTalkSender(), EmailSender())}


def sender_for(channel: Channel | str) -> Sender:
    return SENDERS[Channel(channel)]


__all__ = ["SENDERS", "DeliveryError", "Outgoing", "Sender", "sender_for"]
