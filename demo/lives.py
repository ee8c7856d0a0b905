"""What happens to each reported case, up to the state its plan says it has reached by now.

Every step is a workflow action by someone allowed to take it: a queue member accepts, the
assignee notes progress, asks for more time and submits (with an after-photo where the category
needs one), a manager suspends, resumes, decides extensions, merges and invalidates, a reviewer
other than the submitter approves or rejects, the reporter rates or reopens through the
tracking code (or community staff record a phone follow-up, 回访), and the command centre hands
on what the matrix leaves to it.
"""
from __future__ import annotations

from datetime import timedelta

from demo.city import GAP_TARGET, City
from demo.people import centre_staff, manager, reviewer, taker
from demo.photos import after_photo
from demo.plans import Plan
from demo.stories import Story
from demo.texts import (APPROVE_NOTES, DEFAULT_SUSPEND, ESCALATE_NOTES, EXTENSION_APPROVALS,
                        EXTENSION_REASONS, EXTENSION_REFUSALS, INVALID_REASONS, PROGRESS,
                        RATING_COMMENTS, REJECT_NOTES, REOPEN_REASONS, RESUME_NOTES, RETURN_NOTES,
                        REVISIT_COMMENTS, SEND_BACK_NOTES, SUSPEND_REASONS, TEXTS, TRANSFER_NOTES)
from models.base import db
from models.people.department import Department
from models.people.user import User
from models.tickets.tables import Ticket
from models.tickets.workflow import Actor
from models.vocabulary import DepartmentKind, Role, Source, TicketStatus

P, IP, PR, C, S, INV = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS,
                        TicketStatus.PENDING_REVIEW, TicketStatus.CLOSED,
                        TicketStatus.SUSPENDED, TicketStatus.INVALID)
# Where the street centre sends a case a department returned as not its own.
RETURN_TO = {"cg": "zf", "zf": "cg", "zj": "cg", "hw": "cg", "sw": "cg", "sj": "zf", "xf": "zf"}
# A rule of the matrix that routes badly (dispatch quality): 道路破损 goes to 城管 by the rule, but
# most of these roads are 住建's, so 城管 returns them and the street centre transfers them on.
MISROUTED = {"0503": ("cg", "zj", 0.7)}
LONG_CASES = {"04", "07"}  # groups where asking for more time is common


