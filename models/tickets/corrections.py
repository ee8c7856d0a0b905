"""Staff corrections of a ticket's fields, and what a corrected category or priority sets off.

- A category change of a ticket not yet accepted (pending) runs dispatch again: the matrix
  picks the owner for the new category, and the deadlines follow (counted from the report, as if
  the ticket had been entered right).
- A category change after acceptance keeps the owner; the timeline note says so.
- A priority change of an open ticket recomputes its deadlines through the one deadline function
  (models.tickets.deadlines.set_deadlines), from where its clock started; an acceptance deadline
  already met is left alone.
Each correction is one "edit" event whose note says before → after in words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _

from models.base import db, utcnow
from models.clock import format_local
from models.people.department import Department
from models.people.user import User
from models.tickets.deadlines import set_deadlines
from models.tickets.dispatch import ticket_owner
from models.tickets.tables import Ticket
from models.tickets.timeline import append_event
from models.vocabulary import Priority, TicketStatus

WORDED = ("category", "priority")  # fields whose before → after the note says in words


@dataclass
class Correction:
    changes: dict = field(default_factory=dict)  # field → [before, after], plain values
    message: str | None = None  # for the person who corrected: what happened to the owner

    def __bool__(self) -> bool:
        return bool(self.changes)


def apply_correction(ticket: Ticket, actor: User, changes: dict, reason: str | None = None,
                     now: datetime | None = None) -> Correction:
    """Set the changed fields, follow a new category or priority through, write one event."""
    now = now or utcnow()
    before = {name: getattr(ticket, name) for name in changes}
    diff = {}
    for name, new in changes.items():
        if before[name] != new:
            diff[name] = [plain(before[name]), plain(new)]
            setattr(ticket, name, new)
    if not diff:
        return Correction()
    lines = [reason] if reason else []
    lines += [_("%(field)s: %(before)s → %(after)s", field=_label(name), before=_words(before[name]),
                after=_words(getattr(ticket, name))) for name in WORDED if name in diff]
    redispatch = "category" in diff and ticket.status == TicketStatus.PENDING
    message = None
    if redispatch:
        lines.append(_("Not yet accepted: dispatched again by the new category."))
    elif "category" in diff:
        message = _("The ticket was already accepted: it stays with %(owner)s.",
                    owner=_owner_name(ticket))
        lines.append(message)
    worded = [name for name in WORDED if name in diff]
    if "priority" in diff and not redispatch and ticket.is_open:
        with db.session.no_autoflush:  # one change of the ticket, one version step
            lines += _recompute_deadlines(ticket, diff, worded, explicit=set(changes))
    details = {"changes": diff, **({"worded": worded} if worded else {})}
    append_event(ticket, "edit", actor=actor, note="\n".join(lines) or None, at=now,
                 details=details)
    if redispatch:
        from models.tickets.workflow import dispatch

        db.session.flush()
        dispatch(ticket, now)
        message = _("Dispatched again by the new category: now with %(owner)s.",
                    owner=_owner_name(ticket))
        if "handle_deadline" in changes:  # a deadline given with the correction wins
            ticket.handle_deadline = changes["handle_deadline"]
    return Correction(diff, message)


def _recompute_deadlines(ticket: Ticket, diff: dict, worded: list[str],
                         explicit: set[str]) -> list[str]:
    """New deadlines for the new priority, counted from where the clock started."""
    pending = ticket.status == TicketStatus.PENDING or (
        ticket.status == TicketStatus.SUSPENDED and ticket.resume_status == TicketStatus.PENDING)
    old = {"accept_deadline": ticket.accept_deadline, "handle_deadline": ticket.handle_deadline}
    set_deadlines(ticket, ticket_owner(ticket)[0].rule, accept=pending)
    lines = []
    for name, was in old.items():
        if name in explicit:  # a deadline given with the correction wins
            setattr(ticket, name, was)
            continue
        now_value = getattr(ticket, name)
        if now_value != was:
            diff[name] = [plain(was), plain(now_value)]
            worded.append(name)
            lines.append(_("%(field)s: %(before)s → %(after)s", field=_label(name),
                           before=format_local(was) or "—", after=format_local(now_value)))
    return lines


def _owner_name(ticket: Ticket) -> str:
    department = db.session.get(Department, ticket.assigned_department_id) \
        if ticket.assigned_department_id else None
    user = db.session.get(User, ticket.assigned_user_id) if ticket.assigned_user_id else None
    names = [x for x in (department.name if department else None,
                         user.display_name if user else None) if x]
    return " · ".join(names) or "—"


def _label(name: str) -> str:
    return {"category": _("Category"), "priority": _("Priority"),
            "accept_deadline": _("Acceptance deadline"),
            "handle_deadline": _("Handling deadline")}[name]


def _words(value) -> str:
    if isinstance(value, Priority):
        return value.label
    return str(value) if value is not None else "—"


def plain(value):
    """A field value as stored in the event's details."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "code") and hasattr(value, "name"):
        return str(value)
    return value.value if hasattr(value, "value") else value
