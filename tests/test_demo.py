"""The demo district: every state present, timelines made by the workflow's own rules, deadlines
from the one deadline function, real tiling grids, every role."""
from __future__ import annotations

import random
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, shape

from models import (Area, AreaLevel, Category, DispatchRule, Role, Ticket, TicketEvent,
                    TicketStatus, User, db, utcnow)
from models.clock import to_local
from models.notify.outbox import Notification
from models.people.access import can_see_ticket, ticket_scope
from models.people.roles import MANAGER_ROLES
from models.tickets.actions import RULES
from models.tickets.deadlines import ticket_deadlines
from models.tickets.timeline import replays_to_ticket
from models.vocabulary import ActorKind, Channel, NotificationState, Priority

DEMO_ACCOUNTS = ["admin", "district", "street", "community", "gridworker", "handler", "leader"]
P, IP, PR, C, S, INV = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS, TicketStatus.PENDING_REVIEW,
                        TicketStatus.CLOSED, TicketStatus.SUSPENDED, TicketStatus.INVALID)
# Where each action leaves the ticket (None: where it was; resume: where it was before suspending).
LEADS_TO = {"assign": P, "transfer": P, "return": P, "escalate": P, "accept": IP, "suspend": S,
            "submit": PR, "approve": C, "reject": IP, "invalidate": INV, "merge": INV, "reopen": IP,
            "note": None, "request_extension": None, "approve_extension": None,
            "refuse_extension": None, "rate": None, "follow_up": None}
# The deadlines start again from the step (the accept deadline too, except on reopen).
RESTARTS = {"assign", "transfer", "escalate", "return"}
SWEEP_MARKS = {"overdue", "deadline_warning"}  # the scheduler's marks: no change of state


def test_every_state_is_present_in_the_demo(demo, app):
    with app.app_context():
        counts = dict(db.session.execute(
            sa.select(Ticket.status, sa.func.count()).group_by(Ticket.status)).all())
    assert sum(counts.values()) >= 500
    for status in TicketStatus:
        assert counts.get(status, 0) > 0, f"no {status.value} ticket in the demo"


def test_every_timeline_replays_to_its_ticket(demo, app):
    with app.app_context():
        tickets = db.session.execute(sa.select(Ticket)).scalars().all()
        events = db.session.execute(
            sa.select(TicketEvent).order_by(TicketEvent.ticket_id, TicketEvent.seq)).scalars().all()
        by_ticket: dict[int, list[TicketEvent]] = {}
        for event in events:
            by_ticket.setdefault(event.ticket_id, []).append(event)
        broken = [t.number for t in tickets if not replays_to_ticket(t, by_ticket.get(t.id, []))]
        assert broken == []
        closed = [t for t in tickets if t.status == TicketStatus.CLOSED]
        assert all(t.closed_at and t.accepted_at and t.submitted_at for t in closed)
        assert all(by_ticket[t.id][0].action == "create" for t in tickets)


def test_grids_tile_their_community(demo, app):
    rng = random.Random(7)
    with app.app_context():
        areas = db.session.execute(sa.select(Area)).scalars().all()
        grids = [a for a in areas if a.level == AreaLevel.GRID]
        communities = [a for a in areas if a.level == AreaLevel.COMMUNITY]
        streets = [a for a in areas if a.level == AreaLevel.STREET]
        assert len(streets) >= 2 and len(communities) >= 4
        for community in communities:
            mine = [shape(g.boundary) for g in grids if g.parent_id == community.id]
            assert len(mine) == 8
            outline = shape(community.boundary)
            min_x, min_y, max_x, max_y = outline.bounds
            inside = 0
            while inside < 200:
                point = Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
                if not outline.contains(point):
                    continue
                inside += 1
                assert sum(g.contains(point) for g in mine) == 1


def test_demo_has_every_role_and_a_grid_worker_on_every_grid(demo, app):
    with app.app_context():
        users = db.session.execute(sa.select(User)).scalars().all()
        assert {u.role for u in users} == set(Role)
        grids = db.session.execute(sa.select(Area.id).where(Area.level == AreaLevel.GRID)).scalars()
        workers = {u.scope_area_id for u in users if u.role.value == "grid_worker"}
        assert set(grids) <= workers


def test_the_demo_grid_worker_has_a_case_to_accept_and_one_in_hand(demo, app, login_as):
    """Whatever the hour the demo is seeded, the account offered for the phone app has work."""
    with app.app_context():
        mine = db.session.execute(sa.select(Ticket.status).join(
            User, User.id == Ticket.assigned_user_id).where(User.username == "gridworker")
        ).scalars().all()
    assert TicketStatus.PENDING in mine and TicketStatus.IN_PROGRESS in mine
    html = login_as("gridworker").get("/m/").get_data(as_text=True)
    assert "暂无工单" not in html


