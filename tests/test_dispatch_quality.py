"""Issue 12, point 3: dispatch quality (派单质量) — per dispatch rule, the tickets it routed, how
many came back, were transferred or re-dispatched, the median time to first acceptance; flagged
rules on the matrix page and the report page, and the one-click suggested change (audited)."""
from __future__ import annotations

import random
from datetime import timedelta
from statistics import median

import pytest
import sqlalchemy as sa

from models import (ConfigChange, Department, DepartmentKind, DispatchRule, ResponsibleKind,
                    Role, db, utcnow)
from models.tickets.dispatch_quality import dispatch_quality, suggestion
from models.tickets.intake import Report, report_ticket

from .conftest import session_csrf_token
from .factories import add_user
from .test_overdue_and_deadlines import do

GRID1 = (120.004, 30.006)  # 甲一网格 in 甲社区 (community1)
GRID3 = (120.024, 30.006)  # 乙一网格 in 乙社区: no grid worker → the street centre's queue
FATES = ("accept", "return", "transfer", "assign_same", "nothing")


@pytest.fixture()
def world(world):
    """conftest's world plus 区住建局 with its handler, and the rule 垃圾清运 @ 甲社区 → 区环卫中心."""
    housing = Department(name="区住建局", kind=DepartmentKind.FUNCTIONAL,
                         area=world.areas["district"])
    db.session.add(housing)
    world.departments["housing"] = housing
    add_user(world, "housing_handler", Role.HANDLER, world.areas["district"], housing)
    world.rule = DispatchRule(category=world.categories["garbage"],
                              area=world.areas["community1"],
                              responsible_kind=ResponsibleKind.DEPARTMENT,
                              department=world.departments["sanitation"])
    db.session.add(world.rule)
    db.session.commit()
    return world


def report(world, where, when):
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=where[0], lat=where[1]), now=when).ticket
    db.session.commit()
    return ticket


def live(world, fate: str, where, when, hours: int):
    """One ticket through the real workflow operations; returns what the test expects of it."""
    ticket = report(world, where, when)
    later = when + timedelta(hours=hours)
    handler = "handler" if where == GRID1 else None
    street = "street" if where == GRID1 else "street2"
    housing = world.departments["housing"].id
    expected = {"returned": False, "transferred": False, "redispatched": False, "accept": None,
                "ended": ticket.assigned_department_id}
    if fate == "accept" and handler:
        do(ticket, "accept", world, handler, later)
        expected["accept"] = hours * 3600
    elif fate == "return" and handler:
        do(ticket, "return", world, handler, later, note="不归我们管")
        do(ticket, "assign", world, street, later + timedelta(hours=1), department_id=housing)
        do(ticket, "accept", world, "housing_handler", later + timedelta(hours=2))
        expected.update(returned=True, redispatched=True, accept=(hours + 2) * 3600,
                        ended=housing)
    elif fate == "transfer":
        do(ticket, "transfer", world, street, later, department_id=housing, note="住建的事")
        do(ticket, "accept", world, "housing_handler", later + timedelta(hours=1))
        expected.update(transferred=True, accept=(hours + 1) * 3600, ended=housing)
    elif fate == "assign_same" and handler:  # to a person of the same department: not a move
        do(ticket, "assign", world, street, later,
           department_id=world.departments["sanitation"].id, user_id=world.users["handler"].id)
        do(ticket, "accept", world, handler, later + timedelta(hours=1))
        expected["accept"] = (hours + 1) * 3600
    return ticket, expected


def recount(plan: list[dict]) -> dict:
    moved = [p for p in plan if p["returned"] or p["transferred"] or p["redispatched"]]
    accepts = [p["accept"] for p in plan if p["accept"] is not None]
    return {"routed": len(plan), "returned": sum(p["returned"] for p in plan),
            "transferred": sum(p["transferred"] for p in plan),
            "redispatched": sum(p["redispatched"] for p in plan), "moved": len(moved),
            "median": round(median(accepts) / 3600, 1) if accepts else None}


def figures_of(f) -> dict:
    return {"routed": f.routed, "returned": f.returned, "transferred": f.transferred,
            "redispatched": f.redispatched, "moved": f.moved, "median": f.median_accept_hours}


def test_figures_equal_a_recount_of_a_generated_history(world):
    rng = random.Random(12)
    start = utcnow() - timedelta(days=20)
    by_place: dict[tuple, list[dict]] = {GRID1: [], GRID3: []}
    for i in range(40):
        where = rng.choice((GRID1, GRID1, GRID3))
        _ticket, expected = live(world, rng.choice(FATES), where, start + timedelta(hours=7 * i),
                                 rng.randint(1, 30))
        by_place[where].append(expected)
    quality = dispatch_quality()
    rule = quality.by_rule[world.rule.id]
    assert figures_of(rule) == recount(by_place[GRID1])
    assert not rule.derived
    # 乙一网格 has no grid worker: no rule could take those, the cell (垃圾清运, 乙社区) counts them
    cell = quality.by_cell[(world.categories["garbage"].id, world.areas["community2"].id)]
    assert figures_of(cell) == recount(by_place[GRID3])
    assert set(quality.by_rule) == {world.rule.id}
    ended = {dep: n for dep, n, _share in rule.end_departments()}
    assert ended == {d: sum(p["ended"] == d for p in by_place[GRID1])
                     for d in {p["ended"] for p in by_place[GRID1]}}


