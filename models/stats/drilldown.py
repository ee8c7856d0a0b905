"""The tickets behind a statistics figure: those with a counted fact of that measure on those
local days (for that department or person), read from the same facts the figures sum up.

A figure links to the ticket list filtered by ``figure_key(...)``; the list reads it back with
``parse_figure_key`` and filters by ``figure_condition``. A ticket counts once in the list even
where it counts several times in a sum (two reworks, a second closure after reopening)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from models.stats.tables import MEASURES, StatsFact
from models.tickets.tables import Ticket

# Durations are summed, not counted: a figure of tickets never stands on them alone.
COUNTED = tuple(m for m in MEASURES if not m.endswith("_seconds") and m != "rating_sum")
_PATTERN = re.compile(r"^(?P<measure>[a-z_]+):(?P<start>\d{4}-\d{2}-\d{2}):(?P<end>\d{4}-\d{2}-\d{2})"
                      r"(?::d(?P<department>\d{1,9}))?(?::u(?P<user>\d{1,9}))?$")


@dataclass(frozen=True)
class FigureKey:
    measure: str
    start: date
    end: date
    department_id: int | None = None
    user_id: int | None = None


def figure_key(measure: str, start: date, end: date, department_id: int | None = None,
               user_id: int | None = None) -> str:
    if measure not in COUNTED:
        raise ValueError(f"not a counted measure: {measure}")
    text = f"{measure}:{start.isoformat()}:{end.isoformat()}"
    if department_id:
        text += f":d{department_id}"
    if user_id:
        text += f":u{user_id}"
    return text


def parse_figure_key(text: str) -> FigureKey | None:
    """The key in a list URL, or None when it is not one (a hand-edited URL)."""
    match = _PATTERN.match((text or "").strip())
    if match is None or match["measure"] not in COUNTED:
        return None
    try:
        start, end = date.fromisoformat(match["start"]), date.fromisoformat(match["end"])
    except ValueError:
        return None
    if start > end:
        return None
    return FigureKey(match["measure"], start, end,
                     int(match["department"]) if match["department"] else None,
                     int(match["user"]) if match["user"] else None)


def figure_condition(key: FigureKey) -> sa.ColumnElement[bool]:
    """SQL condition on Ticket: it has a fact of this measure in the key's days and unit."""
    facts = sa.select(StatsFact.ticket_id).where(
        getattr(StatsFact, key.measure) > 0, StatsFact.day >= key.start, StatsFact.day <= key.end)
    if key.department_id:
        facts = facts.where(StatsFact.department_id == key.department_id)
    if key.user_id:
        facts = facts.where(StatsFact.user_id == key.user_id)
    return Ticket.id.in_(facts)
