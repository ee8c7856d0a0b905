"""Assigning stays inside the actor's scope, whatever the caller (API, ticket page, bulk action):
the person picked must be one the assign form would offer, and a merge into a ticket outside
the scope tells nothing about that ticket."""
from __future__ import annotations

import sqlalchemy as sa

from models import Role, Ticket, TicketEvent, TicketStatus, db
from models.tickets.timeline import append_event

from .conftest import csrf_token
from .factories import add_user, make_ticket
from .test_api import auth, token_for


def _events(ticket_id: int) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id)).scalar_one()


def _assign_by_api(client, token, ticket, user_id):
    return client.post(f"/api/v1/tickets/{ticket.id}/actions/assign", headers=auth(token),
                       json={"version": ticket.version, "user_id": user_id, "note": "请处理"})


def _outsiders(world):
    """A grid worker of the other community; the other community's staff."""
    add_user(world, "gridworker3", Role.GRID_WORKER, world.areas["grid3"])
    db.session.commit()
    return world.users["gridworker3"], world.users["community2"]


def test_community_staff_cannot_assign_through_the_api_to_a_person_of_another_community(
        world, client):
    ticket = make_ticket(world, "grid1", reporter_phone="13812345678")
    db.session.commit()
    worker3, staff2 = _outsiders(world)
    token = token_for(client, "community")
    before = _events(ticket.id)
    for outsider in (worker3, staff2):
        response = _assign_by_api(client, token, ticket, outsider.id)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["message"]
    assert _events(ticket.id) == before
    db.session.refresh(ticket)
    assert ticket.assigned_user_id is None
    # So the outsider never sees the reporter's full number.
    seen = client.get(f"/api/v1/tickets/{ticket.id}", headers=auth(token_for(client, "gridworker3")))
    assert seen.status_code == 404


def test_inside_the_scope_and_department_handlers_can_still_be_assigned(world, client):
    ticket = make_ticket(world, "grid1")
    db.session.commit()
    token = token_for(client, "community")
    response = _assign_by_api(client, token, ticket, world.users["gridworker2"].id)
    assert response.status_code == 200, response.get_json()
    db.session.refresh(ticket)
    response = _assign_by_api(client, token, ticket, world.users["handler"].id)
    assert response.status_code == 200, response.get_json()


def test_a_street_centre_cannot_assign_into_another_street(world, client):
    ticket = make_ticket(world, "grid1")
    db.session.commit()
    worker3, _staff2 = _outsiders(world)
    response = _assign_by_api(client, token_for(client, "street"), ticket, worker3.id)
    assert response.status_code == 422
    # The district centre's scope holds both streets.
    response = _assign_by_api(client, token_for(client, "district"), ticket, worker3.id)
    assert response.status_code == 200, response.get_json()


def test_the_ticket_page_form_refuses_an_out_of_scope_person(world, login_as):
    ticket = make_ticket(world, "grid1")
    db.session.commit()
    worker3, _staff2 = _outsiders(world)
    browser = login_as("community")
    page = f"/admin/ticket/details/?id={ticket.id}"
    response = browser.post(f"/admin/ticket/act/{ticket.id}/assign", data={
        "csrf_token": csrf_token(browser, page), "version": ticket.version,
        "user_id": worker3.id, "note": "请处理"}, follow_redirects=True)
    assert response.status_code == 200
    assert worker3.display_name in response.get_data(as_text=True)  # the refusal names them
    db.session.refresh(ticket)
    assert ticket.assigned_user_id is None


def test_the_bulk_assign_refuses_an_out_of_scope_person(world, login_as):
    tickets = [make_ticket(world, "grid1"), make_ticket(world, "grid2")]
    db.session.commit()
    worker3, _staff2 = _outsiders(world)
    browser = login_as("community")
    ids = ",".join(str(t.id) for t in tickets)
    response = browser.post(f"/admin/ticket/bulk/assign?ids={ids}", data={
        "csrf_token": csrf_token(browser, f"/admin/ticket/bulk/assign?ids={ids}"), "ids": ids,
        "user_id": worker3.id, "note": "批量"})
    assert response.status_code == 200
    assert "共 2 条工单，已完成 0 条" in response.get_data(as_text=True)
    for ticket in tickets:
        db.session.refresh(ticket)
        assert ticket.assigned_user_id is None


