"""List bulk actions with per-ticket reports, the Excel export, the board and the matrix."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import (Category, DispatchRule, Priority, ResponsibleKind, Ticket, TicketEvent,
                     TicketStatus, db)
from models.areas.locate import invalidate_area_index
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

from .conftest import session_csrf_token, statements_sent
from .test_roles import select_options
from .factories import build_world
from .test_workflow import photo_bytes


def after_photo():
    from models import AttachmentKind
    from models.tickets.attachments import Upload

    return [Upload(AttachmentKind.AFTER, "after.jpg", photo_bytes())]


@pytest.fixture()
def world(ctx):
    invalidate_area_index()
    w = build_world()
    db.session.add(DispatchRule(category=w.categories["garbage"], area=w.areas["district"],
                                responsible_kind=ResponsibleKind.COMMUNITY_OFFICE))
    db.session.commit()
    w.tickets = [report_ticket(Report(category_id=w.categories["garbage"].id,
                                      description=f"垃圾{i}", lon=lon, lat=30.005)).ticket
                 for i, lon in enumerate((120.004, 120.006, 120.014, 120.025))]
    db.session.commit()
    return w


def list_action(client, name, tickets, follow=True):
    data = {"action": name, "rowid": [str(t.id) for t in tickets],
            "csrf_token": session_csrf_token(client), "url": "/admin/ticket/"}
    return client.post("/admin/ticket/action/", data=data, follow_redirects=follow)


def events(ticket_id, action):
    return db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.action == action)).scalar_one()


def test_bulk_assign_applies_per_ticket_and_reports_refusals(world, login_as):
    client = login_as("community")  # community 1: the first three tickets
    t1, t2, t3, t4 = world.tickets
    perform(t2, "accept", Actor.staff(world.users["community"]), expected_version=t2.version)
    perform(t2, "submit", Actor.staff(world.users["community"]), expected_version=t2.version,
            note="已处理", attachments=after_photo())
    db.session.commit()
    form = list_action(client, "bulk_assign", [t1, t2, t3, t4], follow=False)
    assert form.status_code == 302 and "/admin/ticket/bulk/assign" in form.headers["Location"]
    page = client.get(form.headers["Location"]).get_data(as_text=True)
    assert t1.number in page and t4.number not in page  # outside the scope: not even listed
    report = client.post(form.headers["Location"], data={
        "csrf_token": session_csrf_token(client), "ids": f"{t1.id},{t2.id},{t3.id},{t4.id}",
        "department_id": world.departments["sanitation"].id, "note": "统一交环卫"},
        follow_redirects=True).get_data(as_text=True)
    assert "gd-bulk-report" in report
    db.session.expire_all()
    assert db.session.get(Ticket, t1.id).assigned_department_id == world.departments["sanitation"].id
    assert db.session.get(Ticket, t3.id).assigned_department_id == world.departments["sanitation"].id
    assert db.session.get(Ticket, t2.id).status == TicketStatus.PENDING_REVIEW  # refused
    assert "未执行" in report and t2.number in report
    assert db.session.get(Ticket, t4.id).assigned_department_id == world.departments["office2"].id
    assert events(t4.id, "assign") == 0


def test_bulk_approve_never_lets_the_submitter_approve(world, login_as):
    t1, t2 = world.tickets[:2]
    for t in (t1, t2):
        perform(t, "accept", Actor.staff(world.users["community"]), expected_version=t.version)
    perform(t1, "submit", Actor.staff(world.users["community"]), expected_version=t1.version,
            note="已处理", attachments=after_photo())
    db.session.commit()
    page = list_action(login_as("community"), "bulk_approve", [t1, t2]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, t1.id).status == TicketStatus.PENDING_REVIEW  # own submission
    assert page.count("未执行") == 2
    list_action(login_as("street"), "bulk_approve", [t1])
    db.session.expire_all()
    assert db.session.get(Ticket, t1.id).status == TicketStatus.CLOSED


def test_bulk_correction_needs_a_reason_and_writes_each_timeline(world, login_as):
    client = login_as("community")
    t1, t2 = world.tickets[:2]
    other = Category(code="0102", name="道路保洁", parent=world.categories["top"])
    db.session.add(other)
    db.session.commit()
    url = f"/admin/ticket/bulk/edit?ids={t1.id},{t2.id}"
    no_reason = client.post(url, data={"csrf_token": session_csrf_token(client),
                                       "ids": f"{t1.id},{t2.id}", "priority": "urgent",
                                       "note": ""}, follow_redirects=True).get_data(as_text=True)
    assert "未执行" in no_reason
    db.session.expire_all()
    assert db.session.get(Ticket, t1.id).priority == Priority.NORMAL
    client.post(url, data={"csrf_token": session_csrf_token(client), "ids": f"{t1.id},{t2.id}",
                           "priority": "urgent", "category_id": other.id,
                           "note": "热线夜班分类录错"})
    db.session.expire_all()
    for t in (t1, t2):
        fixed = db.session.get(Ticket, t.id)
        assert fixed.priority == Priority.URGENT and fixed.category_id == other.id
        edit = db.session.execute(sa.select(TicketEvent).where(
            TicketEvent.ticket_id == t.id, TicketEvent.action == "edit")).scalar_one()
        # Issue 9: the note also says before → after (the reason comes first).
        assert edit.note.startswith("热线夜班分类录错\n") and "category" in edit.details["changes"]


def test_export_of_the_selection_is_an_excel_sheet_of_visible_tickets(world, login_as):
    response = list_action(login_as("community"), "export", world.tickets, follow=False)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    numbers = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert sorted(numbers) == sorted(t.number for t in world.tickets[:3])
    assert sheet.cell(1, 1).value == "工单编号"


def test_leaders_get_no_bulk_changes(world, login_as):
    client = login_as("leader")
    list_action(client, "bulk_approve", world.tickets)
    response = client.get(f"/admin/ticket/bulk/assign?ids={world.tickets[0].id}")
    assert response.status_code == 302
    assert events(world.tickets[0].id, "approve") == 0


def test_the_board_shows_each_users_own_columns(world, login_as):
    t1 = world.tickets[0]
    perform(t1, "accept", Actor.staff(world.users["community"]), expected_version=t1.version)
    db.session.commit()
    community = login_as("community").get("/admin/board/").get_data(as_text=True)
    counts = re.findall(r'gd-count">(\d+)<', community)
    assert counts == ["2", "1", "0", "0"]
    assert world.tickets[3].number not in community
    street2 = login_as("street2").get("/admin/board/").get_data(as_text=True)
    assert re.findall(r'gd-count">(\d+)<', street2) == ["1", "0", "0", "0"]
    filtered = login_as("district").get(
        f"/admin/board/?area={world.areas['grid2'].id}").get_data(as_text=True)
    assert re.findall(r'gd-count">(\d+)<', filtered)[0] == "1"


def test_a_board_column_past_the_count_cap_says_so(world, login_as, app, monkeypatch):
    """DESIGN.md: no exact count of millions of rows per page view. A column counts up to
    LIST_COUNT_CAP (the lists' cap) and then says "more than" on the page; below it, exact."""
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 3)
    page = login_as("district").get("/admin/board/").get_data(as_text=True)
    head = page[page.index('id="gd-column-pending"'):page.index('id="gd-column-in_progress"')]
    assert '>3+</span>' in head and 'title="超过 3 条（为保证看板速度，不再继续计数）"' in head
    assert "共超过 3 条，请到工单列表查看（为保证看板速度，不再继续计数）" in head
    assert head.count("gd-card ") == 4  # every card is still shown
    assert re.findall(r'gd-count">(\d+)<', page) == ["0", "0", "0"]
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 4)  # exactly the cap: exact
    page = login_as("district").get("/admin/board/").get_data(as_text=True)
    assert re.findall(r'gd-count">(\d+)<', page) == ["4", "0", "0", "0"]


