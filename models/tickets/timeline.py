"""The ticket timeline: the only way a ticket's state or assignee changes is by appending an event."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from models.base import db, utcnow
from models.people.department import Department
from models.people.user import User
from models.stats.rollups import mark_changed
from models.tickets.actions import Action
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
    ticket.last_activity_at = at
    event.ticket = ticket  # after the ticket's own changes: the event joins the session with it
    db.session.add(event)
    mark_changed(ticket)  # the statistics fold it again (same transaction as the event)
    return event


def record_event(ticket: Ticket, action: str, **kwargs) -> TicketEvent:
    """Append an event (as ``append_event``) and write the notifications it calls for, in the
    same transaction: the outbox rows commit, or roll back, with the event."""
    from models.notify.notices import notify_event

    event = append_event(ticket, action, **kwargs)
    db.session.flush()
    notify_event(ticket, event)
    return event


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