def _invalid_ticket_of_community2(world) -> Ticket:
    hidden = make_ticket(world, "grid3", title="乙社区的案件")
    append_event(hidden, "invalidate", to_status=TicketStatus.INVALID, note="重复")
    db.session.commit()
    return hidden


def test_a_merge_into_an_out_of_scope_ticket_does_not_reveal_its_number(world, client):
    mine = make_ticket(world, "grid1")
    hidden = _invalid_ticket_of_community2(world)
    token = token_for(client, "community")
    before = _events(mine.id)
    for params in ({"master_id": hidden.id}, {"master_number": hidden.number}):
        response = client.post(f"/api/v1/tickets/{mine.id}/actions/merge", headers=auth(token),
                               json={"version": mine.version, **params})
        assert response.status_code == 422
        assert response.get_json()["error"]["message"] == "要合并到的工单不存在。"
    assert _events(mine.id) == before


def test_a_merge_along_a_chain_that_leaves_the_scope_is_refused_without_its_number(world, client):
    mine = make_ticket(world, "grid1")
    visible = make_ticket(world, "grid2", title="甲社区的另一件")
    hidden = make_ticket(world, "grid3", title="乙社区的案件")
    db.session.flush()
    visible.duplicate_of_id = hidden.id  # merged earlier by someone who saw both
    append_event(visible, "merge", to_status=TicketStatus.INVALID)
    db.session.commit()
    response = client.post(f"/api/v1/tickets/{mine.id}/actions/merge",
                           headers=auth(token_for(client, "community")),
                           json={"version": mine.version, "master_id": visible.id})
    assert response.status_code == 422
    assert hidden.number not in response.get_data(as_text=True)
    assert response.get_json()["error"]["message"] == "要合并到的工单不存在。"
    db.session.refresh(mine)
    assert mine.duplicate_of_id is None and mine.status != TicketStatus.INVALID


def test_the_ticket_page_offers_as_duplicates_only_tickets_inside_the_scope(world, login_as):
    mine = make_ticket(world, "grid2", title="边界这边")
    across = make_ticket(world, "grid3", title="边界那边")
    for ticket, lon in ((mine, 120.0199), (across, 120.0201)):  # 20 m apart, across the border
        ticket.lon, ticket.lat = lon, 30.005
    db.session.commit()
    page = login_as("community").get(f"/admin/ticket/details/?id={mine.id}").get_data(as_text=True)
    assert across.number not in page
    page = login_as("district").get(f"/admin/ticket/details/?id={mine.id}").get_data(as_text=True)
    assert 'id="gd-duplicates"' in page and across.number in page


def _another_streets_property_office(world):
    """A property office in the other street's community, with a handler."""
    from models import Department, DepartmentKind

    office = Department(name="乙社区物业", kind=DepartmentKind.FUNCTIONAL,
                        area=world.areas["community2"])
    db.session.add(office)
    add_user(world, "property2", Role.HANDLER, world.areas["community2"], office)
    db.session.commit()
    return office, world.users["property2"]


def test_a_ticket_is_sent_only_to_a_department_serving_the_senders_area(world, client):
    """Assign and transfer, through the API: another street's centre, another community's
    office or property company is refused (422, nothing written); the district's departments
    and those inside the area are not."""
    ticket = make_ticket(world, "grid1")
    db.session.commit()
    property2, _handler = _another_streets_property_office(world)
    token = token_for(client, "street")
    before = _events(ticket.id)
    for action in ("assign", "transfer"):
        for outside in (world.departments["street2_centre"], world.departments["office2"],
                        property2):
            response = client.post(f"/api/v1/tickets/{ticket.id}/actions/{action}",
                                   headers=auth(token), json={
                                       "version": ticket.version, "department_id": outside.id,
                                       "note": "请处理"})
            assert response.status_code == 422, (action, outside.name, response.get_json())
            assert "不服务您的管辖区域" in response.get_json()["error"]["message"]
    assert _events(ticket.id) == before
    db.session.refresh(ticket)
    assert ticket.assigned_department_id is None
    for inside in (world.departments["office1"], world.departments["sanitation"]):
        response = client.post(f"/api/v1/tickets/{ticket.id}/actions/transfer",
                               headers=auth(token), json={"version": ticket.version,
                                                          "department_id": inside.id,
                                                          "note": "请处理"})
        assert response.status_code == 200, response.get_json()
        db.session.refresh(ticket)
        assert ticket.assigned_department_id == inside.id
    # The district centre's area holds the other street: it may send the ticket there.
    response = client.post(f"/api/v1/tickets/{ticket.id}/actions/transfer",
                           headers=auth(token_for(client, "district")),
                           json={"version": ticket.version, "department_id": property2.id,
                                 "note": "请物业处理"})
    assert response.status_code == 200, response.get_json()


