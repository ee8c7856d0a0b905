"""What happens when time runs out: the tickets due for each timed step, and the step itself.

The scheduler's sweeps (jobs/sweeps.py) loop over these queries and call these operations, one
ticket at a time, or a page of tickets at a time for the deadline sweep's warning and overdue
mark with its escalations (their batch forms); every effect is a "system" timeline event with its
notifications, the same rows users' actions write (``record_event``, or its batch forms
``record_events_on`` and ``record_steps``).
Each query leaves out the tickets its step has already handled, so a second run right after the
first changes nothing.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from models.areas.hierarchy import Area
from models.base import db
from models.categories import Category
from models.errors import WorkflowError
from models.notify.notices import group_channels_read_once
from models.people.department import Department
from models.reference_cache import area_lineage, cached
from models.settings import setting
from models.tickets.actions import RULES, Action, Actor
from models.tickets.deadlines import (YELLOW, deadline_state, handling_warning_due,
                                      overdue_condition)
from models.tickets.records import TicketChangedError
from models.tickets.tables import Ticket, TicketEvent
from models.tickets.timeline import Step, record_events_on, record_steps
from models.tickets.workflow import escalation, perform
from models.vocabulary import AreaLevel, TicketStatus

OVERDUE_NOTE = "超期未办结，自动上报"
UNACCEPTED_NOTE = "超时未受理，自动上报"
LAPSED_NOTE = "延期申请未在时限内审批，自动失效"
RESUMED_NOTE = "挂起超过期限，自动恢复"


# --- the tickets due for each step (SELECTs of Ticket; the sweep pages through them by id) -----

def due_for_warning(now: datetime) -> sa.Select:
    """Being handled, most of the handling time used, not warned yet. The condition is asked of
    an inner SELECT of ids alone, which PostgreSQL answers from ``ix_tickets_handled_unwarned``
    without reading the rows of the tickets not due (migration 0040)."""
    due = sa.select(Ticket.id).where(handling_warning_due(now), Ticket.warned_at.is_(None))
    return sa.select(Ticket).where(Ticket.id.in_(due.correlate(None)))


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
#
# The warning and the overdue mark have a batch form, for a page of tickets as the queries above
# read them ((id, version) pairs: a ticket changed since is left for the next run), which the
# one-ticket forms use too: the same UPDATE, events and outbox rows, a few statements a page.

def seen(ticket: Ticket) -> tuple[int, int]:
    """A ticket as its step's caller read it."""
    return ticket.id, ticket.version


def warn_deadline_near(ticket: Ticket, now: datetime):
    """Tell the handler that most of the time is used (once per ticket)."""
    if ticket.warned_at is not None or deadline_state(ticket, now) != YELLOW:
        return None
    return _one(ticket, warn_deadlines_near([seen(ticket)], now))


def warn_deadlines_near(tickets: list[tuple[int, int]], now: datetime) -> list:
    """The warning for each of ``tickets`` (read by ``due_for_warning``) not warned yet: the
    changed tickets, each with its event's id."""
    return record_events_on(tickets, Action.DEADLINE_WARNING, changes={"warned_at": now},
                            unless=Ticket.warned_at.is_not(None), at=now,
                            details=lambda t: {"deadline": t.handle_deadline.isoformat()})


@dataclass(frozen=True)
class Overdue:
    """What marking a ticket overdue led to."""

    escalated: bool
    refusal: str | None = None  # why the policy's escalation was refused, e.g. no office above
    number: str | None = None  # the ticket's


def mark_overdue(ticket: Ticket, now: datetime) -> Overdue | None:
    """Record once that the ticket is overdue (handler and reviewers hear about it) and escalate
    it one level when the category's policy says so. A refused escalation keeps the mark."""
    if ticket.overdue_at is not None:
        return None
    marked = _one(ticket, _mark_overdue([seen(ticket)], now))
    return _escalate_by_policy(marked, now, ticket)


def mark_all_overdue(tickets: list[tuple[int, int]], now: datetime) -> list[Overdue]:
    """``mark_overdue`` for a page of tickets (read by ``newly_overdue``): one mark per ticket not
    yet marked, then the policy's escalations, each decided by the one escalate rule
    (``workflow.escalation``, what ``perform`` decides) and written for the whole page at once
    (``record_steps``, guarded by the version each was decided on: a ticket changed meanwhile is
    not escalated). A refused escalation keeps its mark and says why; any other failure is
    raised (the caller undoes the page and takes its tickets one by one)."""
    with group_channels_read_once():  # read once for the marks and the escalations
        return _mark_all_overdue(tickets, now)


