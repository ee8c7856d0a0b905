"""The resident's pages through the real app: /report (report, join a case nearby, the limits)
and /track/<code> (status, public timeline, after-photos, notices, rating, reopen)."""
from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from PIL import Image

from models import (Attachment, Category, Notification, ReportCount, Ticket, TicketEvent,
                    TicketReporter, db)
from models.tickets.actions import Actor
from models.tickets.attachments import Upload
from models.tickets.intake import Report, report_ticket
from models.tickets.public_limits import ReportRefused, check_public_report
from models.tickets.public_view import forget_popular_categories
from models.tickets.workflow import perform
from models.vocabulary import ActorKind, AttachmentKind, RatingSource, Source, TicketStatus

from .conftest import csrf_token
from .test_photos import HOSTILE

LON, LAT = "120.005", "30.005"  # grid1 of the factories' world


def photo(colour="green", fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, fmt)
    return buffer.getvalue()


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def stored_state(app) -> tuple:
    uploads = Path(app.config["UPLOAD_DIR"])
    files = sorted(str(p) for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []
    return (count(Ticket), count(TicketEvent), count(Attachment), count(Notification),
            count(ReportCount), count(TicketReporter), tuple(files))


def send_report(client, world, *, ip="10.0.0.1", photos=None, **fields):
    form = {"csrf_token": csrf_token(client, "/report"),
            "category_id": str(world.categories["garbage"].id),
            "description": "小区东门垃圾桶满了，没人清运", "lat": LAT, "lon": LON,
            "address": "东门", "name": "赵六", "phone": "13611112222", "website": "", **fields}
    form["photos"] = [(io.BytesIO(data), name) for name, data in (photos or [])]
    return client.post("/report", data=form, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": ip})


def tracking_code_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return re.search(r"/report/sent/(\w+)", response.headers["Location"]).group(1)


def close(ticket, world, note="已清运，现场已拍照"):
    db.session.expire_all()  # the pages changed it in their own sessions
    ticket = db.session.get(Ticket, ticket.id)
    worker, staff = Actor.staff(world.users["gridworker"]), Actor.staff(world.users["community"])
    if ticket.status == TicketStatus.PENDING:
        perform(ticket, "accept", worker, expected_version=ticket.version)
    perform(ticket, "submit", worker, expected_version=ticket.version, note=note,
            attachments=[Upload(AttachmentKind.AFTER, "after.jpg", photo("blue"))])
    perform(ticket, "approve", staff, expected_version=ticket.version, note="内部：已核查")
    db.session.commit()


@pytest.fixture(autouse=True)
def _fresh_ranking():
    forget_popular_categories()


# --- report → tracking → rating → reopen -------------------------------------------------------
def test_a_resident_reports_follows_rates_and_reopens(world, client, app):
    form = client.get("/report").get_data(as_text=True)
    assert "垃圾清运" in form and 'accept="image/*"' in form and "capture" in form
    response = send_report(client, world, photos=[("a.jpg", photo()), ("b.png", photo("red", "PNG"))])
    code = tracking_code_of(response)
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    assert ticket.source == Source.WEB and ticket.reporter_phone == "13611112222"
    assert ticket.grid_id == world.areas["grid1"].id
    assert count(Attachment) == 2

    sent = client.get(f"/report/sent/{code}").get_data(as_text=True)
    assert code in sent and f"/track/{code}" in sent and "<svg" in sent  # the QR code, inline

    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "待受理" in page and 'id="p-rate"' not in page and 'id="p-reopen"' not in page

    close(db.session.get(Ticket, ticket.id), world)
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已办结" in page
    assert "您反映的问题（工单号 %s）已办结" % ticket.number in page  # the notice, on the page
    after = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.kind == AttachmentKind.AFTER)).scalar_one()
    assert f"/track/{code}/photo/{after.id}" in page
    served = client.get(f"/track/{code}/photo/{after.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    thumbnail = client.get(f"/track/{code}/photo/{after.id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert f"/track/{code}/photo/{after.id}/thumbnail" in page
    before = db.session.execute(sa.select(Attachment.id).where(
        Attachment.ticket_id == ticket.id, Attachment.kind == AttachmentKind.BEFORE)).scalars().first()
    assert client.get(f"/track/{code}/photo/{before}").status_code == 404  # only after-photos
    assert client.get(f"/track/WRONGCODE2/photo/{after.id}").status_code == 404

    token = csrf_token(client, f"/track/{code}")
    version = db.session.get(Ticket, ticket.id).version
    rated = client.post(f"/track/{code}/rate", data={"csrf_token": token, "rating": "4",
                                                     "note": "很快", "version": version},
                        follow_redirects=True).get_data(as_text=True)
    assert "感谢您的评价" in rated and 'id="p-rate"' not in rated and "★★★★☆" in rated
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.rating, ticket.rating_source) == (4, RatingSource.REPORTER)

    refused = client.post(f"/track/{code}/reopen", data={"csrf_token": token, "note": "",
                                                          "version": ticket.version},
                          follow_redirects=True).get_data(as_text=True)
    assert "请填写" in refused and db.session.get(Ticket, ticket.id).status == TicketStatus.CLOSED
    reopened = client.post(f"/track/{code}/reopen", data={
        "csrf_token": token, "note": "垃圾又堆满了", "version": ticket.version},
        follow_redirects=True).get_data(as_text=True)
    assert "已重新打开" in reopened
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopen_count == 1
    last = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.seq.desc())).scalars().first()
    assert (last.action, last.actor_kind) == ("reopen", ActorKind.REPORTER)
    # The 4 stars were for the closing the resident then said was not right: the next closing
    # is rated anew (the old rating stays on the timeline).
    assert ticket.rating is None and ticket.rating_source is None
    close(ticket, world, note="已再次清运")
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert 'id="p-rate"' in page  # (the old stars stay in the page's history)
    rated = client.post(f"/track/{code}/rate", data={
        "csrf_token": token, "rating": "2", "note": "还是慢",
        "version": db.session.get(Ticket, ticket.id).version},
        follow_redirects=True).get_data(as_text=True)
    assert "感谢您的评价" in rated and "★★☆☆☆" in rated
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).rating == 2
    ratings = db.session.execute(sa.select(TicketEvent.details).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "rate")
        .order_by(TicketEvent.seq)).scalars().all()
    assert [d["rating"] for d in ratings] == [4, 2]


