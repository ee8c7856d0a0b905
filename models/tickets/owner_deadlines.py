"""A ticket's clock against the responsibility matrix: the deadlines its cell gives, started,
restarted for a new owner, or worked out for a case of the past (one definition of each, for
the workflow, the deadline sweep's batch escalation and the ledger import)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from models.base import db
from models.errors import ActionInvalid
from models.tickets.deadlines import new_deadlines, set_deadlines, ticket_deadlines
from models.tickets.dispatch import ticket_owner
from models.tickets.tables import Ticket


def start_handling_clock(ticket: Ticket, start: datetime) -> None:
    """Give a ticket already being handled the handling deadline the matrix gives it, counted
    from ``start`` (an open case imported from an old ledger starts at its import)."""
    set_deadlines(ticket, ticket_owner(ticket)[0].rule, start, accept=False)


def past_handling_deadline(ticket: Ticket, start: datetime) -> datetime:
    """The handling deadline the matrix would have given a case reported at ``start`` (a closed
    case from an old ledger: whether it closed in time), without setting it on the ticket."""
    return ticket_deadlines(ticket.category, ticket_owner(ticket)[0].rule, ticket.priority,
                            start)[1]


def restart_clock(ticket: Ticket, now: datetime, *, accept: bool = True) -> None:
    """A new owner or a reopened case: new deadlines from now (the cell's rule, the priority)."""
    for name, value in new_clock(ticket, now, accept=accept).items():
        setattr(ticket, name, value)


def new_clock(ticket: Ticket, now: datetime, *, accept: bool = True) -> dict:
    """What ``restart_clock`` sets on the ticket (column → value), without setting it. The
    cell's rule is the matrix's cached row (its deadline override is all the clock reads)."""
    with db.session.no_autoflush:  # a cold cache's query must not write the ticket a first time
        return new_deadlines(ticket, ticket_owner(ticket, attached=False)[0].rule, now,
                             accept=accept)


def parse_new_deadline(value) -> datetime:
    """A deadline asked for (an extension's new date and time), in local time when none given."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ActionInvalid(_("Give the new deadline as a date and time.")) from None
    from models.clock import DateOutOfRange, local_zone, within_range

    try:
        within_range(parsed.date())
    except DateOutOfRange as exc:
        raise ActionInvalid(str(exc)) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_zone())
    return parsed