def test_realistic_skew(demo, app):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Category.name, sa.func.count()).join(Ticket, Ticket.category_id == Category.id)
            .group_by(Category.name)).all()
        by_name = dict(rows)
        assert max(by_name, key=by_name.get) == "垃圾清运"
        sewer = db.session.execute(
            sa.select(Ticket.created_at).join(Category).where(Category.name == "下水道堵塞")
        ).scalars().all()
        months = Counter(t.month for t in sewer)
        rainy = sum(months[m] for m in (6, 7, 8))
        assert rainy > len(sewer) / 3  # three of twelve months hold more than a third


@pytest.mark.parametrize("username", DEMO_ACCOUNTS)
def test_each_demo_account_sees_a_chinese_panel_with_its_own_tickets(demo, app, login_as, username):
    client = login_as(username)
    home = client.get("/admin/").get_data(as_text=True)
    assert "工单列表" in home and "首页" in home
    html = client.get("/admin/ticket/").get_data(as_text=True)
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.username == username)).scalar_one()
        expected = db.session.execute(
            sa.select(sa.func.count()).select_from(Ticket).where(ticket_scope(user))).scalar_one()
        visible_numbers = set(db.session.execute(
            sa.select(Ticket.number).where(ticket_scope(user))).scalars())
    assert expected > 0, f"{username} has an empty list in the demo"
    assert f"共 {expected} 条工单" in html
    shown = set(re.findall(r"GD\d{12}", html))
    assert shown and shown <= visible_numbers
    if username != "admin":
        assert client.get("/admin/user/").status_code == 403


# --- the demo is made by the workflow -----------------------------------------------------------

def _timelines() -> tuple[list[Ticket], dict[int, list[TicketEvent]]]:
    tickets = db.session.execute(sa.select(Ticket).order_by(Ticket.id)).scalars().all()
    by_ticket: dict[int, list[TicketEvent]] = {}
    for event in db.session.execute(
            sa.select(TicketEvent).order_by(TicketEvent.ticket_id, TicketEvent.seq)).scalars():
        by_ticket.setdefault(event.ticket_id, []).append(event)
    return tickets, by_ticket


def _relations(event: TicketEvent, actor: User | None, ticket: Ticket,
               submitter: int | None) -> set:
    """The workflow's relations of the actor to the ticket as it stood before the event."""
    if event.actor_kind == ActorKind.SYSTEM:
        return {"system"}
    if event.actor_kind == ActorKind.REPORTER:
        return {"reporter"}
    found = set()
    if event.from_user_id == actor.id:
        found.add("assignee")
    elif event.from_user_id is None and actor.department_id == event.from_department_id:
        found.add("queue")
    if actor.role in MANAGER_ROLES and can_see_ticket(actor, ticket):
        found.add("manager")
        if submitter != actor.id:
            found.add("reviewer")
    return found


def _rule_breaks(ticket: Ticket, events: list[TicketEvent], users: dict[int, User],
                 seeded_by: datetime) -> list[str]:
    """Each step's state, actor and moment checked against the workflow's rule table."""
    broken = []
    if [e.action for e in events[:2]] != ["create", "dispatch"] \
            or events[0].created_at != ticket.created_at:
        broken.append("does not start with its report and dispatch")
    submitter = before_suspending = None
    for previous, event in zip(events, events[1:]):
        where = f"{ticket.number} #{event.seq} {event.action}"
        if not previous.created_at <= event.created_at <= seeded_by:
            broken.append(f"{where}: out of order in time")
        if event.action in ("dispatch", *SWEEP_MARKS):
            if event.actor_kind != ActorKind.SYSTEM or event.to_status != event.from_status:
                broken.append(f"{where}: not a plain system step")
            continue
        rule = RULES[event.action]
        if event.from_status not in rule.from_statuses:
            broken.append(f"{where}: not allowed from {event.from_status}")
        if not _relations(event, users.get(event.actor_user_id), ticket, submitter) & rule.who:
            broken.append(f"{where}: taken by someone not allowed to")
        expected = before_suspending if event.action == "resume" else LEADS_TO[event.action]
        if event.to_status != (expected or event.from_status):
            broken.append(f"{where}: leads to {event.to_status}")
        if event.action == "suspend":
            before_suspending = event.from_status
        if event.action == "submit":
            submitter = event.actor_user_id
    return broken


