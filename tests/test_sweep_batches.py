"""Issue 14: the deadline sweep marks a page of tickets at once (models/tickets/timeouts.py
``mark_all_overdue``, ``warn_deadlines_near``). The batch writes what the one-ticket step writes —
the same ticket changes, events and outbox rows — in a few statements per page; a page whose
batch fails is taken one ticket at a time."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from jobs.sweeps import deadline_sweep
from models import (AreaLevel, Channel, ChannelSetting, DeadlineUnit, DispatchRule, Notification,
                    Priority, Ticket, TicketEvent, TicketStatus, db)
from models.errors import WorkflowError
from models.tickets import timeouts
from models.tickets.actions import Action
from models.tickets.deadlines import invalidate_calendar, ticket_deadlines
from models.tickets.timeline import Step, record_event, record_steps

from .conftest import statements_sent
from .factories import make_ticket

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
DEADLINE = START + timedelta(days=1)
LATE = DEADLINE + timedelta(minutes=5)


@pytest.fixture()
def world(world):
    invalidate_calendar()
    db.session.add(ChannelSetting(channel=Channel.WECOM, enabled=True))  # group robots hear too
    db.session.commit()
    return world


def situations(world) -> list[Ticket]:
    """One ticket in each situation the overdue step tells differently."""
    w, made = world, []
    # a grid worker's ticket of a category that escalates: marked, then one level up
    made.append(make_ticket(w, "grid1", assignee=w.users["gridworker"],
                            status=TicketStatus.IN_PROGRESS))
    # a department's queue at the district level: marked, nowhere higher to go
    queue = make_ticket(w, "grid3", department=w.departments["sanitation"],
                        status=TicketStatus.IN_PROGRESS)
    queue.current_level = AreaLevel.DISTRICT
    made.append(queue)
    # a person's ticket of a category that does not escalate
    quiet = make_ticket(w, "grid2", assignee=w.users["gridworker2"],
                        status=TicketStatus.IN_PROGRESS)
    quiet.category = w.categories["top"]
    w.categories["top"].escalate_when_overdue = False
    made.append(quiet)
    # escalates from the street: the district's command centre takes it
    street = make_ticket(w, "grid3", department=w.departments["street2_centre"],
                         status=TicketStatus.IN_PROGRESS)
    street.current_level = AreaLevel.STREET
    made.append(street)
    for ticket in made:
        ticket.created_at = START
        ticket.handle_deadline = DEADLINE
    db.session.commit()
    return made


def what_changed(ticket: Ticket, before: dict) -> dict:
    """A ticket's changes, events and outbox rows since ``before``, with its own ids, number and
    title replaced, so two tickets in the same situation compare equal."""
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    events = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.seq > before["event_seq"])
        .order_by(TicketEvent.seq)).scalars().all()
    seq_of = {e.id: e.seq for e in events}

    def plain(text):
        text = str(text).replace(ticket.number, "<number>").replace(ticket.title, "<title>")
        return re.sub(r"event:(\d+):ticket:\d+",
                      lambda m: f"event:<seq {seq_of.get(int(m.group(1)))}>:ticket:<t>", text)

    notices = db.session.execute(sa.select(Notification).where(
        Notification.event_id.in_(list(seq_of)))).scalars().all()
    return {
        "ticket": {**{name: getattr(ticket, name) for name in (
            "status", "overdue_at", "warned_at", "current_level", "assigned_user_id",
            "assigned_department_id", "handle_deadline", "accept_deadline", "deadlines_from",
            "accepted_at", "event_seq")},
            "versions_on": ticket.version - before["version"],
            "activity": ticket.last_activity_at if ticket.last_activity_at
            != before["last_activity_at"] else "unchanged"},
        "events": [(e.seq, e.action, e.actor_kind, e.actor_user_id, e.from_status, e.to_status,
                    e.from_user_id, e.to_user_id, e.from_department_id, e.to_department_id,
                    e.note, e.details, e.created_at) for e in events],
        "outbox": sorted([(seq_of.get(n.event_id), n.recipient_user_id, n.recipient_address,
                          n.channel.value, n.template, n.state.value, n.attempts,
                          plain(n.dedupe_key), plain(sorted(n.payload.items())))
                          for n in notices], key=repr),
    }


def state(ticket: Ticket) -> dict:
    return {"event_seq": ticket.event_seq, "version": ticket.version,
            "last_activity_at": ticket.last_activity_at}


def marked_alone(ticket: Ticket, now: datetime) -> timeouts.Overdue:
    """The one-ticket step as it was before its batch form: through ``record_event``, the
    path every user's action takes, and the escalate rule."""
    ticket.overdue_at = now
    record_event(ticket, Action.OVERDUE, at=now,
                 details={"deadline": ticket.handle_deadline.isoformat()})
    if not ticket.category.escalate_when_overdue:
        return timeouts.Overdue(False)
    try:
        return timeouts.Overdue(timeouts._escalate(ticket, now, timeouts.OVERDUE_NOTE) is not None)
    except WorkflowError as exc:
        return timeouts.Overdue(False, exc.message)


