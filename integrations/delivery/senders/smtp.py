"""E-mail through an SMTP server (plain, STARTTLS or SSL), with a stable Message-ID per outbox
row so that a receiving mailbox can drop a repeat."""
from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from flask_babel import gettext as _

from models.vocabulary import Channel

from .base import DeliveryError, Outgoing, Sender, http_timeout

EMAIL_SECURITY = ("none", "starttls", "ssl")


class EmailSender(Sender):
    channel = Channel.EMAIL
    fields = ("host", "port", "username", "password", "from_addr", "security")
    secret_fields = ("password",)

    def problem(self, values: dict) -> str | None:
        if not values.get("host") or not values.get("from_addr"):
            return _("Give the SMTP server and the sender address before switching e-mail on.")
        if values.get("security", "none") not in EMAIL_SECURITY:
            return _("Unknown connection security.")
        return None

    def send(self, outgoing: Outgoing, values: dict) -> None:
        row, message = outgoing.row, outgoing.message
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


def message_id(dedupe_key: str, from_addr: str) -> str:
    """A stable Message-ID per outbox row: a receiving mailbox can drop a repeat."""
    domain = from_addr.rsplit("@", 1)[-1].strip(" >") if "@" in from_addr else "griddesk.local"
    return f"<{hashlib.sha256(dedupe_key.encode('utf-8')).hexdigest()[:32]}.notify@{domain}>"


def send_mail(email: EmailMessage, values: dict) -> None:
    host = values["host"]
    port = int(values.get("port") or 0)
    security = values.get("security") or ("starttls" if values.get("starttls") else "none")
    timeout = http_timeout()
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