def test_reopening_is_refused_after_the_window(world, client, app, monkeypatch):
    code = tracking_code_of(send_report(client, world))
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    close(ticket, world)
    monkeypatch.setitem(app.config, "REOPEN_WINDOW_DAYS", 0)
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert 'id="p-reopen"' not in page


def test_a_resident_without_a_place_on_the_map_reports_by_address_and_community(world, client):
    community = world.areas["community1"]
    assert f'<option value="{community.id}"' in client.get("/report").get_data(as_text=True)
    nowhere = send_report(client, world, lat="", lon="", address="文三路 88 号南门")
    assert nowhere.status_code == 422 and "请告诉我们问题在哪里" in nowhere.get_data(as_text=True)
    code = tracking_code_of(send_report(client, world, lat="", lon="", address="文三路 88 号南门",
                                        area_id=str(community.id)))
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    assert (ticket.community_id, ticket.address, ticket.lat) == (community.id, "文三路 88 号南门", None)


def test_a_reporter_without_phone_finds_the_notices_on_the_tracking_page(world, client):
    code = tracking_code_of(send_report(client, world, phone="", name=""))
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    close(ticket, world)
    rows = db.session.execute(sa.select(Notification).where(
        Notification.ticket_id == ticket.id, Notification.recipient_address == f"track:{code}")
    ).scalars().all()
    assert {r.template for r in rows} == {"reporter_accepted", "reporter_closed"}
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已受理" in page and "已办结，欢迎对处理结果进行评价" in page


def test_an_unknown_code_is_a_chinese_404(world, client):
    response = client.get("/track/NOSUCHCODE")
    assert response.status_code == 404
    assert "没有找到" in response.get_data(as_text=True)
    assert client.get("/report/sent/NOSUCHCODE").status_code == 404


# --- joining an open case ---------------------------------------------------------------------
def existing_case(world, phone="13812345678", name="张三") -> Ticket:
    ticket = report_ticket(Report(
        category_id=world.categories["garbage"].id, description=f"{name}反映：垃圾满了 {phone}",
        lat=30.0051, lon=120.0051, source=Source.PHONE, reporter_name=name,
        reporter_phone=phone)).ticket
    db.session.commit()
    return ticket


