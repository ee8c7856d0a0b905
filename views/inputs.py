"""Reading numbers from requests: a row id or a version is a whole number that fits its column.

A value past the column's range would reach the database and fail there (PostgreSQL: "integer out
of range", a 500); read this way it is simply no such row.
"""
from __future__ import annotations

INTEGER_MAX = 2 ** 31 - 1  # an INTEGER column (ids of configuration rows, versions)
BIGINT_MAX = 2 ** 63 - 1  # a BIGINT column (ticket ids)


def whole_number(value, maximum: int = INTEGER_MAX) -> int | None:
    """The non-negative whole number in ``value``, or None when it is none or out of range."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if number <= maximum else None