def warned_alone(ticket: Ticket, now: datetime) -> None:
    ticket.warned_at = now
    record_event(ticket, Action.DEADLINE_WARNING, at=now,
                 details={"deadline": ticket.handle_deadline.isoformat()})


def test_a_page_marked_at_once_writes_what_each_ticket_marked_alone_writes(world):
    singles, batch = situations(world), situations(world)
    before = {t.id: state(t) for t in singles + batch}
    alone = [marked_alone(t, LATE) for t in singles]
    db.session.commit()
    together = timeouts.mark_all_overdue([timeouts.seen(t) for t in batch], LATE)
    db.session.commit()
    assert [(o.escalated, o.refusal) for o in together] == [(o.escalated, o.refusal)
                                                            for o in alone]
    assert [o.escalated for o in alone] == [True, False, False, True]
    for one, other in zip(singles, batch):
        assert what_changed(other, before[other.id]) == what_changed(one, before[one.id])
    changes = what_changed(batch[1], before[batch[1].id])
    assert [e[1] for e in changes["events"]] == ["overdue"]
    # handler's department, the reviewers of its community and street, the group robot
    assert {(n[1], n[2]) for n in changes["outbox"]} == {
        (world.users["handler"].id, None), (world.users["community2"].id, None),
        (world.users["street2"].id, None), (None, "wecom")}
    for ticket in (batch[1], batch[2]):  # one event, one version, exactly as alone
        assert ticket.version == before[ticket.id]["version"] + 1
        assert ticket.overdue_at == LATE


def test_a_page_of_warnings_writes_what_each_warning_alone_writes(world):
    singles, batch = situations(world), situations(world)
    near = START + (DEADLINE - START) * 0.9
    before = {t.id: state(t) for t in singles + batch}
    for ticket in singles:
        warned_alone(ticket, near)
    db.session.commit()
    assert len(timeouts.warn_deadlines_near([timeouts.seen(t) for t in batch], near)) == 4
    db.session.commit()
    for one, other in zip(singles, batch):
        assert what_changed(other, before[other.id]) == what_changed(one, before[one.id])
        assert other.version == before[other.id]["version"] + 1
    assert [timeouts.warn_deadline_near(t, near) for t in batch] == [None] * 4
    assert timeouts.warn_deadlines_near([timeouts.seen(t) for t in batch], near) == []


def not_escalating(world, count: int) -> list[Ticket]:
    made = [make_ticket(world, "grid2", assignee=world.users["gridworker2"],
                        status=TicketStatus.IN_PROGRESS) for _ in range(count)]
    for ticket in made:
        ticket.category = world.categories["top"]
        ticket.handle_deadline = DEADLINE
    world.categories["top"].escalate_when_overdue = False
    db.session.commit()
    return made