def test_a_resident_joins_the_open_case_nearby_and_is_told_when_it_closes(world, client):
    case = existing_case(world)
    nearby = client.get(f"/report/nearby?category_id={world.categories['garbage'].id}"
                        f"&lat={LAT}&lon={LON}").get_json()["cases"]
    assert [c["id"] for c in nearby] == [case.id]
    assert "13812345678" not in str(nearby) and "138****5678" in nearby[0]["title"]
    assert "张三" not in nearby[0]["title"] and "张*反映" in nearby[0]["title"]
    tickets = count(Ticket)
    code = tracking_code_of(send_report(client, world, join=str(case.id), phone="139 0000 2222",
                                        name="李四", photos=[("c.jpg", photo())],
                                        description="我也看到了，桶边还有碎玻璃"))
    assert count(Ticket) == tickets
    joined = db.session.execute(sa.select(TicketReporter)).scalar_one()
    assert (joined.ticket_id, joined.phone, joined.tracking_code) == (case.id, "13900002222", code)
    event = db.session.get(TicketEvent, joined.event_id)
    assert (event.action, event.actor_kind) == ("join", ActorKind.REPORTER)
    assert event.note == "我也看到了，桶边还有碎玻璃"  # what they wrote reaches the staff

    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "与正在办理的工单" in page  # told they were added
    for private in ("张三", "13812345678", "垃圾满了"):  # the first reporter's
        assert private not in page
    assert 'id="p-rate"' not in page

    close(db.session.get(Ticket, case.id), world)
    told = db.session.execute(sa.select(Notification.recipient_address).where(
        Notification.ticket_id == case.id, Notification.template == "reporter_closed")
    ).scalars().all()
    assert sorted(told) == ["13812345678", "13900002222"]
    page = client.get(f"/track/{code}").get_data(as_text=True)
    after = db.session.execute(sa.select(Attachment.id).where(
        Attachment.ticket_id == case.id, Attachment.kind == AttachmentKind.AFTER)).scalar_one()
    assert client.get(f"/track/{code}/photo/{after}").status_code == 200  # their code opens it
    assert "已办结" in page and "李四" not in client.get(f"/track/{case.tracking_code}").get_data(
        as_text=True)


def test_only_an_open_case_nearby_of_a_listed_category_can_be_joined(world, client, app):
    far = report_ticket(Report(category_id=world.categories["garbage"].id, description="远处",
                               lat=30.015, lon=120.025, source=Source.PHONE)).ticket
    db.session.commit()
    before = stored_state(app)
    response = send_report(client, world, join=str(far.id))
    assert response.status_code == 422 and "不能再加入" in response.get_data(as_text=True)
    assert stored_state(app) == before


def test_the_hotline_form_adds_a_caller_to_the_known_case(world, login_as):
    case = existing_case(world)
    staff = login_as("community")
    data = {"csrf_token": csrf_token(staff, "/admin/ticket/new/"),
            "category_id": world.categories["garbage"].id, "description": "来电：东门垃圾满",
            "lon": LON, "lat": LAT, "coord_system": "wgs84", "source": "phone",
            "priority": "normal", "reporter_name": "钱七", "reporter_phone": "13500005555"}
    shown = staff.post("/admin/ticket/new/", data=data).get_data(as_text=True)
    assert f'name="join" value="{case.id}"' in shown
    tickets = count(Ticket)
    done = staff.post("/admin/ticket/new/", data={**data, "join": str(case.id)},
                      follow_redirects=True).get_data(as_text=True)
    assert count(Ticket) == tickets and case.number in done
    joined = db.session.execute(sa.select(TicketReporter)).scalar_one()
    assert joined.phone == "13500005555" and joined.source == Source.PHONE
    notice = db.session.execute(sa.select(Notification).where(
        Notification.recipient_address == "13500005555")).scalar_one()
    assert notice.template == "reporter_joined" and notice.payload["tracking_code"] == joined.tracking_code


