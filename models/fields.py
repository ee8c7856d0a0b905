"""What a text field may hold: no NUL character, and no more characters than its column.

One rule for every channel. The lengths are read from the table definitions, so a column that
grows in a migration lets longer texts in without a second place to change. PostgreSQL refuses a
NUL character in any text and a too-long value for a VARCHAR (SQLite stores both): checked here,
both become a clear refusal before anything is written — before a ticket number is taken.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from models.errors import ActionInvalid

NUL = "\x00"
INTEGER_MAX = 2 ** 31 - 1  # an INTEGER column (ids of configuration rows, versions)
BIGINT_MAX = 2 ** 63 - 1  # a BIGINT column (ticket ids)


class TextRefused(ActionInvalid):
    """A text that cannot be stored as given; nothing was changed."""


# The most characters of a long text (a ticket's description, a note on its timeline): a long
# hotline record fits many times over; a document pasted by mistake does not.
LONG_TEXT_MAX = 10_000


def column_length(attribute) -> int | None:
    """The most characters the column behind a mapped attribute (``Ticket.address``) holds — a
    TEXT column its ``info["max_chars"]`` — or None for an unbounded text."""
    column = attribute.property.columns[0]
    if isinstance(column.type, sa.String) and column.type.length:
        return column.type.length
    return column.info.get("max_chars")


def whole_number(value, maximum: int = INTEGER_MAX) -> int | None:
    """The non-negative whole number written in ``value`` with the digits 0–9, or None when it
    is none or out of range (a superscript "²" or another script's digits are no number here:
    ``str.isdigit`` takes them and ``int`` refuses "²")."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= maximum else None


def has_nul(value) -> bool:
    """Whether a text, or any text inside a list or mapping (keys included), has a NUL."""
    return _any_text(value, lambda text: NUL in text)


def has_lone_surrogate(value) -> bool:
    """Whether a text, or any text inside a list or mapping, has half of a UTF-16 surrogate pair
    (what a JSON "\\ud800" becomes): no UTF-8 text holds one, so no database stores it."""
    return _any_text(value, lambda text: SURROGATE.search(text) is not None)


SURROGATE = re.compile("[\ud800-\udfff]")


def _any_text(value, test) -> bool:
    if isinstance(value, str):
        return test(value)
    if isinstance(value, dict):
        return any(_any_text(k, test) or _any_text(v, test) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_any_text(item, test) for item in value)
    return False


def clean_email(value: str | None) -> str | None:
    """An e-mail address as stored (trimmed; None when empty), or TextRefused when it cannot be
    one: one rule for the API, the forms and Open311."""
    email = (value or "").strip()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    if not (at and local and "." in domain.strip(".")) or len(email) > 255 \
            or any(c.isspace() for c in email):
        raise TextRefused(_("The e-mail address is not valid."))
    return email


def nul_message() -> str:
    return _("The text contains a NUL character (code 0), which cannot be stored. Remove it and "
             "send again.")


def surrogate_message() -> str:
    return _("The text contains an unpaired surrogate (a code from U+D800 to U+DFFF), which is "
             "no character and cannot be stored. Remove it and send again.")


def too_long_message(label: str, limit: int) -> str:
    return _("%(field)s is longer than %(count)s characters.", field=label, count=limit)


def check_text(label: str, value: str | None, attribute) -> None:
    """Refuse (TextRefused) a text with a NUL or longer than the column of ``attribute``."""
    if value is None:
        return
    if NUL in value:
        raise TextRefused(nul_message())
    if SURROGATE.search(value):
        raise TextRefused(surrogate_message())
    limit = column_length(attribute)
    if limit is not None and len(value) > limit:
        raise TextRefused(too_long_message(label, limit))