def test_every_demo_timeline_follows_the_workflow_rules(demo, app):
    """Every step of every demo ticket is one the workflow allows: from its state, by someone
    with the right relation to the ticket, to the state the action leads to, in time order."""
    with app.app_context():
        seeded_by = utcnow()
        tickets, by_ticket = _timelines()
        users = {u.id: u for u in db.session.execute(sa.select(User)).scalars()}
        broken = [problem for t in tickets
                  for problem in _rule_breaks(t, by_ticket[t.id], users, seeded_by)]
        assert broken == []
        actions = {e.action for events in by_ticket.values() for e in events}
    # The demo shows the whole loop, not only the happy path.
    assert set(LEADS_TO) - {"refuse_extension"} <= actions


def _expected_deadlines(ticket: Ticket, events: list[TicketEvent]) -> tuple[datetime, datetime]:
    """The deadlines the timeline gives the ticket: the one deadline function at dispatch and at
    each restart, with the dispatch rule's override and the priority; moved by extensions and
    suspensions."""
    dispatched = events[1]
    rule_id = (dispatched.details or {}).get("rule_id")
    rule = db.session.get(DispatchRule, rule_id) if rule_id else None
    accept, handle = ticket_deadlines(ticket.category, rule, ticket.priority, ticket.created_at)
    suspended = None
    for event in events[2:]:
        if event.action == "suspend":
            suspended = event.created_at
        elif event.action in RESTARTS or event.action == "reopen":
            fresh = ticket_deadlines(ticket.category, rule, ticket.priority, event.created_at)
            accept = fresh[0] if event.action in RESTARTS else accept
            handle = fresh[1]
        elif event.action == "approve_extension":
            handle = datetime.fromisoformat(event.details["to"])
        elif event.action == "resume":
            paused = event.created_at - suspended
            accept, handle = accept + paused, handle + paused
    return accept, handle


def test_demo_deadlines_are_what_the_deadline_function_gives(demo, app):
    """No deadline in the demo is made up: each is the one deadline function's for the ticket's
    category, rule, priority and start; urgent and emergency tickets get shorter ones."""
    with app.app_context():
        tickets, by_ticket = _timelines()
        wrong = [t.number for t in tickets
                 if (t.accept_deadline, t.handle_deadline)
                 != _expected_deadlines(t, by_ticket[t.id])]
        assert wrong == []
        shorter = 0
        urgent = [t for t in tickets if t.priority != Priority.NORMAL]
        for ticket in urgent:
            rule_id = (by_ticket[ticket.id][1].details or {}).get("rule_id")
            rule = db.session.get(DispatchRule, rule_id) if rule_id else None
            normal = ticket_deadlines(ticket.category, rule, Priority.NORMAL, ticket.created_at)
            own = ticket_deadlines(ticket.category, rule, ticket.priority, ticket.created_at)
            assert own[1] <= normal[1]
            shorter += own[1] < normal[1]
    assert len(urgent) >= 30 and shorter >= len(urgent) * 0.6


