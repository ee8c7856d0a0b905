"""Issue 9: correcting category or priority follows through (re-dispatch, new deadlines, or the
owner kept and said so), and dispatch and the matrix page share one resolution (no silent fall
through: inactive department, grid without a worker, community without an office)."""
from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import (Category, DeadlineUnit, DispatchRule, Priority, ResponsibleKind, Ticket,
                    TicketEvent, db)
from models.areas.hierarchy import Area
from models.tickets.deadlines import invalidate_calendar
from models.tickets.dispatch import resolve_owner
from models.vocabulary import AreaLevel

from .conftest import csrf_token, session_csrf_token
from .test_overdue_and_deadlines import do, report, this_monday
from .test_ticket_edit import edit_url, load_form


@pytest.fixture()
def world(world):
    """conftest's world (garbage → the grid's worker), the rule with its own deadlines
    (2 h to accept, 8 h to handle), and road cleaning (道路保洁) → the district's sanitation."""
    invalidate_calendar()
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    rule.accept_deadline, rule.accept_deadline_unit = 2, DeadlineUnit.NATURAL_HOURS
    rule.handle_deadline, rule.handle_deadline_unit = 8, DeadlineUnit.NATURAL_HOURS
    road = Category(code="0102", name="道路保洁", parent=world.categories["top"])
    db.session.add(road)
    db.session.add(DispatchRule(category=road, area=world.areas["district"],
                                responsible_kind=ResponsibleKind.DEPARTMENT,
                                department=world.departments["sanitation"]))
    world.categories["road"] = road
    db.session.commit()
    return world


def timeline(client, ticket) -> str:
    page = client.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    return htmllib.unescape(re.search(r'<ol[^>]*id="gd-timeline".*?</ol>', page, re.S).group(0))


def events(ticket) -> list[TicketEvent]:
    return db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.seq)).scalars().all()


def correct(client, ticket, **form) -> str:
    url = f"/admin/ticket/bulk/edit?ids={ticket.id}"
    return htmllib.unescape(client.post(url, data={
        "csrf_token": session_csrf_token(client), "ids": str(ticket.id), **form},
        follow_redirects=True).get_data(as_text=True))


# --- corrections --------------------------------------------------------------------------

def test_raising_the_priority_on_the_edit_form_shortens_the_deadlines(world, login_as):
    start = this_monday()
    ticket = report(world, start)
    assert ticket.handle_deadline - start == timedelta(hours=8)
    client = login_as("community")
    values = load_form(client, ticket)
    values["priority"] = "urgent"
    assert client.post(edit_url(ticket), data=values).status_code == 302
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.priority == Priority.URGENT
    # Through the one deadline function: the rule's 8 h halved, counted from the report.
    assert ticket.handle_deadline - start == timedelta(hours=4)
    assert ticket.accept_deadline - start == timedelta(hours=1)
    shown = timeline(client, ticket)
    assert "紧急程度：一般 → 紧急" in shown
    assert re.search(r"处置时限：\S+ \d\d:\d\d → \S+ \d\d:\d\d", shown)
    assert "<li>" not in shown.split("紧急程度")[1].split("</li>")[0]  # said once, in words


def test_correcting_the_category_of_a_pending_ticket_dispatches_it_again(world, login_as):
    ticket = report(world, this_monday())
    assert ticket.assigned_user_id == world.users["gridworker"].id
    client = login_as("community")
    page = correct(client, ticket, category_id=world.categories["road"].id, note="热线分类录错")
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.category_id == world.categories["road"].id
    assert ticket.assigned_department_id == world.departments["sanitation"].id
    assert ticket.assigned_user_id is None
    assert [e.action for e in events(ticket)][-2:] == ["edit", "dispatch"]
    assert "已按新分类重新派单：现由区环卫中心办理。" in page
    shown = timeline(login_as("admin"), ticket)
    assert "热线分类录错" in shown
    assert "事件分类：街面环境卫生 / 垃圾清运 → 街面环境卫生 / 道路保洁" in shown
    assert "尚未受理：已按新分类重新派单。" in shown