def _mark_all_overdue(tickets: list[tuple[int, int]], now: datetime) -> list[Overdue]:
    marked = _mark_overdue(tickets, now)
    going_up = [row.id for row in marked
                if row.category_id in escalating_categories() and _can_go_up(row)]
    if not going_up:
        return [Overdue(False, number=row.number) for row in marked]
    with _holding_what_is_read():
        loaded = _read_for_escalation(going_up)
        steps, refusals = [], {}
        for row in marked:
            ticket = loaded.get(row.id)  # as read after its mark: its write is guarded by it
            if ticket is None:
                continue  # not to go up
            try:
                step = escalation(ticket, Actor.system(), now, OVERDUE_NOTE)
            except WorkflowError as exc:  # refused, e.g. no office above: the mark stays
                refusals[row.id] = exc.message
                continue
            steps.append(Step.on(ticket, step.to_status, None, step.department.id, step.changes,
                                 step.note, step.details))
        escalated = {row.id for row in record_steps(steps, Action.ESCALATE, at=now)}
    return [Overdue(row.id in escalated, refusals.get(row.id), number=row.number)
            for row in marked]


@contextmanager
def _holding_what_is_read():
    """Keep every row read meanwhile in the session's identity map (which holds rows only as
    long as something else does), so the next ticket's office, rule or category is found there
    without a query."""
    session, held = db.session(), []

    def hold(_session, instance):
        held.append(instance)

    sa.event.listen(session, "loaded_as_persistent", hold)
    try:
        yield
    finally:
        sa.event.remove(session, "loaded_as_persistent", hold)


def _read_for_escalation(ids: list[int]) -> dict[int, Ticket]:
    """The tickets to escalate with their categories, places and the offices above them, in
    three queries instead of lookups for each ticket (the rest is cached reference data)."""
    if not ids:
        return {}
    tickets = db.session.execute(sa.select(Ticket).where(Ticket.id.in_(ids))
                                 .options(joinedload(Ticket.category))
                                 .execution_options(populate_existing=True)).scalars().all()
    places = {t.grid_id or t.community_id or t.street_id or t.district_id for t in tickets} - {None}
    db.session.execute(sa.select(Area).where(Area.id.in_(places))).scalars().all()
    above = {area.id for place in places for area in area_lineage(place).values()}
    db.session.execute(sa.select(Department).where(Department.area_id.in_(above))).scalars().all()
    return {t.id: t for t in tickets}


def _mark_overdue(tickets: list[tuple[int, int]], now: datetime) -> list:
    return record_events_on(
        tickets, Action.OVERDUE, changes={"overdue_at": now},
        unless=Ticket.overdue_at.is_not(None), at=now,
        details=lambda t: {"deadline": t.handle_deadline.isoformat() if t.handle_deadline
                           else None})


def _escalate_by_policy(marked, now: datetime, ticket: Ticket | None = None) -> Overdue:
    if marked.category_id not in escalating_categories() or not _can_go_up(marked):
        return Overdue(False, number=marked.number)
    ticket = ticket or db.session.get(Ticket, marked.id, populate_existing=True)
    try:
        return Overdue(_escalate(ticket, now, OVERDUE_NOTE) is not None, number=marked.number)
    except WorkflowError as exc:  # refused before changing anything
        return Overdue(False, exc.message, number=marked.number)


def escalating_categories() -> frozenset[int]:
    """The categories whose overdue tickets go one level up (cached reference data)."""
    return cached(("categories",), "escalate_when_overdue", lambda: frozenset(
        db.session.execute(sa.select(Category.id).where(
            Category.escalate_when_overdue.is_(True))).scalars()))


def _one(ticket: Ticket, changed: list):
    """The one-ticket form's result: its changed row (the ticket is read again when used)."""
    if not changed:  # changed by someone else since it was read
        raise TicketChangedError(TicketChangedError.default_message())
    return changed[0]


def escalate_unaccepted(ticket: Ticket, now: datetime) -> TicketEvent | None:
    """Nobody accepted in time: the command centre one level up takes it."""
    return _escalate(ticket, now, UNACCEPTED_NOTE)


def _can_go_up(ticket) -> bool:
    return ticket.current_level != AreaLevel.DISTRICT \
        and ticket.status in RULES[Action.ESCALATE].from_statuses


def _escalate(ticket: Ticket, now: datetime, note: str) -> TicketEvent | None:
    if not _can_go_up(ticket):
        return None
    return perform(ticket, Action.ESCALATE, Actor.system(), expected_version=ticket.version, now=now,
                   note=note)


def lapse_extension_request(ticket: Ticket, now: datetime) -> TicketEvent:
    return perform(ticket, Action.REFUSE_EXTENSION, Actor.system(), expected_version=ticket.version,
                   now=now, note=LAPSED_NOTE)


def end_long_suspension(ticket: Ticket, now: datetime) -> TicketEvent:
    return perform(ticket, Action.RESUME, Actor.system(), expected_version=ticket.version, now=now,
                   note=RESUMED_NOTE)
