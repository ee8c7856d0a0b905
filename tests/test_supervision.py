"""Supervision (督办): set, answered, reminded by the scheduler, lifted — through the API, the
admin pages, the phone inbox and the evaluation; scoped like every other action."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from jobs.sweeps import supervision_reminders
from models import Notification, Ticket, TicketEvent, TicketStatus, db, utcnow
from models.areas.hierarchy import Area
from models.clock import local_today, local_zone
from models.errors import ActionForbidden, ActionInvalid
from models.evaluation import measures
from models.evaluation.ranking import live_ranking
from models.evaluation.schemes import EvaluatedRole, save_scheme
from models.tickets.supervision import (Supervision, current_supervision, lift_supervision,
                                        reply_to_supervision, supervise)
from models.vocabulary import AreaLevel, Role

from .factories import add_user, make_ticket
from .test_api import auth, token_for


@pytest.fixture()
def case(world):
    """An overdue case of the district's sanitation department, taken by its handler."""
    ticket = make_ticket(world, "grid1", department=world.departments["sanitation"],
                         assignee=world.users["handler"], status=TicketStatus.IN_PROGRESS,
                         handle_deadline=utcnow() - timedelta(days=1))
    db.session.commit()
    return ticket


def later(days: int) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


def events_of(ticket: Ticket) -> list[str]:
    return list(db.session.execute(sa.select(TicketEvent.action).where(
        TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)).scalars())


def notices(template: str) -> list[Notification]:
    return list(db.session.execute(sa.select(Notification).where(
        Notification.template == template).order_by(Notification.id)).scalars())


def act(client, token, ticket_id, action, **body):
    return client.post(f"/api/v1/tickets/{ticket_id}/actions/{action}", json=body,
                       headers=auth(token))


def test_a_district_centre_supervises_and_sees_the_handlers_reply(world, case, client):
    district = token_for(client, "district")
    version = client.get(f"/api/v1/tickets/{case.id}", headers=auth(district)).get_json()["version"]
    response = act(client, district, case.id, "supervise", version=version, level="listed",
                   note="请三日内清运完毕", expected_by=later(3))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["supervision"]["level"] == "listed"
    assert body["supervision"]["note"] == "请三日内清运完毕"
    assert body["supervision"]["expected_by"] == later(3)
    assert body["supervision"]["by"]["id"] == world.users["district"].id
    assert "lift_supervision" in body["allowed_actions"]
    assert body["timeline"][-1]["action"] == "supervise"
    # The handler and everyone in the handler's department are told
    told = {n.recipient_user_id for n in notices("supervise")}
    assert world.users["handler"].id in told

    handler = token_for(client, "handler")
    seen = client.get(f"/api/v1/tickets/{case.id}", headers=auth(handler)).get_json()
    assert "supervision_reply" in seen["allowed_actions"]
    response = act(client, handler, case.id, "supervision_reply", version=seen["version"],
                   note="已安排清运车，明日完成")
    assert response.status_code == 200, response.get_json()

    again = client.get(f"/api/v1/tickets/{case.id}", headers=auth(district)).get_json()
    assert again["supervision"]["last_reply"]["note"] == "已安排清运车，明日完成"
    assert [n.recipient_user_id for n in notices("supervision_reply")] == [
        world.users["district"].id]
    assert events_of(case)[-2:] == ["supervise", "supervision_reply"]


def test_the_scheduler_reminds_once_when_the_expected_date_has_passed(world, case):
    expected = local_today() + timedelta(days=2)
    supervise(case, world.users["district"], level="supervise", note="限期办结",
              expected_by=expected, expected_version=case.version)
    db.session.commit()
    on_the_day = datetime.combine(expected, time(23, 0), local_zone())
    assert supervision_reminders(on_the_day) == {"reminded": 0}
    next_morning = datetime.combine(expected + timedelta(days=1), time(8, 0), local_zone())
    assert supervision_reminders(next_morning) == {"reminded": 1}
    assert supervision_reminders(next_morning + timedelta(hours=5)) == {"reminded": 0}
    reminders = notices("supervision_due")
    assert {n.recipient_user_id for n in reminders} >= {world.users["handler"].id,
                                                        world.users["district"].id}
    assert events_of(case).count("supervision_due") == 1
    # A new expected date is reminded about once more, when it passes in turn
    ticket = db.session.get(Ticket, case.id)
    supervise(ticket, world.users["district"], level="listed", note="再限期",
              expected_by=expected + timedelta(days=5), expected_version=ticket.version,
              now=next_morning)
    db.session.commit()
    assert supervision_reminders(next_morning + timedelta(days=5)) == {"reminded": 1}
    assert supervision_reminders(next_morning + timedelta(days=6)) == {"reminded": 0}
    assert events_of(case).count("supervision_due") == 2
    keys = [n.dedupe_key for n in notices("supervision_due")]
    assert len(keys) == len(set(keys))