def test_correcting_the_category_after_acceptance_keeps_the_owner_and_says_so(world, login_as):
    start = this_monday()
    ticket = report(world, start)
    do(ticket, "accept", world, "gridworker", start + timedelta(minutes=5))
    client = login_as("community")
    page = correct(client, ticket, category_id=world.categories["road"].id, note="分类录错")
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.category_id == world.categories["road"].id
    assert ticket.assigned_user_id == world.users["gridworker"].id
    kept = "工单已受理：承办方不变，仍由甲社区居委会 · 用户gridworker办理。"
    assert f"{ticket.number}：{kept}" in page  # the flash message
    assert kept in events(ticket)[-1].note and events(ticket)[-1].action == "edit"


# --- one resolution for dispatch and the matrix --------------------------------------------

def test_a_rule_for_an_inactive_department_is_passed_over_and_the_timeline_says_why(world):
    from models.tickets.intake import Report, report_ticket

    specific = DispatchRule(category=world.categories["garbage"], area=world.areas["community1"],
                            responsible_kind=ResponsibleKind.DEPARTMENT,
                            department=world.departments["sanitation"])
    db.session.add(specific)
    world.departments["sanitation"].active = False
    db.session.commit()
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006)).ticket
    db.session.commit()
    assert ticket.assigned_department_id != world.departments["sanitation"].id
    assert ticket.assigned_user_id == world.users["gridworker"].id  # the next rule takes it
    dispatched = events(ticket)[-1]
    assert dispatched.details["passed_over"] == [
        {"rule_id": specific.id, "reason": "department_inactive"}]


def cells(page: str) -> dict[tuple[str, str], str]:
    """(category row, area column) → the cell's text, gap cells prefixed with "GAP "."""
    table = re.search(r'<table[^>]*id="gd-matrix".*?</table>', page, re.S).group(0)
    heads = [htmllib.unescape(h) for h in re.findall(r"<th>([^<]+)</th>", table)][1:]
    found = {}
    for row in re.findall(r"<tr><th[^>]*>(.*?)</th>(.*?)</tr>", table, re.S):
        name, body = htmllib.unescape(row[0]), row[1]
        for head, (attrs, text) in zip(heads, re.findall(r"<td([^>]*)>(.*?)</td>", body, re.S)):
            text = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", text)).split())
            found[(name, head)] = ("GAP " if "gd-gap" in attrs else "") + text
    return found


def test_the_matrix_shows_the_gaps_dispatch_would_fall_through(world, login_as):
    w = world
    w.departments["sanitation"].active = False  # 道路保洁 → an inactive department
    waste = Category(code="0103", name="大件垃圾", parent=w.categories["top"])
    db.session.add(waste)
    db.session.add(DispatchRule(category=waste, area=w.areas["district"],
                                responsible_kind=ResponsibleKind.COMMUNITY_OFFICE))
    w.departments["office2"].active = False  # 乙社区 has no active office
    db.session.commit()
    admin = login_as("admin")
    grids = cells(admin.get("/admin/matrix/?level=grid").get_data(as_text=True))
    garbage, road = "街面环境卫生 / 垃圾清运", "街面环境卫生 / 道路保洁"
    bulky = "街面环境卫生 / 大件垃圾"
    assert not grids[(garbage, "甲一网格")].startswith("GAP")
    assert grids[(garbage, "乙一网格")].startswith("GAP")  # no grid worker on grid 3
    assert "网格没有在岗网格员" in grids[(garbage, "乙一网格")]
    assert all(grids[(road, g)].startswith("GAP") and "承办部门已停用" in grids[(road, g)]
               for g in ("甲一网格", "甲二网格", "乙一网格"))
    assert not grids[(bulky, "甲一网格")].startswith("GAP")
    assert "社区没有启用的居委会" in grids[(bulky, "乙一网格")]
    communities = cells(admin.get("/admin/matrix/?level=community").get_data(as_text=True))
    assert not communities[(garbage, "甲社区")].startswith("GAP")
    assert communities[(garbage, "乙社区")] == "GAP 本网格网格员 网格没有在岗网格员（乙一网格）"
    # The same resolution as dispatch: a cell is a gap exactly where dispatch finds no rule.
    for area in db.session.execute(sa.select(Area).where(Area.level == AreaLevel.GRID)).scalars():
        for category in (w.categories["garbage"], w.categories["road"], waste):
            falls_through = resolve_owner(category, area).rule is None
            assert grids[(str(category), area.name)].startswith("GAP") == falls_through


