"""One role table, one action vocabulary, one picker (issue 9 § 2), through the real app."""
from __future__ import annotations

import html as htmllib
import json
import re

import pytest
import sqlalchemy as sa

from models import Ticket, TicketEvent, TicketStatus, db
from models.errors import ActionForbidden
from models.notify.messages import EVENT_KINDS, message_context
from models.notify.outbox import Notification
from models.tickets.actions import RULES, Action
from models.tickets.intake import Report, report_ticket
from models.vocabulary import Channel, NotificationState

from .conftest import csrf_token
from .factories import make_ticket
from .test_api import auth, new_ticket, token_for


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def chinese_labels(app) -> dict[Action, str]:
    """Every action's one label, as the pages show it (the default locale is Chinese)."""
    with app.test_request_context("/"):
        return {action: action.label for action in Action}


def timeline_labels(page: str) -> list[str]:
    timeline = re.search(r'<ol[^>]*id="gd-timeline".*?</ol>', page, re.S).group(0)
    return re.findall(r"<strong>(.*?)</strong>", timeline)


def buttons(page: str) -> dict[str, str]:
    return dict(re.findall(r'id="gd-button-(\w+)">(.*?)</button>', page))


def select_options(page: str, name: str) -> dict[str, str]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return {value: htmllib.unescape(text).strip("　 ")
            for value, text in re.findall(r'<option value="(\d+)"[^>]*>(.*?)</option>', select)}


def filter_options(page: str, label: str) -> dict[str, str]:
    raw = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S).group(1)
    return {value: text for value, text in json.loads(htmllib.unescape(raw))[label][0]["options"] or []}


# --- one action vocabulary -----------------------------------------------------------------------
def test_every_action_has_one_label_shown_by_buttons_timeline_and_messages(world, app, login_as):
    labels = chinese_labels(app)
    assert set(RULES) <= set(Action)
    for action in Action:  # every action of RULES, and every other event the timeline shows
        assert re.search(r"[\u4e00-\u9fff]", labels[action]), f"{action} has no Chinese label"
    assert len(set(labels.values())) == len(labels), "two actions share a label"

    ticket = make_ticket(world, "grid1", assignee=world.users["gridworker"])
    db.session.commit()
    url = f"/admin/ticket/details/?id={ticket.id}"
    # The buttons: the worker's and the community staff's, each named by its action's label.
    shown = {**buttons(login_as("gridworker").get(url).get_data(as_text=True)),
             **buttons(login_as("community").get(url).get_data(as_text=True))}
    assert {"accept", "return", "assign", "transfer", "suspend", "merge"} <= set(shown)
    for name, text in shown.items():
        assert text == labels[Action(name)]
    # The timeline: the same label for the same action (also after the worker acts).
    worker = login_as("gridworker")
    worker.post(f"/admin/ticket/act/{ticket.id}/accept", data={
        "csrf_token": csrf_token(worker, url), "version": str(ticket.version)})
    assert timeline_labels(worker.get(url).get_data(as_text=True)) == [
        labels[Action.CREATE], labels[Action.DISPATCH], labels[Action.ACCEPT]]
    assert labels[Action.ACCEPT] == shown["accept"]
    # The message templates: each event kind that is an action is listed by the action's label.
    overview = login_as("admin").get("/admin/notifytemplate/").get_data(as_text=True)
    listed = dict((kind, htmllib.unescape(label).strip()) for label, kind in re.findall(
        r'<tr><td>(.*?) <span class="text-muted small">(\w+)</span>', overview))
    action_kinds = [kind for kind in EVENT_KINDS if kind in {a.value for a in Action}]
    assert len(action_kinds) >= 10
    for kind in action_kinds:
        assert listed[kind] == labels[Action(kind)]
    # …and the {{ action }} of a message says it with the same words.
    event = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "accept")).scalar_one()
    row = Notification(ticket_id=ticket.id, event_id=event.id, channel=Channel.IN_APP,
                       template="reporter_accepted", state=NotificationState.PENDING, attempts=0,
                       dedupe_key="test", payload={"action": "accept", "number": ticket.number})
    assert message_context(row, ticket)["action"] == labels[Action.ACCEPT]


def test_every_stored_action_name_is_in_the_vocabulary(world):
    """The timeline only takes names of the one vocabulary; stored values stay as they were."""
    from models.tickets.timeline import append_event

    assert Action.ACCEPT == "accept" and Action("overdue") is Action.OVERDUE
    ticket = make_ticket(world, "grid1")
    with pytest.raises(ValueError):
        append_event(ticket, "accepted")
    db.session.rollback()


# --- leaders read only -----------------------------------------------------------------------------
def test_a_leader_cannot_report_a_ticket_through_the_api(world, client):
    before = count(Ticket), count(TicketEvent)
    response = new_ticket(client, token_for(client, "leader"))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert "不能登记工单" in response.get_json()["error"]["message"]
    assert (count(Ticket), count(TicketEvent)) == before
    # The same request from community staff is taken (the refusal is the leader's role).
    assert new_ticket(client, token_for(client, "community")).status_code == 201


def test_a_leader_cannot_report_a_ticket_in_the_admin_panel(world, login_as):
    leader = login_as("leader")
    before = count(Ticket)
    assert leader.get("/admin/ticket/new/").status_code == 302
    listing = leader.get("/admin/ticket/").get_data(as_text=True)
    assert "/admin/ticket/new/" not in listing
    leader.post("/admin/ticket/new/", data={
        "csrf_token": csrf_token(leader, "/admin/ticket/"),
        "category_id": world.categories["garbage"].id, "description": "领导登记", "lon": "120.004",
        "lat": "30.006", "source": "phone", "priority": "normal"})
    assert count(Ticket) == before


def test_the_intake_refuses_a_leader_for_every_caller(world):
    report = Report(category_id=world.categories["garbage"].id, description="满溢",
                    lon=120.004, lat=30.006)
    with pytest.raises(ActionForbidden):
        report_ticket(report, actor=world.users["leader"])
    db.session.rollback()
    assert count(Ticket) == 0


# --- one picker of areas and people ----------------------------------------------------------------
def test_board_list_and_assign_form_offer_the_same_areas_and_people(world, login_as):
    ticket = make_ticket(world, "grid1", department=world.departments["office1"])
    db.session.commit()
    staff = login_as("community")  # community staff of 甲社区
    board = staff.get("/admin/board/").get_data(as_text=True)
    listing = staff.get("/admin/ticket/").get_data(as_text=True)
    details = staff.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    areas = world.areas
    mine = {str(areas[k].id) for k in ("community1", "grid1", "grid2")}
    assert set(select_options(board, "area")) == mine
    in_list = set()
    for label in ("街道", "社区", "网格"):
        in_list |= set(filter_options(listing, label))
    assert in_list == mine
    users = world.users
    people = {str(users[k].id) for k in ("gridworker", "gridworker2", "community", "handler")}
    assert set(filter_options(listing, "处理人")) == people
    assert set(select_options(details, "user_id")) == people
    assert select_options(details, "user_id") == filter_options(listing, "处理人")
    assert set(select_options(board, "department")) == set(filter_options(listing, "承办部门")) \
        == set(select_options(details, "department_id"))
    assert ticket.status == TicketStatus.PENDING
