"""A reported ticket's row and first events, written below the unit of work.

A ticket being reported is not written when its first events (create, dispatch …) are
appended: they wait on it. The flush that would insert it (whichever flush that is) writes
instead, before the unit of work starts: the ticket's row, decided in full, its events and their
statistics mark — on PostgreSQL in one statement (the ticket's INSERT, and the events, the mark
and the events' messages selected from it, as data-modifying WITH queries), elsewhere in three.
On PostgreSQL the ticket took its id and its first events' ids with its number
(``reported_with_ids``), so the messages of those events (``record_event``) are known before
the write and go with it. The unit of work's per-object bookkeeping cost about as much as the
statements, and each statement saved is a round trip. The ticket and its events then belong
to the session like loaded rows. The duplicate check of the report's place (``NEARBY_CHECK``)
runs with the write: on PostgreSQL inside the same statement, in its snapshot from before the
write; elsewhere just before the INSERT.
"""
from __future__ import annotations

import functools
import json

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models.bulk import insert_rows, recordset, recordset_document
from models.driver import insert_statement, run
from models.notify.outbox import Notification
from models.reference_cache import (ReferenceVersion, VersionsChanged, note_versions_read,
                                    versions_assumed, versions_column)
from models.stats.rollups import mark_changed_rows
from models.stats.tables import StatsPending
from models.tickets.duplicates import (NEARBY_PREFIX, NearbyCheck, cases_from_column,
                                      nearby_column)
from models.tickets.numbering import EVENT_ID_SEQUENCE, TICKET_ID_SEQUENCE, Numbered
from models.tickets.tables import Ticket, TicketEvent
from models.transactions import statement_connection, written_alone


UNWRITTEN = "_unwritten_events"
UNWRITTEN_NOTICES = "_unwritten_notices"  # outbox rows of its unwritten events
RESERVED_EVENT_IDS = "_reserved_event_ids"
# Set at the flush that writes a reported ticket when the caller writes nothing after it: its
# one statement may then commit at once (models/transactions.py ``one_statement_request``).
LAST_WRITE = "_last_write"
# The duplicate check of its place (``duplicates.NearbyCheck``), run by the write.
NEARBY_CHECK = "_nearby_check"
_EVENT_COLUMNS = [c.key for c in TicketEvent.__table__.columns if c.key != "id"]
_EVENT_VALUES = [key for key in _EVENT_COLUMNS if key != "ticket_id"]  # all but the ticket's id


def checked_for_duplicates_as_written(ticket: Ticket, check: NearbyCheck | None) -> None:
    """Have the write of a ticket being reported run ``check`` (PostgreSQL: in the same
    statement, one round trip less; elsewhere just before it); its ``found`` is then set."""
    if check is not None:
        ticket.__dict__[NEARBY_CHECK] = check


def reported_with_ids(ticket: Ticket, numbered: Numbered) -> None:
    """Give a ticket being reported the ids reserved with its number (PostgreSQL), its own and
    those of its first events."""
    if numbered.ticket_id is not None:
        ticket.id = numbered.ticket_id
        ticket.__dict__[RESERVED_EVENT_IDS] = list(numbered.event_ids)


_TICKETS = Ticket.__table__
_INSERT_TICKET = insert_statement(_TICKETS, [c.key for c in _TICKETS.columns if c.key != "id"],
                                  returning=("id",))
# Many-to-one relationships a new ticket may be given as objects (``category=``): their keys.
_BY_OBJECT = [(rel.key, [(local.key, remote.key) for local, remote in rel.local_remote_pairs])
              for rel in Ticket.__mapper__.relationships if rel.direction.name == "MANYTOONE"]


def _versions_still(parameter: str) -> sa.ColumnElement[bool]:
    """PostgreSQL: the reference versions are those of the JSON text ``parameter`` (the ones
    the request assumed; null: none) — a write that may commit at once must write nothing when
    what it was decided from changed meanwhile (the request is then done again)."""
    table = ReferenceVersion.__table__
    given = sa.cast(sa.bindparam(parameter, type_=sa.Text), JSONB)
    return sa.or_(given.is_(None), given == sa.select(
        sa.func.jsonb_object_agg(table.c.name, table.c.version)).scalar_subquery())


