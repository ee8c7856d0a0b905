"""The closed loop through the admin panel, and every action's allowed and refused paths."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from PIL import Image

from models import AttachmentKind, Channel, Ticket, TicketEvent, TicketStatus, db, utcnow
from models.notify.messages import message_context, render_message
from models.errors import ActionForbidden, ActionInvalid, Conflict
from models.tickets.attachments import Upload
from models.tickets.intake import Report, report_ticket
from models.tickets.timeline import replays_to_ticket
from models.tickets.workflow import Actor, allowed_actions, perform

from .conftest import csrf_token, session_csrf_token


def photo_bytes(colour="green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def events_of(ticket_id):
    return db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                              .order_by(TicketEvent.seq)).scalars().all()


def fresh(ticket_id) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def act(client, ticket_id, action, **data):
    ticket = fresh(ticket_id)
    files = data.pop("files", None)
    form = {"csrf_token": session_csrf_token(client), "version": str(ticket.version), **data}
    if files:
        form["photos"] = files
    return client.post(f"/admin/ticket/act/{ticket_id}/{action}", data=form,
                       content_type="multipart/form-data", follow_redirects=True)


def test_the_whole_loop_through_the_admin_panel(world, login_as):
    staff = login_as("community")
    # 1. Hotline entry at a point: placed in grid 1, dispatched to its grid worker with deadlines.
    page = staff.get("/admin/ticket/new/").get_data(as_text=True)
    assert "csrf_token" in page
    response = staff.post("/admin/ticket/new/", data={
        "csrf_token": csrf_token(staff, "/admin/ticket/new/"),
        "category_id": world.categories["garbage"].id, "description": "甲一网格垃圾桶满溢",
        "lon": "120.004", "lat": "30.006", "coord_system": "wgs84", "source": "phone",
        "priority": "normal", "reporter_phone": "13900001111"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    number = re.search(r"GD\d{12}", html).group(0)
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.number == number)).scalar_one()
    assert ticket.grid_id == world.areas["grid1"].id
    assert ticket.assigned_user_id == world.users["gridworker"].id
    assert ticket.accept_deadline and ticket.handle_deadline
    assert "已派单" in html
    tid = ticket.id

    worker = login_as("gridworker")
    # 2. Accept, 3. submit without the required after-photo → refused, nothing changed.
    assert "处理中" in act(worker, tid, "accept").get_data(as_text=True)
    before = fresh(tid).version, len(events_of(tid))
    refused = act(worker, tid, "submit", note="已清运").get_data(as_text=True)
    assert "处置后照片" in refused
    assert (fresh(tid).version, len(events_of(tid))) == before
    # 4. Submit with the photo.
    act(worker, tid, "submit", note="已清运", files=[(io.BytesIO(photo_bytes()), "after.jpg")])
    assert fresh(tid).status == TicketStatus.PENDING_REVIEW
    # 5. The submitter may not approve; the community refuses once (rework), then approves.
    assert "approve" not in allowed_actions(Actor.staff(world.users["gridworker"]), fresh(tid))
    act(staff, tid, "reject", note="还有残留垃圾")
    assert fresh(tid).status == TicketStatus.IN_PROGRESS and fresh(tid).rework_count == 1
    act(worker, tid, "submit", note="已彻底清运",
        files=[(io.BytesIO(photo_bytes("blue")), "after2.jpg")])
    act(staff, tid, "approve", note="核查通过")
    assert fresh(tid).status == TicketStatus.CLOSED
    # 6. Staff do not "rate" for the reporter (issue 9 changed this: the plain rating is the
    #    reporter's own); they record the phone follow-up (回访评价) as such, once.
    refused = act(staff, tid, "rate", rating="5", note="满意").get_data(as_text=True)
    assert "alert-danger" in refused and fresh(tid).rating is None
    act(staff, tid, "follow_up", rating="5", note="电话回访上报人：满意")
    again = act(staff, tid, "follow_up", rating="1", note="再次回访").get_data(as_text=True)
    assert fresh(tid).rating == 5
    assert "评价" in again
    # The timeline tells the whole story and replays to the ticket.
    actions = [e.action for e in events_of(tid)]
    assert actions == ["create", "dispatch", "accept", "submit", "reject", "submit", "approve",
                       "follow_up"]
    assert replays_to_ticket(fresh(tid), events_of(tid))
    details = staff.get(f"/admin/ticket/details/?id={tid}").get_data(as_text=True)
    timeline = re.search(r'<ol[^>]*id="gd-timeline".*?</ol>', details, re.S).group(0)
    # One label per action: the timeline says what the button said (issue 9, § 2 Actions).
    assert re.findall(r"<strong>(.*?)</strong>", timeline) == [
        "已登记", "已派单", "受理", "提交办结", "审核退回", "提交办结", "审核通过", "回访评价"]
    assert details.count("/admin/ticket/attachment/") >= 2
    board = staff.get("/admin/board/").get_data(as_text=True)
    assert number in board


def test_each_forbidden_step_is_refused_with_a_message_and_changes_nothing(world, login_as):
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006)).ticket
    db.session.commit()
    tid = ticket.id
    for username, action in [("leader", "accept"), ("handler", "accept"), ("gridworker2", "accept"),
                             ("community2", "assign"), ("gridworker", "approve"),
                             ("street2", "invalidate")]:
        client = login_as(username)
        before = (fresh(tid).version, len(events_of(tid)), fresh(tid).status)
        response = act(client, tid, action, note="试试")
        assert response.status_code in (200, 404)
        if response.status_code == 200:
            assert "alert-danger" in response.get_data(as_text=True)
        assert (fresh(tid).version, len(events_of(tid)), fresh(tid).status) == before


def test_a_stale_form_is_refused(world, login_as):
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006)).ticket
    db.session.commit()
    worker = login_as("gridworker")
    stale_version = ticket.version
    perform(ticket, "note", Actor.staff(world.users["community"]), expected_version=ticket.version,
            note="已电话联系")
    db.session.commit()
    response = worker.post(f"/admin/ticket/act/{ticket.id}/accept",
                           data={"csrf_token": session_csrf_token(worker),
                                 "version": str(stale_version)}, follow_redirects=True)
    assert "已被他人修改" in response.get_data(as_text=True)
    assert fresh(ticket.id).status == TicketStatus.PENDING


# --- the domain rules one by one -------------------------------------------------------------
@pytest.fixture()
def pending(world):
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006)).ticket
    db.session.commit()
    return ticket


def do(ticket, action, username, world, **params):
    actor = Actor.staff(world.users[username]) if username else Actor.reporter()
    event = perform(ticket, action, actor, expected_version=ticket.version, **params)
    db.session.commit()
    return event


def test_return_needs_a_reason_and_goes_back_to_the_street_centre(world, pending):
    with pytest.raises(ActionInvalid):
        do(pending, "return", "gridworker", world, note="  ")
    db.session.rollback()
    do(pending, "return", "gridworker", world, note="不属于网格处置范围")
    assert pending.assigned_department_id == world.departments["street1_centre"].id
    assert pending.assigned_user_id is None and pending.status == TicketStatus.PENDING


def test_escalation_climbs_to_the_district_and_stops_there(world, pending):
    levels = []
    for who in ("gridworker", "community", "street"):
        do(pending, "escalate", who, world, note="需上级协调")
        levels.append((pending.current_level.value, pending.assigned_department_id))
    assert levels == [("community", world.departments["office1"].id),
                      ("street", world.departments["street1_centre"].id),
                      ("district", world.departments["district_centre"].id)]
    with pytest.raises(ActionForbidden):
        do(pending, "escalate", "district", world, note="再上报")


def test_extension_request_and_decision(world, pending):
    do(pending, "accept", "gridworker", world)
    old = pending.handle_deadline
    wanted = (old + timedelta(days=2)).isoformat()
    do(pending, "request_extension", "gridworker", world, until=wanted, note="需采购配件")
    with pytest.raises(ActionForbidden):
        do(pending, "request_extension", "gridworker", world, until=wanted, note="再申请")
    db.session.rollback()
    do(pending, "approve_extension", "community", world)
    assert pending.handle_deadline == old + timedelta(days=2)
    do(pending, "request_extension", "gridworker", world,
       until=(old + timedelta(days=5)).isoformat(), note="还需要时间")
    do(pending, "refuse_extension", "street", world, note="不予延期")
    assert pending.handle_deadline == old + timedelta(days=2)


def test_a_pending_extension_request_ends_with_the_handling_and_is_shown(world, pending,
                                                                         login_as):
    do(pending, "accept", "gridworker", world)
    wanted = pending.handle_deadline + timedelta(days=3)
    do(pending, "request_extension", "gridworker", world, until=wanted.isoformat(),
       note="需采购配件")
    local = wanted.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    page = login_as("community").get(f"/admin/ticket/details/?id={pending.id}")
    html = page.get_data(as_text=True)
    assert f"延期申请：申请延至 {local}，等待审批" in html  # beside the decision's buttons
    assert f"申请延至 {local}（当前时限" in html  # and on the timeline
    do(pending, "submit", "gridworker", world, note="已清运",
       attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    ticket = fresh(pending.id)
    assert ticket.status == TicketStatus.PENDING_REVIEW and ticket.extension_requested_until is None
    do(ticket, "reject", "community", world, note="地面未冲洗")
    do(ticket, "request_extension", "gridworker", world, note="再需两天",
       until=(ticket.handle_deadline + timedelta(days=2)).isoformat())  # not "already waiting"
    assert fresh(pending.id).extension_requested_until is not None


def test_an_extension_is_days_not_years(world, pending):
    do(pending, "accept", "gridworker", world)
    for until in ("2999-12-31T18:00:00", (utcnow() + timedelta(days=366)).isoformat()):
        with pytest.raises(ActionInvalid, match="最多只能延至 365 天后"):
            do(pending, "request_extension", "gridworker", world, until=until, note="需采购配件")
        db.session.rollback()
    assert fresh(pending.id).extension_requested_until is None
    do(pending, "request_extension", "gridworker", world,
       until=(utcnow() + timedelta(days=364)).isoformat(), note="需采购配件")
    assert fresh(pending.id).extension_requested_until is not None


def test_suspension_stops_the_clock(world, pending):
    do(pending, "accept", "gridworker", world)
    deadline = pending.handle_deadline
    start = utcnow()
    perform(pending, "suspend", Actor.staff(world.users["community"]),
            expected_version=pending.version, note="等待业主回复", now=start)
    perform(pending, "resume", Actor.staff(world.users["community"]),
            expected_version=pending.version, now=start + timedelta(hours=30))
    db.session.commit()
    assert pending.status == TicketStatus.IN_PROGRESS
    assert pending.handle_deadline == deadline + timedelta(hours=30)


def test_merge_keeps_the_reporter_and_points_at_the_master(world, pending):
    dup = report_ticket(Report(category_id=world.categories["garbage"].id, description="同一处",
                               lon=120.0041, lat=30.0061, reporter_phone="13700002222")).ticket
    db.session.commit()
    with pytest.raises(ActionInvalid):
        do(dup, "merge", "community", world, master_id=dup.id)
    db.session.rollback()
    do(dup, "merge", "community", world, master_id=pending.id)
    assert dup.status == TicketStatus.INVALID and dup.duplicate_of_id == pending.id
    assert dup.reporter_phone == "13700002222"


def test_reopen_within_the_window_only(world, pending, app):
    do(pending, "accept", "gridworker", world)
    do(pending, "submit", "gridworker", world, note="已清运",
       attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    do(pending, "approve", "community", world)
    do(pending, "reopen", None, world, note="又满了，不满意")
    assert pending.status == TicketStatus.IN_PROGRESS and pending.reopen_count == 1
    do(pending, "submit", "gridworker", world, note="再次清运",
       attachments=[Upload(AttachmentKind.AFTER, "b.jpg", photo_bytes("red"))])
    do(pending, "approve", "community", world)
    pending.closed_at = utcnow() - timedelta(days=app.config["REOPEN_WINDOW_DAYS"] + 1)
    db.session.commit()
    with pytest.raises(ActionForbidden) as refused:
        do(pending, "reopen", None, world, note="太晚了")
    days = app.config["REOPEN_WINDOW_DAYS"]
    assert str(refused.value) == f"工单只能在办结后 {days} 天内重新打开。"


def test_rating_is_between_one_and_five(world, pending):
    do(pending, "accept", "gridworker", world)
    do(pending, "submit", "gridworker", world, note="已清运",
       attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    do(pending, "approve", "community", world)
    for bad in (0, 6, "x"):
        with pytest.raises(ActionInvalid):
            do(pending, "rate", None, world, rating=bad)
        db.session.rollback()
    do(pending, "rate", None, world, rating=4, note="还行")
    assert pending.rating == 4


def close(ticket, world):
    do(ticket, "accept", "gridworker", world)
    do(ticket, "submit", "gridworker", world, note="已清运",
       attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    do(ticket, "approve", "community", world)


def test_managers_do_not_rate_for_the_reporter_they_record_a_phone_follow_up(world, pending,
                                                                             login_as):
    from models.vocabulary import RatingSource

    close(pending, world)
    tid = pending.id
    for username in ("admin", "district", "street", "community"):
        staff = Actor.staff(world.users[username])
        assert "rate" not in allowed_actions(staff, pending)
        assert "follow_up" in allowed_actions(staff, pending)
        with pytest.raises(ActionForbidden):
            do(pending, "rate", username, world, rating=5, note="满意")
        db.session.rollback()
    assert "follow_up" not in allowed_actions(Actor.staff(world.users["leader"]), pending)
    assert "follow_up" not in allowed_actions(Actor.reporter(), pending)

    admin = login_as("admin")
    page = admin.get(f"/admin/ticket/details/?id={tid}").get_data(as_text=True)
    assert 'id="gd-button-follow_up"' in page and "回访评价" in page
    assert 'id="gd-button-rate"' not in page
    assert "alert-danger" in act(admin, tid, "rate", rating="5").get_data(as_text=True)
    # A follow-up says how the reporter was reached and what they said.
    before = fresh(tid).version, len(events_of(tid))
    refused = act(admin, tid, "follow_up", rating="4", note="  ").get_data(as_text=True)
    assert "请填写回访情况" in refused
    assert (fresh(tid).version, len(events_of(tid))) == before and fresh(tid).rating is None

    act(admin, tid, "follow_up", rating="4", note="电话 13812345678 回访张三：基本满意")
    ticket = fresh(tid)
    assert (ticket.rating, ticket.rating_source, ticket.rated_by_id) == (
        4, RatingSource.FOLLOW_UP, world.users["admin"].id)
    event = events_of(tid)[-1]
    assert (event.action, event.actor_user_id, event.details) == (
        "follow_up", world.users["admin"].id, {"rating": 4})
    page = admin.get(f"/admin/ticket/details/?id={tid}").get_data(as_text=True)
    assert "电话回访" in page and world.users["admin"].display_name in page
    assert "回访评价" in page and 'id="gd-button-follow_up"' not in page  # recorded once


def test_the_reporters_own_rating_is_marked_as_theirs(world, pending):
    from models.vocabulary import ActorKind, RatingSource

    close(pending, world)
    do(pending, "rate", None, world, rating=5, note="很快")
    assert (pending.rating, pending.rating_source, pending.rated_by_id) == (
        5, RatingSource.REPORTER, None)
    event = events_of(pending.id)[-1]
    assert (event.action, event.actor_kind, event.actor_user_id) == ("rate", ActorKind.REPORTER,
                                                                     None)
    with pytest.raises(ActionForbidden):  # one rating per case, whoever gives it
        do(pending, "follow_up", "community", world, rating=1, note="回访")


def test_a_non_image_upload_is_refused_before_anything_changes(world, pending):
    do(pending, "accept", "gridworker", world)
    version = pending.version
    with pytest.raises(ActionInvalid):
        do(pending, "submit", "gridworker", world, note="已清运",
           attachments=[Upload(AttachmentKind.AFTER, "virus.jpg", b"MZ\x90\x00 not an image")])
    db.session.rollback()
    assert fresh(pending.id).version == version and fresh(pending.id).status == TicketStatus.IN_PROGRESS


def test_stale_version_is_a_conflict(world, pending):
    with pytest.raises(Conflict):
        perform(pending, "accept", Actor.staff(world.users["gridworker"]),
                expected_version=pending.version - 1)


def test_merged_reporters_are_told_when_the_master_closes(world, pending):
    from models import Notification

    dup = report_ticket(Report(category_id=world.categories["garbage"].id, description="同一处",
                               lon=120.0041, lat=30.0061, reporter_phone="13700002222",
                               reporter_email="li@example.cn")).ticket
    db.session.commit()
    do(dup, "merge", "community", world, master_id=pending.id)
    do(pending, "accept", "gridworker", world)
    do(pending, "submit", "gridworker", world, note="已清运",
       attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    told = sa.select(Notification).where(Notification.template == "master_closed")
    assert db.session.execute(told).scalars().all() == []
    do(pending, "approve", "community", world)
    notices = db.session.execute(told.where(Notification.ticket_id == dup.id)).scalars().all()
    assert sorted((n.channel.value, n.recipient_address) for n in notices) == [
        ("email", "li@example.cn"), ("webhook", "13700002222")]
    assert all(n.payload["master_number"] == pending.number and n.template == "master_closed"
               for n in notices)


def reporter_notices(ticket, template) -> list[tuple[str, str]]:
    from models import Notification

    rows = db.session.execute(sa.select(Notification).where(
        Notification.ticket_id == ticket.id, Notification.template == template)).scalars().all()
    return sorted((n.channel.value, n.recipient_address) for n in rows)


def run_the_scheduler_twice():
    from jobs.sweeps import JOBS

    for _ in range(2):
        for job in JOBS.values():
            job()


def test_a_ticket_merged_into_a_closed_case_tells_its_reporter(world, pending):
    close(pending, world)
    dup = report_ticket(Report(category_id=world.categories["garbage"].id, description="同一处",
                               lon=120.0041, lat=30.0061, reporter_phone="13700002222",
                               reporter_email="li@example.cn")).ticket
    db.session.commit()
    do(dup, "merge", "community", world, master_id=pending.id)
    told = [("email", "li@example.cn"), ("webhook", "13700002222")]
    assert reporter_notices(dup, "master_closed") == told
    run_the_scheduler_twice()  # delivery and the sweeps write no second copy
    assert reporter_notices(dup, "master_closed") == told
    from models import Notification
    notice = db.session.execute(sa.select(Notification).where(
        Notification.ticket_id == dup.id, Notification.channel == Channel.WEBHOOK)).scalar_one()
    text = render_message(notice.template, notice.channel, message_context(notice, dup)).body
    assert pending.number in text and "已一并办结" in text


def test_an_invalidated_ticket_tells_its_reporter(world, pending, login_as):
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="测试",
                                  lon=120.004, lat=30.006, reporter_phone="13700003333")).ticket
    db.session.commit()
    assert "alert-danger" not in act(login_as("community"), ticket.id, "invalidate",
                                     note="经核实不属实").get_data(as_text=True)
    assert fresh(ticket.id).status == TicketStatus.INVALID
    assert reporter_notices(ticket, "reporter_invalidated") == [("webhook", "13700003333")]
    run_the_scheduler_twice()
    assert reporter_notices(ticket, "reporter_invalidated") == [("webhook", "13700003333")]
    from models import Notification
    notice = db.session.execute(sa.select(Notification).where(
        Notification.template == "reporter_invalidated")).scalar_one()
    text = render_message(notice.template, notice.channel,
                          message_context(notice, fresh(ticket.id))).body
    assert ticket.number in text and "作废" in text
    # The administrator sees and can edit the text with the other reporter messages.
    page = login_as("admin").get("/admin/notifytemplate/").get_data(as_text=True)
    assert "上报人：已作废" in page


def test_events_write_their_outbox_rows_in_the_same_transaction(world):
    from models import Channel, Notification

    pending = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                   lon=120.004, lat=30.006, reporter_phone="13900001111")).ticket
    db.session.commit()
    inbox = sa.select(Notification).where(Notification.ticket_id == pending.id,
                                          Notification.channel == Channel.IN_APP)
    dispatched = db.session.execute(inbox).scalars().all()
    assert [(n.recipient_user_id, n.template) for n in dispatched] == [
        (world.users["gridworker"].id, "dispatch")]
    with pytest.raises(ActionInvalid):  # refused: no row is left behind
        do(pending, "return", "gridworker", world, note="")
    db.session.rollback()
    assert len(db.session.execute(inbox).scalars().all()) == 1
    do(pending, "accept", "gridworker", world)
    reporter = db.session.execute(sa.select(Notification).where(
        Notification.ticket_id == pending.id, Notification.template == "reporter_accepted")
    ).scalars().all()
    assert [n.recipient_address for n in reporter] == ["13900001111"]


def test_a_step_of_the_past_is_judged_at_its_own_moment(world):
    """Steps entered after the fact (the demo's past): the reopen and rating windows count to
    the step's own moment, not to the clock of the machine."""
    then = utcnow() - timedelta(days=60)
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006), now=then).ticket
    photo = Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())
    submit = ("submit", "gridworker", {"note": "已清运", "attachments": [photo]})
    steps = [("accept", "gridworker", {}), submit, ("approve", "community", {}),
             ("reopen", None, {"note": "又满了"}), submit, ("approve", "community", {}),
             ("rate", None, {"rating": 3})]
    for hours, (action, username, params) in enumerate(steps, start=1):
        do(ticket, action, username, world, now=then + timedelta(hours=hours), **params)
    assert ticket.status == TicketStatus.CLOSED and ticket.reopen_count == 1 and ticket.rating == 3
    assert replays_to_ticket(ticket, events_of(ticket.id))


