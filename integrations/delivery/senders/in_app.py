"""In-app messages: nothing leaves the system; the bell reads the recipient's 'sent' rows."""
from __future__ import annotations

from models.vocabulary import Channel

from .base import Outgoing, Sender


class InAppSender(Sender):
    channel = Channel.IN_APP

    def send(self, outgoing: Outgoing, values: dict) -> None:
        """Delivered by being marked sent."""