class Life:
    def __init__(self, city: City, ticket: Ticket, plan: Plan) -> None:
        self.city, self.ticket, self.plan, self.rng = city, ticket, plan, city.rng
        self.story = Story(city, ticket)
        self.group = plan.category.code[:2]
        self.rated_low = False

    # ---- the whole life --------------------------------------------------------------------
    def live(self, master: Ticket | None) -> None:
        status = self.plan.status
        if status == INV:
            self.end_invalid(master)
        elif status != P:
            self.hand_on_gap()
            self.hand_to_grid_worker()
            self.maybe_return()
            holder = self.accept()
            holder = self.maybe_escalate_dispute(holder)
            self.work(holder, status)
        self.story.finish(self.ticket.status if status == INV else status)
        self.ticket.updated_at = self.story.t

    def work(self, holder: User, status: TicketStatus) -> None:
        if status == S:  # while the handling time runs (the plan keeps it within a month)
            self.progress(holder, self.deadline_share(0.5))
            self.step(self.deadline_share(self.rng.uniform(0.5, 0.9)), "suspend", self.manager,
                      note=self.suspend_reason())
            return
        if status == IP and self.ticket.handle_deadline < self.city.now - timedelta(days=1):
            self.extension(holder, until=self.city.now + timedelta(days=self.rng.uniform(2, 10)),
                           granted=True)  # a long case: more time was asked for and given
        elif self.rng.random() < (0.25 if self.group in LONG_CASES else 0.04):
            self.extension(holder)
        if status == IP:
            self.progress(holder, self.deadline_share(0.8))
            if self.rng.random() < 0.15:
                self.submit(holder, on_time=True)
                self.reject(holder)
            return
        if status == C and self.rng.random() < 0.04:
            self.pause()
        late = self.rng.random() < 0.06
        self.submit(holder, on_time=not late)
        if self.rng.random() < 0.1:
            self.reject(holder)
            self.submit(holder, on_time=self.rng.random() < 0.6)
        if status == C:
            self.approve(holder, late)
            if self.plan.source != Source.PATROL and self.rng.random() < 0.05:
                self.reopen(holder)
            self.rate(late)

    # ---- steps -----------------------------------------------------------------------------
    def step(self, wanted, action, who, **params):
        return self.story.step(wanted, action, who, **params)

    def manager(self) -> User:
        return manager(self.city, self.ticket)

    def later(self, lo_minutes: float, hi_minutes: float):
        return self.story.t + self.story.minutes(lo_minutes, hi_minutes)

    def deadline_share(self, share: float):
        """The moment ``share`` of the way from the report to the handling deadline."""
        return self.story.between(self.ticket.created_at, self.ticket.handle_deadline, share, share)

    def end_invalid(self, master: Ticket | None) -> None:
        if master is not None:
            self.step(self.later(20, 600), "merge", self.manager, master_id=master.id,
                      note=f"与工单{master.number}反映同一问题，合并处理。")
            return
        if self.rng.random() < 0.4:
            self.accept()
        self.step(self.later(30, 600), "invalidate", self.manager,
                  note=self.rng.choice(INVALID_REASONS))

    def hand_on_gap(self) -> None:
        """No rule covers the case: the command centre reads it and hands it on by hand."""
        department = db.session.get(Department, self.ticket.assigned_department_id)
        if department is None or department.kind != DepartmentKind.COMMAND_CENTRE:
            return
        target = GAP_TARGET.get(self.group, "community")
        office = self.city.office_of[self.plan.grid.community_index]
        to = office if target == "community" else self.city.departments[target]
        self.step(self.later(10, 240), "assign", lambda: centre_staff(self.city, self.ticket),
                  department_id=to.id, note=f"经研判，交{to.name}处置。")

    def hand_to_grid_worker(self) -> None:
        """The community office sends a case it owns to the grid's own worker (上门劝导)."""
        worker = self.city.grid_worker.get(self.plan.grid.area.id)
        department = db.session.get(Department, self.ticket.assigned_department_id)
        if not self.plan.to_grid_worker or worker is None or department is None \
                or department.kind != DepartmentKind.COMMUNITY_OFFICE:
            return
        self.step(self.later(10, 120), "assign", lambda: centre_staff(self.city, self.ticket),
                  user_id=worker.id, note="请网格员上门劝导处理。")

    def maybe_return(self) -> None:
        """Now and then a department returns a case as not its own; the street centre re-sends."""
        department = db.session.get(Department, self.ticket.assigned_department_id)
        key = next((k for k, d in self.city.departments.items() if d is department), None)
        misrouted = MISROUTED.get(self.plan.category.code)
        if misrouted and key == misrouted[0] and not self.ticket.assigned_user_id:
            self.rng.random()  # drawn as before, so the rest of the city stays the same
            # In turn, not by chance nor by id: the rule's share stays what it says on any day
            # the demo is seeded and on either database (a draw, and then the ids PostgreSQL
            # hands out in blocks, left it under the suggestion's share now and then).
            code = self.plan.category.code
            seen = self.city.misrouted_seen.get(code, 0)
            self.city.misrouted_seen[code] = seen + 1
            if seen % 10 < misrouted[2] * 10:
                self.return_and_transfer(self.city.departments[misrouted[1]])
            return
        if key not in RETURN_TO or self.ticket.assigned_user_id or self.rng.random() >= 0.05:
            return
        self.step(self.later(10, 180), "return", lambda: taker(self.city, self.ticket),
                  note=self.rng.choice(RETURN_NOTES))
        if self.rng.random() < 0.5:
            to = self.city.departments[RETURN_TO[key]]
            self.step(self.later(10, 240), "transfer", lambda: centre_staff(self.city, self.ticket),
                      department_id=to.id,
                      note=self.rng.choice(TRANSFER_NOTES).format(department=to.name))
        else:
            self.step(self.later(10, 240), "assign", lambda: centre_staff(self.city, self.ticket),
                      department_id=department.id, note=self.rng.choice(SEND_BACK_NOTES))

    def return_and_transfer(self, to: Department) -> None:
        self.step(self.later(10, 180), "return", lambda: taker(self.city, self.ticket),
                  note=self.rng.choice(RETURN_NOTES))
        self.step(self.later(10, 240), "transfer", lambda: centre_staff(self.city, self.ticket),
                  department_id=to.id,
                  note=self.rng.choice(TRANSFER_NOTES).format(department=to.name))

    def accept(self) -> User:
        ticket = self.ticket
        if self.rng.random() < 0.88 and ticket.accept_deadline > self.story.t:
            wanted = self.story.between(self.story.t, ticket.accept_deadline, 0.05, 0.9)
        else:  # late: the scheduler may have sent it up a level meanwhile
            wanted = self.story.t + (ticket.accept_deadline - ticket.created_at) * \
                self.rng.uniform(1.05, 1.6)
        self.step(wanted, "accept", lambda: taker(self.city, ticket),
                  note=self.rng.choice(["已受理，马上处理。", "收到，前往现场。", None]))
        return db.session.get(User, ticket.assigned_user_id)

    def maybe_escalate_dispute(self, holder: User) -> User:
        """A grid worker who cannot settle a dispute hands it up to the community office."""
        if holder.role != Role.GRID_WORKER or self.rng.random() >= 0.15:
            return holder
        self.step(self.later(120, 48 * 60), "escalate", lambda: holder,
                  note=self.rng.choice(ESCALATE_NOTES))
        self.step(self.later(10, 180), "accept", lambda: taker(self.city, self.ticket))
        return db.session.get(User, self.ticket.assigned_user_id)

    def progress(self, holder: User, until) -> None:
        """Zero to two progress notes between the last step and ``until``."""
        if until - self.story.t < timedelta(minutes=30):
            return
        for moment in sorted(self.story.between(self.story.t, until, 0.1, 0.9)
                             for _ in range(self.rng.choice((0, 0, 1, 1, 2)))):
            self.step(moment, "note", lambda: holder, note=self.rng.choice(PROGRESS[self.group]))

    def extension(self, holder: User, until=None, granted: bool = False) -> None:
        ticket = self.ticket
        if ticket.handle_deadline <= self.story.t + timedelta(hours=2):
            return
        until = until or ticket.handle_deadline + max(
            timedelta(days=1), (ticket.handle_deadline - ticket.created_at) * 0.5)
        self.step(self.deadline_share(self.rng.uniform(0.3, 0.6)), "request_extension",
                  lambda: holder, note=self.rng.choice(EXTENSION_REASONS), until=until)
        decision, note = (("approve_extension", EXTENSION_APPROVALS)
                          if granted or self.rng.random() < 0.8
                          else ("refuse_extension", EXTENSION_REFUSALS))
        self.step(self.later(30, 8 * 60), decision, lambda: reviewer(self.city, ticket, holder),
                  note=self.rng.choice(note),
                  only_if=lambda: ticket.status == IP and ticket.extension_requested_until)

    def pause(self) -> None:
        self.step(self.later(60, 24 * 60), "suspend", self.manager, note=self.suspend_reason())
        self.step(self.later(24 * 60, 10 * 24 * 60), "resume", self.manager,
                  note=self.rng.choice(RESUME_NOTES))

    def suspend_reason(self) -> str:
        return self.rng.choice(SUSPEND_REASONS.get(self.group, DEFAULT_SUSPEND))

    def submit(self, holder: User, on_time: bool) -> None:
        ticket = self.ticket
        window = ticket.handle_deadline - ticket.created_at
        if on_time and ticket.handle_deadline > self.story.t:
            wanted = ticket.created_at + window * self.rng.uniform(0.25, 0.8)
        else:
            wanted = ticket.created_at + window * self.rng.uniform(1.1, 2.5)
        wanted = max(wanted, self.later(20, 120))
        self.progress(holder, wanted)
        photos = [after_photo(self.rng)] if self.plan.category.requires_after_photo else []
        self.step(wanted, "submit", lambda: holder,
                  note=self.rng.choice(TEXTS[self.plan.category.code]["results"]),
                  attachments=photos)

    def reject(self, holder: User) -> None:
        self.step(self.later(60, 20 * 60), "reject",
                  lambda: reviewer(self.city, self.ticket, holder),
                  note=self.rng.choice(REJECT_NOTES))

    def approve(self, holder: User, late: bool) -> None:
        ticket = self.ticket
        if not late and ticket.handle_deadline - self.story.t > timedelta(minutes=40):
            wanted = self.story.between(self.story.t, ticket.handle_deadline, 0.05, 0.8)
        else:
            wanted = self.later(30, 24 * 60)
        self.step(wanted, "approve", lambda: reviewer(self.city, ticket, holder),
                  note=self.rng.choice(APPROVE_NOTES))

    def reopen(self, holder: User) -> None:
        """The reporter is not satisfied: reopened through the tracking code, handled again."""
        self.step(self.later(120, 4 * 24 * 60), "reopen", Actor.reporter,
                  note=self.rng.choice(REOPEN_REASONS))
        self.submit(holder, on_time=True)
        self.approve(holder, late=False)
        self.rated_low = True

    def rate(self, late: bool) -> None:
        rng = self.rng
        if self.plan.source != Source.PATROL and rng.random() < 0.88:
            weights = [10, 14, 22, 28, 26] if late or self.rated_low or self.ticket.rework_count \
                else [4, 6, 10, 25, 55]
            rating = rng.choices([1, 2, 3, 4, 5], weights=weights)[0]
            self.step(self.later(60, 72 * 60), "rate", Actor.reporter, rating=rating,
                      note=rng.choice(RATING_COMMENTS[rating]))
        elif self.plan.source == Source.PATROL and rng.random() < 0.5:
            # No reporter to ask: the community phones the neighbours and records it (回访).
            community = self.city.community_staff[self.ticket.community_id]
            self.step(self.later(60, 72 * 60), "follow_up", lambda: rng.choice(community),
                      rating=rng.choice((4, 5, 5)), note=rng.choice(REVISIT_COMMENTS))
