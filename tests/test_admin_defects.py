"""Defects a new user ran into in the admin panel (issue 9 § 1), each checked through the real app."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import (ApiClient, Area, AreaLevel, DispatchRule, ResponsibleKind, Ticket,
                     TicketEvent, User, WorkCalendarDay, db)
from models.areas.hierarchy import place_area
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

from .conftest import login, session_csrf_token
from .test_api import auth, token_for

GARBAGE_FIELDS = [
    {"code": "bins", "label": "满溢桶数", "type": "int", "required": True},
    {"code": "smell", "label": "异味来源", "type": "multiselect",
     "values": [{"key": "bin", "name": "垃圾桶"}, {"key": "drain", "name": "下水道"}]},
]


def report(world, lon=120.004, lat=30.005, **extra) -> Ticket:
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="垃圾桶满溢",
                                  lon=lon, lat=lat, **extra)).ticket
    db.session.commit()
    return ticket


def text(response) -> str:
    return response.get_data(as_text=True)


def flashed_and_page(response) -> str:
    return re.sub(r"\s+", " ", text(response))


def count(model, *where) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


# --- 1. users ---------------------------------------------------------------------------------
def user_form(client, **fields) -> dict:
    data = {"csrf_token": session_csrf_token(client), "username": "", "display_name": "",
            "phone": "", "role": "community_staff", "scope_area": "", "department": "",
            "active": "y", "new_password": ""}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_a_new_administrator_creates_a_user_who_then_logs_in(world, login_as, app):
    admin = login_as("admin")
    data = user_form(admin, username="wang", display_name="王专干",
                     scope_area=str(world.areas["community1"].id),
                     department=str(world.departments["office1"].id))
    refused = admin.post("/admin/user/new/", data=data)  # no password
    assert refused.status_code == 200 and "请为新用户设置密码" in text(refused)
    short = admin.post("/admin/user/new/", data=dict(data, new_password="short"))
    assert "至少" in text(short) and "password shorter" not in text(short)
    assert count(User, User.username == "wang") == 0

    created = admin.post("/admin/user/new/", data=dict(data, new_password="wang-secret-1"))
    assert created.status_code == 302, text(created)[:3000]
    assert count(User, User.username == "wang") == 1
    assert login(app.test_client(), "wang", "wang-secret-1").status_code == 302


def test_cli_creates_an_administrator_through_the_same_rule(world, app):
    result = app.test_cli_runner().invoke(args=["create-admin", "root2", "--password", "short"])
    assert result.exit_code != 0 and "至少" in result.output
    result = app.test_cli_runner().invoke(args=["create-admin", "root2", "--password", "long-enough"])
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "root2", "long-enough").status_code == 302


def edit_user(admin, user: User, **fields):
    data = user_form(admin, username=user.username, display_name=user.display_name,
                     role=user.role.value, scope_area=str(user.scope_area_id or ""),
                     department=str(user.department_id or ""))
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    return admin.post(f"/admin/user/edit/?id={user.id}", data=data)


def test_a_reset_password_or_a_deactivation_ends_the_users_api_tokens(world, login_as, client):
    admin = login_as("admin")
    user = world.users["community"]
    token = token_for(client, "community")
    assert client.get("/api/v1/categories", headers=auth(token)).status_code == 200
    assert edit_user(admin, user, new_password="another-pass").status_code == 302
    assert client.get("/api/v1/categories", headers=auth(token)).status_code == 401

    token = token_for(client, "community", "another-pass")
    assert edit_user(admin, user, active=None).status_code == 302  # unticked: deactivated
    assert client.get("/api/v1/categories", headers=auth(token)).status_code == 401
    assert edit_user(admin, user).status_code == 302  # active again: the old token stays revoked
    assert client.get("/api/v1/categories", headers=auth(token)).status_code == 401
    assert login(client, "community", "another-pass").status_code == 302


# --- 2. nothing the history points at is deleted -------------------------------------------
def list_action(client, url, name, ids):
    data = {"action": name, "rowid": [str(i) for i in ids], "csrf_token": session_csrf_token(client),
            "url": url}
    return client.post(f"{url}action/", data=data, follow_redirects=True)


@pytest.mark.parametrize("username", ["community", "admin"])
def test_no_one_is_offered_to_delete_a_ticket(world, login_as, username):
    ticket = report(world)
    client = login_as(username)
    listing = text(client.get("/admin/ticket/"))
    assert "execute('delete')" not in listing and "删除" not in listing
    details = text(client.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert "删除" not in details and "/admin/ticket/delete/" not in details
    answer = list_action(client, "/admin/ticket/", "delete", [ticket.id])
    assert answer.status_code == 200 and "IntegrityError" not in text(answer)
    client.post("/admin/ticket/delete/", data={"id": str(ticket.id),
                                                "csrf_token": session_csrf_token(client)})
    assert count(Ticket) == 1 and count(TicketEvent, TicketEvent.ticket_id == ticket.id) >= 1


def test_dispatch_rules_and_calendar_days_are_changed_not_deleted(world, login_as):
    admin = login_as("admin")
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    day = db.session.execute(sa.select(WorkCalendarDay).limit(1)).scalar_one()
    for url, row_id in (("/admin/dispatchrule/", rule.id), ("/admin/calendar/", day.day)):
        assert "execute('delete')" not in text(admin.get(url))
        admin.post(f"{url}delete/", data={"id": str(row_id), "csrf_token": session_csrf_token(admin)})
    assert count(DispatchRule) == 1
    assert count(WorkCalendarDay, WorkCalendarDay.day == day.day) == 1


def test_an_area_something_refers_to_is_not_deleted_and_says_why(world, login_as):
    spare = Area(code="T01020102", name="乙二网格", level=AreaLevel.GRID)
    place_area(spare, world.areas["community2"])
    db.session.add(spare)
    db.session.flush()
    db.session.add(ApiClient(name="网格通", token_hash="x" * 64, token_hint="gdc_x",
                             scope_area_id=spare.id))
    db.session.commit()
    admin = login_as("admin")
    answer = admin.post("/admin/area/delete/", data={"id": str(spare.id),
                                                     "csrf_token": session_csrf_token(admin)},
                        follow_redirects=True)
    page = text(answer)
    assert answer.status_code == 200 and "IntegrityError" not in page
    assert "引用" in page and count(Area, Area.id == spare.id) == 1


def test_an_inactive_area_stays_on_old_tickets_but_is_not_offered_for_new_ones(world, login_as):
    ticket = report(world)
    grid = world.areas["grid1"]
    admin = login_as("admin")
    form = {"csrf_token": session_csrf_token(admin), "code": grid.code, "name": grid.name,
            "level": "grid", "parent": str(grid.parent_id), "boundary_text": ""}
    assert admin.post(f"/admin/area/edit/?id={grid.id}", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Area, grid.id).active is False
    assert db.session.get(Ticket, ticket.id).grid_id == grid.id
    assert f">{grid.name}<" in text(admin.get(f"/admin/ticket/details/?id={ticket.id}")) or \
        grid.name in text(admin.get(f"/admin/ticket/details/?id={ticket.id}"))
    create = text(admin.get("/admin/ticket/new/"))
    assert f'value="{grid.id}"' not in create
    lookup = admin.get("/admin/user/ajax/lookup/?name=scope_area&query=T0101010").get_json()
    assert grid.id not in [row[0] for row in lookup]
    # A new report in its polygon no longer lands in it.
    moved = report(world)
    assert moved.grid_id != grid.id


# --- 3. after an action that hides the ticket, back to the list --------------------------
@pytest.mark.parametrize("username,action", [("gridworker", "escalate"), ("handler", "return")])
def test_the_actor_who_loses_sight_of_the_ticket_goes_back_to_the_list(world, login_as,
                                                                       username, action):
    if username == "handler":
        world.categories["garbage"].rules = []
        rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
        rule.responsible_kind = ResponsibleKind.DEPARTMENT
        rule.department = world.departments["sanitation"]
        db.session.commit()
    ticket = report(world)
    client = login_as(username)
    assert client.get(f"/admin/ticket/details/?id={ticket.id}").status_code == 200
    answer = client.post(f"/admin/ticket/act/{ticket.id}/{action}",
                         data={"csrf_token": session_csrf_token(client),
                               "version": str(ticket.version), "note": "不属于我们"})
    assert answer.status_code == 302
    assert "/details/" not in answer.headers["Location"]
    page = client.get(answer.headers["Location"])
    assert page.status_code == 200 and "完成" in text(page)


# --- 4. bad filter values and the error pages ----------------------------------------------
LIST_VIEWS = ("ticket", "area", "department", "user", "category", "dispatchrule", "calendar",
              "apiclient", "notification")


def test_bad_filter_values_in_a_list_url_get_a_chinese_message(world, login_as):
    report(world)
    admin = login_as("admin")
    answer = admin.get("/admin/ticket/?flt0_0=1")
    assert answer.status_code == 200 and "筛选条件“状态”没有“1”这个取值" in text(answer)
    for view in LIST_VIEWS:
        for index in range(14):
            for value in ("1", "abc", "99999999999999999999", "2026-13-45"):
                answer = admin.get(f"/admin/{view}/?flt0_{index}={value}")
                assert answer.status_code in (200, 302), (view, index, value)


def test_error_pages_are_chinese_keep_the_menu_and_fit_a_phone(world, login_as, client):
    worker = login_as("gridworker")
    missing = worker.get("/admin/ticket/details/?id=999999")
    page = text(missing)
    assert missing.status_code == 404 and "找不到" in page
    assert 'name="viewport"' in page and "/admin/ticket/" in page  # the menu
    forbidden = worker.get("/admin/user/")
    assert forbidden.status_code == 403 and 'name="viewport"' in text(forbidden)
    assert "/admin/ticket/" in text(forbidden)
    anonymous = client.get("/no-such-page")
    assert anonymous.status_code == 404 and 'name="viewport"' in text(anonymous)


def test_the_500_page_is_chinese(ctx):
    from admin_app import create_app

    from .conftest import test_config

    app = create_app(test_config())
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("kaput")

    answer = app.test_client().get("/boom")
    page = text(answer)
    assert answer.status_code == 500 and "出错" in page and 'name="viewport"' in page
    assert "kaput" not in page and "Internal Server Error" not in page


# --- 5. labels ------------------------------------------------------------------------------
def heading(html: str) -> str:
    match = re.search(r'<h4 class="mb-4">(.*?)</h4>', html, re.S)
    return re.sub(r"<[^>]+>|\s+", "", match.group(1)) if match else ""


def test_pages_are_named_for_what_they_are(world, login_as):
    ticket = report(world)
    staff = login_as("community")
    assert heading(text(staff.get(f"/admin/ticket/details/?id={ticket.id}"))) == "工单详情"
    assert heading(text(staff.get("/admin/ticket/new/"))).startswith("新建工单")
    assert heading(text(staff.get(f"/admin/ticket/bulk/edit?ids={ticket.id}"))) == "批量操作"
    edit = text(staff.get(f"/admin/ticket/edit/?id={ticket.id}"))
    assert heading(edit) != "工单列表" and "保存并添加另一个" not in edit
    details = text(staff.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert "版本号" not in details

    worker = login_as("gridworker")
    form = text(worker.get("/admin/ticket/new/"))
    assert heading(form) == "巡查上报" and "热线" not in heading(form)
    assert re.search(r'<option value="patrol"\s+selected', form)
    assert "网格员巡查" in form


def test_the_category_form_calls_the_level_a_level(world, login_as):
    page = text(login_as("admin").get("/admin/category/new/"))
    assert "默认处置部门" not in page and "通常解决层级" in page


def test_messages_name_fields_in_words(world, login_as):
    staff = login_as("community")
    answer = staff.post("/admin/ticket/new/", data={
        "csrf_token": session_csrf_token(staff), "category_id": str(world.categories["garbage"].id),
        "description": "垃圾", "lon": "东经120", "lat": "30", "coord_system": "wgs84"})
    assert "坐标系" in text(answer) and "coord_system" not in re.sub(
        r'name="coord_system"', "", text(answer))


def test_the_rating_shows_its_stars_on_the_timeline(world, login_as):
    ticket = report(world)
    worker, staff = Actor.staff(world.users["gridworker"]), Actor.staff(world.users["community"])
    from .test_admin_pages import after_photo

    perform(ticket, "accept", worker, expected_version=ticket.version)
    perform(ticket, "submit", worker, expected_version=ticket.version, note="已清运",
            attachments=after_photo())
    perform(ticket, "approve", staff, expected_version=ticket.version)
    perform(ticket, "rate", Actor.reporter(), expected_version=ticket.version, rating=4,
            note="来得很快")
    db.session.commit()
    page = text(login_as("community").get(f"/admin/ticket/details/?id={ticket.id}"))
    timeline = page[page.index('id="gd-timeline"'):]
    assert "★★★★☆" in timeline and "4/5" in timeline and "来得很快" in timeline


# --- 6. custom fields on the staff form, the ticket page and the export ----------------------
def test_custom_fields_are_asked_shown_and_exported(world, login_as):
    garbage = world.categories["garbage"]
    garbage.custom_fields = GARBAGE_FIELDS
    db.session.commit()
    staff = login_as("community")
    form = text(staff.get("/admin/ticket/new/"))
    assert "满溢桶数" in form and "下水道" in form
    data = {"csrf_token": session_csrf_token(staff), "category_id": str(garbage.id),
            "description": "垃圾桶满溢", "lon": "120.004", "lat": "30.005",
            "coord_system": "wgs84", "source": "phone", "priority": "normal"}
    refused = staff.post("/admin/ticket/new/", data=data)
    assert refused.status_code == 200 and "满溢桶数" in text(
        refused)[text(refused).index('id="gd-create-error"'):][:300]
    not_a_number = staff.post("/admin/ticket/new/", data=dict(data, **{f"attr-{garbage.id}-bins": "很多"}))
    assert "“满溢桶数”（属性 bins）须为数字" in text(not_a_number)
    assert count(Ticket) == 0
    made = staff.post("/admin/ticket/new/", data=dict(
        data, **{f"attr-{garbage.id}-bins": "3", f"attr-{garbage.id}-smell": ["bin", "drain"]}))
    assert made.status_code == 302, text(made)[:2000]
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    assert ticket.attributes == {"bins": 3, "smell": ["bin", "drain"]}

    page = text(staff.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert re.search(r"满溢桶数</th>\s*<td>3</td>", page)
    assert re.search(r"异味来源</th>\s*<td>垃圾桶、下水道</td>", page)

    exported = staff.post("/admin/ticket/action/", data={
        "action": "export", "rowid": [str(ticket.id)], "csrf_token": session_csrf_token(staff),
        "url": "/admin/ticket/"})
    sheet = load_workbook(io.BytesIO(exported.data)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert row["满溢桶数"] == 3 and row["异味来源"] == "垃圾桶、下水道"


@pytest.mark.parametrize("view", ["notifytemplate", "area", "department", "user", "category",
                                  "dispatchrule", "notification", "apiclient", "configchange"])
@pytest.mark.parametrize("page", ["edit", "details"])
@pytest.mark.parametrize("bad_id", ["None", "abc", "99999999999999999999"])
def test_a_hand_edited_record_id_is_a_record_that_does_not_exist(world, login_as, view, page,
                                                                  bad_id):
    """Found by the access matrix: ?id=None was a 500 on PostgreSQL (the text compared with an
    integer key); now the list with "record does not exist" (the change log's edit page refuses
    anything: it is insert-only), on both databases."""
    response = login_as("admin").get(f"/admin/{view}/{page}/?id={bad_id}")
    assert response.status_code in (302, 403, 404), response.status_code
