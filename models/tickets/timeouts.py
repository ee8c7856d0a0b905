"""What happens when time runs out: the tickets due for each timed step, and the step itself.

The scheduler's sweeps (jobs/sweeps.py) loop over these queries and call these operations, one
ticket at a time; every effect is a "system" timeline event with its notifications, written by
the same functions users' actions go through. Each query leaves out the tickets its step has
already handled, so a second run right after the first changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from models.errors import WorkflowError
from models.settings import setting
from models.tickets.actions import RULES, Action, Actor
from models.tickets.deadlines import (YELLOW, deadline_state, handling_warning_due,
                                      overdue_condition)
from models.tickets.tables import Ticket, TicketEvent
from models.tickets.timeline import record_event
from models.tickets.workflow import perform
from models.vocabulary import AreaLevel, TicketStatus

OVERDUE_NOTE = "超期未办结，自动上报"
UNACCEPTED_NOTE = "超时未受理，自动上报"
LAPSED_NOTE = "延期申请未在时限内审批，自动失效"
RESUMED_NOTE = "挂起超过期限，自动恢复"


# --- the tickets due for each step (SELECTs of Ticket; the sweep pages through them by id) -----

def due_for_warning(now: datetime) -> sa.Select:
    """Being handled, most of the handling time used, not warned yet."""
    return sa.select(Ticket).where(handling_warning_due(now), Ticket.warned_at.is_(None))


def newly_overdue(now: datetime) -> sa.Select:
    """Being handled, overdue (the one definition in deadlines) and not yet marked so. A ticket
    waiting for review is its reviewers' to move; a pending one is not_accepted_in_time's."""
    return sa.select(Ticket).where(overdue_condition(now),
                                   Ticket.status == TicketStatus.IN_PROGRESS,
                                   Ticket.overdue_at.is_(None))


def not_accepted_in_time(now: datetime) -> sa.Select:
    """Pending and overdue (past the acceptance deadline), with a level above it to go to."""
    return sa.select(Ticket).where(overdue_condition(now), Ticket.status == TicketStatus.PENDING,
                                   Ticket.current_level != AreaLevel.DISTRICT)


def lapsed_extension_requests(now: datetime) -> sa.Select:
    """Extension requests nobody decided before the deadline they wanted to move."""
    return sa.select(Ticket).where(Ticket.status == TicketStatus.IN_PROGRESS,
                                   Ticket.extension_requested_until.is_not(None),
                                   overdue_condition(now))


def suspension_limit() -> timedelta:
    return timedelta(days=setting("SUSPENSION_MAX_DAYS", 30))


def suspended_too_long(now: datetime) -> sa.Select:
    return sa.select(Ticket).where(Ticket.status == TicketStatus.SUSPENDED,
                                   Ticket.suspended_at <= now - suspension_limit())


# --- the steps -------------------------------------------------------------------------------

def warn_deadline_near(ticket: Ticket, now: datetime) -> TicketEvent | None:
    """Tell the handler that most of the time is used (once per ticket)."""
    if ticket.warned_at is not None or deadline_state(ticket, now) != YELLOW:
        return None
    ticket.warned_at = now
    return record_event(ticket, Action.DEADLINE_WARNING, at=now,
                        details={"deadline": ticket.handle_deadline.isoformat()})


@dataclass(frozen=True)
class Overdue:
    """What marking a ticket overdue led to."""

    escalated: bool
    refusal: str | None = None  # why the policy's escalation was refused, e.g. no office above


def mark_overdue(ticket: Ticket, now: datetime) -> Overdue | None:
    """Record once that the ticket is overdue (handler and reviewers hear about it) and escalate
    it one level when the category's policy says so. A refused escalation keeps the mark."""
    if ticket.overdue_at is not None:
        return None
    ticket.overdue_at = now
    record_event(ticket, Action.OVERDUE, at=now,
                 details={"deadline": ticket.handle_deadline.isoformat()
                          if ticket.handle_deadline else None})
    if not ticket.category.escalate_when_overdue:
        return Overdue(False)
    try:
        return Overdue(_escalate(ticket, now, OVERDUE_NOTE) is not None)
    except WorkflowError as exc:  # refused before changing anything
        return Overdue(False, exc.message)


def escalate_unaccepted(ticket: Ticket, now: datetime) -> TicketEvent | None:
    """Nobody accepted in time: the command centre one level up takes it."""
    return _escalate(ticket, now, UNACCEPTED_NOTE)


def _escalate(ticket: Ticket, now: datetime, note: str) -> TicketEvent | None:
    if ticket.current_level == AreaLevel.DISTRICT \
            or ticket.status not in RULES[Action.ESCALATE].from_statuses:
        return None
    return perform(ticket, Action.ESCALATE, Actor.system(), expected_version=ticket.version, now=now,
                   note=note)


def lapse_extension_request(ticket: Ticket, now: datetime) -> TicketEvent:
    return perform(ticket, Action.REFUSE_EXTENSION, Actor.system(), expected_version=ticket.version,
                   now=now, note=LAPSED_NOTE)


def end_long_suspension(ticket: Ticket, now: datetime) -> TicketEvent:
    return perform(ticket, Action.RESUME, Actor.system(), expected_version=ticket.version, now=now,
                   note=RESUMED_NOTE)
