"""Human ticket numbers (GD + local date + daily sequence) and resident tracking codes."""
from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import date
from time import monotonic

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.base import db
from models.clock import local_today
from models.driver import run
from models.settings import setting
from models.transactions import committing_at_once, statement_connection
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

    PostgreSQL: no lock held until commit, no second transaction. The number is
    ``nextval('ticket_number_seq')`` minus the day's base, the sequence value just before the
    day's first number (``ticket_number_counters.last_value`` holds that base on PostgreSQL; an
    intake that finds none — the day's first — takes its number again with the statement that
    inserts it, ON CONFLICT DO NOTHING). A busy process takes its numbers and ids in blocks
    (``NumberBlocks``): one statement for several intakes. Numbers are unique; within a day they
    follow arrival in each process, and across processes to within a second (exactly when
    reports come one at a time); gaps are allowed: an intake that fails after taking its number,
    the rest of a block unused for a second, and (rarely) a ticket numbered for yesterday just
    after midnight leave one (docs/PERFORMANCE.md).

    SQLite has a single writer: the day's counter is incremented in the intake's transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _blocks.next(day)
    stmt = sqlite_insert(TicketNumberCounter).values(day=day, last_value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TicketNumberCounter.day],
        set_={"last_value": TicketNumberCounter.last_value + 1},
    ).returning(TicketNumberCounter.last_value)
    return Numbered(_formatted(day, db.session.execute(stmt).scalar_one()))


def _formatted(day: date, value: int) -> str:
    digits = setting("TICKET_NUMBER_DIGITS", 4)
    return f"GD{day:%Y%m%d}{value:0{digits}d}"


# How many numbers a process takes at once at most, and how long it keeps those it has not used.
NUMBERS_PER_BLOCK_MAX = 16
BLOCK_KEPT_S = 1.0

_RESERVED_IDS = """ARRAY(SELECT nextval('%s') FROM generate_series(1, :size)),
       ARRAY(SELECT nextval('%s') FROM generate_series(1, :size * %d))""" % (
    TICKET_ID_SEQUENCE, EVENT_ID_SEQUENCE, EVENT_IDS_RESERVED)
# Once the day's base is there (every intake but the day's first few): no INSERT to try, which
# cost PostgreSQL about as much as the rest of the statement.
_NEXT_NUMBERS = sa.text("""
SELECT ARRAY(SELECT nextval('ticket_number_seq') FROM generate_series(1, :size)),
       (SELECT last_value FROM ticket_number_counters WHERE day = :day), %s""" % _RESERVED_IDS)
_FIRST_NUMBERS_OF_DAY = sa.text("""
WITH taken AS (SELECT ARRAY(SELECT nextval('ticket_number_seq')
                            FROM generate_series(1, :size)) AS numbers),
     first AS (INSERT INTO ticket_number_counters (day, last_value)
               SELECT :day, numbers[1] - 1 FROM taken
               ON CONFLICT (day) DO NOTHING RETURNING last_value)
SELECT taken.numbers, COALESCE((SELECT last_value FROM first),
                               (SELECT last_value FROM ticket_number_counters WHERE day = :day)),
       %s
FROM taken""" % _RESERVED_IDS)


@dataclass
class _Block:
    day: date
    taken_at: float  # monotonic()
    numbers: list[int]  # the day's numbers, ascending
    ticket_ids: list[int]
    event_ids: list[int]


class NumberBlocks:
    """A process's numbers and reserved ids, taken as many at once as it took intakes in the
    last second (one at a time when reports come one at a time, so that numbers follow arrival
    exactly; at most ``NUMBERS_PER_BLOCK_MAX``). What is not used within ``BLOCK_KEPT_S``, or by
    the end of its day, is dropped: a gap, never a number out of order by more than that."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block: _Block | None = None
        self._recent: deque[float] = deque(maxlen=NUMBERS_PER_BLOCK_MAX)

    def next(self, day: date) -> Numbered:
        if day != local_today():  # a case brought in for another day (a ledger): one number,
            return _handed_out(day, _take_block(day, 1, 0.0))  # and today's block kept
        with self._lock:
            now = monotonic()
            self._recent.append(now)
            block = self._block
            if block is None or block.day != day or not block.numbers \
                    or now - block.taken_at > BLOCK_KEPT_S:
                size = sum(1 for moment in self._recent if now - moment <= 1.0)
                block = self._block = _take_block(day, size, now)
            return _handed_out(day, block)

    def forget(self) -> None:
        """Drop the block held (a database whose counters were emptied: the tests' wipe)."""
        with self._lock:
            self._block = None
            self._recent.clear()


_blocks = NumberBlocks()
forget_number_blocks = _blocks.forget


def _handed_out(day: date, block: _Block) -> Numbered:
    """The block's next number with its ids, taken out of it."""
    events = block.event_ids[:EVENT_IDS_RESERVED]
    del block.event_ids[:EVENT_IDS_RESERVED]
    return Numbered(_formatted(day, block.numbers.pop(0)), block.ticket_ids.pop(0), tuple(events))


def _take_block(day: date, size: int, now: float) -> _Block:
    """``size`` of the day's next numbers, a ticket id and ``EVENT_IDS_RESERVED`` event ids for
    each, in one statement (the intake's connection)."""
    conn = statement_connection()
    statement = _NEXT_NUMBERS
    while True:
        if statement is _FIRST_NUMBERS_OF_DAY:
            row, size = _first_numbers(conn, day, size)
        else:
            row, = run(conn, statement, {"day": day, "size": size})
        values, base, ticket_ids, event_ids = row
        # base is None when the day has no base yet, or when another intake inserted it while
        # this statement ran (not yet visible to it); a value <= base was taken by this
        # statement before another intake took the day's first number: not the day's.
        numbers = sorted(value - base for value in values if base is not None and value > base)
        if numbers:
            return _Block(day, now, numbers, sorted(ticket_ids)[-len(numbers):],
                          sorted(event_ids)[-len(numbers) * EVENT_IDS_RESERVED:])
        statement = _FIRST_NUMBERS_OF_DAY if base is None else _NEXT_NUMBERS


def _first_numbers(conn, day: date, size: int) -> tuple[tuple, int]:
    """The day's first numbers, inserting its base, committed at once (never in the caller's
    transaction): a block numbered from a base that a rollback took away would repeat numbers,
    and another intake's insert of the same day would wait on it."""
    with committing_at_once(conn) as committing:
        return run(committing, _FIRST_NUMBERS_OF_DAY, {"day": day, "size": size})[0], size


def new_tracking_code() -> str:
    """A random code, every one of the 31^10 equally likely: one draw from the system's random
    source read as base-31 digits (ten draws of a letter each cost ten system calls)."""
    value = secrets.randbelow(len(TRACKING_ALPHABET) ** TRACKING_CODE_LENGTH)
    letters = []
    for _ in range(TRACKING_CODE_LENGTH):
        value, digit = divmod(value, len(TRACKING_ALPHABET))
        letters.append(TRACKING_ALPHABET[digit])
    return "".join(letters)