def test_a_page_takes_the_same_statements_however_many_tickets_it_holds(world):
    """Tickets that do not escalate are marked in a fixed number of statements per page."""
    def statements_to_mark(count: int) -> int:
        seen = [timeouts.seen(t) for t in not_escalating(world, count)]
        with statements_sent() as executed:
            assert len(timeouts.mark_all_overdue(seen, LATE)) == count
        db.session.commit()
        return len(executed)

    statements_to_mark(1)  # the reference caches filled, as after the first page
    few, many = statements_to_mark(2), statements_to_mark(12)
    assert few == many <= 6


def test_a_ticket_changed_since_it_was_read_is_left_to_the_next_run(world):
    ticket, other = not_escalating(world, 2)
    stale = (ticket.id, ticket.version - 1)
    marked = timeouts.mark_all_overdue([stale, timeouts.seen(other)], LATE)
    db.session.commit()
    assert [m.number for m in marked] == [other.number]
    assert ticket.overdue_at is None and other.overdue_at == LATE


def test_a_page_whose_batch_fails_is_marked_one_ticket_at_a_time(world, monkeypatch, caplog):
    made = situations(world)
    before = {t.id: state(t) for t in made}

    def broken(*_args):
        raise RuntimeError("connection reset while reading the page's tickets")

    monkeypatch.setattr(timeouts, "_read_for_escalation", broken)  # only the page's form
    with caplog.at_level("WARNING", logger="griddesk.jobs"):
        assert deadline_sweep(LATE) == {"warned": 0, "overdue": 4, "escalated": 2}
    assert "one ticket at a time" in caplog.text
    for ticket in made:
        changes = what_changed(ticket, before[ticket.id])
        assert changes["events"][0][1] == "overdue"
        assert [n for n in changes["outbox"] if n[0] == before[ticket.id]["event_seq"] + 1]
    assert deadline_sweep(LATE) == {"warned": 0, "overdue": 0, "escalated": 0}


def test_the_sweep_marks_pages_and_a_second_run_changes_nothing(world, monkeypatch):
    import jobs.sweeps

    monkeypatch.setattr(jobs.sweeps, "BATCH", 3)
    made = not_escalating(world, 7)
    before = {t.id: state(t) for t in made}
    assert deadline_sweep(LATE) == {"warned": 0, "overdue": 7, "escalated": 0}
    rows = db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar()
    assert deadline_sweep(LATE) == {"warned": 0, "overdue": 0, "escalated": 0}
    assert db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() \
        == rows
    for ticket in made:
        assert ticket.overdue_at == LATE
        assert (ticket.event_seq, ticket.version) == (before[ticket.id]["event_seq"] + 1,
                                                      before[ticket.id]["version"] + 1)


# --- the policy's escalations of a page: decided by the one escalate rule, written at once ----

def escalating(world, count: int, *, grid: str = "grid1") -> list[Ticket]:
    """Overdue tickets of the escalating category, each with its grid's worker."""
    worker = world.users["gridworker" if grid == "grid1" else "gridworker2"]
    made = [make_ticket(world, grid, assignee=worker, status=TicketStatus.IN_PROGRESS)
            for _ in range(count)]
    for ticket in made:
        ticket.created_at = START
        ticket.handle_deadline = DEADLINE
    db.session.commit()
    return made


def mixed(world) -> list[Ticket]:
    """A page as the sweep meets it: every situation above, an urgent ticket (its new clock is
    scaled), and tickets whose community has no office to take them (refused: the mark stays)."""
    made = situations(world)
    urgent = make_ticket(world, "grid2", assignee=world.users["gridworker2"],
                         status=TicketStatus.IN_PROGRESS, priority=Priority.URGENT)
    no_office = [make_ticket(world, "grid3", department=world.departments["street2_centre"],
                             status=TicketStatus.IN_PROGRESS) for _ in range(2)]
    for ticket in [urgent, *no_office]:
        ticket.created_at = START
        ticket.handle_deadline = DEADLINE
    db.session.commit()
    return [made[0], no_office[0], made[1], urgent, made[2], no_office[1], made[3]]


