"""Random action sequences by random people: the rules hold after every single step."""
from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_statistic
from hypothesis import strategies as st
from PIL import Image

from models import (AttachmentKind, DispatchRule, ResponsibleKind, Ticket, TicketEvent,
                     TicketStatus, db)
from models.areas.locate import invalidate_area_index
from models.errors import WorkflowError
from models.tickets.attachments import Upload
from models.tickets.intake import Report, report_ticket
from models.tickets.timeline import replays_to_ticket
from models.tickets.workflow import ACTIONS, RULES, Actor, allowed_actions, perform
from models.vocabulary import OPEN_STATUSES

from .factories import build_world

P, IP, PR, C, S, INV = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS,
                        TicketStatus.PENDING_REVIEW, TicketStatus.CLOSED,
                        TicketStatus.SUSPENDED, TicketStatus.INVALID)
# Where each action leads (None: the state does not change; "back": where it was before suspending).
LEADS_TO = {"assign": P, "accept": IP, "return": P, "escalate": P, "transfer": P, "note": None,
            "request_extension": None, "approve_extension": None, "refuse_extension": None,
            "suspend": S, "resume": "back", "submit": PR, "approve": C, "reject": IP,
            "invalidate": INV, "merge": INV, "reopen": IP, "rate": None, "follow_up": None}
ACTORS = ["admin", "district", "street", "street2", "community", "community2", "gridworker",
          "gridworker2", "handler", "leader", "reporter", "system"]
NOTES = ["已处理", "需协调", "", "  "]
# Forward steps are drawn more often so that many sequences reach review, closing and rating.
FORWARD = {"accept": 12, "submit": 12, "approve": 12, "reject": 6, "rate": 8, "follow_up": 4,
           "reopen": 4, "resume": 6, "note": 2, "request_extension": 3, "approve_extension": 3,
           "refuse_extension": 3, "suspend": 2}  # the rest (re-dispatch, invalid, merge): 1


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, "PNG")
    return buffer.getvalue()


PHOTO = _photo()


def actor_for(world, name) -> Actor:
    if name == "reporter":
        return Actor.reporter()
    if name == "system":
        return Actor.system()
    return Actor.staff(world.users[name])


def params_for(world, ticket, other, action, note, number, photo, shift) -> dict:
    departments = list(world.departments.values())
    users = [u for u in world.users.values()]
    params = {"note": note}
    if action in ("assign", "transfer"):
        params["department_id"] = departments[number % len(departments)].id
        if action == "assign" and number % 2:
            params["user_id"] = users[number % len(users)].id
    if action == "request_extension" and ticket.handle_deadline is not None:
        params["until"] = (ticket.handle_deadline + timedelta(days=shift)).isoformat()
    if action in ("rate", "follow_up"):
        params["rating"] = number
    if action == "merge":
        params["master_id"] = other.id if number % 3 else ticket.id
    if action in ("submit", "note") and photo:
        params["attachments"] = [Upload(AttachmentKind.AFTER, "after.png", PHOTO)]
    return params


def snapshot(ticket: Ticket) -> tuple:
    return (ticket.status, ticket.assigned_user_id, ticket.assigned_department_id, ticket.version,
            ticket.event_seq, ticket.handle_deadline, ticket.rating)


def check_invariants(ticket: Ticket) -> None:
    events = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.seq)).scalars().all()
    assert replays_to_ticket(ticket, events)
    for event in events[2:]:  # after create and dispatch
        rule = RULES[event.action]
        assert event.from_status in rule.from_statuses, (event.action, event.from_status)
        target = LEADS_TO[event.action]
        if target is None:
            assert event.to_status == event.from_status
        elif target != "back":
            assert event.to_status == target
    if ticket.status in OPEN_STATUSES:
        assert ticket.accept_deadline is not None and ticket.handle_deadline is not None
    if ticket.status == C:
        assert ticket.closed_at is not None
    if ticket.status == S:
        assert ticket.suspended_at is not None and ticket.resume_status in (P, IP)
    rework = sum(1 for e in events if e.action in ("reject", "reopen"))
    assert ticket.rework_count == rework
    # The case's rating is that of its last closing: a reopening clears it (the old one stays
    # on the timeline), so only the ratings since the last reopening count.
    reopened = max((e.seq for e in events if e.action == "reopen"), default=0)
    ratings = [e for e in events if e.action in ("rate", "follow_up") and e.seq > reopened]
    assert (ticket.rating is not None) == bool(ratings)
    if ratings:  # the reporter's own, or a phone follow-up recorded by a named staff member
        assert ticket.rating_source.value == ("reporter" if ratings[-1].action == "rate"
                                              else "follow_up")
        assert ticket.rated_by_id == ratings[-1].actor_user_id
        assert (ratings[-1].actor_user_id is None) == (ratings[-1].action == "rate")
    approvals = [e for e in events if e.action == "approve"]
    submitters = [e.actor_user_id for e in events if e.action == "submit"]
    for approval in approvals:
        last_submit = max(e.seq for e in events if e.action == "submit" and e.seq < approval.seq)
        submitter = next(e.actor_user_id for e in events if e.seq == last_submit)
        assert approval.actor_user_id != submitter
    assert len(submitters) >= len(approvals)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_sequences_keep_every_rule(ctx, data):
    world = getattr(ctx, "_property_world", None)
    if world is None:
        invalidate_area_index()
        world = build_world()
        db.session.add(DispatchRule(category=world.categories["garbage"], area=world.areas["district"],
                                    responsible_kind=ResponsibleKind.GRID_WORKER))
        db.session.commit()
        ctx._property_world = world
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006, reporter_phone="13900001111")).ticket
    other = report_ticket(Report(category_id=world.categories["garbage"].id, description="另一处",
                                 lon=120.014, lat=30.006)).ticket
    db.session.commit()
    check_invariants(ticket)
    for _ in range(data.draw(st.integers(1, 24), label="steps")):
        options = {name: allowed_actions(actor_for(world, name), ticket)
                   for name in ACTORS if name != "system"}
        possible = sorted({a for actions in options.values() for a in actions})
        # Mostly a step someone may take (forward steps weighted up, so sequences get far),
        # sometimes anything by anyone.
        if possible and data.draw(st.integers(0, 4), label="bias"):
            weighted = [a for a in possible for _ in range(FORWARD.get(a, 1))]
            action = data.draw(st.sampled_from(weighted), label="action")
            who = data.draw(st.sampled_from([n for n, acts in options.items() if action in acts]),
                            label="who")
        else:
            who = data.draw(st.sampled_from(ACTORS), label="who")
            action = data.draw(st.sampled_from(ACTIONS), label="action")
        actor = actor_for(world, who)
        allowed = action in allowed_actions(actor, ticket)
        note, number, photo, shift = data.draw(st.tuples(
            st.sampled_from(NOTES), st.integers(0, 6), st.integers(0, 3).map(bool),
            st.integers(-2, 3)), label="input")
        before = snapshot(ticket)
        try:
            perform(ticket, action, actor, expected_version=ticket.version,
                    **params_for(world, ticket, other, action, note, number, photo, shift))
            db.session.commit()
        except WorkflowError:
            db.session.rollback()
            ticket = db.session.get(Ticket, ticket.id)
            assert snapshot(ticket) == before, f"{action} by {who} was refused but changed things"
        else:
            note_statistic(f"did {action}")
            assert allowed, f"{action} by {who} succeeded but was not allowed"
        check_invariants(ticket)
    note_statistic(f"reached {ticket.status.value}")
