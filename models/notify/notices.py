"""Writing to the notification outbox, in the same transaction as the event that causes it.

The one writer of outbox rows. Delivery (SMS gateway webhook, e-mail, WeCom, DingTalk, in-app)
is the scheduler's job; here only the rows are written, one per cause, channel and recipient:
``dedupe_key`` is the one format of that identity, so a second write of the same message is a
no-op (and the key is the idempotency key the receiver sees).
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from types import SimpleNamespace

import sqlalchemy as sa

from models.base import db, utcnow
from models.bulk import insert_rows
from models.notify.outbox import Notification
from models.reference_cache import cached, frozen, user_rows
from models.tickets.actions import Action
from models.tickets.supervision import reminder_cause
from models.tickets.tables import Ticket, TicketEvent
from models.vocabulary import Channel, NotificationState, TicketStatus

KEY_LENGTH = 160  # Notification.dedupe_key


def dedupe_key(cause: str, channel: Channel, recipient: str) -> str:
    """``<cause>:<channel>:<recipient>``, e.g. ``event:12:ticket:3:webhook:to:139…`` or
    ``calendar:2027:in_app:user:5``; a long address is shortened to its hash."""
    key = f"{cause}:{Channel(channel).value}:{recipient}"
    if len(key) > KEY_LENGTH:
        digest = hashlib.sha256(recipient.encode("utf-8")).hexdigest()[:32]
        key = f"{cause}:{Channel(channel).value}:sha256:{digest}"[:KEY_LENGTH]
    return key


def event_cause(event: TicketEvent, ticket: Ticket) -> str:
    """An event, and the ticket it is told about (a master's closing is told on each duplicate)."""
    return f"event:{event.id}:ticket:{ticket.id}"


def recipient_of(user_id: int | None = None, address: str | None = None) -> str:
    return f"user:{user_id}" if user_id is not None else f"to:{address}"


def notice_row(*, cause: str, channel: Channel, template: str, payload: dict,
               user_id: int | None = None, address: str | None = None,
               ticket: Ticket | None = None, event: TicketEvent | None = None) -> dict:
    """One outbox row, as the values ``write_notices`` inserts (not written yet)."""
    return {"ticket_id": ticket.id if ticket else None, "event_id": event.id if event else None,
            "recipient_user_id": user_id, "recipient_address": address,
            "channel": Channel(channel), "template": template,
            "state": NotificationState.PENDING, "attempts": 0,
            "dedupe_key": dedupe_key(cause, channel, recipient_of(user_id, address)),
            "payload": payload, "created_at": utcnow()}


def write_notices(rows: list[dict], *, ids: bool = True) -> list[int]:
    """Write outbox rows in one statement (``bulk.insert_rows``: a sweep's thousands of messages
    too); a row whose message (cause, channel, recipient) exists already is skipped by the
    database (``ON CONFLICT (dedupe_key) DO NOTHING``), also against a concurrent transaction
    writing the same message. Returns the ids written (with ``ids=False``, nothing)."""
    if db.session.autoflush:  # rows may name a ticket the session has yet to write
        db.session.flush()
    written = insert_rows(Notification.__table__, distinct_notices(rows),
                          returning=("id",) if ids else (), skip_conflicts_on="dedupe_key")
    return sorted(row.id for row in written)


def distinct_notices(rows: list[dict]) -> list[dict]:
    """Each message (``dedupe_key``) once, the first row of it."""
    seen: set[str] = set()
    return [r for r in rows if not (r["dedupe_key"] in seen or seen.add(r["dedupe_key"]))]


def write_notice(**row) -> int | None:
    """Write one outbox row (``notice_row``'s arguments) unless the same message exists; its id."""
    written = write_notices([notice_row(**row)])
    return written[0] if written else None


def queue_reporter_notice(ticket: Ticket, event: TicketEvent, template: str,
                          payload: dict | None = None, *,
                          contacts: list | None = None) -> list[int]:
    """Tell each reporter of a ticket (the first and those who joined it; or only ``contacts``)
    what happened: SMS through the webhook gateway and/or e-mail, and where they left neither,
    on their tracking page (an in-app row addressed to it) — the page shows them all."""
    return write_notices(reporter_notice_rows(ticket, event, template, payload,
                                              contacts=contacts))


def reporter_notice_rows(ticket: Ticket, event: TicketEvent, template: str,
                         payload: dict | None = None, *, contacts: list | None = None) -> list[dict]:
    """The rows ``queue_reporter_notice`` writes."""
    from models.tickets.reporters import reporter_contacts

    rows = []
    for contact in contacts if contacts is not None else reporter_contacts(ticket):
        targets = [(Channel.WEBHOOK, contact.phone), (Channel.EMAIL, contact.email)]
        if not (contact.phone or contact.email):
            targets = [(Channel.IN_APP, contact.page_address)]
        for channel, address in targets:
            if not address:
                continue
            rows.append(notice_row(
                cause=event_cause(event, ticket), channel=channel, template=template,
                address=address, ticket=ticket, event=event,
                payload={"number": ticket.number, "tracking_code": contact.tracking_code,
                         "reporter_name": contact.name or "", **(payload or {})}))
    return rows


def reporter_notices(ticket: Ticket, addresses: list[str]) -> list[Notification]:
    """The notices written to these addresses of one reporter about this ticket (and about the
    case it was merged into, which are written on this ticket too), oldest first."""
    return list(db.session.execute(sa.select(Notification).where(
        Notification.ticket_id == ticket.id, Notification.recipient_user_id.is_(None),
        Notification.recipient_address.in_(addresses)).order_by(Notification.id)).scalars())


def tell_administrators(cause: str, template: str, payload: dict) -> list[int]:
    """An in-app message about the system (not a ticket) to every active administrator, once."""
    from models.people.roles import CONFIGURING_ROLES
    from models.people.user import User

    admins = db.session.execute(sa.select(User.id).where(
        User.role.in_(CONFIGURING_ROLES), User.active.is_(True)).order_by(User.id)).scalars().all()
    return write_notices([notice_row(cause=cause, channel=Channel.IN_APP, template=template,
                                     payload=payload, user_id=admin_id) for admin_id in admins])


def tell_merged_reporters(master: Ticket, event: TicketEvent) -> int:
    """When a case closes, the reporters of the tickets merged into it hear about it too."""
    duplicates = db.session.execute(
        sa.select(Ticket).where(Ticket.duplicate_of_id == master.id)).scalars().all()
    return len(write_notices([row for duplicate in duplicates for row in reporter_notice_rows(
        duplicate, event, "master_closed", {"master_number": master.number})]))


def tell_if_merged_into_closed(duplicate: Ticket, event: TicketEvent) -> list[int]:
    """A ticket merged into a case that is already closed: its reporter hears now what the
    reporters merged earlier heard when the case closed."""
    return write_notices(merged_into_closed_rows(duplicate, event))


def merged_into_closed_rows(duplicate: Ticket, event: TicketEvent) -> list[dict]:
    master = db.session.get(Ticket, (event.details or {}).get("master_id"))
    if master is None or master.status != TicketStatus.CLOSED:
        return []
    return reporter_notice_rows(duplicate, event, "master_closed",
                                {"master_number": master.number})


# Who hears about which event. In-app messages go to people; the reporter hears through the
# SMS gateway (webhook) or e-mail; the command centre's group robots hear about escalations
# and overdue tickets when those channels are switched on.
ASSIGNEE_EVENTS = {Action.DISPATCH, Action.ASSIGN, Action.TRANSFER, Action.ESCALATE,
                   Action.RETURN, Action.REJECT, Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION,
                   Action.REOPEN, Action.DEADLINE_WARNING, Action.OVERDUE}
REPORTER_EVENTS = {Action.ACCEPT: "reporter_accepted", Action.APPROVE: "reporter_closed",
                   Action.REOPEN: "reporter_reopened", Action.INVALIDATE: "reporter_invalidated"}
REVIEWER_EVENTS = {Action.SUBMIT, Action.REQUEST_EXTENSION, Action.OVERDUE}
GROUP_EVENTS = {Action.ESCALATE, Action.OVERDUE}
# Co-handling (主办/协办): the co-handling department hears that it was called in and when a
# manager closes its task; the lead hears when a department submits or returns its part.
TASK_DEPARTMENT_EVENTS = {Action.CO_HANDLE, Action.TASK_CLOSE}
TASK_LEAD_EVENTS = {Action.TASK_SUBMIT, Action.TASK_RETURN}
# Supervision (督办): the handler and their department hear of it being set, changed or lifted
# and of the expected date passing; the supervisor hears the reply and the date passing.
HANDLER_EVENTS = {Action.SUPERVISE, Action.LIFT_SUPERVISION, Action.SUPERVISION_DUE}
SUPERVISOR_EVENTS = {Action.SUPERVISION_REPLY, Action.SUPERVISION_DUE}


def notify_event(ticket: Ticket, event: TicketEvent) -> list[int]:
    """Write the outbox rows an event calls for, in the event's own transaction (one INSERT);
    the ids written."""
    return write_notices(event_notice_rows(ticket, event))


def event_notice_rows(ticket: Ticket, event: TicketEvent) -> list[dict]:
    """The outbox rows an event calls for (who hears about it, on which channel)."""
    kind = event.action
    rows = [notice_row(**notice) for notice in people_notices(ticket, event)]
    if kind in REPORTER_EVENTS:
        rows += reporter_notice_rows(ticket, event, REPORTER_EVENTS[kind])
    if kind == Action.MERGE:
        rows += merged_into_closed_rows(ticket, event)
    if kind in GROUP_EVENTS:
        rows += [notice_row(**notice)
                 for notice in group_notices(ticket, event, enabled_group_channels())]
    return rows


def notify_system_events(tickets: list, events: list[dict]) -> None:
    """The batch form of ``notify_event`` for system events that tell people and groups only
    (no reporter, no merge: the deadline sweep's marks); ``tickets`` are plain rows with the
    columns the messages need and their new event's id as ``event_id``, ``events`` the events'
    values in the same order."""
    channels = None
    notices = []
    for ticket, values in zip(tickets, events):
        event = SimpleNamespace(id=ticket.event_id, action=values["action"], note=values["note"],
                                details=values["details"], actor_user_id=values["actor_user_id"])
        if event.action in REPORTER_EVENTS or event.action == Action.MERGE:
            raise ValueError(f"{event.action} tells reporters: use notify_event")
        notices += [notice_row(**notice) for notice in people_notices(ticket, event)]
        if event.action in GROUP_EVENTS:
            channels = enabled_group_channels() if channels is None else channels
            notices += [notice_row(**notice) for notice in group_notices(ticket, event, channels)]
    write_notices(notices, ids=False)


def people_notices(ticket, event) -> list[dict]:
    """The in-app messages of an event to the people it concerns (``event_recipients``)."""
    kind = event.action
    # A reminder is one per supervision and expected date, whichever event carries it.
    cause = reminder_cause(event.details or {}) if kind == Action.SUPERVISION_DUE else None
    return [_outbox(ticket, event, Channel.IN_APP, kind, user_id=user_id, cause=cause)
            for user_id in event_recipients(ticket, event)]


def group_notices(ticket, event, channels: list[Channel]) -> list[dict]:
    """The command centre's group robots' messages about an event (switched-on channels)."""
    return [_outbox(ticket, event, channel, event.action, address=channel.value)
            for channel in channels]


def event_recipients(ticket, event) -> list[int]:
    """The active people who hear about an event in-app, each once, never its actor (ids, in
    the order of the rules above)."""
    kind, details = event.action, event.details or {}
    people: list[int] = []
    if kind in ASSIGNEE_EVENTS:
        people += assignee_people(ticket)
    if kind in REVIEWER_EVENTS:
        people += reviewers(ticket)
    if kind in TASK_DEPARTMENT_EVENTS:
        people += department_members(details.get("department_id"))
    if kind in TASK_LEAD_EVENTS:
        people += assignee_people(ticket)
    if kind in HANDLER_EVENTS:
        people += handler_and_department(ticket)
    if kind in SUPERVISOR_EVENTS:
        people += _if_active(details.get("supervisor_id"))
    return [person for person in dict.fromkeys(people) if person != event.actor_user_id]


def _if_active(user_id: int | None) -> list[int]:
    user = user_rows().get(user_id) if user_id else None
    return [user.id] if user is not None and user.active else []


def assignee_people(ticket) -> list[int]:
    if ticket.assigned_user_id is not None:
        return _if_active(ticket.assigned_user_id)
    return department_members(ticket.assigned_department_id)


MAX_PEOPLE = 50  # a department's or an area's reviewers told of one event, lowest ids first


def department_members(department_id: int | None) -> list[int]:
    """The active people of a department (at most 50), e.g. a department's queue."""
    if department_id is None:
        return []
    return list(_people_index()[0].get(department_id, ())[:MAX_PEOPLE])


def handler_and_department(ticket) -> list[int]:
    """The assignee and the active members of the assigned department."""
    return _if_active(ticket.assigned_user_id) + department_members(ticket.assigned_department_id)


def reviewers(ticket) -> list[int]:
    """Community staff of the ticket's community and the street command centre."""
    by_area = _people_index()[1]
    found = [person for area in (ticket.community_id, ticket.street_id) if area is not None
             for person in by_area.get(area, ())]
    return sorted(found)[:MAX_PEOPLE]


def _people_index():
    """(active people by department, active reviewers by scope area), ids in order, from the
    cached user rows."""
    return cached(("users",), "people_to_notify", _load_people_index)


def _load_people_index():
    from models.people.roles import REVIEWER_ROLES

    by_department: dict[int, list[int]] = {}
    by_area: dict[int, list[int]] = {}
    for user in sorted(user_rows().values(), key=lambda row: row.id):
        if not user.active:
            continue
        if user.department_id is not None:
            by_department.setdefault(user.department_id, []).append(user.id)
        if user.scope_area_id is not None and user.role in REVIEWER_ROLES:
            by_area.setdefault(user.scope_area_id, []).append(user.id)
    return (frozen({k: tuple(v) for k, v in by_department.items()}),
            frozen({k: tuple(v) for k, v in by_area.items()}))


def enabled_group_channels() -> list[Channel]:
    from models.notify.outbox import ChannelSetting

    known = db.session.info.get(_GROUP_CHANNELS)
    if known is not None:
        return list(known)
    rows = db.session.execute(sa.select(ChannelSetting.channel).where(
        ChannelSetting.enabled.is_(True),
        ChannelSetting.channel.in_([Channel.WECOM, Channel.DINGTALK]))).scalars().all()
    return list(rows)


_GROUP_CHANNELS = "group_channels"


@contextmanager
def group_channels_read_once():
    """While a batch of events is told (a page of the sweep: one short stretch of one
    transaction), the group channels switched on are read once, not once per event."""
    db.session.info[_GROUP_CHANNELS] = tuple(enabled_group_channels())
    try:
        yield
    finally:
        db.session.info.pop(_GROUP_CHANNELS, None)


def _outbox(ticket, event, channel: Channel, template: str, *, user_id: int | None = None,
            address: str | None = None, cause: str | None = None) -> dict:
    """One message of an event: ``write_notice``'s (and ``notice_row``'s) arguments."""
    payload = {"number": ticket.number, "title": ticket.title,
               "status": ticket.status.value, "action": event.action, "note": event.note}
    payload.update(_task_payload(event))
    payload.update(supervision_payload(event))
    return dict(cause=cause or event_cause(event, ticket), channel=channel, template=template,
                user_id=user_id, address=address, ticket=ticket, event=event, payload=payload)


def _task_payload(event: TicketEvent) -> dict:
    """A co-handling event's department and task deadline, for its message."""
    from datetime import datetime

    from models.clock import format_local

    details = event.details or {}
    if not details.get("task_id"):
        return {}
    deadline = details.get("deadline")
    return {"task_department": details.get("department") or "",
            "task_deadline": format_local(datetime.fromisoformat(deadline)) if deadline else ""}


def supervision_payload(event: TicketEvent) -> dict:
    """A supervision event's level and expected date, for the message texts."""
    details = event.details or {}
    if event.action not in HANDLER_EVENTS | SUPERVISOR_EVENTS:
        return {}
    return {"supervision_level": details.get("level") or "",
            "expected_by": details.get("expected_by") or ""}