def test_a_closed_case_is_not_reminded(world, case):
    expected = local_today()
    supervise(case, world.users["district"], level="supervise", note="限期办结",
              expected_by=expected, expected_version=case.version)
    case.status = TicketStatus.CLOSED
    db.session.commit()
    later_day = datetime.combine(expected + timedelta(days=2), time(9), local_zone())
    assert supervision_reminders(later_day) == {"reminded": 0}


def test_lifting_takes_the_supervisors_level_or_above(world, case, client):
    supervise(case, world.users["district"], level="supervise", note="督办",
              expected_by=local_today(), expected_version=case.version)
    db.session.commit()
    street = token_for(client, "street")
    version = db.session.get(Ticket, case.id).version
    refused = act(client, street, case.id, "lift_supervision", version=version, note="已办")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == "该督办由上级设立，只有该级别或更高级别可以调整或解除。"
    assert current_supervision(db.session.get(Ticket, case.id)) is not None
    district = token_for(client, "district")
    lifted = act(client, district, case.id, "lift_supervision", version=version, note="已办结")
    assert lifted.status_code == 200, lifted.get_json()
    assert lifted.get_json()["supervision"] is None
    assert events_of(case)[-1] == "lift_supervision"
    assert world.users["handler"].id in {n.recipient_user_id
                                          for n in notices("lift_supervision")}
    history = db.session.execute(sa.select(Supervision)).scalars().all()
    assert len(history) == 1 and history[0].lifted_at is not None


def test_who_may_supervise(world, case, client):
    community = token_for(client, "community")
    version = db.session.get(Ticket, case.id).version
    body = dict(version=version, level="watch", note="关注", expected_by=later(1))
    assert act(client, community, case.id, "supervise", **body).status_code == 403
    handler = token_for(client, "handler")
    assert act(client, handler, case.id, "supervise", **body).status_code == 403
    # A leader of the other street does not see the ticket at all
    add_user(world, "leader2", Role.LEADER, world.areas["street2"])
    db.session.commit()
    outside = token_for(client, "leader2")
    assert act(client, outside, case.id, "supervise", **body).status_code == 404
    with pytest.raises(ActionForbidden):
        supervise(db.session.get(Ticket, case.id), world.users["leader2"], level="watch",
                  note="x", expected_by=later(1), expected_version=None)
    db.session.rollback()
    assert db.session.execute(sa.select(Supervision)).first() is None
    # The district's leader may
    leader = token_for(client, "leader")
    assert act(client, leader, case.id, "supervise", **body).status_code == 200


