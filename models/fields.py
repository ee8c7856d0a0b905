"""What a text field may hold: no NUL character, and no more characters than its column.

One rule for every channel. The lengths are read from the table definitions, so a column that
grows in a migration lets longer texts in without a second place to change. PostgreSQL refuses a
NUL character in any text and a too-long value for a VARCHAR (SQLite stores both): checked here,
both become a clear refusal before anything is written — before a ticket number is taken.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from models.errors import ActionInvalid

NUL = "\x00"


class TextRefused(ActionInvalid):
    """A text that cannot be stored as given; nothing was changed."""


def column_length(attribute) -> int | None:
    """The most characters the column behind a mapped attribute (``Ticket.address``) holds;
    None for an unbounded text."""
    column_type = attribute.property.columns[0].type
    return column_type.length if isinstance(column_type, sa.String) else None


def has_nul(value) -> bool:
    """Whether a text, or any text inside a list or mapping (keys included), has a NUL."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(item) for item in value)
    return False


def nul_message() -> str:
    return _("The text contains a NUL character (code 0), which cannot be stored. Remove it and "
             "send again.")


def too_long_message(label: str, limit: int) -> str:
    return _("%(field)s is longer than %(count)s characters.", field=label, count=limit)


def check_text(label: str, value: str | None, attribute) -> None:
    """Refuse (TextRefused) a text with a NUL or longer than the column of ``attribute``."""
    if value is None:
        return
    if NUL in value:
        raise TextRefused(nul_message())
    limit = column_length(attribute)
    if limit is not None and len(value) > limit:
        raise TextRefused(too_long_message(label, limit))
