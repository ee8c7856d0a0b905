"""The ticket timeline: the only way a ticket's state or assignee changes is by appending an event."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Callable, Iterable, Sequence

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models.base import db, utcnow
from models.bulk import insert_rows, recordset, recordset_document, rows_source
from models.driver import insert_statement, run
from models.fields import check_text
from models.notify.outbox import Notification
from models.people.department import Department
from models.people.user import User
from models.reference_cache import (ReferenceVersion, VersionsChanged, note_versions_read,
                                    versions_assumed, versions_column)
from models.stats.rollups import mark_changed, mark_changed_rows
from models.stats.tables import StatsPending
from models.tickets.actions import Action
from models.tickets.numbering import EVENT_ID_SEQUENCE, TICKET_ID_SEQUENCE, Numbered
from models.tickets.tables import Ticket, TicketEvent
from models.transactions import statement_connection, written_alone
from models.vocabulary import ActorKind, TicketStatus

UNCHANGED = object()


def append_event(
    ticket: Ticket,
    action: Action | str,
    *,
    actor: User | None = None,
    actor_kind: ActorKind | None = None,
    to_status: TicketStatus | None = None,
    to_user: User | None | object = UNCHANGED,
    to_department: Department | None | object = UNCHANGED,
    note: str | None = None,
    details: dict | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Apply one step to the ticket and record it; the caller commits."""
    at = at or utcnow()
    event = TicketEvent(
        ticket_id=ticket.id,
        seq=ticket.event_seq + 1,
        action=Action(action).value,  # every event kind is in the one vocabulary
        actor_kind=actor_kind or (ActorKind.USER if actor is not None else ActorKind.SYSTEM),
        actor_user_id=actor.id if actor is not None else None,
        from_status=ticket.status if ticket.event_seq else None,
        to_status=to_status or ticket.status,
        from_user_id=ticket.assigned_user_id,
        from_department_id=ticket.assigned_department_id,
        note=note,
        details=details,
        created_at=at,
    )
    if to_status is not None:
        ticket.status = to_status
    if to_user is not UNCHANGED:
        ticket.assigned_user_id = to_user.id if to_user is not None else None
    if to_department is not UNCHANGED:
        ticket.assigned_department_id = to_department.id if to_department is not None else None
    event.to_user_id = ticket.assigned_user_id
    event.to_department_id = ticket.assigned_department_id
    ticket.event_seq = event.seq
    if moves_activity(event):
        ticket.last_activity_at = at
    if sa.inspect(ticket).key is None:  # a ticket being reported: written with it (below)
        reserved = ticket.__dict__.get(RESERVED_EVENT_IDS)
        if reserved:
            event.id = reserved.pop(0)
        ticket.__dict__.setdefault(UNWRITTEN, []).append(event)
        if ticket not in db.session:  # adding it again would walk its relationships again
            db.session.add(ticket)
        return event
    event.ticket = ticket  # after the ticket's own changes: the event joins the session with it
    db.session.add(event)
    mark_changed(ticket)  # the statistics fold it again (same transaction as the event)
    return event


def check_note(note) -> None:
    """Refuse (TextRefused) a note the timeline cannot keep: a NUL, half a surrogate pair, more
    than its column's characters."""
    if isinstance(note, str):
        check_text(_NOTE_LABEL, note, TicketEvent.note)


_NOTE_LABEL = _l("The note")


def moves_activity(event: TicketEvent) -> bool:
    """Whether an event is activity on its ticket (``last_activity_at``: the board's "stalled"
    badge and its columns' order, most neglected first): one taken by a person or an
    integration, or one that changed the ticket's status or holder. The system's own marks and
    reminders (deadline warning, overdue mark, supervision reminder) are not: a ticket nobody has
    touched stays stalled, and its row is written without touching the indexes on activity."""
    return (event.actor_kind != ActorKind.SYSTEM or event.from_status != event.to_status
            or event.from_user_id != event.to_user_id
            or event.from_department_id != event.to_department_id)