def test_bad_input_changes_nothing(world, case, client):
    district = token_for(client, "district")
    version = db.session.get(Ticket, case.id).version
    cases = [dict(level="urgent", note="x", expected_by=later(1)),
             dict(level="watch", note="x", expected_by=later(-1)),
             dict(level="watch", note="x", expected_by="next week"),
             dict(level="watch", note="  ", expected_by=later(1))]
    for body in cases:
        response = act(client, district, case.id, "supervise", version=version, **body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["message"]
    stale = act(client, district, case.id, "supervise", version=version + 5, level="watch",
                note="x", expected_by=later(1))
    assert stale.status_code == 409
    assert db.session.execute(sa.select(Supervision)).first() is None
    assert "supervise" not in events_of(case)
    reply = act(client, token_for(client, "handler"), case.id, "supervision_reply",
                version=version, note="回复")
    assert reply.status_code == 403


def test_the_openapi_document_names_the_supervision_actions(world, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for action in ("supervise", "lift_supervision", "supervision_reply"):
        assert f"/tickets/{{ticket_id}}/actions/{action}" in spec["paths"]
    body = spec["components"]["schemas"]["Supervise"]["properties"]
    assert body["level"]["enum"] == ["watch", "supervise", "listed"]
    assert {"version", "note", "expected_by"} <= set(body)
    assert "supervision" in spec["components"]["schemas"]["Ticket"]["properties"]


def test_supervised_cases_are_deducted_in_the_evaluation(world, case):
    save_scheme(EvaluatedRole.DEPARTMENT, name="部门", kind="weighted", min_cases=1,
                lines=[{"indicator": measures.CLOSED_IN_TIME_RATE, "weight": 100}],
                supervised_points=-3)
    second = make_ticket(world, "grid2", department=world.departments["sanitation"],
                         assignee=world.users["handler"], status=TicketStatus.IN_PROGRESS)
    watched = make_ticket(world, "grid2", department=world.departments["sanitation"],
                          assignee=world.users["handler"], status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    for ticket, level in ((case, "supervise"), (second, "listed"), (watched, "watch")):
        supervise(ticket, world.users["district"], level=level, note="督办",
                  expected_by=later(2), expected_version=ticket.version)
    # Raising the level of a case counted already counts it once
    supervise(second, world.users["district"], level="listed", note="再督办",
              expected_by=later(4), expected_version=second.version)
    db.session.commit()
    department = world.departments["sanitation"]
    recount = db.session.execute(sa.select(sa.func.count()).select_from(Supervision).where(
        Supervision.department_id == department.id, Supervision.level != "watch")).scalar()
    assert recount == 2
    ranking = live_ranking(EvaluatedRole.DEPARTMENT, local_today(), None)
    row = next(r for r in ranking.ranked + ranking.insufficient if r.unit.id == department.id)
    line = next(line for line in row.score.lines if line.key == measures.SUPERVISED)
    assert (line.value, line.factor, line.contribution) == (recount, -3, recount * -3)
    others = sum(l.contribution for l in row.score.lines if l.key != measures.SUPERVISED)
    assert row.score.total == pytest.approx(round(others, 2) - 3 * recount)


def test_the_scheme_refuses_a_positive_supervision_points(world):
    from models.evaluation.schemes import SchemeError

    with pytest.raises(SchemeError):
        save_scheme(EvaluatedRole.DEPARTMENT, name="部门", kind="weighted", min_cases=1,
                    lines=[{"indicator": measures.CLOSED_IN_TIME_RATE, "weight": 100}],
                    supervised_points=5)


# --- the pages -----------------------------------------------------------------------------------

from .conftest import csrf_token  # noqa: E402
from .test_mobile_app import post_action  # noqa: E402


def test_the_admin_pages_show_and_filter_supervised_tickets(world, case, login_as):
    other = make_ticket(world, "grid1", title="路灯不亮", department=world.departments["sanitation"])
    db.session.commit()
    district = login_as("district")
    page = f"/admin/ticket/details/?id={case.id}"
    html = district.get(page).get_data(as_text=True)
    assert 'id="gd-supervision-supervise"' in html
    response = district.post(f"/admin/ticket/supervision/{case.id}/supervise", data={
        "csrf_token": csrf_token(district, page), "version": case.version, "level": "listed",
        "note": "挂牌督办：限期清运", "expected_by": local_today().isoformat()})
    assert response.status_code == 302
    html = district.get(page).get_data(as_text=True)
    assert "gd-supervised-listed" in html and "挂牌督办：限期清运" in html
    assert 'id="gd-supervision-button-lift"' in html

    listing = district.get("/admin/ticket/").get_data(as_text=True)
    assert listing.count("gd-supervised-listed") == 1
    from views.admin.ticket_views import list_filter_args

    filtered = district.get("/admin/ticket/", query_string=list_filter_args(
        supervision="any")).get_data(as_text=True)
    assert case.number in filtered and other.number not in filtered
    by_level = district.get("/admin/ticket/", query_string=list_filter_args(
        supervision="watch")).get_data(as_text=True)
    assert case.number not in by_level

    board = district.get("/admin/board/?supervised=1").get_data(as_text=True)
    assert "gd-supervised-listed" in board and case.number in board
    assert other.number not in board

    # The supervision page: the expected date passes, the handler replies
    supervised = district.get("/admin/supervision/").get_data(as_text=True)
    assert f'id="gd-supervised-{case.id}"' in supervised and other.number not in supervised
    assert "gd-past-expected" not in supervised
    db.session.expire_all()  # the page's request changed the ticket in its own session
    row = current_supervision(db.session.get(Ticket, case.id))
    row.expected_by = local_today() - timedelta(days=1)
    reply_to_supervision(db.session.get(Ticket, case.id), world.users["handler"],
                         note="已派车，今日清运完毕", expected_version=None)
    db.session.commit()
    supervised = district.get("/admin/supervision/").get_data(as_text=True)
    assert "gd-past-expected" in supervised and "已派车，今日清运完毕" in supervised
    late_only = district.get("/admin/supervision/?past=1").get_data(as_text=True)
    assert case.number in late_only
    # Community staff read the page of their area; a user of another street sees nothing of it
    assert case.number in login_as("community").get("/admin/supervision/").get_data(as_text=True)
    assert case.number not in login_as("street2").get("/admin/supervision/").get_data(
        as_text=True)


def test_the_handler_sees_the_badge_on_the_phone_and_replies_there(world, case, login_as):
    supervise(case, world.users["district"], level="supervise", note="请尽快处理",
              expected_by=local_today(), expected_version=case.version)
    db.session.commit()
    phone = login_as("handler")
    inbox = phone.get("/m/?tab=in_progress").get_data(as_text=True)
    assert "gd-supervised-supervise" in inbox
    page = phone.get(f"/m/tickets/{case.id}").get_data(as_text=True)
    assert 'data-action="supervision_reply"' in page and "请尽快处理" in page
    version = db.session.get(Ticket, case.id).version
    response = post_action(phone, case.id, "supervision_reply", version=version,
                           note="明日上午处理完毕")
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert current_supervision(db.session.get(Ticket, case.id)).last_reply_note == "明日上午处理完毕"
    # A grid worker of the same area who does not handle it cannot answer
    worker = login_as("gridworker2")
    assert post_action(worker, case.id, "supervision_reply", version=version + 1,
                       note="x").status_code in (403, 404)


def test_the_phone_inbox_filters_the_handlers_supervised_tickets(world, case, login_as):
    other = make_ticket(world, "grid1", title="路灯不亮", department=world.departments["sanitation"],
                        assignee=world.users["handler"], status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    supervise(case, world.users["district"], level="listed", note="挂牌督办",
              expected_by=local_today(), expected_version=case.version)
    db.session.commit()
    phone = login_as("handler")
    inbox = phone.get("/m/?tab=supervised").get_data(as_text=True)
    assert 'data-tab="supervised"' in inbox and 'aria-current="page" data-tab="supervised"' in inbox
    assert case.number in inbox and other.number not in inbox
    assert "gd-supervised-listed" in inbox
    tab = re.search(r'data-tab="supervised">\s*<span class="m-seg-label">督办</span>'
                    r'<span class="m-count">(\d+)</span>', inbox)
    assert tab and tab.group(1) == "1"
    # Lifted: the tab is empty again; the case stays in 处理中
    lift_supervision(db.session.get(Ticket, case.id), world.users["district"],
                     expected_version=None)
    db.session.commit()
    assert case.number not in phone.get("/m/?tab=supervised").get_data(as_text=True)
    assert case.number in phone.get("/m/?tab=in_progress").get_data(as_text=True)


def test_the_api_list_filters_supervised_tickets(world, case, client):
    other = make_ticket(world, "grid1", department=world.departments["sanitation"],
                        assignee=world.users["handler"], status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    district = token_for(client, "district")
    assert act(client, district, case.id, "supervise", version=case.version, level="supervise",
               note="请尽快处置", expected_by=later(2)).status_code == 200

    def listed(query):
        response = client.get(f"/api/v1/tickets?{query}", headers=auth(district))
        return response.status_code, [t["id"] for t in (response.get_json().get("items") or [])]

    assert listed("")[1].count(other.id) == 1
    assert listed("supervision=any") == (200, [case.id])
    assert listed("supervision=supervise") == (200, [case.id])
    assert listed("supervision=listed") == (200, [])
    status, _ = listed("supervision=urgent")
    assert status == 422


def test_an_expected_date_with_trailing_text_is_refused(world, case, client):
    """"2026-12-31garbage" was read as 2026-12-31 (the text was cut to ten characters)."""
    district = token_for(client, "district")
    version = client.get(f"/api/v1/tickets/{case.id}", headers=auth(district)).get_json()["version"]
    response = act(client, district, case.id, "supervise", version=version, level="listed",
                   note="请尽快", expected_by=later(3) + "garbage")
    assert response.status_code == 422 and "YYYY-MM-DD" in response.get_json()["error"]["message"]
    response = act(client, district, case.id, "supervise", version=version, level="listed",
                   note="请尽快", expected_by=later(3) + "T17:00:00")  # a date and time: its day
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["supervision"]["expected_by"] == later(3)