# --- nothing private on the public pages -----------------------------------------------------------
def test_public_pages_show_nothing_private(world, client):
    staff_user = world.users["gridworker"]
    staff_user.phone = "13311110000"
    case = existing_case(world)
    worker = Actor.staff(staff_user)
    perform(case, "accept", worker, expected_version=case.version)
    perform(case, "note", worker, expected_version=case.version, note="内部备注：业主王某电话13322223333")
    db.session.commit()
    other_code = tracking_code_of(send_report(client, world, join=str(case.id), name="王五",
                                              phone="13700003333"))
    close(db.session.get(Ticket, case.id), world, note="处置说明：联系了用户gridworker")
    pages = {"first": client.get(f"/track/{case.tracking_code}").get_data(as_text=True),
             "joined": client.get(f"/track/{other_code}").get_data(as_text=True),
             "form": client.get("/report").get_data(as_text=True),
             "nearby": client.get(f"/report/nearby?category_id={world.categories['garbage'].id}"
                                  f"&lat={LAT}&lon={LON}").get_data(as_text=True)}
    staff_names = [u.display_name for u in world.users.values()]
    for name, page in pages.items():
        for private in (*staff_names, "13311110000", "13322223333", "内部备注", "内部：已核查",
                        "处置说明", "区环卫中心"):
            assert private not in page, f"{private} on the {name} page"
    assert "王五" not in pages["first"] and "13700003333" not in pages["first"]
    assert "张三" not in pages["joined"] and "13812345678" not in pages["joined"]
    assert "张三" not in pages["nearby"] and "13812345678" not in pages["nearby"]
    assert "已办结" in pages["first"] and "已办结" in pages["joined"]


def test_cases_of_unlisted_categories_stay_off_the_public_pages(world, client):
    hidden = Category(code="0102", name="邻里纠纷", parent=world.categories["top"],
                      listed_publicly=False)
    db.session.add(hidden)
    db.session.commit()
    case = report_ticket(Report(category_id=hidden.id, description="邻居吵架",
                                lat=30.005, lon=120.005, source=Source.PHONE)).ticket
    db.session.commit()
    assert "邻里纠纷" not in client.get("/report").get_data(as_text=True)
    nearby = client.get(f"/report/nearby?category_id={hidden.id}&lat={LAT}&lon={LON}").get_json()
    assert nearby["cases"] == []
    before = count(Ticket)
    response = send_report(client, world, category_id=str(hidden.id))
    assert response.status_code == 422 and count(Ticket) == before
    assert "邻里纠纷" in client.get(f"/track/{case.tracking_code}").get_data(as_text=True)


def test_categories_most_reported_come_first(world, client):
    other = Category(code="0103", name="路灯不亮", parent=world.categories["top"])
    db.session.add(other)
    db.session.commit()
    page = client.get("/report").get_data(as_text=True)
    assert page.index("垃圾清运") < page.index("路灯不亮")  # by sort order, nothing reported yet
    for _ in range(2):
        report_ticket(Report(category_id=other.id, description="路灯坏了", lat=30.005,
                             lon=120.005, source=Source.PHONE))
    db.session.commit()
    forget_popular_categories()
    page = client.get("/report").get_data(as_text=True)
    assert page.index("路灯不亮") < page.index("垃圾清运")


# --- the limits: each refusal says why, and nothing is stored ------------------------------------
def test_the_limit_per_ip_refuses_with_a_message_and_stores_nothing(
        world, client, app, monkeypatch, limits_at_one_moment):
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_IP_HOUR", 2)
    for n in range(2):
        tracking_code_of(send_report(client, world, phone=f"1361111000{n}"))
    before = stored_state(app)
    response = send_report(client, world, phone="13611110009", photos=[("x.jpg", photo("red"))])
    assert response.status_code == 429
    assert "此网络提交的反映过多" in response.get_data(as_text=True)
    assert stored_state(app) == before
    # Another network may still report.
    tracking_code_of(send_report(client, world, ip="10.0.0.2", phone="13611110009"))


def test_the_limit_per_phone_counts_the_number_however_it_is_written(
        world, client, app, monkeypatch, limits_at_one_moment):
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_PHONE_DAY", 1)
    tracking_code_of(send_report(client, world, phone="13611112222"))
    before = stored_state(app)
    response = send_report(client, world, ip="10.9.9.9", phone="+86 136-1111-2222",
                           photos=[("x.jpg", photo("red"))])
    assert response.status_code == 429
    assert "此手机号今天提交的反映过多" in response.get_data(as_text=True)
    assert stored_state(app) == before


