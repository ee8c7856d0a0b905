"""Co-handling (主办/协办): departments called onto a case, each with its own task, deadline and
steps; the lead waits for them; scoping; the API; dispatch rules naming co-handlers; statistics."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from models import (AttachmentKind, Department, DepartmentKind, DispatchRule, Notification,
                    ResponsibleKind, Role, Ticket, TicketEvent, TicketStatus, db)
from models.errors import ActionForbidden, ActionInvalid
from models.tickets.attachments import Upload
from models.tickets.co_tasks import CoHandlingTask
from models.tickets.cohandling import (act_on_task, allowed_task_actions, task_deadline,
                                       ticket_tasks)
from models.tickets.deadlines import ticket_deadlines
from models.tickets.dispatch import ticket_owner
from models.tickets.intake import Report, report_ticket
from models.tickets.timeline import replays_to_ticket
from models.tickets.workflow import Actor, allowed_actions, perform

from .factories import add_user
from .test_api import auth, token_for
from .test_workflow import photo_bytes

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # a Tuesday, 10:00 in Shanghai


@pytest.fixture()
def cw(world):
    """The factories' world plus two district departments with a handler each (城管, 市场监管)
    and a third one (水务) that is not called in."""
    district = world.areas["district"]
    for key, name in (("urban", "区城市管理局"), ("market", "区市场监督管理局"),
                      ("water", "区水务公司")):
        department = Department(name=name, kind=DepartmentKind.FUNCTIONAL, area=district)
        db.session.add(department)
        world.departments[key] = department
        add_user(world, f"{key}_handler", Role.HANDLER, district, department)
    db.session.commit()
    return world


def staff(world, name) -> Actor:
    return Actor.staff(world.users[name])


def new_case(world, at=NOW) -> Ticket:
    grid = world.areas["grid1"]
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id,
                                  description="菜场门口占道经营、垃圾满地", lon=grid.centroid_lon,
                                  lat=grid.centroid_lat), actor=world.users["community"],
                           now=at).ticket
    db.session.commit()
    return ticket


def call_in(world, ticket, *keys, actor="street", at=NOW, note="清理占道摊点并检查食品经营许可"):
    perform(ticket, "co_handle", staff(world, actor), expected_version=ticket.version, now=at,
            department_ids=[world.departments[k].id for k in keys], note=note)
    db.session.commit()
    return {t.department_id: t for t in ticket_tasks(ticket.id)}


def task_step(world, ticket, task, name, user, note=None, at=NOW):
    event = act_on_task(ticket, task, name, staff(world, user), note=note, now=at)
    db.session.commit()
    return event


def after_photo():
    return [Upload(kind=AttachmentKind.AFTER, data=photo_bytes(), filename="after.jpg")]


def events(ticket_id, *actions):
    query = sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if actions:
        query = query.where(TicketEvent.action.in_(actions))
    return db.session.execute(query.order_by(TicketEvent.seq)).scalars().all()


def test_two_departments_one_returns_its_part_one_submits_and_the_case_closes(cw):
    ticket = new_case(cw)
    assert ticket.assigned_user_id == cw.users["gridworker"].id  # the lead (主办)
    tasks = call_in(cw, ticket, "urban", "market")
    urban, market = tasks[cw.departments["urban"].id], tasks[cw.departments["market"].id]
    # Each task: what is asked, its own deadline from the one deadline function, open.
    expected = ticket_deadlines(ticket.category, ticket_owner(ticket)[0].rule, ticket.priority,
                                NOW)[1]
    for task in (urban, market):
        assert task.status.value == "open" and task.note == "清理占道摊点并检查食品经营许可"
        assert task.deadline == expected == task_deadline(ticket, NOW)
    called = events(ticket.id, "co_handle")
    assert [e.details["department_id"] for e in called] == [urban.department_id,
                                                            market.department_id]
    assert all(e.actor_user_id == cw.users["street"].id and e.to_status == TicketStatus.PENDING
               for e in called)
    # Each department is told (in-app) that it was called in.
    told = db.session.execute(sa.select(Notification.recipient_user_id).where(
        Notification.template == "co_handle")).scalars().all()
    assert set(told) == {cw.users["urban_handler"].id, cw.users["market_handler"].id}

    perform(ticket, "accept", staff(cw, "gridworker"), expected_version=ticket.version, now=NOW)
    db.session.commit()
    # The lead cannot submit while the tasks are open; the button is not offered either.
    assert "submit" not in allowed_actions(staff(cw, "gridworker"), ticket)
    with pytest.raises(ActionForbidden) as refused:
        perform(ticket, "submit", staff(cw, "gridworker"), expected_version=ticket.version,
                note="已清理", attachments=after_photo())
    assert "协办" in refused.value.message and "区城市管理局" in refused.value.message
    db.session.rollback()

    later = NOW + timedelta(hours=2)
    task_step(cw, ticket, market, "accept", "market_handler", at=later)
    task_step(cw, ticket, market, "note", "market_handler", "已联系经营户", at=later)
    task_step(cw, ticket, market, "submit", "market_handler", "已核查许可证，责令整改",
              at=later)
    task_step(cw, ticket, urban, "return", "urban_handler", "该路段属物业管理区域，非城管职责",
              at=later)
    assert (market.status.value, urban.status.value) == ("submitted", "returned")
    assert urban.outcome == "该路段属物业管理区域，非城管职责"
    steps = [(e.action, e.details["department_id"], e.details.get("in_time"))
             for e in events(ticket.id, "task_accept", "task_note", "task_submit",
                             "task_return")]
    assert steps == [("task_accept", market.department_id, True),
                     ("task_note", market.department_id, None),
                     ("task_submit", market.department_id, True),
                     ("task_return", urban.department_id, True)]
    # The lead hears about the part done and the part returned.
    lead_told = db.session.execute(sa.select(Notification.template).where(
        Notification.recipient_user_id == cw.users["gridworker"].id)).scalars().all()
    assert {"task_submit", "task_return"} <= set(lead_told)

    perform(ticket, "submit", staff(cw, "gridworker"), expected_version=ticket.version,
            note="已清理，协办单位已完成", attachments=after_photo())
    perform(ticket, "approve", staff(cw, "community"), expected_version=ticket.version)
    db.session.commit()
    assert ticket.status == TicketStatus.CLOSED
    assert replays_to_ticket(ticket, events(ticket.id))  # task events change no ticket state
    # Once closed, tasks no longer change.
    assert allowed_task_actions(staff(cw, "market_handler"), ticket, market) == []


def test_a_manager_closes_an_open_task_with_a_reason_and_the_lead_may_submit(cw):
    ticket = new_case(cw)
    task = call_in(cw, ticket, "market")[cw.departments["market"].id]
    perform(ticket, "accept", staff(cw, "gridworker"), expected_version=ticket.version)
    db.session.commit()
    with pytest.raises(ActionInvalid):  # a reason is required
        act_on_task(ticket, task, "close", staff(cw, "street"), note=" ")
    db.session.rollback()
    with pytest.raises(ActionForbidden):  # the lead is no manager
        act_on_task(ticket, task, "close", staff(cw, "gridworker"), note="不需要了")
    db.session.rollback()
    task_step(cw, ticket, task, "close", "community", "现场已由社区协调解决，无需协办")
    assert task.status.value == "closed" and task.finished_by_id == cw.users["community"].id
    closed = events(ticket.id, "task_close")[-1]
    assert closed.note == "现场已由社区协调解决，无需协办"
    assert db.session.execute(sa.select(Notification.recipient_user_id).where(
        Notification.event_id == closed.id)).scalars().all() == [cw.users["market_handler"].id]
    assert "submit" in allowed_actions(staff(cw, "gridworker"), ticket)



def test_an_invalidated_or_merged_case_ends_the_tasks_still_owed(cw):
    """A department called onto a case that is then declared invalid or merged does not keep
    waiting: its task is closed with the reason; a part already submitted stays submitted."""
    ticket = new_case(cw)
    tasks = call_in(cw, ticket, "urban", "market")
    urban, market = tasks[cw.departments["urban"].id], tasks[cw.departments["market"].id]
    task_step(cw, ticket, urban, "accept", "urban_handler")
    task_step(cw, ticket, urban, "submit", "urban_handler", "摊点已清理")
    perform(ticket, "invalidate", staff(cw, "community"), expected_version=ticket.version,
            note="重复来电，同一摊点已另案处理")
    db.session.commit()
    db.session.refresh(market)
    assert urban.status.value == "submitted"
    assert market.status.value == "closed" and "重复来电" in market.outcome
    assert not events(ticket.id, "task_close")  # the ticket's own event says why

    duplicate, master = new_case(cw), new_case(cw)
    task = call_in(cw, duplicate, "water")[cw.departments["water"].id]
    perform(duplicate, "merge", staff(cw, "community"), expected_version=duplicate.version,
            master_id=master.id)
    db.session.commit()
    db.session.refresh(task)
    assert task.status.value == "closed" and master.number in task.outcome


def test_refusals_change_nothing(cw):
    ticket = new_case(cw)
    version = ticket.version
    actor = staff(cw, "street")
    cases = [([], "note"), ([cw.departments["urban"].id], ""),  # nobody / nothing asked
             ([999999], "note"), (["x"], "note"),
             ([cw.departments["office1"].id], "note")]  # the lead's own department
    for ids, note in cases:
        with pytest.raises(ActionInvalid):
            perform(ticket, "co_handle", actor, expected_version=version, department_ids=ids,
                    note=note)
        db.session.rollback()
    with pytest.raises(ActionForbidden):  # a handler is no manager
        perform(ticket, "co_handle", staff(cw, "urban_handler"), expected_version=version,
                department_ids=[cw.departments["market"].id], note="请协办")
    db.session.rollback()
    call_in(cw, ticket, "market")
    with pytest.raises(ActionInvalid):  # already called in, task still open
        perform(ticket, "co_handle", actor, expected_version=ticket.version,
                department_ids=[cw.departments["market"].id], note="再来一次")
    db.session.rollback()
    task = ticket_tasks(ticket.id)[0]
    with pytest.raises(ActionForbidden):  # submit before accepting
        act_on_task(ticket, task, "submit", staff(cw, "market_handler"), note="完成")
    db.session.rollback()
    assert len(ticket_tasks(ticket.id)) == 1 and ticket_tasks(ticket.id)[0].status.value == "open"


def test_a_co_handling_department_sees_the_ticket_but_acts_only_on_its_task(cw, client):
    ticket = new_case(cw)
    tasks = call_in(cw, ticket, "urban", "market")
    market, urban = tasks[cw.departments["market"].id], tasks[cw.departments["urban"].id]
    handler = staff(cw, "market_handler")
    assert allowed_actions(handler, ticket) == []  # nothing on the ticket itself
    assert allowed_task_actions(handler, ticket, market) == ["accept", "note", "return"]
    assert allowed_task_actions(handler, ticket, urban) == []
    with pytest.raises(ActionForbidden):
        act_on_task(ticket, urban, "accept", handler)
    db.session.rollback()
    with pytest.raises(ActionForbidden):
        perform(ticket, "accept", handler, expected_version=ticket.version)
    db.session.rollback()
    # Through the API: the called-in department reads it; a department not called in does not.
    market_token, water_token = token_for(client, "market_handler"), token_for(client, "water_handler")
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=auth(market_token)).status_code == 200
    listed = client.get("/api/v1/tickets", headers=auth(market_token)).get_json()["items"]
    assert [t["id"] for t in listed] == [ticket.id]
    assert client.get(f"/api/v1/tickets/{ticket.id}",
                      headers=auth(water_token)).status_code == 404
    refused = client.post(f"/api/v1/tickets/{ticket.id}/tasks/{urban.id}/actions/accept",
                          json={}, headers=auth(market_token))
    assert refused.status_code == 403 and "区城市管理局" in refused.get_json()["error"]["message"]
    # The admin panel: the ticket page opens for the co-handler, with its own task's buttons.
    from .conftest import login
    login(client, "market_handler")
    page = client.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert "gd-co-handling" in page and f"gd-task-{market.id}-accept" in page
    assert f"gd-task-{urban.id}-accept" not in page


def test_the_api_names(cw, client):
    ticket = new_case(cw)
    street = token_for(client, "street")
    listed = client.get("/api/v1/departments", headers=auth(street)).get_json()["items"]
    market_id = cw.departments["market"].id
    urban_id = cw.departments["urban"].id
    assert {"id", "name", "kind", "area"} <= set(listed[0])
    assert {d["id"] for d in listed} >= {market_id, urban_id}
    body = client.get(f"/api/v1/tickets/{ticket.id}", headers=auth(street)).get_json()
    assert body["co_handling"] == [] and "co_handle" in body["allowed_actions"]
    bad = client.post(f"/api/v1/tickets/{ticket.id}/actions/co_handle",
                      json={"version": body["version"], "department_ids": "市场监管", "note": "x"},
                      headers=auth(street))
    assert bad.status_code == 422 and bad.get_json()["error"]["message"]
    called = client.post(f"/api/v1/tickets/{ticket.id}/actions/co_handle",
                         json={"version": body["version"], "department_ids": [urban_id, market_id],
                               "note": "联合整治占道经营"}, headers=auth(street))
    assert called.status_code == 200, called.get_json()
    tasks = called.get_json()["co_handling"]
    assert [(t["department"]["id"], t["status"], t["note"]) for t in tasks] == [
        (urban_id, "open", "联合整治占道经营"), (market_id, "open", "联合整治占道经营")]
    assert all(t["deadline"] and {"id", "department", "status", "deadline", "note"} <= set(t)
               for t in tasks)
    market_task = tasks[1]["id"]
    market = token_for(client, "market_handler")
    for action, note in (("accept", None), ("note", "已到场"), ("submit", "已责令整改")):
        response = client.post(f"/api/v1/tickets/{ticket.id}/tasks/{market_task}/actions/{action}",
                               json={"note": note} if note else {}, headers=auth(market))
        assert response.status_code == 200, response.get_json()
    urban = token_for(client, "urban_handler")
    returned = client.post(f"/api/v1/tickets/{ticket.id}/tasks/{tasks[0]['id']}/actions/return",
                           json={"note": "非本单位职责"}, headers=auth(urban))
    assert returned.status_code == 200
    final = {t["id"]: t["status"] for t in returned.get_json()["co_handling"]}
    assert final == {tasks[0]["id"]: "returned", market_task: "submitted"}
    assert [e["action"] for e in returned.get_json()["timeline"]][-5:] == [
        "co_handle", "task_accept", "task_note", "task_submit", "task_return"]
    unknown = client.post(f"/api/v1/tickets/{ticket.id}/tasks/{market_task}/actions/approve",
                          json={}, headers=auth(market))
    assert unknown.status_code == 404
    no_reason = client.post(f"/api/v1/tickets/{ticket.id}/tasks/{market_task}/actions/note",
                            json={}, headers=auth(market))
    assert no_reason.status_code in (403, 422)
    document = client.get("/api/v1/openapi.json").get_json()
    spec = document["paths"]
    assert "/departments" in spec and "/tickets/{ticket_id}/tasks/{task_id}/actions/{action}" in spec
    co_handle = spec["/tickets/{ticket_id}/actions/co_handle"]["post"]  # its own path and body
    body = co_handle["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(document["components"]["schemas"][body]["required"]) == {"version",
                                                                        "department_ids"}


def test_departments_are_scoped_to_the_callers_area(cw, client):
    """GET /departments lists the departments serving the caller's area — the district's and
    those of the areas above and inside it — and co_handle takes only those: one street's centre
    cannot call the other street's offices onto a case (they would then see it)."""
    def names(user):
        items = client.get("/api/v1/departments", headers=auth(token_for(client, user)))
        return {d["name"] for d in items.get_json()["items"]}

    district_wide = {"区指挥中心", "区环卫中心", "区城市管理局", "区市场监督管理局", "区水务公司"}
    assert names("street") == district_wide | {"一号街道指挥中心", "甲社区居委会"}
    assert names("community2") == district_wide | {"二号街道指挥中心", "乙社区居委会"}
    assert names("district") == names("admin") == district_wide | {
        "一号街道指挥中心", "二号街道指挥中心", "甲社区居委会", "乙社区居委会"}
    ticket = new_case(cw)
    with pytest.raises(ActionInvalid):
        perform(ticket, "co_handle", staff(cw, "street"), expected_version=ticket.version,
                department_ids=[cw.departments["office2"].id], note="请协办")
    db.session.rollback()
    assert ticket_tasks(ticket.id) == []