def test_the_demo_outbox_has_delivered_the_past_and_holds_the_last_day(demo, app):
    """The workflow wrote the messages of every step; those of steps older than a day count as
    delivered back then (in-app ones as read), the last day's wait for the deliverer. Each row
    carries its event's time."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Notification.created_at, Notification.sent_at, Notification.state,
                      Notification.channel, TicketEvent.created_at)
            .join(TicketEvent, TicketEvent.id == Notification.event_id)).all()
    day_ago = utcnow() - timedelta(days=1)
    old = [r for r in rows if r[4] < day_ago - timedelta(minutes=30)]
    recent = [r for r in rows if r[4] > day_ago + timedelta(minutes=30)]
    assert old and recent and all(made == at for made, _sent, _state, _channel, at in rows)
    assert all(sent == at and state == (NotificationState.READ if channel == Channel.IN_APP
                                        else NotificationState.SENT)
               for _made, sent, state, channel, at in old)
    assert {state for _made, _sent, state, _channel, _at in recent} == {NotificationState.PENDING}


def test_the_demo_has_patrol_rounds_with_routes_and_gaps_in_coverage(demo, app):
    from models import PatrolCheckIn, PatrolReport, PatrolRound
    from models.patrol.queries import patrol_coverage
    from models.patrol.route import MAX_ROUTE_POINTS

    with app.app_context():
        rounds = db.session.execute(sa.select(PatrolRound)).scalars().all()
        assert len(rounds) == demo["patrol_rounds"] > 20
        assert all(r.ended_at is not None and 2 < r.point_count <= MAX_ROUTE_POINTS for r in rounds)
        assert all(r.grid_id == r.worker.scope_area_id for r in rounds)
        assert db.session.execute(sa.select(sa.func.count()).select_from(PatrolCheckIn)).scalar_one() >= len(rounds)
        linked = db.session.execute(sa.select(Ticket).join(
            PatrolReport, PatrolReport.ticket_id == Ticket.id)).scalars().all()
        assert linked and all(t.source.value == "patrol" for t in linked)
        # Grid workers patrol by day, whatever hour the demo was seeded at: each round within
        # one day's daylight, each patrol report by day.
        for r in rounds:
            began, ended = to_local(r.started_at), to_local(r.ended_at)
            assert began.date() == ended.date() and 7 <= began.hour and ended.hour <= 18, r.id
        patrol_hours = {to_local(at).hour for at in db.session.execute(
            sa.select(Ticket.created_at).where(Ticket.source == "patrol")).scalars()}
        assert patrol_hours and patrol_hours <= set(range(8, 17))
        admin = db.session.execute(sa.select(User).where(User.username == "admin")).scalar_one()
        week = patrol_coverage(admin, 7)
        assert any(row.covered for row in week) and any(not row.covered for row in week)


# --- issue 12's "done when" on the demo (read only) ---------------------------------------------

def test_the_demo_suggests_its_category_for_a_typed_description(demo, app, login_as):
    """Typing "楼道里堆满了纸箱" (phone patrol form, hotline form: both ask this endpoint)
    suggests 楼道堆物 first, with the words that drove it."""
    body = login_as("gridworker").get("/api/v1/categories/suggest",
                                      query_string={"text": "楼道里堆满了纸箱"}).get_json()
    assert body["enough_history"] is True and 1 <= len(body["items"]) <= 3
    first = body["items"][0]
    assert first["name"] == "楼道堆物" and {"纸箱", "楼道"} & set(first["words"])


def test_the_demo_matrix_flags_the_rule_that_routes_badly(demo, app, login_as):
    """道路破损 → 城管 by the rule, but most of its cases end with 住建: flagged on the matrix and
    on the report page, with the suggested change."""
    from models.tickets.dispatch_quality import dispatch_quality, suggestion

    with app.app_context():
        rule = db.session.execute(sa.select(DispatchRule).join(Category).where(
            Category.code == "0503")).scalar_one()
        figures = dispatch_quality().by_rule[rule.id]
        assert figures.flagged
        assert "住房和城乡建设局" in suggestion(rule, figures).department.name
    admin = login_as("admin")
    matrix = admin.get("/admin/matrix/?level=street").get_data(as_text=True)
    row = re.search(r'道路破损.*?</tr>', matrix, re.S).group(0)
    assert "gd-dq-mark" in row
    report = admin.get("/admin/dispatch-quality/").get_data(as_text=True)
    assert f'id="gd-dq-rule-{rule.id}"' in report and "住房和城乡建设局" in report


def test_a_demo_ticket_tells_of_the_place_its_title_names(demo, app):
    """A case titled at an estate is not described at a road (or another estate): read as two
    different cases. Every road and estate a description names is in its title or address."""
    from demo.city import STREETS

    names = {name for _street, communities in STREETS
             for _c, _s, roads, estates in communities for name in (*roads, *estates)}
    with app.app_context():
        tickets = db.session.execute(sa.select(Ticket.number, Ticket.title, Ticket.description,
                                               Ticket.address)).all()
    elsewhere = [(number, title, description) for number, title, description, address in tickets
                 if any(name in description and name not in title + (address or "")
                        for name in names)]
    assert elsewhere == []


def test_a_case_found_on_patrol_at_night_was_phoned_in(app):
    """Grid workers patrol by day: whatever hour the demo is seeded at, a patrol report planned
    outside 8:00–17:00 local time becomes a phone call; other sources keep their hour."""
    from demo.plans import by_day
    from models.clock import local_zone
    from models.vocabulary import Source

    with app.app_context():
        def at(hour, minute=0):
            return datetime(2026, 3, 2, hour, minute, tzinfo=local_zone())

        assert by_day(Source.PATROL, at(8)) == by_day(Source.PATROL, at(16, 59)) == Source.PATROL
        assert {by_day(Source.PATROL, at(h)) for h in (0, 3, 7, 17, 23)} == {Source.PHONE}
        assert by_day(Source.WECHAT, at(2)) == Source.WECHAT
