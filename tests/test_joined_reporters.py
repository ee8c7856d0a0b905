"""Residents who joined an open ticket ("是这件事吗？", or a caller the hotline added to it): each
follows the case with their own tracking code, rates and reopens it like its first reporter, and
sees nothing of the other reporters; staff see every reporter on the ticket page, the phone
masked as their rights say."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Notification, Ticket, TicketEvent, TicketReporter, db
from models.errors import ActionForbidden
from models.stats.facts import ticket_facts
from models.tickets.actions import Actor
from models.tickets.workflow import allowed_actions, perform
from models.vocabulary import ActorKind, RatingSource, Source, TicketStatus

from .conftest import csrf_token
from .test_public_pages import LAT, LON, close, existing_case, send_report, tracking_code_of


@pytest.fixture(autouse=True)
def _fresh_ranking():
    from models.tickets.public_view import forget_popular_categories

    forget_popular_categories()


def joined_code(client, world, case, **fields) -> str:
    return tracking_code_of(send_report(client, world, join=str(case.id), name="李四",
                                        phone="13900002222", **fields))


def act(client, code: str, action: str, **fields) -> str:
    db.session.expire_all()
    ticket = db.session.execute(sa.select(Ticket).join(
        TicketReporter, TicketReporter.ticket_id == Ticket.id, isouter=True).where(
        sa.or_(Ticket.tracking_code == code, TicketReporter.tracking_code == code))).scalar_one()
    data = {"csrf_token": csrf_token(client, f"/track/{code}"), "version": ticket.version, **fields}
    return client.post(f"/track/{code}/{action}", data=data,
                       follow_redirects=True).get_data(as_text=True)


def test_a_joined_resident_rates_the_case_on_their_own_page(world, client):
    case = existing_case(world)
    code = joined_code(client, world, case)
    close(db.session.get(Ticket, case.id), world)
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert 'id="p-rate"' in page and 'id="p-reopen"' in page

    rated = act(client, code, "rate", rating="2", note="还有异味")
    assert "感谢您的评价" in rated and 'id="p-rate"' not in rated and "★★☆☆☆" in rated
    db.session.expire_all()
    row = db.session.execute(sa.select(TicketReporter)).scalar_one()
    ticket = db.session.get(Ticket, case.id)
    assert (row.rating, row.rating_comment) == (2, "还有异味")
    assert ticket.rating is None  # the case's own rating is still the first reporter's to give
    again = act(client, code, "rate", rating="5")
    assert "已评价" in again
    assert db.session.execute(sa.select(TicketReporter.rating)).scalar_one() == 2

    # The first reporter still rates; neither sees the other's stars or comment.
    first = client.get(f"/track/{case.tracking_code}").get_data(as_text=True)
    assert 'id="p-rate"' in first and "★★☆☆☆" not in first and "还有异味" not in first
    act(client, case.tracking_code, "rate", rating="5", note="满意")
    db.session.expire_all()
    ticket = db.session.get(Ticket, case.id)
    assert (ticket.rating, ticket.rating_source) == (5, RatingSource.REPORTER)
    joined_page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "★★★★★" not in joined_page and "满意" not in joined_page
    assert "★★☆☆☆" in joined_page and "您反映了同一问题，已加入本工单" in joined_page
    first = client.get(f"/track/{case.tracking_code}").get_data(as_text=True)
    assert "★★★★★" in first and "★★☆☆☆" not in first

    # One closed case, one rating in the statistics: the case's (the first reporter's).
    events = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == case.id).order_by(TicketEvent.seq)).scalars().all()
    assert [e.details.get("reporter_id") for e in events if e.action == "rate"] == [row.id, None]
    rated_facts = [f for f in ticket_facts(ticket, events) if f["rated"]]
    assert [(f["rated"], f["rating_sum"]) for f in rated_facts] == [(1, 5)]


def test_a_joined_resident_reopens_the_case_and_every_reporter_is_told(world, client):
    case = existing_case(world)
    code = joined_code(client, world, case)
    close(db.session.get(Ticket, case.id), world)
    refused = act(client, code, "reopen", note="")
    assert "请填写" in refused
    reopened = act(client, code, "reopen", note="垃圾桶又满了")
    assert "已重新打开" in reopened
    db.session.expire_all()
    ticket = db.session.get(Ticket, case.id)
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopen_count == 1
    last = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == case.id)
                              .order_by(TicketEvent.seq.desc())).scalars().first()
    assert (last.action, last.actor_kind) == ("reopen", ActorKind.REPORTER)
    told = db.session.execute(sa.select(Notification.recipient_address).where(
        Notification.ticket_id == case.id, Notification.template == "reporter_reopened")
    ).scalars().all()
    assert sorted(told) == ["13812345678", "13900002222"]
    # The reason is the staff's to read, not the first reporter's.
    assert "垃圾桶又满了" not in client.get(f"/track/{case.tracking_code}").get_data(as_text=True)


def test_a_code_acts_only_on_its_own_ticket(world, client):
    case = existing_case(world)
    other = existing_case(world, phone="13700001111", name="王五")
    joined_code(client, world, case)
    close(db.session.get(Ticket, case.id), world)
    close(db.session.get(Ticket, other.id), world)
    db.session.expire_all()
    row = db.session.execute(sa.select(TicketReporter)).scalar_one()
    stranger = Actor.reporter(row.id)  # joined ``case``, not ``other``
    other = db.session.get(Ticket, other.id)
    assert allowed_actions(stranger, other) == []
    with pytest.raises(ActionForbidden):
        perform(other, "rate", stranger, expected_version=other.version, rating=1)
    db.session.rollback()
    assert db.session.get(Ticket, other.id).rating is None


def test_the_staff_ticket_page_lists_the_further_reporters(world, client, login_as):
    case = existing_case(world)
    joined_code(client, world, case)
    manager = login_as("community").get(f"/admin/ticket/details/?id={case.id}").get_data(
        as_text=True)
    assert 'id="gd-further-reporters"' in manager
    assert "其他反映人（1）" in manager and "李四" in manager and "13900002222" in manager
    assert "网页" in manager  # the channel the resident used
    leader = login_as("leader").get(f"/admin/ticket/details/?id={case.id}").get_data(as_text=True)
    assert "李四" in leader and "139****2222" in leader and "13900002222" not in leader
    lone = existing_case(world, phone="13700001111", name="王五")
    page = login_as("community").get(f"/admin/ticket/details/?id={lone.id}").get_data(as_text=True)
    assert 'id="gd-further-reporters"' not in page


def test_a_caller_joined_at_the_hotline_follows_rates_and_is_listed(world, client, login_as):
    """The hotline form's "the same problem" choice, end to end: the caller is added to the
    known ticket, listed on its page, told when it closes, and rates with their own code."""
    case = existing_case(world)
    staff = login_as("community")
    data = {"csrf_token": csrf_token(staff, "/admin/ticket/new/"),
            "category_id": world.categories["garbage"].id, "description": "来电：东门垃圾满",
            "lon": LON, "lat": LAT, "coord_system": "wgs84", "source": "phone",
            "priority": "normal", "reporter_name": "钱七", "reporter_phone": "135 0000 5555"}
    offered = staff.post("/admin/ticket/new/", data=data).get_data(as_text=True)
    assert f'id="gd-join-{case.id}"' in offered
    tickets = db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one()
    done = staff.post("/admin/ticket/new/", data={**data, "join": str(case.id)},
                      follow_redirects=True).get_data(as_text=True)
    row = db.session.execute(sa.select(TicketReporter)).scalar_one()
    assert (row.ticket_id, row.phone, row.source) == (case.id, "13500005555", Source.PHONE)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one() \
        == tickets
    assert row.tracking_code in done  # the code to tell the caller
    assert 'id="gd-further-reporters"' in done and "钱七" in done and "电话" in done

    close(db.session.get(Ticket, case.id), world)
    told = db.session.execute(sa.select(Notification.recipient_address).where(
        Notification.ticket_id == case.id, Notification.template == "reporter_closed")
    ).scalars().all()
    assert sorted(told) == ["13500005555", "13812345678"]
    page = client.get(f"/track/{row.tracking_code}").get_data(as_text=True)
    assert "已办结" in page and "张三" not in page and "13812345678" not in page
    assert "感谢您的评价" in act(client, row.tracking_code, "rate", rating="4")


def test_the_hotline_form_offers_and_joins_only_tickets_the_staff_member_may_see(world, login_as):
    case = existing_case(world)  # in 甲社区 (community1)
    other_office = login_as("community2")  # 乙社区's staff takes a call about the same place
    data = {"csrf_token": csrf_token(other_office, "/admin/ticket/new/"),
            "category_id": world.categories["garbage"].id, "description": "来电：东门垃圾满",
            "lon": LON, "lat": LAT, "coord_system": "wgs84", "source": "phone",
            "priority": "normal", "reporter_name": "钱七", "reporter_phone": "13500005555"}
    shown = other_office.post("/admin/ticket/new/", data=data).get_data(as_text=True)
    assert case.number not in shown and 'name="join"' not in shown
    refused = other_office.post("/admin/ticket/new/", data={**data, "join": str(case.id)})
    assert refused.status_code == 200 and "不能再加入" in refused.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count()).select_from(TicketReporter)).scalar_one() == 0
    assert case.number not in refused.get_data(as_text=True)
