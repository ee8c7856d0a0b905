"""Who may open which admin page, and which tickets each role sees (list, count, details, edit)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Department, Ticket, TicketEvent, db

from .conftest import csrf_token, session_csrf_token
from .factories import build_world, make_ticket

CONFIG_VIEWS = ["area", "department", "user", "category", "dispatchrule", "calendar", "notification"]
ROLES = ["admin", "district", "street", "community", "gridworker", "handler", "leader"]


@pytest.fixture()
def world(ctx):
    w = build_world()
    w.tickets = {
        "t1": make_ticket(w, "grid1", title="甲一垃圾", assignee=w.users["gridworker"],
                          department=w.departments["office1"]),
        "t2": make_ticket(w, "grid2", title="甲二垃圾", department=w.departments["office1"]),
        "t3": make_ticket(w, "grid3", title="乙一垃圾", department=w.departments["sanitation"]),
        "t4": make_ticket(w, "grid1", title="甲一清运", assignee=w.users["handler"],
                          department=w.departments["sanitation"]),
    }
    db.session.commit()
    return w


VISIBLE = {
    "admin": {"t1", "t2", "t3", "t4"},
    "district": {"t1", "t2", "t3", "t4"},
    "leader": {"t1", "t2", "t3", "t4"},
    "street": {"t1", "t2", "t4"},
    "street2": {"t3"},
    "community": {"t1", "t2", "t4"},
    "community2": {"t3"},
    "gridworker": {"t1"},
    "gridworker2": set(),
    "handler": {"t3", "t4"},  # its own ticket and its department's unclaimed queue
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", CONFIG_VIEWS)
def test_configuration_is_for_administrators_only(world, login_as, role, view):
    client = login_as(role)
    status = client.get(f"/admin/{view}/").status_code
    assert status == (200 if role == "admin" else 403)


@pytest.mark.parametrize("view", CONFIG_VIEWS + ["ticket"])
def test_anonymous_visitors_are_sent_to_login(world, client, view):
    response = client.get(f"/admin/{view}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_configuration_record_by_id_is_refused_to_non_admins(world, login_as):
    dept = world.departments["sanitation"]
    client = login_as("district")
    assert client.get(f"/admin/department/edit/?id={dept.id}").status_code == 403
    assert client.get(f"/admin/department/details/?id={dept.id}").status_code == 403


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_ticket_list_and_count_show_only_the_scope(world, login_as, username):
    client = login_as(username)
    html = client.get("/admin/ticket/").get_data(as_text=True)
    shown = {key for key, t in world.tickets.items() if t.number in html}
    assert shown == VISIBLE[username]
    if VISIBLE[username]:
        assert f"共 {len(VISIBLE[username])} 条工单" in html
    else:
        assert "没有" in html or "No tickets" in html


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_details_by_id_respect_the_scope(world, login_as, username):
    client = login_as(username)
    for key, ticket in world.tickets.items():
        response = client.get(f"/admin/ticket/details/?id={ticket.id}")
        if key in VISIBLE[username]:
            assert response.status_code == 200 and ticket.number in response.get_data(as_text=True)
        else:
            assert response.status_code == 404, (username, key)
            assert ticket.number not in response.get_data(as_text=True)


def test_editing_an_out_of_scope_id_in_the_url_is_refused_and_changes_nothing(world, login_as):
    client = login_as("community2")
    target = world.tickets["t1"]
    assert client.get(f"/admin/ticket/edit/?id={target.id}").status_code == 404
    token = csrf_token(client, f"/admin/ticket/edit/?id={world.tickets['t3'].id}")
    response = client.post(f"/admin/ticket/edit/?id={target.id}",
                           data={"title": "被篡改", "priority": "normal", "description": "x",
                                 "expected_version": "1", "csrf_token": token})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Ticket, target.id).title == "甲一垃圾"


def test_leaders_read_but_never_edit(world, login_as):
    client = login_as("leader")
    ticket = world.tickets["t1"]
    assert client.get(f"/admin/ticket/details/?id={ticket.id}").status_code == 200
    list_html = client.get("/admin/ticket/").get_data(as_text=True)
    assert "/admin/ticket/edit/" not in list_html
    token = session_csrf_token(client)
    client.post(f"/admin/ticket/edit/?id={ticket.id}",
                data={"title": "领导改的", "priority": "normal", "expected_version": "1",
                      "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).title == "甲一垃圾"
    events = db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent)
                                .where(TicketEvent.ticket_id == ticket.id)).scalar_one()
    assert events == 2  # create and dispatch, nothing more


def test_reporter_phone_is_masked_for_roles_that_do_not_call_back(world, login_as):
    ticket = world.tickets["t2"]
    full, masked = "13812345678", "138****5678"
    leader_page = login_as("leader").get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert masked in leader_page and full not in leader_page
    staff_page = login_as("community").get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert full in staff_page
    own = world.tickets["t1"]
    worker_page = login_as("gridworker").get(f"/admin/ticket/details/?id={own.id}").get_data(as_text=True)
    assert full in worker_page


def test_admin_form_post_without_csrf_token_is_refused(world, login_as):
    client = login_as("admin")
    before = db.session.execute(sa.select(sa.func.count()).select_from(Department)).scalar_one()
    response = client.post("/admin/department/new/",
                           data={"name": "无令牌部门", "kind": "functional",
                                 "area": str(world.areas["district"].id)})
    assert response.status_code == 400
    after = db.session.execute(sa.select(sa.func.count()).select_from(Department)).scalar_one()
    assert after == before


def test_admin_form_post_with_csrf_token_works(world, login_as):
    client = login_as("admin")
    token = csrf_token(client, "/admin/department/new/")
    response = client.post("/admin/department/new/",
                           data={"name": "区城管局", "kind": "functional", "phone": "0571-1234",
                                 "area": str(world.areas["district"].id), "active": "y",
                                 "csrf_token": token})
    assert response.status_code == 302
    assert db.session.execute(sa.select(Department).where(Department.name == "区城管局")).scalar_one()