def test_the_api_refuses_the_lead_submitting_while_a_task_is_open(cw, client):
    ticket = new_case(cw)
    call_in(cw, ticket, "market")
    lead = token_for(client, "gridworker")
    accepted = client.post(f"/api/v1/tickets/{ticket.id}/actions/accept",
                           json={"version": ticket.version}, headers=auth(lead)).get_json()
    refused = client.post(f"/api/v1/tickets/{ticket.id}/actions/submit",
                          json={"version": accepted["version"], "note": "已处理"},
                          headers=auth(lead))
    assert refused.status_code == 403
    assert "区市场监督管理局" in refused.get_json()["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == TicketStatus.IN_PROGRESS


def test_a_dispatch_rule_names_co_handling_departments(cw):
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    rule.co_department_ids = [cw.departments["market"].id, cw.departments["urban"].id]
    db.session.commit()
    ticket = new_case(cw)
    tasks = ticket_tasks(ticket.id)
    assert [t.department_id for t in tasks] == rule.co_department_ids
    assert all(t.created_by_id is None and t.deadline == task_deadline(ticket, NOW)
               for t in tasks)
    assert [e.action for e in events(ticket.id)] == ["create", "dispatch", "co_handle",
                                                     "co_handle"]


def test_co_handling_counts_for_its_department_apart_from_lead_cases(cw):
    from models.stats.indicators import indicators
    from models.stats.rollups import fold_pending

    ticket = new_case(cw)
    tasks = call_in(cw, ticket, "urban", "market")
    market, urban = tasks[cw.departments["market"].id], tasks[cw.departments["urban"].id]
    task_step(cw, ticket, market, "accept", "market_handler")
    task_step(cw, ticket, market, "submit", "market_handler", "已整改")
    late = urban.deadline + timedelta(hours=1)
    task_step(cw, ticket, urban, "accept", "urban_handler", at=late)
    task_step(cw, ticket, urban, "submit", "urban_handler", "已清理", at=late)
    fold_pending()
    db.session.commit()
    day = NOW.date()
    rows = {r.key: r.values for r in indicators(cw.users["admin"], day - timedelta(days=1),
                                                late.date() + timedelta(days=1),
                                                group_by="department")}
    for key, in_time in (("market", 1), ("urban", 0)):
        values = rows[cw.departments[key].id]
        assert (values["co_handled"], values["co_handled_done"],
                values["co_handled_in_time"]) == (1, 1, in_time)
        assert values["dispatched"] == 0 and values["closed"] == 0  # not counted as lead cases
    assert rows[cw.departments["market"].id]["co_handled_on_time_rate"] == 1.0
    assert rows[cw.departments["urban"].id]["co_handled_on_time_rate"] == 0.0


def test_the_rollups_equal_a_recount_from_the_events(cw):
    from models.stats.indicators import indicators
    from models.stats.rollups import fold_pending

    from .stats_recount import Workdays, facts, figures, load

    for offset in range(3):
        ticket = new_case(cw, NOW + timedelta(hours=offset))
        tasks = list(call_in(cw, ticket, "urban", "market").values())
        task_step(cw, ticket, tasks[0], "accept", "urban_handler")
        if offset:
            task_step(cw, ticket, tasks[0], "submit", "urban_handler", "完成",
                      at=NOW + timedelta(days=offset * 2))
        task_step(cw, ticket, tasks[1], "return", "market_handler", "非本单位职责")
    fold_pending()
    db.session.commit()
    start, end = NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=10)
    got = {r.key: r.values for r in indicators(cw.users["admin"], start, end,
                                               group_by="department")}
    rows = facts(*load(), Workdays())
    for key in ("urban", "market"):
        department = cw.departments[key].id
        expected = figures([r for r in rows if r["department"] == department])
        for code in ("co_handled", "co_handled_done", "co_handled_in_time",
                     "co_handled_on_time_rate"):
            assert got[department][code] == expected[code], (key, code)
    assert got[cw.departments["urban"].id]["co_handled"] == 3