def flagged_world(world, moved: int, kept: int):
    start = utcnow() - timedelta(days=5)
    for i in range(moved):
        live(world, "transfer" if i % 2 else "return", GRID1, start + timedelta(hours=i), 3)
    for i in range(kept):
        live(world, "accept", GRID1, start + timedelta(hours=moved + i), 2)


def test_a_rule_whose_tickets_move_is_flagged_with_its_evidence(world, login_as):
    flagged_world(world, moved=5, kept=2)
    rule = dispatch_quality().by_rule[world.rule.id]
    assert rule.flagged and rule.moved == 5
    client = login_as("admin")
    page = client.get("/admin/dispatch-quality/").get_data(as_text=True)
    assert f'id="gd-dq-rule-{world.rule.id}"' in page
    assert "区住建局 71 %" in page  # 5 of 7 ended up with 住建
    assert "矩阵规定由 区环卫中心 办理，但 71 % 最终由 区住建局 办理" in page
    matrix = client.get("/admin/matrix/?level=community").get_data(as_text=True)
    assert matrix.count("gd-dq-mark") == 1  # the cell 垃圾清运 × 甲社区, nowhere else
    assert "⚑ 71 %" in matrix


def test_below_the_minimum_or_the_share_nothing_is_flagged(world, login_as):
    flagged_world(world, moved=2, kept=8)  # 20 % moved
    assert not dispatch_quality().by_rule[world.rule.id].flagged
    client = login_as("admin")
    assert "gd-dq-mark" not in client.get("/admin/matrix/?level=community").get_data(as_text=True)
    assert 'id="gd-dq-none"' in client.get("/admin/dispatch-quality/").get_data(as_text=True)


def test_one_click_apply_changes_the_rule_and_is_audited(world, login_as):
    flagged_world(world, moved=5, kept=2)
    client = login_as("admin")
    housing = world.departments["housing"]
    before = db.session.scalar(sa.select(sa.func.count(ConfigChange.id)))
    # a department the figures do not suggest: refused, nothing changed
    page = client.post(f"/admin/dispatch-quality/apply/{world.rule.id}", data={
        "csrf_token": session_csrf_token(client),
        "department_id": world.departments["office1"].id}, follow_redirects=True)
    assert "当前数据已不再建议这项修改" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ConfigChange.id))) == before
    # without the CSRF token: refused
    assert client.post(f"/admin/dispatch-quality/apply/{world.rule.id}",
                       data={"department_id": housing.id}).status_code == 400
    response = client.post(f"/admin/dispatch-quality/apply/{world.rule.id}", data={
        "csrf_token": session_csrf_token(client), "department_id": housing.id})
    assert response.status_code == 302
    db.session.expire_all()
    rule = db.session.get(DispatchRule, world.rule.id)
    assert rule.department_id == housing.id
    change = db.session.execute(sa.select(ConfigChange).order_by(ConfigChange.id.desc())
                                .limit(1)).scalar_one()
    assert change.object_type == "dispatch_rule" and change.object_id == str(rule.id)
    assert change.actor_name == "admin"
    assert any(row["field"] == "department" and row["after"] == "区住建局"
               for row in change.changes)
    # new tickets now go to 住建
    assert report(world, GRID1, utcnow()).assigned_department_id == housing.id


def test_only_administrators_see_and_apply(world, login_as):
    flagged_world(world, moved=5, kept=2)
    client = login_as("district")
    assert client.get("/admin/dispatch-quality/").status_code in (302, 403)
    response = client.post(f"/admin/dispatch-quality/apply/{world.rule.id}", data={
        "csrf_token": session_csrf_token(client),
        "department_id": world.departments["housing"].id})
    assert response.status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(DispatchRule, world.rule.id).department_id == \
        world.departments["sanitation"].id
    assert "gd-dq-mark" not in client.get("/admin/matrix/?level=community").get_data(as_text=True)


def test_a_department_that_no_longer_serves_the_rules_area_is_not_suggested(world, login_as):
    """The tickets ended with 区住建局; once it belongs to the other street, the rule of 甲社区
    may not name it (check_dispatch_rule), so the page does not offer it."""
    flagged_world(world, moved=5, kept=2)
    rule = db.session.get(DispatchRule, world.rule.id)
    assert suggestion(rule, dispatch_quality().by_rule[rule.id]).department.name == "区住建局"
    world.departments["housing"].area = world.areas["street2"]
    db.session.commit()
    assert suggestion(rule, dispatch_quality().by_rule[rule.id]) is None
    page = login_as("admin").get("/admin/dispatch-quality/").get_data(as_text=True)
    assert f"/admin/dispatch-quality/apply/{rule.id}" not in page
