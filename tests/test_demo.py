"""The demo district: every state present, consistent timelines, real tiling grids, every role."""
from __future__ import annotations

import random
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, shape

from models import Area, AreaLevel, Category, Role, Ticket, TicketEvent, TicketStatus, User, db
from models.people.access import ticket_scope
from models.tickets.timeline import replays_to_ticket

DEMO_ACCOUNTS = ["admin", "district", "street", "community", "gridworker", "handler", "leader"]


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