def test_the_matrix_marks_explicit_inherited_and_gaps(world, login_as):
    db.session.add(Category(code="0199", name="其他环卫", parent=world.categories["top"]))
    db.session.add(DispatchRule(category=world.categories["garbage"], area=world.areas["community2"],
                                responsible_kind=ResponsibleKind.DEPARTMENT,
                                department=world.departments["sanitation"]))
    db.session.commit()
    page = login_as("admin").get("/admin/matrix/?level=community").get_data(as_text=True)
    assert page.count('class="gd-explicit"') == 1  # garbage in community 2
    assert page.count('class="gd-inherited"') == 1  # garbage in community 1, from the district
    assert page.count('class="gd-gap"') == 2  # 其他环卫 in both communities
    assert "/admin/dispatchrule/new/?category=" in page
    assert login_as("community").get("/admin/matrix/").status_code == 403


def test_the_board_takes_a_few_statements_and_labels_its_cards_from_the_caches(world, login_as):
    """The four counts in one statement, the cards of every column in four (ids, tickets, their
    supervision, their co-handling tasks); names from the reference caches (issue 14)."""
    client = login_as("district")
    client.get("/admin/board/")  # warm caches
    with statements_sent() as sent:
        page = client.get("/admin/board/").get_data(as_text=True)
    ticket_reads = [s for s in sent if re.search(r"FROM (tickets|ticket_supervisions|"
                                                 r"co_handling_tasks)\b", s)]
    assert len(ticket_reads) <= 5, ticket_reads
    assert not [s for s in sent if re.search(r"FROM (areas|categories|departments)\b", s)
                and not re.search(r"\.id = (\?|%\(pk_1\)s(::INTEGER)?)$", s)]
    assert re.findall(r'gd-count">(\d+)<', page) == ["4", "0", "0", "0"]
    card = page[page.index(world.tickets[0].number):]
    assert "垃圾清运 · 甲一网格" in card[:800]