def test_a_mixed_page_escalates_and_refuses_as_each_ticket_alone(world):
    """Escalations, refusals and tickets that stay, in one page: the same tickets (level,
    office, no assignee, new deadlines from the rule's override, version), the same events and
    the same outbox rows as the one-ticket path (``perform``), and the same refusals."""
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    rule.handle_deadline, rule.handle_deadline_unit = 6, DeadlineUnit.NATURAL_HOURS
    world.departments["office2"].active = False  # grid3's community: nobody above its grid
    db.session.commit()
    singles, batch = mixed(world), mixed(world)
    before = {t.id: state(t) for t in singles + batch}
    alone = [marked_alone(t, LATE) for t in singles]
    db.session.commit()
    together = timeouts.mark_all_overdue([timeouts.seen(t) for t in batch], LATE)
    db.session.commit()
    refused = "上一级未配置接收部门。"  # "No office is configured at the next level up."
    assert [(o.escalated, o.refusal) for o in alone] == [
        (True, None), (False, refused), (False, None), (True, None), (False, None),
        (False, refused), (True, None)]
    assert {o.number: (o.escalated, o.refusal) for o in together} == {
        t.number: (o.escalated, o.refusal) for o, t in zip(alone, batch)}
    for one, other in zip(singles, batch):
        assert what_changed(other, before[other.id]) == what_changed(one, before[one.id])
    first, urgent = batch[0], batch[3]
    changes = what_changed(first, before[first.id])
    assert [e[1] for e in changes["events"]] == ["overdue", "escalate"]
    assert changes["events"][1][10:12] == (timeouts.OVERDUE_NOTE,
                                           {"from_level": "grid", "to_level": "community"})
    assert changes["ticket"]["versions_on"] == 2 and changes["ticket"]["overdue_at"] is None
    assert (first.status, first.current_level, first.assigned_user_id,
            first.assigned_department_id) == (TicketStatus.PENDING, AreaLevel.COMMUNITY, None,
                                              world.departments["office1"].id)
    for ticket in (first, urgent):  # the new clock: the rule's six hours, scaled by priority
        assert (ticket.accept_deadline, ticket.handle_deadline) == ticket_deadlines(
            ticket.category, rule, ticket.priority, LATE)
    assert urgent.handle_deadline - LATE < first.handle_deadline - LATE == timedelta(hours=6)
    # the office one level up and the group robot are told, once per message
    assert {(n[1], n[2], n[4]) for n in changes["outbox"] if n[0] == 2 + before[first.id][
        "event_seq"]} == {(world.users["community"].id, None, "escalate"),
                          (None, "wecom", "escalate")}
    stays = batch[1]
    assert stays.overdue_at == LATE and stays.current_level == AreaLevel.GRID
    assert [e[1] for e in what_changed(stays, before[stays.id])["events"]] == ["overdue"]


def test_a_ticket_changed_after_its_escalation_was_decided_is_left_alone(world):
    """The page's write is guarded by the version each ticket was decided on: a ticket someone
    changed meanwhile gets no escalation (no event, no message); the others go up."""
    from models.tickets.workflow import Actor, escalation

    changed, kept = escalating(world, 2)
    steps = []
    for ticket in (changed, kept):
        step = escalation(ticket, Actor.system(), LATE, timeouts.OVERDUE_NOTE)
        steps.append(Step.on(ticket, step.to_status, None, step.department.id, step.changes,
                          step.note, step.details))
    before = {t.id: state(t) for t in (changed, kept)}
    changed.title = "有人刚改过标题"  # another user's edit, committed first
    db.session.commit()
    written = record_steps(steps, Action.ESCALATE, at=LATE)
    db.session.commit()
    assert [row.id for row in written] == [kept.id]
    assert changed.status == TicketStatus.IN_PROGRESS and changed.current_level == AreaLevel.GRID
    assert what_changed(changed, before[changed.id])["events"] == []
    assert [e[1] for e in what_changed(kept, before[kept.id])["events"]] == ["escalate"]