# --- a reported ticket's row and first events: written below the unit of work ------------------
#
# A ticket being reported is not written when its first events (create, dispatch …) are
# appended: they wait on it. The flush that would insert it (whichever flush that is) writes
# instead, before the unit of work starts: the ticket's row, decided in full, its events and their
# statistics mark — on PostgreSQL in one statement (the ticket's INSERT, and the events, the mark
# and the events' messages selected from it, as data-modifying WITH queries), elsewhere in three.
# On PostgreSQL the ticket took its id and its first events' ids with its number
# (``reported_with_ids``), so the messages of those events (``record_event``) are known before
# the write and go with it. The unit of work's per-object bookkeeping cost about as much as the
# statements, and each statement saved is a round trip. The ticket and its events then belong
# to the session like loaded rows.

UNWRITTEN = "_unwritten_events"
UNWRITTEN_NOTICES = "_unwritten_notices"  # outbox rows of its unwritten events
RESERVED_EVENT_IDS = "_reserved_event_ids"
# Set at the flush that writes a reported ticket when the caller writes nothing after it: its
# one statement may then commit at once (models/transactions.py ``one_statement_request``).
LAST_WRITE = "_last_write"
_EVENT_COLUMNS = [c.key for c in TicketEvent.__table__.columns if c.key != "id"]
_EVENT_VALUES = [key for key in _EVENT_COLUMNS if key != "ticket_id"]  # all but the ticket's id


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
def _insert_reported_ticket(notice_columns: tuple[str, ...]) -> sa.Select:
    """PostgreSQL: the ticket (its columns as parameters named as them), its events (the
    parameter ``reported_events``, a ``recordset_document``), their statistics mark and their
    outbox rows (``reported_notices``, with the columns ``notice_columns``; none: no such part)
    in one statement, returning (ticket_id, id, seq) of each event and the reference versions
    (a request that assumed them confirms them without a query of their own)."""
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
                          versions_column().label("reference_versions")).add_cte(marked)
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
            rows = run(connection, *_reported_ticket_statement(ticket, events, connection))
            if not rows:  # the versions assumed no longer hold: nothing was written
                raise VersionsChanged(None)
            written_alone(connection, ticket.number)
            ticket.id = rows[0].ticket_id
            if versions_assumed(session) is not None:
                note_versions_read(rows[0].reference_versions, session)
            ids.update(((row.ticket_id, row.seq), row.id) for row in rows)
    else:
        for ticket, _events in written:
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
                               connection: sa.Connection) -> tuple[sa.Select, dict]:
    """PostgreSQL: the statement writing this ticket, its events and their messages, and its
    parameters."""
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
    return _insert_reported_ticket(keys), values


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


def record_event(ticket: Ticket, action: str, *, last_write: bool = False,
                 **kwargs) -> TicketEvent:
    """Append an event (as ``append_event``) and write the notifications it calls for, in the
    same transaction: the outbox rows commit, or roll back, with the event. ``last_write``: the
    caller writes nothing after it (an intake's dispatch without co-handlers)."""
    from models.notify.notices import event_notice_rows, notify_event, write_notices

    event = append_event(ticket, action, **kwargs)
    if event.id is not None and UNWRITTEN in ticket.__dict__:  # reported, its ids reserved
        rows = event_notice_rows(ticket, event)
        if UNWRITTEN in ticket.__dict__:  # (finding the recipients may have written it)
            ticket.__dict__.setdefault(UNWRITTEN_NOTICES, []).extend(rows)
            ticket.__dict__[LAST_WRITE] = last_write
            rows = []
        db.session.flush()  # the ticket, its events and these messages in one statement
        write_notices(rows)
        return event
    db.session.flush()
    notify_event(ticket, event)
    return event


