"""The ticket timeline: the only way a ticket's state or assignee changes is by appending an event."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Callable, Iterable, Sequence

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from models.base import db, utcnow
from models.bulk import insert_rows, rows_source
from models.fields import check_text
from models.people.department import Department
from models.people.user import User
from models.stats.rollups import mark_changed
from models.stats.tables import StatsPending
from models.tickets.actions import Action
from models.tickets.reported import LAST_WRITE, RESERVED_EVENT_IDS, UNWRITTEN, UNWRITTEN_NOTICES
from models.tickets.tables import Ticket, TicketEvent
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