# --- the admin panel and the phone app ----------------------------------------------------------

def form_post(client, url, **data):
    from .conftest import session_csrf_token

    return client.post(url, data={"csrf_token": session_csrf_token(client), **data},
                       follow_redirects=True)


def test_the_street_centre_calls_two_departments_in_from_the_ticket_page(cw, login_as):
    ticket = new_case(cw)
    street = login_as("street")
    page = street.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert 'id="gd-button-co_handle"' in page and "吹哨报到" in page
    assert f'value="{cw.departments["market"].id}"' in page  # one tick box per department
    refused = form_post(street, f"/admin/ticket/act/{ticket.id}/co_handle",
                        version=ticket.version, note="请协办").get_data(as_text=True)
    assert "请至少选择一个协办单位" in refused
    done = form_post(street, f"/admin/ticket/act/{ticket.id}/co_handle", version=ticket.version,
                     note="联合整治占道经营",
                     department_ids=[cw.departments["urban"].id, cw.departments["market"].id])
    html = done.get_data(as_text=True)
    assert "添加协办单位" in html and 'id="gd-co-handling"' in html
    assert html.count('class="list-group-item py-2 gd-co-task"') == 2
    assert "待签收" in html and "协办期限" in html
    # The list: the 协办 filter finds it for each department, with the badges.
    from views.admin.ticket_views import list_filter_args

    args = list_filter_args(co_handling=cw.departments["market"].id)
    listed = street.get("/admin/ticket/", query_string=args).get_data(as_text=True)
    assert ticket.number in listed and "协·区市场监督管理局·待签收" in listed
    other = list_filter_args(co_handling=cw.departments["water"].id)
    assert ticket.number not in street.get("/admin/ticket/", query_string=other).get_data(
        as_text=True)
    # The board card carries a badge per task.
    board = street.get("/admin/board/").get_data(as_text=True)
    assert "协·区城市管理局·待签收" in board