def test_the_limit_per_phone_is_per_local_day(world, app, monkeypatch):
    """"Today" in the refusal is the local day: 07:59 and 08:01 in Beijing are the same day
    (not two UTC days), and the next local day starts anew at midnight."""
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_PHONE_DAY", 1)
    beijing = ZoneInfo("Asia/Shanghai")

    def report_at(hour: int, minute: int, day: int = 7) -> None:
        check_public_report(honeypot=None, description="路灯不亮", photo_count=0, ip=None,
                            phone="13611113333",
                            now=datetime(2026, 12, day, hour, minute, tzinfo=beijing))

    report_at(7, 59)
    with pytest.raises(ReportRefused, match="此手机号今天提交的反映过多"):
        report_at(8, 1)
    with pytest.raises(ReportRefused):
        report_at(23, 59)
    report_at(0, 1, day=8)


@pytest.mark.parametrize("fields, photos, message", [  # each a 422: what was sent, not a limit
    ({"website": "http://spam.example"}, [], "自动填表"),
    ({}, [(f"p{i}.jpg", photo()) for i in range(7)], "最多只能附 6 张照片"),
    ({"description": "很长" * 501}, [], "最多 1000 个字"),
    ({}, [("evil.jpg", b"<html><script>alert(1)</script></html>")], "不是可识别的照片"),
    ({"phone": "12"}, [], "不是可以回拨的电话号码"),
    ({"lat": "", "lon": ""}, [], "请告诉我们问题在哪里：使用当前位置、在地图上点选位置，或选择所在社区。"),
])
def test_each_refusal_says_why_and_stores_nothing(world, client, app, fields, photos, message):
    tracking_code_of(send_report(client, world, phone="13611113333"))  # a counter row exists
    before = stored_state(app)
    response = send_report(client, world, photos=photos, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    # the photos cannot be kept in the form: the resident is told to add them again
    assert ("请重新添加照片" in response.get_data(as_text=True)) == bool(photos)
    assert stored_state(app) == before


# The request-size cases (60 MB, 20 MB) are the same app-wide limits, proven through the API.
@pytest.mark.parametrize("case", [c for c in HOSTILE if "MB" not in c])
def test_a_hostile_photo_on_the_report_page_is_refused_and_nothing_stored(world, client, app,
                                                                            case):
    name, data, _status, message = HOSTILE[case]
    before = stored_state(app)
    response = send_report(client, world, photos=[(name, data)])
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert stored_state(app) == before


def test_the_grid_map_answers_only_the_grids_of_the_visible_area(world, client):
    data = client.get("/report/grids.geojson?bbox=119.995,29.995,120.015,30.005").get_json()
    names = {f["properties"]["name"] for f in data["features"]}
    assert names == {"甲一网格", "甲二网格"}  # 乙一网格 lies east of the box
    assert data["features"][0]["geometry"]["type"] == "Polygon"
    assert not data["truncated"]
    data = client.get("/report/grids.geojson?bbox=121,31,121.1,31.1").get_json()
    assert data["features"] == []
    page = client.get("/report").get_data(as_text=True)
    assert 'data-grids-extent="[120.0, 30.0, 120.03, 30.01]"' in page


@pytest.mark.parametrize("bbox, message", [
    (None, "bbox=minlon,minlat,maxlon,maxlat"),
    ("120,30,120.01", "四个数"),
    ("120,30,120.01,abc", "四个数"),
    ("120,30,nan,30.01", "四个数"),
    ("120,30,inf,30.01", "四个数"),
    ("120.01,30,120,30.01", "从西到东"),
    ("120,30,190,30.01", "从西到东"),
    ("119,29,121,31", "范围过大"),
])
def test_the_grid_map_refuses_a_bad_or_too_large_area_with_a_400(world, client, bbox, message):
    url = "/report/grids.geojson" + (f"?bbox={bbox}" if bbox is not None else "")
    response = client.get(url)
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]