@pytest.mark.parametrize("changes, words", [
    ({"title": "长" * 201}, "超过 200 个字符"),  # was cut to 200 without a word
    ({"priority": "very"}, "请从列表中选择来源渠道和紧急程度"),  # was reset to 一般, and the channel too
    ({"source": "open311"}, "请从列表中选择来源渠道和紧急程度"),  # a channel the form never offers
])
def test_the_intake_form_refuses_what_it_would_otherwise_change(world, login_as, changes, words):
    staff = login_as("community")
    form = {"csrf_token": csrf_token(staff, "/admin/ticket/new/"),
            "category_id": world.categories["garbage"].id, "description": "甲一网格垃圾桶满溢",
            "lon": "120.004", "lat": "30.006", "coord_system": "wgs84", "source": "phone",
            "priority": "urgent", "reporter_phone": "13900001111", **changes}
    html = staff.post("/admin/ticket/new/", data=form).get_data(as_text=True)
    assert words in html
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one() == 0


def test_a_manager_who_submitted_the_result_is_told_another_manager_reviews_it(world, pending):
    community = world.users["community"]
    do(pending, "assign", "community", world, user_id=community.id, note="我来处理")
    do(pending, "accept", "community", world)
    do(pending, "submit", "community", world, note="已清运",
       attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    for action in ("approve", "reject"):
        with pytest.raises(ActionForbidden, match="办理结果是您本人提交的"):
            do(pending, action, "community", world, note="自己审核")
        db.session.rollback()
    assert fresh(pending.id).status == TicketStatus.PENDING_REVIEW
    do(pending, "approve", "street", world)
    assert fresh(pending.id).status == TicketStatus.CLOSED