def test_a_department_works_its_task_from_the_ticket_page_and_its_queue(cw, login_as):
    ticket = new_case(cw)
    tasks = call_in(cw, ticket, "market")
    task = tasks[cw.departments["market"].id]
    handler = login_as("market_handler")
    home = handler.get("/admin/").get_data(as_text=True)
    assert 'id="gd-home-co-handling"' in home and "区市场监督管理局 的协办待办" in home
    db.session.expire_all()
    version = db.session.get(Ticket, ticket.id).version
    accepted = form_post(handler, f"/admin/ticket/task/{ticket.id}/{task.id}/accept",
                         version=version).get_data(as_text=True)
    assert "协办签收" in accepted and "办理中" in accepted
    stale = form_post(handler, f"/admin/ticket/task/{ticket.id}/{task.id}/submit",
                      version=version, note="已整改").get_data(as_text=True)
    assert "已被他人修改" in stale or "changed meanwhile" in stale.lower() or "刷新" in stale
    db.session.expire_all()
    version = db.session.get(Ticket, ticket.id).version
    form_post(handler, f"/admin/ticket/task/{ticket.id}/{task.id}/submit", version=version,
              note="已责令整改")
    db.session.expire_all()
    assert db.session.get(CoHandlingTask, task.id).status.value == "submitted"
    # The phone inbox has a 协办 tab for handlers.
    phone = handler.get("/m/?tab=co_handling").get_data(as_text=True)
    assert 'data-tab="co_handling"' in phone