def test_the_grid_map_stays_small_at_city_scale(world, client):
    """25,600 grids (160 × 160 of about 500 m): a phone's view gets a few dozen, the largest area
    the map may ask for at most MAX_GRIDS, in a small answer."""
    from models.areas.grid_map import MAX_GRIDS
    from models.areas.hierarchy import Area
    from models.areas.locate import invalidate_area_index
    from models.vocabulary import AreaLevel

    parent = world.areas["community1"]
    step = 0.005
    rows = [{"code": f"C{x:03d}{y:03d}", "name": f"城{x}-{y}网格", "level": AreaLevel.GRID,
             "parent_id": parent.id, "path": f"{parent.path}x{x}y{y}/", "active": True,
             "boundary": {"type": "Polygon", "coordinates": [[
                 [lon, lat], [lon + step, lat], [lon + step, lat + step], [lon, lat + step],
                 [lon, lat]]]},
             "centroid_lon": lon + step / 2, "centroid_lat": lat + step / 2}
            for x in range(160) for y in range(160)
            for lon, lat in [(121 + x * step, 31 + y * step)]]
    db.session.execute(sa.insert(Area), rows)
    db.session.commit()
    invalidate_area_index()
    phone_view = client.get("/report/grids.geojson?bbox=121.2,31.2,121.22,31.24")
    assert phone_view.status_code == 200
    assert 20 <= len(phone_view.get_json()["features"]) <= 60
    assert len(phone_view.get_data()) < 20_000
    widest = client.get("/report/grids.geojson?bbox=121.1,31.1,121.3,31.3")
    data = widest.get_json()
    assert data["truncated"] and len(data["features"]) == MAX_GRIDS
    assert len(widest.get_data()) < 150_000


def test_the_scheduler_forgets_counters_of_windows_long_past(world, client):
    from datetime import timedelta

    from jobs.sweeps import forget_report_counts
    from models import utcnow

    tracking_code_of(send_report(client, world))
    assert count(ReportCount) == 2  # this IP's hour, this phone's day
    assert forget_report_counts(utcnow())["forgotten"] == 0
    assert forget_report_counts(utcnow() + timedelta(days=3))["forgotten"] == 2
    assert count(ReportCount) == 0


def test_a_photo_made_smaller_in_the_browser_still_places_a_report_without_a_place(world, client,
                                                                                  app):
    """The browser drops the EXIF when it makes a photo smaller, so it sends the place it read
    from it as photo_gps: a report without coordinates takes it, like the EXIF's own GPS."""
    shrunk = photo("teal")  # no EXIF at all, as a canvas makes it
    response = send_report(client, world, lat="", lon="", photos=[("IMG_1.jpg", shrunk)],
                           photo_gps="30.006000,120.014000")
    ticket = db.session.execute(sa.select(Ticket).where(
        Ticket.tracking_code == tracking_code_of(response))).scalar_one()
    assert ticket.grid_id == world.areas["grid2"].id
    assert (round(ticket.lat, 4), round(ticket.lon, 4)) == (30.006, 120.014)
    created = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "create")).scalar_one()
    assert created.details.get("location_from") == "photo"
    # A place that is none (or outside every grid) moves nothing: the usual message.
    for nonsense in ("abc", "nan,120", "30.0,120.0,1", "39.9,116.4"):
        refused = send_report(client, world, lat="", lon="", photos=[("IMG_2.jpg", shrunk)],
                              photo_gps=nonsense, phone="13611117777")
        assert refused.status_code == 422 and "请告诉我们问题在哪里" in refused.get_data(as_text=True)


def test_a_second_rating_from_an_old_page_says_already_rated_and_comments_have_a_limit(
        world, client):
    response = send_report(client, world)
    code = tracking_code_of(response)
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    close(ticket, world)
    token = csrf_token(client, f"/track/{code}")
    version = db.session.get(Ticket, ticket.id).version
    too_long = client.post(f"/track/{code}/rate", data={
        "csrf_token": token, "rating": "5", "note": "好" * 501, "version": version},
        follow_redirects=True).get_data(as_text=True)
    assert "请最多填写 500 个字" in too_long
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).rating is None
    for rating, words in (("5", "感谢您的评价"), ("1", "该工单已评价")):  # the same page, twice
        page = client.post(f"/track/{code}/rate", data={
            "csrf_token": token, "rating": rating, "note": "好", "version": version},
            follow_redirects=True).get_data(as_text=True)
        assert words in page
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).rating == 5


def test_a_report_merged_into_an_earlier_case_says_which_and_how_it_stands(world, client):
    """It read only 已作废 (invalid), with no word of the case now handling the problem."""
    master = existing_case(world)
    code = tracking_code_of(send_report(client, world))
    duplicate = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    perform(duplicate, "merge", Actor.staff(world.users["community"]),
            expected_version=duplicate.version, master_id=master.id)
    db.session.commit()
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert f"您的反映已并入工单 {master.number} 一并处理，该工单目前待受理。办结后会通知您" in page
    close(master, world)
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert f"您的反映已并入工单 {master.number} 一并处理，该工单已办结。" in page
    assert "办结后会通知您" not in page
