"""Co-handling (主办/协办): departments called onto a ticket beside its lead department.

A manager calls one or more departments onto a case in one action (吹哨报到), at dispatch (the
dispatch rule names them) or later. Each department gets its own task: what is asked of it, its
own deadline (the one deadline function, counted from when it was called), and its own steps —
accept, progress note, submit its part, or return it with the reason — taken by the members of
that department; a manager may close a task with a reason. Every step is one event on the
ticket's timeline (it changes neither the ticket's state nor its lead) and tells whom it
concerns through the outbox. The lead cannot submit the case for review while a task is still
owed (``open_tasks_refusal``, checked by the workflow for every caller).

A member of a co-handling department sees the ticket (models.people.access) but acts only on
its department's task.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from models.base import db, utcnow
from models.errors import ActionForbidden, ActionInvalid
from models.people.access import can_act, can_see_ticket
from models.people.department import Department
from models.people.roles import MANAGER_ROLES
from models.people.user import User
from models.tickets.actions import Action, Actor
from models.tickets.co_tasks import CoHandlingTask
from models.tickets.deadlines import in_time, ticket_deadlines
from models.tickets.dispatch import ticket_owner
from models.tickets.dispatch_rules import DispatchRule
from models.tickets.records import TicketChangedError, check_version
from models.tickets.tables import Ticket, TicketEvent
from models.tickets.timeline import check_note, record_event
from models.vocabulary import ACTIVE_TASK_STATUSES, OPEN_STATUSES, ActorKind, TaskStatus

OPEN, ACCEPTED, SUBMITTED, RETURNED, CLOSED = (TaskStatus.OPEN, TaskStatus.ACCEPTED,
                                               TaskStatus.SUBMITTED, TaskStatus.RETURNED,
                                               TaskStatus.CLOSED)


@dataclass(frozen=True)
class TaskStep:
    """One step on a task: the event it writes, the task states it starts from, who takes it
    ("member": of the task's department; "manager": of the ticket), the state it leads to, and
    whether it needs a note."""

    event: Action
    from_statuses: frozenset
    who: str
    to_status: TaskStatus | None
    note_required: bool


TASK_STEPS: dict[str, TaskStep] = {
    "accept": TaskStep(Action.TASK_ACCEPT, frozenset({OPEN}), "member", ACCEPTED, False),
    "note": TaskStep(Action.TASK_NOTE, frozenset({OPEN, ACCEPTED}), "member", None, True),
    "submit": TaskStep(Action.TASK_SUBMIT, frozenset({ACCEPTED}), "member", SUBMITTED, True),
    "return": TaskStep(Action.TASK_RETURN, frozenset({OPEN, ACCEPTED}), "member", RETURNED, True),
    "close": TaskStep(Action.TASK_CLOSE, frozenset({OPEN, ACCEPTED}), "manager", CLOSED, True),
}
TASK_ACTIONS = tuple(TASK_STEPS)


# --- reading ---------------------------------------------------------------------------------

def ticket_tasks(ticket_id: int) -> list[CoHandlingTask]:
    """A ticket's co-handling tasks, in the order they were given."""
    return list(db.session.execute(
        sa.select(CoHandlingTask).where(CoHandlingTask.ticket_id == ticket_id)
        .order_by(CoHandlingTask.id).options(joinedload(CoHandlingTask.department))).scalars())


def tasks_by_ticket(ticket_ids) -> dict[int, list[CoHandlingTask]]:
    """The tasks of a page of tickets (list, board, API page) in one query."""
    ids = list(ticket_ids)
    found: dict[int, list[CoHandlingTask]] = {i: [] for i in ids}
    if not ids:
        return found
    for task in db.session.execute(
            sa.select(CoHandlingTask).where(CoHandlingTask.ticket_id.in_(ids))
            .order_by(CoHandlingTask.id).options(joinedload(CoHandlingTask.department))).scalars():
        found[task.ticket_id].append(task)
    return found


def active_tasks(ticket_id: int) -> list[CoHandlingTask]:
    return [t for t in ticket_tasks(ticket_id) if t.status in ACTIVE_TASK_STATUSES]


def open_tasks_refusal(ticket: Ticket) -> str | None:
    """Why the lead cannot submit the case yet: a co-handling task is still owed."""
    if ticket.id is None:
        return None
    owed = active_tasks(ticket.id)
    if not owed:
        return None
    return _("Co-handling is not finished: %(departments)s still owe their part. Submit once "
             "every co-handling department has submitted or returned its task, or a manager "
             "has closed it.", departments="、".join(t.department.name for t in owed))


def task_overdue(task: CoHandlingTask, now: datetime) -> bool:
    """Still owed and past its deadline (a step at the deadline itself is in time)."""
    return task.status in ACTIVE_TASK_STATUSES and not in_time(now, task.deadline)


# --- who may act -----------------------------------------------------------------------------

def is_member(user: User | None, task: CoHandlingTask) -> bool:
    return (user is not None and can_act(user) and user.department_id is not None
            and user.department_id == task.department_id)


def is_ticket_manager(user: User | None, ticket: Ticket) -> bool:
    return (user is not None and can_act(user) and user.role in MANAGER_ROLES
            and can_see_ticket(user, ticket))


def allowed_task_actions(actor: Actor, ticket: Ticket, task: CoHandlingTask) -> list[str]:
    """The steps this actor may take on this task now (the buttons to show)."""
    return [name for name in TASK_ACTIONS if _refusal(name, actor, ticket, task) is None]


def _refusal(name: str, actor: Actor, ticket: Ticket, task: CoHandlingTask) -> str | None:
    step = TASK_STEPS[name]
    if ticket.status not in OPEN_STATUSES:
        return _("The ticket is %(status)s; its co-handling tasks can no longer change.",
                 status=ticket.status.label)
    if task.status not in step.from_statuses:
        return _("This co-handling task is %(status)s: %(action)s is not possible.",
                 status=task.status.label, action=step.event.label)
    user = actor.user if actor.kind == ActorKind.USER else None
    allowed = is_member(user, task) if step.who == "member" else is_ticket_manager(user, ticket)
    if not allowed:
        if step.who == "member":
            return _("Only %(department)s acts on this co-handling task.",
                     department=task.department.name)
        return _("Only a manager of this ticket closes a co-handling task.")
    return None


# --- calling departments in ------------------------------------------------------------------

def add_co_handlers(ticket: Ticket, actor: Actor, now: datetime | None = None, *,
                    department_ids=None, note=None, pickable=None, **_ignored) -> TicketEvent:
    """Call departments onto the case (吹哨报到): one task and one event per department.
    ``pickable`` is the departments the actor may pick (None: no limit, the system's dispatch).
    Returns the last event. Raises having changed nothing when any department is refused."""
    now = now or utcnow()
    asked = (note or "").strip()
    if not asked:
        raise ActionInvalid(_("Say what is asked of the co-handling departments."))
    departments = _chosen_departments(ticket, department_ids, pickable)
    event = None
    for department in departments:
        event = _give_task(ticket, department, asked, actor, now)
    return event


def _chosen_departments(ticket: Ticket, department_ids, pickable) -> list[Department]:
    ids = _ids(department_ids)
    if not ids:
        raise ActionInvalid(_("Choose at least one co-handling department."))
    allowed = None if pickable is None else {d.id for d in pickable}
    owed = {t.department_id for t in active_tasks(ticket.id)}
    chosen = []
    for ident in ids:
        department = db.session.get(Department, ident)
        if department is None or (allowed is not None and ident not in allowed):
            raise ActionInvalid(_("Unknown %(what)s.", what=_("department")))
        if not department.active:
            raise ActionInvalid(_("%(department)s is not active.", department=department.name))
        if department.id == ticket.assigned_department_id:
            raise ActionInvalid(_("%(department)s leads this ticket; it cannot also co-handle "
                                  "it.", department=department.name))
        if department.id in owed:
            raise ActionInvalid(_("%(department)s already has an open co-handling task on this "
                                  "ticket.", department=department.name))
        chosen.append(department)
    return chosen


def _ids(values) -> list[int]:
    if values is None or values == "":
        return []
    if isinstance(values, (str, int)):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ActionInvalid(_("department_ids must be a list of department ids."))
    ids = []
    for value in values:
        try:
            ident = int(value)
        except (TypeError, ValueError):
            raise ActionInvalid(_("department_ids must be a list of department ids.")) from None
        if not 0 < ident < 2**31 or isinstance(value, bool):
            raise ActionInvalid(_("Unknown %(what)s.", what=_("department")))
        if ident not in ids:
            ids.append(ident)
    return ids


def task_deadline(ticket: Ticket, start: datetime) -> datetime:
    """A task's deadline: the handling deadline the ticket's category, matrix rule and priority
    give (deadlines.ticket_deadlines), counted from when the department was called in."""
    rule = ticket_owner(ticket)[0].rule
    return ticket_deadlines(ticket.category, rule, ticket.priority, start)[1]


def _give_task(ticket: Ticket, department: Department, asked: str, actor: Actor,
               now: datetime) -> TicketEvent:
    task = CoHandlingTask(ticket_id=ticket.id, department_id=department.id, department=department,
                          note=asked, status=OPEN, deadline=task_deadline(ticket, now),
                          created_by_id=actor.user.id if actor.user else None, created_at=now)
    db.session.add(task)
    db.session.flush()
    return _task_event(ticket, task, Action.CO_HANDLE, actor, now, asked)


def dispatch_co_handlers(ticket: Ticket, rule, now: datetime) -> None:
    """The dispatch rule of the ticket's cell names co-handling departments: call them in
    (inactive ones and the lead itself are passed over; one already owing a task keeps it)."""
    if rule is None or not rule.co_department_ids:
        return
    rule = db.session.get(DispatchRule, rule.id)  # the rule's row, also when given a cached view
    owed = {t.department_id for t in active_tasks(ticket.id)}
    for department in rule.co_departments:
        if (department.active and department.id != ticket.assigned_department_id
                and department.id not in owed):
            asked = rule.note or _("Co-handling named by the responsibility matrix.")
            _give_task(ticket, department, asked, Actor.system(), now)


# --- a task's own steps ----------------------------------------------------------------------

def act_on_task(ticket: Ticket, task: CoHandlingTask, name: str, actor: Actor, *,
                note: str | None = None, expected_version: int | None = None,
                now: datetime | None = None) -> TicketEvent:
    """Take one step on a co-handling task, or raise having changed nothing."""
    now = now or utcnow()
    step = TASK_STEPS.get(name)
    if step is None:
        raise ActionInvalid(_("Unknown action %(action)s.", action=name))
    if task.ticket_id != ticket.id:
        raise ActionInvalid(_("No such co-handling task on this ticket."))
    check_version(ticket, expected_version)
    refusal = _refusal(name, actor, ticket, task)
    if refusal:
        raise ActionForbidden(refusal)
    check_note(note)
    text = (note or "").strip() or None
    if step.note_required and not text:
        raise ActionInvalid(_("Give %(what)s.", what=_NOTE_WHAT[name]()))
    details = {}
    if step.to_status is not None:
        task.status = step.to_status
    if name == "accept":
        task.accepted_at, task.accepted_by_id = now, actor.user.id
        details["in_time"] = in_time(now, task.deadline)
    elif name != "note":
        task.finished_at, task.finished_by_id = now, actor.user.id
        task.outcome = text
        details["in_time"] = in_time(now, task.deadline)
    try:
        return _task_event(ticket, task, step.event, actor, now, text, details)
    except StaleDataError:
        raise TicketChangedError(TicketChangedError.default_message()) from None


def end_open_tasks(ticket: Ticket, now: datetime, reason: str) -> None:
    """The case ends without its co-handling (作废, 合并): the tasks still owed are closed with
    the reason, so no department keeps waiting on a case nobody handles. The ticket's own event
    says why; the tasks' figures (their own events) are not touched."""
    for task in active_tasks(ticket.id) if ticket.id is not None else []:
        task.status, task.finished_at, task.outcome = CLOSED, now, reason


_NOTE_WHAT = {"note": lambda: _("the progress note"), "submit": lambda: _("the result of your part"),
              "return": lambda: _("the reason for returning"),
              "close": lambda: _("the reason for closing the task")}


def _task_event(ticket: Ticket, task: CoHandlingTask, action: Action, actor: Actor,
                now: datetime, note: str | None, details: dict | None = None) -> TicketEvent:
    return record_event(ticket, action, actor=actor.user, actor_kind=actor.kind, at=now,
                        note=note, details={"task_id": task.id,
                                            "department_id": task.department_id,
                                            "department": task.department.name,
                                            "task_status": task.status.value,
                                            "deadline": task.deadline.isoformat()
                                            if task.deadline else None, **(details or {})})


__all__ = ["TASK_ACTIONS", "TASK_STEPS", "act_on_task", "active_tasks", "add_co_handlers",
           "allowed_task_actions", "dispatch_co_handlers", "end_open_tasks",
           "open_tasks_refusal", "task_deadline", "task_overdue", "tasks_by_ticket",
           "ticket_tasks"]