def _cast_type(column_type: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """The type a value is cast to: texts without their length (a cast to VARCHAR(n) would cut
    a longer one silently; the column's own check refuses it)."""
    return sa.String() if isinstance(column_type, sa.String) else column_type


def _reserved_or_next(value, sequence: str):
    """The id given (reserved), or else the next of the column's sequence."""
    return sa.func.coalesce(value, sa.func.nextval(sa.literal_column(f"'{sequence}'")))


@functools.cache
def _insert_reported_ticket(notice_columns: tuple[str, ...], nearby: bool) -> sa.Select:
    """PostgreSQL: the ticket (its columns as parameters named as them), its events (the
    parameter ``reported_events``, a ``recordset_document``), their statistics mark and their
    outbox rows (``reported_notices``, with the columns ``notice_columns``; none: no such part)
    in one statement, returning (ticket_id, id, seq) of each event and the reference versions
    (a request that assumed them confirms them without a query of their own) — and with
    ``nearby`` the duplicate check's candidates (``duplicates.nearby_column``: read in the
    statement's snapshot, which the new ticket is not part of, as before any write)."""
    columns = [c.key for c in _TICKETS.columns if c.key != "id"]
    reserved = sa.bindparam("id", type_=_TICKETS.c.id.type)
    # INSERT … SELECT, not VALUES: the row is written only while the reference versions the
    # request assumed hold (``_versions_still``). Each value is cast to its
    # column's type, which a select list does not give it.
    ticket = _TICKETS.insert().from_select(
        ["id", *columns],
        sa.select(_reserved_or_next(reserved, TICKET_ID_SEQUENCE),
                  *(sa.cast(sa.bindparam(name, type_=_TICKETS.c[name].type),
                            _cast_type(_TICKETS.c[name].type)) for name in columns))
        .where(_versions_still("assumed_versions"))
    ).returning(_TICKETS.c.id).cte("reported_ticket")
    events_table = TicketEvent.__table__
    given = recordset("reported_events", [events_table.c[key] for key in ("id", *_EVENT_VALUES)])
    events = events_table.insert().from_select(
        ["id", "ticket_id", *_EVENT_VALUES],
        sa.select(_reserved_or_next(given.c.id, EVENT_ID_SEQUENCE), ticket.c.id,
                  *(given.c[key] for key in _EVENT_VALUES))
        .select_from(ticket.join(given, sa.true()))
    ).returning(events_table.c.ticket_id, events_table.c.id, events_table.c.seq).cte("events")
    marked = StatsPending.__table__.insert().from_select(
        ["ticket_id"], sa.select(ticket.c.id)).cte("marked")
    statement = sa.select(events.c.ticket_id, events.c.id, events.c.seq,
                          versions_column().label("reference_versions"),
                          *([sa.type_coerce(sa.case((events.c.seq == 1, nearby_column())),
                                            sa.JSON).label("nearby")]
                            if nearby else [])).add_cte(marked)
    if notice_columns:
        # A plain INSERT, not ON CONFLICT (dedupe_key) DO NOTHING as every other writer: these
        # messages' keys name the events' ids, reserved for this ticket just now, so none can be
        # written already; the speculative insertion cost PostgreSQL 60–120 µs per intake.
        outbox = Notification.__table__
        notices = recordset("reported_notices", [outbox.c[key] for key in notice_columns])
        statement = statement.add_cte(outbox.insert().from_select(
            list(notice_columns), sa.select(*(notices.c[key] for key in notice_columns))
            .select_from(ticket.join(notices, sa.true()))).cte("notified"))
    return statement


def _write_reported_tickets(session: Session, _context, _instances) -> None:
    tickets = [t for t in session.new if isinstance(t, Ticket) and t.__dict__.get(UNWRITTEN)]
    if not tickets:
        return
    last = [ticket.__dict__.pop(LAST_WRITE, False) for ticket in tickets]
    connection = statement_connection(writing=[tickets[0], *tickets[0].__dict__[UNWRITTEN]]) \
        if last == [True] else session.connection()
    written = [(ticket, ticket.__dict__.pop(UNWRITTEN)) for ticket in tickets]
    if connection.dialect.name == "postgresql":
        ids = {}
        for ticket, events in written:
            check = ticket.__dict__.pop(NEARBY_CHECK, None)
            rows = run(connection, *_reported_ticket_statement(ticket, events, connection, check))
            if not rows:  # the versions assumed no longer hold: nothing was written
                raise VersionsChanged(None)
            written_alone(connection, ticket.number)  # first: it may have committed now
            ticket.id = rows[0].ticket_id
            if versions_assumed(session) is not None:
                note_versions_read(rows[0].reference_versions, session)
            ids.update(((row.ticket_id, row.seq), row.id) for row in rows)
            if check is not None:  # (on the first event's row only)
                check.found = check.nearest(cases_from_column(
                    next(row.nearby for row in rows if row.seq == 1)))
    else:
        for ticket, _events in written:
            check = ticket.__dict__.pop(NEARBY_CHECK, None)
            if check is not None:  # read before the ticket is written, as in one statement
                check.found = check.read(connection)
            (ticket.id,), = run(connection, _INSERT_TICKET, _ticket_row(ticket))
            ticket.__dict__.pop(UNWRITTEN_NOTICES, None)  # (none: no ids are reserved here)
        rows = insert_rows(TicketEvent.__table__, [
            {"ticket_id": ticket.id, **{key: getattr(event, key) for key in _EVENT_VALUES}}
            for ticket, events in written for event in events],
            returning=("id", "ticket_id", "seq"))
        ids = {(row.ticket_id, row.seq): row.id for row in rows}
        mark_changed_rows(connection, [ticket.id for ticket in tickets])
    for ticket, events in written:
        for event in events:
            event.ticket_id = ticket.id
            event.id = ids[(ticket.id, event.seq)]
        _now_persistent(session, ticket, events)
        for event in events:
            set_committed_value(event, "ticket", ticket)
        set_committed_value(ticket, "events", [*ticket.__dict__.get("events", ()), *events])


def _reported_ticket_statement(ticket: Ticket, events: list[TicketEvent],
                               connection: sa.Connection,
                               check: NearbyCheck | None) -> tuple[sa.Select, dict]:
    """PostgreSQL: the statement writing this ticket, its events and their messages, and
    running the duplicate check ``check``, and its parameters."""
    from models.notify.notices import distinct_notices

    event_keys = ("id", *_EVENT_VALUES)
    values = {"id": ticket.id, **_ticket_row(ticket),
              "assumed_versions": _json_or_none(versions_assumed()),
              "reported_events": recordset_document(
        [TicketEvent.__table__.c[key] for key in event_keys],
        [{key: getattr(event, key) for key in event_keys} for event in events],
        connection.dialect)}
    notices = distinct_notices(ticket.__dict__.pop(UNWRITTEN_NOTICES, []))
    keys = tuple(notices[0]) if notices else ()
    if notices:
        values["reported_notices"] = recordset_document(
            [Notification.__table__.c[key] for key in keys], notices, connection.dialect)
    if check is not None:
        nearby = check.values_named(NEARBY_PREFIX)
        assert not nearby.keys() & values.keys()  # (no column is named as the check's values)
        values.update(nearby)
    return _insert_reported_ticket(keys, check is not None), values


def _json_or_none(value) -> str | None:
    return None if value is None else json.dumps(value)


def _now_persistent(session: Session, ticket: Ticket, events: list[TicketEvent]) -> None:
    """The ticket (pending) and its events (transient), written above, become rows the session
    loaded: their values their loaded state, rolled back out of the session with the
    transaction. What the unit of work does after its own INSERTs (``_register_persistent`` of
    the pinned SQLAlchemy; the public way — expunge, ``make_transient_to_detached``, add — walked
    every relationship of the ticket again, ~5 % of an intake's CPU). The intake tests fail if
    an upgrade changes these."""
    states = {sa.inspect(ticket), *(sa.inspect(event) for event in events)}
    for event in events:
        session._save_impl(sa.inspect(event))  # pending, without cascading
    session._register_persistent(states)


def _ticket_row(ticket: Ticket) -> dict:
    """Every column of a new ticket as the unit of work would insert it: the values set, the
    ids of the objects given for many-to-one relationships, the columns' defaults (also kept on
    the ticket, so that reading one never loads)."""
    state = ticket.__dict__
    for key, pairs in _BY_OBJECT:
        related = state.get(key)
        if related is not None:
            for local, remote in pairs:
                if state.get(local) is None:
                    setattr(ticket, local, getattr(related, remote))
    for key, default in _DEFAULTS:
        if key not in state:  # straight into its dict, as a load does: it becomes loaded state
            state[key] = None if default is None else \
                default.arg if default.is_scalar else default.arg(None)
    return {key: state[key] for key, _default in _DEFAULTS}


_DEFAULTS = [(column.key, column.default) for column in _TICKETS.columns if column.key != "id"]


sa.event.listen(Session, "before_flush", _write_reported_tickets)