def test_a_page_of_escalations_takes_the_same_few_statements_however_many_go_up(world):
    """Marking and escalating a page is a fixed number of statements (the one-ticket path took
    four or more per escalation): the marks (4), the reference versions and group channels (2),
    the read of what the rule needs (3), then one UPDATE, one INSERT of events, one of
    statistics marks, one of messages."""
    def statements(count: int) -> int:
        seen = [timeouts.seen(t) for t in escalating(world, count)]
        with statements_sent() as executed:
            outcomes = timeouts.mark_all_overdue(seen, LATE)
        assert [o.escalated for o in outcomes] == [True] * count
        db.session.commit()
        return len(executed)

    statements(1)  # the reference caches filled, as after the first page
    few, many = statements(3), statements(40)
    assert few == many <= 13


def test_a_batch_step_moves_last_activity_only_when_it_changes_status_or_holder(world):
    """record_steps applies the one activity rule (timeline.moves_activity) per ticket: a step
    that hands the ticket to someone else is activity, one that leaves status and holder as they
    are is not (the same as record_event for that event)."""
    kept, handed = (make_ticket(world, "grid1", assignee=world.users["gridworker"],
                                status=TicketStatus.IN_PROGRESS) for _ in range(2))
    db.session.commit()
    before = {t.id: t.last_activity_at for t in (kept, handed)}
    steps = [Step.on(kept, kept.status, kept.assigned_user_id, kept.assigned_department_id,
                     {"current_level": kept.current_level}),
             Step.on(handed, handed.status, None, world.departments["office1"].id,
                     {"current_level": handed.current_level})]
    assert [step.moves_activity for step in steps] == [False, True]
    changed = record_steps(steps, Action.OVERDUE, at=LATE)
    db.session.commit()
    assert {row.id for row in changed} == {kept.id, handed.id}
    db.session.expire_all()
    assert db.session.get(Ticket, kept.id).last_activity_at == before[kept.id]
    assert db.session.get(Ticket, handed.id).last_activity_at == LATE


def test_the_warning_finds_the_tickets_being_handled_and_not_warned_from_their_own_index(world):
    """Only tickets being handled (in progress, waiting for review), past the warning share of
    their time and not warned yet are due; on PostgreSQL the sweep reads them from
    ``ix_tickets_handled_unwarned`` alone, not from every open ticket's row (migration 0040)."""
    due_now = situations(world)
    review = make_ticket(world, "grid1", assignee=world.users["gridworker"],
                         status=TicketStatus.PENDING_REVIEW)
    warned, pending, early = (make_ticket(world, "grid1", assignee=world.users["gridworker"],
                                          status=status)
                              for status in (TicketStatus.IN_PROGRESS, TicketStatus.PENDING,
                                             TicketStatus.IN_PROGRESS))
    for ticket in (review, warned, pending, early):
        ticket.created_at, ticket.handle_deadline = START, DEADLINE
    early.deadlines_from = START + (DEADLINE - START) * 0.5  # its clock started late
    warned.warned_at = START
    db.session.commit()
    near = START + (DEADLINE - START) * 0.85
    # as the sweep reads them (jobs/sweeps.py each_page): each ticket's id and version
    query = timeouts.due_for_warning(near).with_only_columns(Ticket.id, Ticket.version) \
        .order_by(Ticket.id)
    assert [row.id for row in db.session.execute(query)] == sorted(
        t.id for t in [*due_now, review])
    if db.engine.dialect.name != "postgresql":
        return
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE tickets"))  # as autovacuum keeps a big one
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    db.session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = "\n".join(db.session.execute(sa.text(f"EXPLAIN {compiled}")).scalars())
    assert "Index Only Scan using ix_tickets_handled_unwarned" in plan, plan
    db.session.rollback()
