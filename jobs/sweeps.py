"""The scheduler's jobs. Each is a sweep: one run catches up with everything due (also after
downtime), every effect goes through the domain functions as a "system" timeline event, and a
second run right after the first changes nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from models import Ticket, TicketStatus, User, db, utcnow
from models.calendar import MISSING, PUBLISHED, year_states
from models.clock import local_zone
from models.errors import WorkflowError
from models.notify.notices import notify_event
from models.notify.outbox import Notification
from models.people.roles import CONFIGURING_ROLES
from models.settings import setting
from models.tickets.deadlines import YELLOW, deadline_state, handling_warning_due, overdue_condition
from models.tickets.timeline import append_event
from models.tickets.workflow import Actor, perform
from models.vocabulary import AreaLevel, Channel, NotificationState

BATCH = 500


def _open_batch(*conditions) -> list[Ticket]:
    return db.session.execute(
        sa.select(Ticket).where(*conditions).order_by(Ticket.id).limit(BATCH)).scalars().all()


def _all_open(*conditions):
    """Every matching ticket, in id-ordered batches (most are skipped, so one batch is not enough)."""
    last_id = 0
    while True:
        batch = _open_batch(Ticket.id > last_id, *conditions)
        yield from batch
        if len(batch) < BATCH:
            return
        last_id = batch[-1].id


def _system_event(ticket: Ticket, action: str, now: datetime, note: str | None = None,
                  details: dict | None = None):
    event = append_event(ticket, action, actor=None, note=note, details=details, at=now)
    db.session.flush()
    notify_event(ticket, event)
    return event


def deadline_sweep(now: datetime | None = None) -> dict:
    """Warn at the warning share, mark overdue tickets (and tell the centre), escalate by policy."""
    now = now or utcnow()
    counts = {"warned": 0, "overdue": 0, "escalated": 0}
    # Only the tickets due for a warning are read (the condition is deadline_state's yellow in
    # SQL); the check in Python stays as a guard.
    for ticket in _all_open(handling_warning_due(now), Ticket.warned_at.is_(None)):
        if deadline_state(ticket, now) == YELLOW:
            ticket.warned_at = now
            _system_event(ticket, "deadline_warning", now,
                          details={"deadline": ticket.handle_deadline.isoformat()})
            counts["warned"] += 1
    # Overdue by the one definition; a ticket waiting for review is its reviewers' to move, and
    # a pending one late for acceptance is acceptance_timeouts' to escalate.
    for ticket in _open_batch(overdue_condition(now), Ticket.status == TicketStatus.IN_PROGRESS,
                              Ticket.overdue_at.is_(None)):
        ticket.overdue_at = now
        _system_event(ticket, "overdue", now,
                      details={"deadline": ticket.handle_deadline.isoformat()})
        counts["overdue"] += 1
        if ticket.category.escalate_when_overdue and ticket.current_level != AreaLevel.DISTRICT:
            if _escalate(ticket, now, "超期未办结，自动上报"):
                counts["escalated"] += 1
    db.session.commit()
    return counts


def acceptance_timeouts(now: datetime | None = None) -> dict:
    """A ticket nobody accepted in time goes to the command centre one level up."""
    now = now or utcnow()
    escalated = 0
    for ticket in _open_batch(overdue_condition(now), Ticket.status == TicketStatus.PENDING,
                              Ticket.current_level != AreaLevel.DISTRICT):
        if _escalate(ticket, now, "超时未受理，自动上报"):
            escalated += 1
    db.session.commit()
    return {"escalated": escalated}


def _escalate(ticket: Ticket, now: datetime, note: str) -> bool:
    try:  # perform checks everything before it changes anything
        perform(ticket, "escalate", Actor.system(), expected_version=ticket.version, now=now,
                note=note)
        return True
    except WorkflowError as exc:  # e.g. no office configured above: leave it, say why once
        current_app.logger.warning("escalation of %s refused: %s", ticket.number, exc.message)
        return False


def expiries(now: datetime | None = None) -> dict:
    """Undecided extension requests lapse at the deadline; long suspensions end by themselves."""
    now = now or utcnow()
    counts = {"extensions_lapsed": 0, "resumed": 0}
    for ticket in _open_batch(Ticket.status == TicketStatus.IN_PROGRESS,
                              Ticket.extension_requested_until.is_not(None),
                              Ticket.handle_deadline <= now):
        perform(ticket, "refuse_extension", Actor.system(), expected_version=ticket.version,
                now=now, note="延期申请未在时限内审批，自动失效")
        counts["extensions_lapsed"] += 1
    limit = timedelta(days=setting("SUSPENSION_MAX_DAYS", 30))
    for ticket in _open_batch(Ticket.status == TicketStatus.SUSPENDED,
                              Ticket.suspended_at <= now - limit):
        perform(ticket, "resume", Actor.system(), expected_version=ticket.version, now=now,
                note="挂起超过期限，自动恢复")
        counts["resumed"] += 1
    db.session.commit()
    return counts


def calendar_check(now: datetime | None = None) -> dict:
    """Tell the administrators when this year, or (weeks before it starts) the next, is missing
    from the work calendar or still provisional (the State Council's arrangement not entered)."""
    now = now or utcnow()
    today = now.astimezone(local_zone()).date()
    weeks = setting("CALENDAR_WARN_WEEKS", 8)
    years = [today.year]
    if date(today.year + 1, 1, 1) - today <= timedelta(weeks=weeks):
        years.append(today.year + 1)
    due = {y: state for y, state in year_states(years).items() if state != PUBLISHED}
    warned = 0
    admins = db.session.execute(sa.select(User).where(User.role.in_(CONFIGURING_ROLES),
                                                      User.active.is_(True))).scalars().all()
    for year, state in due.items():
        template = "calendar_missing" if state == MISSING else "calendar_provisional"
        for admin in admins:
            key = f"{'calendar' if state == MISSING else template}:{year}:{admin.id}"
            if db.session.execute(sa.select(Notification.id).where(
                    Notification.dedupe_key == key)).first():
                continue
            db.session.add(Notification(recipient_user_id=admin.id, channel=Channel.IN_APP,
                                        template=template, dedupe_key=key,
                                        state=NotificationState.PENDING, attempts=0,
                                        payload={"year": year}))
            warned += 1
    db.session.commit()
    return {"warned": warned}


def deliver_notifications(now: datetime | None = None) -> dict:
    from integrations.delivery.runner import deliver_due

    return deliver_due(now)


JOBS = {
    "deadline_sweep": deadline_sweep,
    "acceptance_timeouts": acceptance_timeouts,
    "expiries": expiries,
    "deliver_notifications": deliver_notifications,
    "calendar_check": calendar_check,
}