def test_the_phone_app_shows_the_task_and_takes_its_steps(cw, login_as):
    ticket = new_case(cw)
    task = call_in(cw, ticket, "market")[cw.departments["market"].id]
    handler = login_as("market_handler")
    inbox = handler.get("/m/?tab=co_handling").get_data(as_text=True)
    assert ticket.number in inbox
    page = handler.get(f"/m/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="m-co-handling"' in page and f"/m/api/tickets/{ticket.id}/tasks/{task.id}/actions/accept" in page
    from .conftest import session_csrf_token

    response = handler.post(f"/m/api/tickets/{ticket.id}/tasks/{task.id}/actions/accept",
                            data={"version": ticket.version},
                            headers={"X-CSRFToken": session_csrf_token(handler)})
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CoHandlingTask, task.id).status.value == "accepted"


def test_the_matrix_and_the_rule_form_name_co_handling_departments(cw, login_as):
    admin = login_as("admin")
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    form = admin.get(f"/admin/dispatchrule/edit/?id={rule.id}").get_data(as_text=True)
    assert 'name="co_department_ids"' in form
    market, urban = cw.departments["market"].id, cw.departments["urban"].id
    response = form_post(admin, f"/admin/dispatchrule/edit/?id={rule.id}",
                         category=rule.category_id, area=rule.area_id,
                         responsible_kind="grid_worker", co_department_ids=[market, urban],
                         sort_order=100, active="y")
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(DispatchRule, rule.id).co_department_ids == [market, urban]
    from models import ConfigChange

    change = db.session.execute(sa.select(ConfigChange).where(
        ConfigChange.object_type == "dispatch_rule").order_by(ConfigChange.id.desc())
        .limit(1)).scalar_one()
    assert "区市场监督管理局" in str(change.changes) and "区城市管理局" in str(change.changes)
    matrix = admin.get("/admin/matrix/?level=community").get_data(as_text=True)
    assert "区市场监督管理局、区城市管理局" in matrix and "主办" in matrix


def test_the_lead_sees_which_departments_it_waits_for(cw, login_as):
    ticket = new_case(cw)
    call_in(cw, ticket, "market")
    perform(ticket, "accept", staff(cw, "gridworker"), expected_version=ticket.version)
    db.session.commit()
    lead = login_as("gridworker")
    page = lead.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert 'id="gd-submit-waits"' in page and "协办尚未完成：区市场监督管理局" in page
    assert 'id="gd-button-submit"' not in page
    street = login_as("street")  # a manager is not told it waits (it is not the lead)
    assert 'id="gd-submit-waits"' not in street.get(
        f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