def test_a_city_sized_board_offers_whole_levels_and_the_chosen_areas_inside(world, login_as,
                                                                            monkeypatch):
    """Past AREA_CHOICES_SHOWN the board's area picker stops at the levels that fit; picking an
    area then offers what lies inside it (a city's 25,600 grids are not drawn on every view)."""
    from models.people import access

    monkeypatch.setattr(access, "AREA_CHOICES_SHOWN", 2)
    areas = world.areas
    district = login_as("district")
    offered = set(select_options(district.get("/admin/board/").get_data(as_text=True), "area"))
    assert offered == {str(areas[k].id) for k in ("street1", "street2")}
    inside = district.get(f"/admin/board/?area={areas['street1'].id}").get_data(as_text=True)
    expected = {"street1", "street2", "community1", "grid1", "grid2"}
    assert set(select_options(inside, "area")) == {str(areas[k].id) for k in expected}
    assert f'<option value="{areas["street1"].id}" selected' in inside
    monkeypatch.setattr(access, "AREA_CHOICES_SHOWN", 1000)
    everything = set(select_options(district.get("/admin/board/").get_data(as_text=True), "area"))
    assert everything > {str(areas[k].id) for k in expected}  # grid3, community2: all again


def test_a_city_sized_board_offers_the_departments_of_whole_levels_and_of_the_chosen_area(
        world, login_as, monkeypatch):
    """A city has thousands of offices: past AREA_CHOICES_SHOWN the board's department filter
    offers those of the area levels that fit, and once an area is chosen those serving it
    (above it and inside it); the department filtered by stays offered."""
    from models.people import access

    departments = world.departments
    admin = login_as("admin")

    def offered(query=""):
        page = admin.get(f"/admin/board/{query}").get_data(as_text=True)
        return set(select_options(page, "department"))

    def ids(*keys):
        return {str(departments[k].id) for k in keys}

    top = ("district_centre", "sanitation", "street1_centre", "street2_centre")
    assert offered() == ids(*top, "office1", "office2")  # six fit: all
    monkeypatch.setattr(access, "AREA_CHOICES_SHOWN", 4)
    assert offered() == ids(*top)
    assert offered(f"?area={world.areas['community1'].id}") == ids(*top, "office1")
    assert offered(f"?department={departments['office2'].id}") == ids(*top, "office2")


def test_a_page_past_the_last_goes_to_the_last_page(world, login_as):
    """?page=999 (an old link, a list that shrank) said "no tickets match" above 共 N 条."""
    client = login_as("community")
    response = client.get("/admin/ticket/?page=999&page_size=20")
    assert response.status_code == 302
    assert "page=" not in response.headers["Location"]  # one page of tickets: the first
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "列表共 1 页，已转到最后一页" in page
    assert world.tickets[0].number in page
