"""One ticket's life told through the workflow: every step is ``perform`` at its moment.

A story keeps the moments in order, in waking hours for people (emergencies and short deadlines
are worked round the clock), and before now (a life longer than the time since the report is
compressed into what is left). Between two steps it runs what the scheduler would have done in
the meantime, with the operations the sweeps call (models/tickets/timeouts.py, actor: system):
the handler is warned when most of the time is used; a ticket nobody accepted in time, or
overdue, goes one level up; a long suspension ends by itself; an undecided extension lapses. When that takes a ticket away from the person about to act, the level
that received it sends it back with an urge note and the holder accepts it again, as a command
centre would.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Callable

from demo.city import City
from demo.people import centre_staff
from demo.texts import URGE_NOTES
from models.base import db
from models.clock import local_zone
from models.people.user import User
from models.tickets import timeouts
from models.tickets.deadlines import warning_share
from models.tickets.tables import Ticket, TicketEvent
from models.tickets.workflow import Actor, perform
from models.vocabulary import AreaLevel, Priority, TicketStatus

P, IP, PR, S = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS, TicketStatus.PENDING_REVIEW,
                 TicketStatus.SUSPENDED)
WAKING_HOURS = (time(7, 30), time(21, 30))
SWEEP_DELAY_MINUTES = (1, 5)  # the sweeps run every few minutes
# Actions a manager may take from wherever the ticket waits: no need to bring it back first.
MANAGER_STEPS = {"assign", "transfer", "invalidate", "merge", "suspend", "resume", "approve",
                 "reject", "approve_extension", "refuse_extension", "rate", "follow_up", "reopen"}

Who = Callable[[], "Actor | User"]


class Story:
    def __init__(self, city: City, ticket: Ticket) -> None:
        self.city, self.ticket, self.rng = city, ticket, city.rng
        self.t = ticket.last_activity_at  # the moment of the last step so far
        self.limit = city.now - timedelta(minutes=1)
        window = (ticket.handle_deadline - ticket.created_at) if ticket.handle_deadline else None
        self.round_the_clock = ticket.priority == Priority.EMERGENCY or (
            window is not None and window <= timedelta(hours=12))
        self.warn_checked: datetime | None = None
        self.bounced: tuple | None = None  # (department, user, status) before a system escalation

    # ---- time ----------------------------------------------------------------------------
    def minutes(self, lo: float, hi: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(lo, hi))

    def between(self, start: datetime, end: datetime, lo: float, hi: float) -> datetime:
        return start + (end - start) * self.rng.uniform(lo, hi)

    def _moment(self, wanted: datetime, people: bool) -> datetime:
        moment = max(self.t + timedelta(seconds=30), wanted)
        if people and not self.round_the_clock:
            moment = self._waking(moment)
        if moment > self.limit:  # compress what is left of the story into the time before now
            moment = self.t + (self.limit - self.t) * self.rng.uniform(0.3, 0.7)
        return moment

    def _waking(self, moment: datetime) -> datetime:
        """The moment itself in waking hours, else the evening before (when that is still after
        the last step) or early the next morning (local time)."""
        zone = local_zone()
        local = moment.astimezone(zone)
        begin, end = WAKING_HOURS
        if begin <= local.time() <= end:
            return moment
        day = local.date() if local.time() < begin else local.date() + timedelta(days=1)
        evening = datetime.combine(day - timedelta(days=1), end, zone) - self.minutes(0, 120)
        if evening > self.t and self.rng.random() < 0.7:
            return evening.astimezone(moment.tzinfo)
        return (datetime.combine(day, begin, zone) + self.minutes(0, 150)).astimezone(moment.tzinfo)

    # ---- steps ---------------------------------------------------------------------------
    def step(self, wanted: datetime, action: str, who: Who,
             only_if: Callable[[], bool] | None = None, **params) -> TicketEvent | None:
        """A person's step at about ``wanted``, after whatever the scheduler did before it
        (``only_if``: skipped when that no longer holds by then)."""
        moment = self._moment(wanted, people=True)
        for _ in range(6):
            self.run_scheduler(moment, bring_back=action not in MANAGER_STEPS)
            if moment > self.t:
                break
            moment = self._moment(self.t + self.minutes(3, 40), people=True)
        if only_if is not None and not only_if():
            return None
        event = self._perform(moment, action, _actor(who()), **params)
        if action in ("assign", "transfer"):
            self.bounced = None  # someone new holds it now
        return event

    def _perform(self, moment: datetime, action: str, actor: Actor, **params) -> TicketEvent:
        event = perform(self.ticket, action, actor, expected_version=self.ticket.version,
                        now=moment, **params)
        self.t = moment
        return event

    def bring_back(self) -> None:
        """The level a system escalation sent the ticket to hands it back to its holder (督办),
        who takes it again if they had taken it before."""
        department_id, user_id, status = self.bounced
        self.bounced = None
        moment = self._moment(self.t + self.minutes(10, 120), people=True)
        self._perform(moment, "assign", _actor(centre_staff(self.city, self.ticket)),
                      department_id=department_id, user_id=user_id,
                      note=self.rng.choice(URGE_NOTES))
        if status == IP:
            moment = self._moment(self.t + self.minutes(3, 30), people=False)
            self._perform(moment, "accept", Actor.staff(db.session.get(User, user_id)),
                          note="已接单，加快办理。")

    def finish(self, status: TicketStatus) -> None:
        """Run the scheduler up to now; a case being handled goes back to its handler."""
        self.run_scheduler(self.limit, bring_back=status == IP)

    # ---- the scheduler in the meantime -----------------------------------------------------
    def run_scheduler(self, until: datetime, bring_back: bool = False) -> None:
        """The sweeps' steps due up to ``until``; with ``bring_back`` an escalated case goes back
        to its holder at once (someone is about to work on it)."""
        for _ in range(40):
            if self.bounced is not None and bring_back:
                self.bring_back()
            due = self._next_sweep(until)
            if due is None:
                break
            at, operation = due
            ticket = self.ticket
            holder = (ticket.assigned_department_id, ticket.assigned_user_id, ticket.status)
            seq, level = ticket.event_seq, ticket.current_level
            operation(ticket, at)
            if ticket.event_seq > seq:
                self.t = at
            if ticket.current_level != level:  # escalated one level up
                self.bounced = self.bounced or holder
        if self.bounced is not None and bring_back:
            self.bring_back()

    def _next_sweep(self, until: datetime) -> tuple[datetime, Callable] | None:
        """The earliest step a sweep would take next, as the sweeps select tickets."""
        ticket, due = self.ticket, []
        delay = self.minutes(*SWEEP_DELAY_MINUTES)
        if ticket.status in (IP, PR) and ticket.warned_at is None and ticket.handle_deadline \
                and ticket.handle_deadline != self.warn_checked:
            start = ticket.deadlines_from or ticket.created_at
            due.append((start + (ticket.handle_deadline - start) * warning_share() + delay,
                        self._warn))
        if ticket.status == P and ticket.accept_deadline \
                and ticket.current_level != AreaLevel.DISTRICT:
            due.append((ticket.accept_deadline + delay, timeouts.escalate_unaccepted))
        if ticket.status == IP and ticket.handle_deadline and ticket.overdue_at is None:
            due.append((ticket.handle_deadline + delay, timeouts.mark_overdue))
        if ticket.status == S and ticket.suspended_at:
            due.append((ticket.suspended_at + timeouts.suspension_limit() + delay,
                        timeouts.end_long_suspension))
        if ticket.status == IP and ticket.extension_requested_until and ticket.handle_deadline:
            due.append((ticket.handle_deadline + delay, timeouts.lapse_extension_request))
        due = [(max(at, self.t + timedelta(seconds=1)), step) for at, step in due if at <= until]
        return min(due, key=lambda d: d[0]) if due else None

    def _warn(self, ticket: Ticket, at: datetime) -> None:
        self.warn_checked = ticket.handle_deadline  # looked at once per deadline, warned or not
        timeouts.warn_deadline_near(ticket, at)


def _actor(who) -> Actor:
    return who if isinstance(who, Actor) else Actor.staff(who)