# Columns a batch step reads back from the tickets it changed (``record_events_on``).
_CHANGED_COLUMNS = ("id", "number", "title", "status", "event_seq", "version", "category_id",
                    "current_level", "assigned_user_id", "assigned_department_id",
                    "community_id", "street_id", "handle_deadline")


def record_events_on(seen: Sequence[tuple[int, int]], action: Action, *, changes: dict,
                     unless, details: Callable[[sa.Row], dict | None], at: datetime) -> list:
    """The batch form of ``record_event`` for a system step that changes neither status nor
    assignee (the deadline sweep's warning and overdue marks): on each ticket of ``seen``
    ((id, version) as the caller read it) still at that version and not ``unless``, apply
    ``changes`` and append one system event (the same row ``append_event`` writes: next seq,
    version + 1; no activity, ``moves_activity``), mark it for the statistics and write its
    notifications —
    a few statements for the whole batch. Returns the changed tickets' rows (``_CHANGED_COLUMNS``)
    with their new event's id as ``event_id``; a ticket changed meanwhile is left alone."""
    if not seen:
        return []
    db.session.flush()  # the UPDATE below goes behind the unit of work
    table = Ticket.__table__
    changed = db.session.execute(
        table.update()
        .where(sa.tuple_(table.c.id, table.c.version).in_(list(seen)), sa.not_(unless))
        .values(event_seq=table.c.event_seq + 1, version=table.c.version + 1, **changes)
        .returning(*(table.c[name] for name in _CHANGED_COLUMNS))).all()
    return _events_on(changed, action, at=at, before=lambda row: row, note=lambda row: None,
                      details=details)


@dataclass(frozen=True)
class Step:
    """One system step decided on a ticket as it was read, for ``record_steps``: the batch form
    of ``append_event``'s arguments (``to_user_id``/``to_department_id`` are ids). ``was`` is
    the ticket as the step was decided on (``Step.on``): its id, version, status and assignee."""

    was: SimpleNamespace
    to_status: TicketStatus
    to_user_id: int | None
    to_department_id: int | None
    changes: dict  # its other columns the step sets (the same names in every step of a batch)
    note: str | None = None
    details: dict | None = None

    @property
    def moves_activity(self) -> bool:
        """``moves_activity`` of the system event this step appends."""
        return moves_activity(SimpleNamespace(
            actor_kind=ActorKind.SYSTEM, from_status=self.was.status, to_status=self.to_status,
            from_user_id=self.was.assigned_user_id, to_user_id=self.to_user_id,
            from_department_id=self.was.assigned_department_id,
            to_department_id=self.to_department_id))

    @classmethod
    def on(cls, ticket, *args, **kwargs) -> "Step":
        """The step on ``ticket`` as it is now (what the version guard and the event start from)."""
        was = SimpleNamespace(id=ticket.id, version=ticket.version, status=ticket.status,
                              assigned_user_id=ticket.assigned_user_id,
                              assigned_department_id=ticket.assigned_department_id)
        return cls(was, *args, **kwargs)