def test_a_handler_of_a_department_serving_another_street_is_not_offered(world, client,
                                                                          login_as):
    """The district's handlers serve every street; another street's property handler is not
    offered and is refused (also through the person, whose department would come with them)."""
    from models.people.access import pickable_people

    ticket = make_ticket(world, "grid1")
    db.session.commit()
    _office, handler2 = _another_streets_property_office(world)
    offered = {p.id for p in pickable_people(world.users["street"])}
    assert world.users["handler"].id in offered and handler2.id not in offered
    response = _assign_by_api(client, token_for(client, "street"), ticket, handler2.id)
    assert response.status_code == 422, response.get_json()
    db.session.refresh(ticket)
    assert ticket.assigned_user_id is None
    assert handler2.id in {p.id for p in pickable_people(world.users["district"])}


def test_the_bulk_transfer_refuses_a_department_of_another_street(world, login_as):
    tickets = [make_ticket(world, "grid1"), make_ticket(world, "grid2")]
    db.session.commit()
    browser = login_as("street")
    ids = ",".join(str(t.id) for t in tickets)
    page = f"/admin/ticket/bulk/assign?ids={ids}"
    response = browser.post(page, data={
        "csrf_token": csrf_token(browser, page), "ids": ids,
        "department_id": world.departments["street2_centre"].id, "note": "批量"})
    assert response.status_code == 200
    assert "共 2 条工单，已完成 0 条" in response.get_data(as_text=True)
    for ticket in tickets:
        db.session.refresh(ticket)
        assert ticket.assigned_department_id is None


def test_a_merge_without_a_number_asks_for_one_and_a_typed_number_is_found(world, client,
                                                                           login_as):
    mine = make_ticket(world, "grid1")
    master = make_ticket(world, "grid2", title="同一处的先报案件")
    db.session.commit()
    token = token_for(client, "community")
    before = _events(mine.id)
    for params in ({}, {"master_number": ""}, {"master_number": "   "}):
        response = client.post(f"/api/v1/tickets/{mine.id}/actions/merge", headers=auth(token),
                               json={"version": mine.version, **params})
        assert response.status_code == 422
        assert response.get_json()["error"]["message"] == "请填写要合并到的工单编号。"
    response = client.post(f"/api/v1/tickets/{mine.id}/actions/merge", headers=auth(token),
                           json={"version": mine.version, "master_number": "GD19990101999"})
    assert response.get_json()["error"]["message"] == "要合并到的工单不存在。"
    assert _events(mine.id) == before

    browser = login_as("community")
    page = f"/admin/ticket/details/?id={mine.id}"
    response = browser.post(f"/admin/ticket/act/{mine.id}/merge", data={
        "csrf_token": csrf_token(browser, page), "version": mine.version, "master": ""},
        follow_redirects=True)
    assert "请填写要合并到的工单编号。" in response.get_data(as_text=True)
    assert _events(mine.id) == before
    response = browser.post(f"/admin/ticket/act/{mine.id}/merge", data={
        "csrf_token": csrf_token(browser, page), "version": mine.version,
        "master": f" {master.number.lower()} "}, follow_redirects=True)
    assert response.status_code == 200
    db.session.refresh(mine)
    assert (mine.status, mine.duplicate_of_id) == (TicketStatus.INVALID, master.id)
