"""Human ticket numbers (GD + local date + daily sequence) and resident tracking codes."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.base import db
from models.driver import run
from models.settings import setting
from models.tickets.tables import TicketNumberCounter

# No 0/O, 1/I/L: codes are read out over the phone.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_CODE_LENGTH = 10


# Ids a ticket being reported takes with its number on PostgreSQL: its own and its first events'
# (create, dispatch and one more), so that its row, its events and their messages are written in
# one statement (models/tickets/timeline.py). An id reserved and not used is a gap.
EVENT_IDS_RESERVED = 3
# The sequences those ids come from (PostgreSQL's names for the tables' serial ids).
TICKET_ID_SEQUENCE = "tickets_id_seq"
EVENT_ID_SEQUENCE = "ticket_events_id_seq"


@dataclass(frozen=True)
class Numbered:
    number: str
    ticket_id: int | None = None  # reserved on PostgreSQL, else taken when the row is written
    event_ids: tuple[int, ...] = ()


def number_new_ticket(day: date) -> Numbered:
    """The next number of ``day``, taken inside the intake's own transaction, and on PostgreSQL
    the ticket's and its first events' ids with it.

    PostgreSQL: one statement, no lock held until commit, no second transaction. The number is
    ``nextval('ticket_number_seq')`` minus the day's base, the sequence value just before the
    day's first number (``ticket_number_counters.last_value`` holds that base on PostgreSQL; an
    intake that finds none — the day's first — takes its number again with the statement that
    inserts it, ON CONFLICT DO NOTHING). Numbers are unique and follow
    arrival within a day; gaps are allowed: an intake that fails after taking its number, and
    (rarely) a ticket numbered for yesterday just after midnight, leave one (docs/PERFORMANCE.md).

    SQLite has a single writer: the day's counter is incremented in the intake's transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        value, ticket_id, event_ids = _sequence_number(day)
        return Numbered(_formatted(day, value), ticket_id, tuple(event_ids))
    stmt = sqlite_insert(TicketNumberCounter).values(day=day, last_value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TicketNumberCounter.day],
        set_={"last_value": TicketNumberCounter.last_value + 1},
    ).returning(TicketNumberCounter.last_value)
    return Numbered(_formatted(day, db.session.execute(stmt).scalar_one()))


def _formatted(day: date, value: int) -> str:
    digits = setting("TICKET_NUMBER_DIGITS", 4)
    return f"GD{day:%Y%m%d}{value:0{digits}d}"


_RESERVED_IDS = "nextval('%s'), ARRAY(SELECT nextval('%s') FROM generate_series(1, %d))" % (
    TICKET_ID_SEQUENCE, EVENT_ID_SEQUENCE, EVENT_IDS_RESERVED)
# Once the day's base is there (every intake but the day's first few): no INSERT to try, which
# cost PostgreSQL about as much as the rest of the statement.
_NEXT_NUMBER = sa.text("""
SELECT nextval('ticket_number_seq'),
       (SELECT last_value FROM ticket_number_counters WHERE day = :day), %s""" % _RESERVED_IDS)
_FIRST_NUMBER_OF_DAY = sa.text("""
WITH taken AS (SELECT nextval('ticket_number_seq') AS value),
     first AS (INSERT INTO ticket_number_counters (day, last_value)
               SELECT :day, value - 1 FROM taken
               ON CONFLICT (day) DO NOTHING RETURNING last_value)
SELECT taken.value, COALESCE((SELECT last_value FROM first),
                             (SELECT last_value FROM ticket_number_counters WHERE day = :day)),
       %s
FROM taken""" % _RESERVED_IDS)


def _sequence_number(day: date) -> tuple[int, int, list[int]]:
    """The day's next number, and the ids reserved with it."""
    statement = _NEXT_NUMBER
    while True:
        (value, base, ticket_id, event_ids), = run(db.session.connection(), statement,
                                                   {"day": day})
        # base is None when the day has no base yet, or when another intake inserted it while
        # this statement ran (not yet visible to it); value <= base when that intake took a
        # later value first.
        if base is not None and value > base:
            return value - base, ticket_id, event_ids
        statement = _FIRST_NUMBER_OF_DAY if base is None else _NEXT_NUMBER


def new_tracking_code() -> str:
    """A random code, every one of the 31^10 equally likely: one draw from the system's random
    source read as base-31 digits (ten draws of a letter each cost ten system calls)."""
    value = secrets.randbelow(len(TRACKING_ALPHABET) ** TRACKING_CODE_LENGTH)
    letters = []
    for _ in range(TRACKING_CODE_LENGTH):
        value, digit = divmod(value, len(TRACKING_ALPHABET))
        letters.append(TRACKING_ALPHABET[digit])
    return "".join(letters)