def record_steps(steps: Sequence[Step], action: Action, *, at: datetime) -> list:
    """The batch form of ``record_event`` for a system step that may change status, assignee
    and other columns, each ticket its own (the deadline sweep's escalations): one UPDATE … FROM
    the steps' values, guarded by the version each ticket was read at (a ticket changed
    meanwhile is left alone), then as ``record_events_on``: one INSERT of the events, one of
    their statistics marks, one of their notifications. Returns the changed tickets' rows
    (``_CHANGED_COLUMNS``, as changed) with their new event's id as ``event_id``."""
    if not steps:
        return []
    names = sorted(steps[0].changes)
    if any(sorted(step.changes) != names for step in steps):
        raise ValueError("every step of a batch sets the same columns")
    db.session.flush()  # the UPDATE below goes behind the unit of work
    by_id = {step.was.id: step for step in steps}
    table = Ticket.__table__
    set_here = ["status", "assigned_user_id", "assigned_department_id", *names]
    activity = sa.column("activity", table.c.last_activity_at.type)  # at, or None: unmoved
    values, params = rows_source(
        "step", [table.c.id, table.c.version, activity, *(table.c[name] for name in set_here)],
        [(step.was.id, step.was.version, at if step.moves_activity else None, step.to_status,
          step.to_user_id, step.to_department_id, *(step.changes[name] for name in names))
         for step in steps])
    changed = db.session.execute(
        table.update()
        .where(table.c.id == values.c.id, table.c.version == values.c.version)
        .values(event_seq=table.c.event_seq + 1, version=table.c.version + 1,
                last_activity_at=sa.func.coalesce(values.c.activity, table.c.last_activity_at),
                **{name: values.c[name] for name in set_here})
        .returning(*(table.c[name] for name in _CHANGED_COLUMNS)), params).all()
    return _events_on(changed, action, at=at, before=lambda row: by_id[row.id].was,
                      note=lambda row: by_id[row.id].note,
                      details=lambda row: by_id[row.id].details)


def _events_on(changed: list, action: Action, *, at: datetime, before: Callable, note: Callable,
               details: Callable) -> list:
    """The events of a batch step on the tickets it changed (rows as changed; ``before(row)``
    the ticket as it was, with ``status``, the assignee and ``event_seq`` — as ``append_event``
    reads them), their statistics marks and their notifications."""
    from models.notify.notices import notify_system_events

    if not changed:
        return []
    changed.sort(key=lambda row: row.id)
    for row in changed:  # a copy in the session is read again when next used
        loaded = db.session.identity_map.get(sa.inspect(Ticket).identity_key_from_primary_key(
            (row.id,)))
        if loaded is not None:
            db.session.expire(loaded)
    events = []
    for row in changed:
        was = before(row)
        events.append({"ticket_id": row.id, "seq": row.event_seq, "action": Action(action).value,
                       "actor_kind": ActorKind.SYSTEM, "actor_user_id": None,
                       "from_status": was.status if row.event_seq > 1 else None,
                       "to_status": row.status, "from_user_id": was.assigned_user_id,
                       "to_user_id": row.assigned_user_id,
                       "from_department_id": was.assigned_department_id,
                       "to_department_id": row.assigned_department_id, "note": note(row),
                       "details": details(row), "created_at": at})
    ids = dict((ticket_id, event_id) for event_id, ticket_id in insert_rows(
        TicketEvent.__table__, events, returning=("id", "ticket_id")))
    insert_rows(StatsPending.__table__, [{"ticket_id": row.id} for row in changed])
    rows = [_with_event(row, ids[row.id]) for row in changed]
    notify_system_events(rows, events)
    return rows


def _with_event(row: sa.Row, event_id: int) -> SimpleNamespace:
    return SimpleNamespace(**row._mapping, event_id=event_id)


@dataclass(frozen=True)
class ReplayedState:
    status: TicketStatus | None
    assigned_user_id: int | None
    assigned_department_id: int | None
    events: int


def replay(events: Iterable[TicketEvent]) -> ReplayedState:
    """Fold a timeline (in sequence order) into the state it describes."""
    status = user_id = department_id = None
    count = 0
    for event in events:
        count += 1
        if event.seq != count:
            raise ValueError(f"timeline gap: event {event.seq} where {count} was expected")
        if event.from_status is not None and event.from_status != status:
            raise ValueError(f"event {event.seq} starts from {event.from_status}, not {status}")
        status = event.to_status
        user_id, department_id = event.to_user_id, event.to_department_id
    return ReplayedState(status, user_id, department_id, count)


def replays_to_ticket(ticket: Ticket, events: list[TicketEvent]) -> bool:
    state = replay(events)
    return (state.status, state.assigned_user_id, state.assigned_department_id, state.events) == (
        ticket.status, ticket.assigned_user_id, ticket.assigned_department_id, ticket.event_seq)

