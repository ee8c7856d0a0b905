"""The closed loop: who may do what from which state, and what each action does to a ticket.

Every action goes through ``perform``: it checks the version the user saw, the state, the actor's
right to act, and the input, before anything changes; then it applies the step and appends exactly
one timeline event. A refused action raises a ``WorkflowError`` and leaves the ticket untouched
(callers roll back the session). Views, the API, mobile pages and the scheduler only call this.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, ClassVar

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from models.areas.hierarchy import Area, lineage
from models.base import db, utcnow
from models.errors import ActionForbidden, ActionInvalid
from models.people.department import Department
from models.people.roles import MANAGER_ROLES, REPORTING_ROLES
from models.settings import setting
from models.tickets.actions import ACTIONS, INV, IP, PR, RULES, Action, Actor, C, P, S
from models.tickets.attachments import check_uploads, save_attachments
from models.tickets.cohandling import (add_co_handlers, dispatch_co_handlers, end_open_tasks,
                                       open_tasks_refusal)
from models.tickets.deadlines import in_time, set_deadlines
from models.tickets.dispatch import command_centre_owner, office_at, ticket_owner, ticket_place
from models.tickets.owner_deadlines import new_clock, parse_new_deadline, restart_clock
from models.tickets.ratings import (RATING_ACTIONS, clear_ratings, rate, rating_refusal,
                                    record_follow_up)
from models.tickets.records import TicketChangedError, check_version
from models.tickets.reporters import joined_reporter
from models.tickets.tables import Ticket, TicketEvent
from models.tickets.targets import assignment_target, check_department_target, get_or_refuse
from models.tickets.timeline import check_note, record_event
from models.vocabulary import ActorKind, AreaLevel, AttachmentKind, Role, TicketStatus

NEXT_LEVEL = {AreaLevel.GRID: AreaLevel.COMMUNITY, AreaLevel.COMMUNITY: AreaLevel.STREET,
              AreaLevel.STREET: AreaLevel.DISTRICT}


def relations(actor: Actor, ticket: Ticket) -> set[str]:
    """The relations from which this actor may act on this ticket."""
    from models.people.access import can_act, can_see_ticket

    if actor.kind == ActorKind.SYSTEM:
        return {"system"}
    if actor.kind == ActorKind.REPORTER:
        # A joined reporter acts on the ticket they joined, not on another one.
        if actor.reporter_id is not None and joined_reporter(ticket, actor.reporter_id) is None:
            return set()
        return {"reporter"}
    user = actor.user
    if user is None or not can_act(user):
        return set()
    found = set()
    if ticket.assigned_user_id == user.id:
        found.add("assignee")
    elif (ticket.assigned_user_id is None and user.department_id is not None
          and user.department_id == ticket.assigned_department_id):
        found.add("queue")
    if ticket.created_by_id == user.id and user.role in REPORTING_ROLES:
        found.add("author")  # e.g. a grid worker's own patrol find, sent to someone else
    if user.role in MANAGER_ROLES and can_see_ticket(user, ticket):
        found.add("manager")
        if ticket.submitted_by_id != user.id:
            found.add("reviewer")
    return found


@functools.cache
def candidate_actions(status: TicketStatus, mine: frozenset) -> tuple[Action, ...]:
    """The actions RULES allow from ``status`` to someone with the relations ``mine``, in RULES'
    order: a table derived from RULES once per (status, relations) and kept (RULES is constant)."""
    return tuple(name for name, rule in RULES.items()
                 if status in rule.from_statuses and mine & rule.who)


def allowed_actions(actor: Actor, ticket: Ticket) -> list[str]:
    """The actions this actor may start on this ticket now (the buttons to show)."""
    candidates = candidate_actions(ticket.status, frozenset(relations(actor, ticket)))
    if not candidates:
        return []
    now = utcnow()
    return [name for name in candidates if _precondition_error(name, ticket, actor, now) is None]


def perform(ticket: Ticket, action: str, actor: Actor, *, expected_version: int | None,
            now: datetime | None = None, **params) -> TicketEvent:
    """Carry out one action or raise a WorkflowError having changed nothing."""
    now = now or utcnow()
    rule = RULES.get(action)
    if rule is None:
        raise ActionInvalid(_("Unknown action %(action)s.", action=action))
    check_version(ticket, expected_version)
    _check_allowed(ticket, action, actor, now)
    check_note(params.get("note"))
    try:
        return HANDLERS[action](ticket, actor, now, **params)
    except StaleDataError:
        # Someone else's change to this ticket committed first (the version no longer matches).
        raise TicketChangedError(TicketChangedError.default_message()) from None


def _check_allowed(ticket: Ticket, action: str, actor: Actor, now: datetime) -> None:
    """``perform``'s checks after the version: the state, the actor's right, the preconditions."""
    rule, label = RULES[action], Action(action).label
    if ticket.status not in rule.from_statuses:
        raise ActionForbidden(_("%(action)s is not possible while the ticket is %(status)s.",
                                action=label, status=ticket.status.label))
    found = relations(actor, ticket)
    if not found & rule.who:
        if "reviewer" in rule.who and "manager" in found:  # the manager who submitted it
            raise ActionForbidden(_("You submitted this result yourself; another manager of "
                                    "the area reviews it."))
        raise ActionForbidden(_("You may not %(action)s this ticket.", action=label))
    problem = _precondition_error(action, ticket, actor, now)
    if problem is not None:
        raise ActionForbidden(str(problem))


# --- preconditions that depend on more than state and role ---------------------------------

def _precondition_error(action: str, ticket: Ticket, actor: Actor, now: datetime):
    """Why ``action`` cannot be done now, as a lazy message (``allowed_actions`` asks for every
    button of every ticket it shows and only needs to know whether), or None."""
    if action == "escalate" and ticket.current_level == AreaLevel.DISTRICT:
        return _l("The ticket is already at the district level; it cannot go higher.")
    if action == "request_extension" and ticket.extension_requested_until is not None:
        return _l("An extension request is already waiting for a decision.")
    if action in ("approve_extension", "refuse_extension"):
        if ticket.extension_requested_until is None:
            return _l("There is no extension request to decide.")
        if actor.user is not None and actor.user.id == ticket.extension_requested_by_id:
            return _l("You cannot decide on your own extension request.")
    if action in RATING_ACTIONS:
        return rating_refusal(ticket, now, actor)
    if action == "submit":
        return open_tasks_refusal(ticket)  # 主办 waits for its 协办 departments
    if action == "reopen" and ticket.closed_at is not None:
        window = setting("REOPEN_WINDOW_DAYS", 7)
        if now - ticket.closed_at > timedelta(days=window):
            return _l("Tickets can only be reopened within %(days)s days of closing.", days=window)
    return None


# --- input helpers --------------------------------------------------------------------------

def _required_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ActionInvalid(_("Give %(what)s.", what=what))
    return text


def _event(ticket: Ticket, action: str, actor: Actor, now: datetime, **kwargs) -> TicketEvent:
    if ticket.extension_requested_until is not None and kwargs.get("to_status") not in (None, IP):
        # An extension request moves this handling's deadline: it ends, undecided, with the
        # handling (submitted, returned, sent on, suspended…), as it would lapse at the deadline.
        ticket.extension_requested_until = ticket.extension_requested_by_id = None
    return record_event(ticket, action, actor=actor.user, actor_kind=actor.kind, at=now, **kwargs)


# --- dispatching ----------------------------------------------------------------------------

def dispatch(ticket: Ticket, now: datetime | None = None, *,
             deadlines_from: datetime | None = None) -> TicketEvent:
    """Automatic dispatch at intake: the matrix picks the owner, the deadlines follow.

    The deadlines run from ``deadlines_from``, by default from when the ticket was reported
    (an old case brought in from a ledger starts its clock when it is imported)."""
    now = now or utcnow()
    # Decided before anything is written: a new ticket is then INSERTed once with its owner and
    # deadlines (with the event's flush below), not INSERTed by an autoflush and UPDATEd after.
    with db.session.no_autoflush:
        owner, resolution = ticket_owner(ticket, attached=False)  # cached rows, no query
        rule = owner.rule
        set_deadlines(ticket, rule, deadlines_from)
        ticket.current_level = owner.level
        details = {"rule_id": rule.id if rule else None,
                   "rule": str(rule) if rule else None,
                   "fallback": "command_centre" if rule is None else None,
                   "flagged": bool(ticket.location_flagged),
                   # the matrix cell it was routed from (models/tickets/dispatch_quality.py)
                   "category_id": ticket.category_id,
                   "area_id": ticket.grid_id or ticket.community_id or ticket.street_id}
        if resolution.passed_over:  # a covering rule nobody could take: say so on the timeline
            details["passed_over"] = [{"rule_id": r.id, "reason": reason}
                                      for r, reason in resolution.passed_over]
    event = _event(ticket, "dispatch", Actor.system(), now, to_department=owner.department,
                   to_user=owner.user, details=details,
                   last_write=rule is None or not rule.co_department_ids)
    dispatch_co_handlers(ticket, rule, now)  # the rule's 协办 departments, each with its task
    return event


def _assign(ticket, actor, now, department_id=None, user_id=None, note=None, **_ignored):
    department, user = assignment_target(actor, department_id, user_id)
    if user is not None and user.role == Role.GRID_WORKER:
        ticket.current_level = AreaLevel.GRID
    elif department is not None and department.area is not None:
        ticket.current_level = department.area.level
    restart_clock(ticket, now)
    return _event(ticket, "assign", actor, now, to_status=P, to_department=department,
                  to_user=user, note=(note or "").strip() or None)


def _transfer(ticket, actor, now, department_id=None, note=None, **_ignored):
    department = get_or_refuse(Department, department_id, _("department"))
    if department.id == ticket.assigned_department_id:
        raise ActionInvalid(_("The ticket is already with %(department)s.",
                              department=department.name))
    reason = _required_text(note, _("a reason for the transfer"))
    check_department_target(actor, department)
    ticket.current_level = department.area.level
    restart_clock(ticket, now)
    return _event(ticket, "transfer", actor, now, to_status=P, to_department=department,
                  to_user=None, note=reason)


def _accept(ticket, actor, now, note=None, **_ignored):
    ticket.accepted_at = now
    return _event(ticket, "accept", actor, now, to_status=IP, to_user=actor.user,
                  note=(note or "").strip() or None,
                  details={"in_time": in_time(now, ticket.accept_deadline)})


def _return(ticket, actor, now, note=None, **_ignored):
    reason = _required_text(note, _("the reason for returning"))
    levels = _levels(ticket)
    centre = command_centre_owner(levels)
    ticket.current_level = centre.level
    ticket.accepted_at = None
    restart_clock(ticket, now)
    return _event(ticket, "return", actor, now, to_status=P, to_department=centre.department,
                  to_user=None, note=reason)


def _levels(ticket: Ticket) -> dict[AreaLevel, Area]:
    area = ticket_place(ticket)
    return lineage(area) if area is not None else {}


def escalation_target(ticket: Ticket) -> tuple[AreaLevel, Department | None]:
    """One level up: grid → community office, community → street centre, street → district."""
    return office_at(ticket, NEXT_LEVEL[ticket.current_level])


@dataclass(frozen=True)
class Escalation:
    """Escalating one ticket, decided before anything changes: the office one level up takes
    it pending (no assignee), with a new clock; the event carries the note and the levels."""

    department: Department
    changes: dict  # the ticket's columns: the level, no acceptance, the new clock's deadlines
    note: str | None
    details: dict
    to_status: ClassVar[TicketStatus] = P  # pending, for the office to accept


def escalation(ticket: Ticket, actor: Actor, now: datetime, note: str | None = None,
               ) -> Escalation:
    """What ``perform(ticket, "escalate", actor, ...)`` would do (the same checks, the same
    decision), changing nothing; a refusal raises the same WorkflowError. The deadline sweep
    decides a page of overdue tickets with it and writes them at once
    (models/tickets/timeouts.py ``mark_all_overdue``)."""
    _check_allowed(ticket, Action.ESCALATE, actor, now)
    return _escalation(ticket, actor, now, note)


def _escalation(ticket, actor, now, note) -> Escalation:
    if actor.kind != ActorKind.SYSTEM:
        note = _required_text(note, _("the reason for escalating"))
    level, department = escalation_target(ticket)
    if department is None:
        raise ActionInvalid(_("No office is configured at the next level up."))
    return Escalation(department, {"current_level": level, "accepted_at": None,
                                   **new_clock(ticket, now)}, note,
                      {"from_level": ticket.current_level.value, "to_level": level.value})


def _escalate(ticket, actor, now, note=None, **_ignored):
    step = _escalation(ticket, actor, now, note)
    for name, value in step.changes.items():
        setattr(ticket, name, value)
    return _event(ticket, "escalate", actor, now, to_status=step.to_status,
                  to_department=step.department, to_user=None, note=step.note,
                  details=step.details)


def _note(ticket, actor, now, note=None, attachments=None, **_ignored):
    text = _required_text(note, _("the progress note"))
    attachments = check_uploads(attachments)
    event = _event(ticket, "note", actor, now, note=text)
    save_attachments(ticket, event, attachments, uploaded_by=actor.user)
    return event


# An extension gives more days, not a case parked for years (a typo in the year, 2062 for 2026).
EXTENSION_MAX_DAYS = 365


def _request_extension(ticket, actor, now, until=None, note=None, **_ignored):
    reason = _required_text(note, _("the reason for the extension"))
    until = parse_new_deadline(until)
    if ticket.handle_deadline is not None and until <= ticket.handle_deadline:
        raise ActionInvalid(_("The new deadline must be later than the current one."))
    if until <= now:
        raise ActionInvalid(_("The new deadline must be in the future."))
    if until > now + timedelta(days=EXTENSION_MAX_DAYS):
        raise ActionInvalid(_("The new deadline can be at most %(days)s days from now.",
                              days=EXTENSION_MAX_DAYS))
    ticket.extension_requested_until = until
    ticket.extension_requested_by_id = actor.user.id if actor.user else None
    return _event(ticket, "request_extension", actor, now, note=reason,
                  details={"until": until.isoformat(),
                           "current": ticket.handle_deadline.isoformat()
                           if ticket.handle_deadline else None})


def _approve_extension(ticket, actor, now, note=None, **_ignored):
    old, new = ticket.handle_deadline, ticket.extension_requested_until
    ticket.handle_deadline = new
    ticket.extension_requested_until = ticket.extension_requested_by_id = None
    return _event(ticket, "approve_extension", actor, now, note=(note or "").strip() or None,
                  details={"from": old.isoformat() if old else None, "to": new.isoformat()})


def _refuse_extension(ticket, actor, now, note=None, **_ignored):
    reason = _required_text(note, _("the reason for refusing"))
    ticket.extension_requested_until = ticket.extension_requested_by_id = None
    return _event(ticket, "refuse_extension", actor, now, note=reason)


def _suspend(ticket, actor, now, note=None, **_ignored):
    reason = _required_text(note, _("the reason for suspending"))
    ticket.suspended_at = now
    ticket.resume_status = ticket.status
    return _event(ticket, "suspend", actor, now, to_status=S, note=reason)


def _resume(ticket, actor, now, note=None, **_ignored):
    paused = now - ticket.suspended_at if ticket.suspended_at else timedelta(0)
    if ticket.accept_deadline is not None:
        ticket.accept_deadline += paused
    if ticket.handle_deadline is not None:
        ticket.handle_deadline += paused
    back = ticket.resume_status or IP
    ticket.suspended_at = ticket.resume_status = None
    return _event(ticket, "resume", actor, now, to_status=back, note=(note or "").strip() or None,
                  details={"paused_seconds": int(paused.total_seconds())})


def _submit(ticket, actor, now, note=None, attachments=None, **_ignored):
    result = _required_text(note, _("the handling result"))
    attachments = check_uploads(attachments)
    if ticket.category.requires_after_photo and not any(
            a.kind == AttachmentKind.AFTER for a in attachments) \
            and not _after_photo_since_handling_began(ticket):
        raise ActionInvalid(_("This category needs a photo after handling (after-photo)."))
    ticket.submitted_at = now
    ticket.submitted_by_id = actor.user.id if actor.user else None
    event = _event(ticket, "submit", actor, now, to_status=PR, note=result,
                   details={"in_time": in_time(now, ticket.handle_deadline)})
    save_attachments(ticket, event, attachments, uploaded_by=actor.user)
    return event


def _after_photo_since_handling_began(ticket: Ticket) -> bool:
    """An after-photo uploaded (e.g. through the API) since this round of handling began."""
    from models.tickets.tables import Attachment

    began = db.session.execute(
        sa.select(sa.func.max(TicketEvent.seq)).where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.action.in_(("accept", "reject", "reopen")))).scalar() or 0
    return db.session.execute(
        sa.select(Attachment.id).join(TicketEvent, Attachment.event_id == TicketEvent.id)
        .where(Attachment.ticket_id == ticket.id, Attachment.kind == AttachmentKind.AFTER,
               TicketEvent.seq > began).limit(1)).first() is not None


def _approve(ticket, actor, now, note=None, **_ignored):
    from models.notify.notices import tell_merged_reporters

    ticket.closed_at = now
    event = _event(ticket, "approve", actor, now, to_status=C, note=(note or "").strip() or None,
                   details={"in_time": in_time(ticket.submitted_at or now,
                                               ticket.handle_deadline)})
    tell_merged_reporters(ticket, event)
    return event


def _reject(ticket, actor, now, note=None, **_ignored):
    reason = _required_text(note, _("what must be redone"))
    ticket.rework_count += 1
    return _event(ticket, "reject", actor, now, to_status=IP, note=reason)


def _invalidate(ticket, actor, now, note=None, **_ignored):
    reason = _required_text(note, _("why the ticket is invalid"))
    ticket.suspended_at = ticket.resume_status = None
    end_open_tasks(ticket, now, _("The ticket was declared invalid: %(reason)s", reason=reason))
    return _event(ticket, "invalidate", actor, now, to_status=INV, note=reason)


def _merge(ticket, actor, now, master_id=None, master_number=None, note=None, **_ignored):
    """Merge into the ticket ``master_id``, or the one numbered ``master_number`` (as typed)."""
    from models.people.access import can_see_ticket

    unknown = ActionInvalid(_("Unknown %(what)s.", what=_("ticket to merge into")))
    if master_id in (None, ""):
        number = str(master_number or "").strip().upper()
        if not number:
            raise ActionInvalid(_("Give the number of the ticket to merge into."))
        master_id = db.session.execute(
            sa.select(Ticket.id).where(Ticket.number == number)).scalar()
        if master_id is None:
            raise unknown
    master = get_or_refuse(Ticket, master_id, _("ticket to merge into"))
    seen = {ticket.id}
    while True:
        # A ticket outside the actor's view, or a chain of merges leading out of it, is no
        # such ticket: nothing about it (number, state) is told.
        if actor.user is not None and not can_see_ticket(actor.user, master):
            raise unknown
        if master.duplicate_of_id is None or master.id in seen:
            break
        seen.add(master.id)
        master = db.session.get(Ticket, master.duplicate_of_id)
    if master.id == ticket.id:
        raise ActionInvalid(_("A ticket cannot be merged into itself."))
    if master.status == INV:
        raise ActionInvalid(_("%(number)s is invalid; merge into an open or closed ticket.",
                              number=master.number))
    ticket.duplicate_of_id = master.id
    ticket.suspended_at = ticket.resume_status = None
    end_open_tasks(ticket, now, _("The ticket was merged into %(number)s.", number=master.number))
    return _event(ticket, "merge", actor, now, to_status=INV, note=(note or "").strip() or None,
                  details={"master_id": master.id, "master_number": master.number})


def _reopen(ticket, actor, now, note=None, **_ignored):
    reason = _required_text(note, _("why the case is reopened"))
    ticket.closed_at = None
    ticket.reopen_count += 1
    ticket.rework_count += 1
    clear_ratings(ticket)  # the next closing is rated anew
    restart_clock(ticket, now, accept=False)
    return _event(ticket, "reopen", actor, now, to_status=IP, note=reason)


def _co_handle(ticket, actor, now, department_ids=None, note=None, **_ignored):
    """吹哨报到: the departments the manager may pick, called onto the case in one action."""
    from models.people.access import pickable_departments

    return add_co_handlers(ticket, actor, now, department_ids=department_ids, note=note,
                           pickable=pickable_departments(actor.user))


HANDLERS: dict[str, Callable[..., TicketEvent]] = {
    "assign": _assign, "accept": _accept, "return": _return, "escalate": _escalate,
    "transfer": _transfer, "note": _note, "request_extension": _request_extension,
    "approve_extension": _approve_extension, "refuse_extension": _refuse_extension,
    "suspend": _suspend, "resume": _resume, "submit": _submit, "approve": _approve,
    "reject": _reject, "invalidate": _invalidate, "merge": _merge, "reopen": _reopen,
    "rate": rate, "follow_up": record_follow_up, "co_handle": _co_handle,
}
assert set(HANDLERS) == set(RULES)


__all__ = ["ACTIONS", "Actor", "RULES", "Escalation", "allowed_actions", "candidate_actions",
           "dispatch", "escalation", "escalation_target", "perform"]