def test_a_bulk_correction_with_a_made_up_category_or_priority_is_refused_and_changes_nothing(
        world, login_as):
    ticket = report(world, this_monday())
    client = login_as("community")
    for form, message in (({"category_id": "abc"}, "请从列表中选择事件分类。"),
                          ({"category_id": "9" * 25}, "请从列表中选择事件分类。"),
                          ({"priority": "sky-high"}, "请从列表中选择紧急程度。")):
        page = correct(client, ticket, note="录错", **form)
        assert message in page
    db.session.expire_all()
    assert [e.action for e in events(db.session.get(Ticket, ticket.id))][-1] == "dispatch"


def test_a_corrected_deadline_must_be_a_real_moment_after_the_report(world, login_as):
    """Year 1 was a 500 (the date overflowed at the database); a deadline before the report is
    nonsense. Both are refused per ticket, with the reason, and change nothing."""
    start = this_monday()
    ticket = report(world, start)
    before = ticket.handle_deadline
    client = login_as("community")
    for value, words in (("0001-01-01T00:00", "1900-01-01"), ("明天下午", "日期和时间"),
                         ((start - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), "不能早于")):
        page = correct(client, ticket, handle_deadline=value, note="时限录错")
        assert "已完成 0 条" in page and words in page, value
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).handle_deadline == before
    later = (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert "已完成 1 条" in correct(client, ticket, handle_deadline=later, note="时限录错")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).handle_deadline == start + timedelta(days=3)


def test_a_dispatch_rule_names_only_departments_serving_its_area(world, login_as):
    """Another street's office would receive this community's cases without the place being in
    its area: refused in words, nothing saved; a district department serves every community."""
    browser = login_as("admin")
    community1 = world.areas["community1"]
    before = db.session.execute(sa.select(sa.func.count()).select_from(DispatchRule)).scalar()

    def post(department, co=(), **more):
        return browser.post("/admin/dispatchrule/new/", data={
            "csrf_token": csrf_token(browser, "/admin/dispatchrule/new/"),
            "category": world.categories["garbage"].id, "area": community1.id,
            "responsible_kind": "department", "department": department.id,
            "co_department_ids": [d.id for d in co], "sort_order": 0, "active": "y", **more},
            follow_redirects=True).get_data(as_text=True)

    # A deadline without its unit is named as such (the serving check's query wrote the rule
    # first, and the database's refusal read as a duplicate).
    html = post(world.departments["sanitation"], handle_deadline="5")
    assert "处置时限及其单位须同时填写或同时留空。" in html and "同名" not in html

    for department, co in ((world.departments["office2"], ()),
                           (world.departments["sanitation"], (world.departments["street2_centre"],))):
        html = post(department, co)
        wrong = co[0] if co else department
        assert f"{wrong.name}属于{wrong.area.name}，不负责甲社区" in html
    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.count()).select_from(DispatchRule)).scalar() == before
    post(world.departments["sanitation"], (world.departments["office1"],))
    assert db.session.execute(sa.select(sa.func.count()).select_from(DispatchRule)).scalar() == \
        before + 1


def test_a_department_keeps_serving_the_rules_that_name_it(world, login_as):
    """Moving 甲社区居委会 to 乙社区 would leave 甲社区's rule sending cases to an office whose
    area does not hold them: refused in words, naming the rule, nothing saved; a move that
    still covers the rule's area (up to its street) is saved."""
    office = world.departments["office1"]
    rule = DispatchRule(category=world.categories["garbage"], area=world.areas["community1"],
                        responsible_kind=ResponsibleKind.DEPARTMENT,
                        department=world.departments["sanitation"], co_department_ids=[office.id])
    db.session.add(rule)
    db.session.commit()
    browser = login_as("admin")
    url = f"/admin/department/edit/?id={office.id}"

    def move_to(area):
        return browser.post(url, data={
            "csrf_token": csrf_token(browser, url), "name": office.name, "kind": office.kind.value,
            "area": area.id, "phone": "", "active": "y"}, follow_redirects=True
        ).get_data(as_text=True)

    page = htmllib.unescape(move_to(world.areas["community2"]))
    assert f"派单规则“{rule}”指定了甲社区居委会，修改后该部门将不再负责甲社区" in page
    db.session.expire_all()
    assert db.session.get(type(office), office.id).area_id == world.areas["community1"].id
    move_to(world.areas["street1"])
    db.session.expire_all()
    assert db.session.get(type(office), office.id).area_id == world.areas["street1"].id
