"""Patrol rounds (巡查) through the real app: the worker's phone pages and JSON endpoints, the
supervisors' pages, coverage and the statistics' queries."""
from __future__ import annotations

import io
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from models import (Attachment, PatrolCheckIn, PatrolReport, PatrolRound, Role, Source,
                    Ticket, db, utcnow)
from models.patrol.queries import patrol_coverage, patrol_discoveries
from models.patrol.route import MAX_POINTS_PER_REQUEST, MAX_ROUTE_POINTS, bound_route

from .conftest import session_csrf_token
from .factories import add_user

LON, LAT = 120.003, 30.003  # inside grid1 (甲一网格)


def photo(color: str = "green") -> tuple[io.BytesIO, str]:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buffer, "JPEG")
    buffer.seek(0)
    return buffer, "site.jpg"


def points(count: int, *, lon: float = LON, lat: float = LAT, start_ms: float | None = None,
           step: float = 0.0002) -> list[dict]:
    start_ms = start_ms or time.time() * 1000
    return [{"lon": lon + i * step, "lat": lat, "t": start_ms + i * 10_000, "accuracy": 8}
            for i in range(count)]


def post_points(client, round_id: int, payload: list):
    return client.post(f"/m/patrol/{round_id}/points", json={"points": payload},
                       headers={"X-CSRFToken": session_csrf_token(client)})


def form(client, **data) -> dict:
    return {"csrf_token": session_csrf_token(client), **data}


def start(client) -> PatrolRound:
    response = client.post("/m/patrol/start", data=form(client))
    assert response.status_code == 302
    db.session.expire_all()
    return db.session.execute(sa.select(PatrolRound).order_by(PatrolRound.id.desc())).scalars().first()


def counts() -> tuple[int, int, int, int]:
    db.session.expire_all()
    return tuple(db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
                 for model in (PatrolRound, PatrolCheckIn, PatrolReport, Ticket))


def test_a_round_with_route_check_in_and_a_linked_report(world, login_as):
    worker = login_as("gridworker")
    assert "开始巡查" in worker.get("/m/patrol").get_data(as_text=True)
    patrol = start(worker)
    assert patrol.worker_id == world.users["gridworker"].id and patrol.grid_id == world.areas["grid1"].id
    page = worker.get("/m/patrol").get_data(as_text=True)
    assert "巡查中" in page and 'id="patrol-recorder"' in page

    batch = points(4)
    answer = post_points(worker, patrol.id, batch)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["kept"] == 4 and answer.json["point_count"] == 4
    assert 50 < answer.json["distance_m"] < 70  # three steps of ~19 m
    assert answer.json["distance"] == f"{answer.json['distance_m']} 米"
    # The same batch again (a retry after a lost answer) records nothing twice.
    again = post_points(worker, patrol.id, batch)
    assert again.json["kept"] == 0 and again.json["point_count"] == 4

    image, name = photo()
    response = worker.post(f"/m/patrol/{patrol.id}/check-in", data=form(
        worker, lon=str(LON), lat=str(LAT), place="3号楼垃圾站", note="清运及时", photo=(image, name)),
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    visit = db.session.execute(sa.select(PatrolCheckIn)).scalar_one()
    served = worker.get(f"/m/patrol/check-in/{visit.id}/photo")
    assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.data[:2] == b"\xff\xd8"

    image, name = photo("red")
    response = worker.post(f"/m/patrol/{patrol.id}/report", data=form(
        worker, lon=str(LON + 0.001), lat=str(LAT), category_id=str(world.categories["garbage"].id),
        photo=(image, name)), content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    assert ticket.source == Source.PATROL and ticket.created_by_id == world.users["gridworker"].id
    assert ticket.grid_id == world.areas["grid1"].id and "垃圾清运" in ticket.description
    assert db.session.execute(sa.select(PatrolReport.round_id)
                              .where(PatrolReport.ticket_id == ticket.id)).scalar_one() == patrol.id
    assert db.session.execute(sa.select(sa.func.count()).select_from(Attachment)
                              .where(Attachment.ticket_id == ticket.id)).scalar_one() == 1
    assert ticket.number in worker.get("/m/patrol").get_data(as_text=True)

    response = worker.post(f"/m/patrol/{patrol.id}/end", data=form(worker, summary="一切正常"))
    assert response.status_code == 302
    db.session.expire_all()
    ended = db.session.get(PatrolRound, patrol.id)
    assert ended.ended_at is not None and ended.open_worker_id is None and ended.summary == "一切正常"
    summary = worker.get(response.headers["Location"]).get_data(as_text=True)
    assert "巡查已结束" in summary and "打卡" in summary and ticket.number in summary
    # Ended rounds cannot change; a new round can start.
    refused = post_points(worker, patrol.id, points(2))
    assert refused.status_code == 409 and "已结束" in refused.json["error"]["message"]
    assert start(worker).id != patrol.id


def test_refusals_store_nothing_and_say_why(world, login_as):
    worker = login_as("gridworker")
    patrol = start(worker)
    before = counts()

    outside = post_points(worker, patrol.id, points(2) + points(1, lon=2.35, lat=48.85))
    assert outside.status_code == 422 and "第 3 个轨迹点不在中国境内" in outside.json["error"]["message"]
    too_many = post_points(worker, patrol.id, points(MAX_POINTS_PER_REQUEST + 1))
    assert too_many.status_code == 422 and "轨迹点过多" in too_many.json["error"]["message"]
    backwards = points(3)
    backwards[2]["t"] = backwards[0]["t"] - 1000
    unordered = post_points(worker, patrol.id, backwards)
    assert unordered.status_code == 422 and "时间顺序" in unordered.json["error"]["message"]
    old = post_points(worker, patrol.id, points(2, start_ms=(time.time() - 86400) * 1000))
    assert old.status_code == 422 and "不在本次巡查" in old.json["error"]["message"]
    db.session.expire_all()
    assert db.session.get(PatrolRound, patrol.id).point_count == 0

    # Another worker's round: refused through the JSON endpoint and the forms.
    other = login_as("gridworker2")
    foreign = post_points(other, patrol.id, points(2))
    assert foreign.status_code == 403 and "其他网格员" in foreign.json["error"]["message"]
    image, name = photo()
    response = other.post(f"/m/patrol/{patrol.id}/check-in", data=form(
        other, lon=str(LON), lat=str(LAT), photo=(image, name)), content_type="multipart/form-data",
        follow_redirects=True)
    assert "其他网格员" in response.get_data(as_text=True)
    assert other.post(f"/m/patrol/{patrol.id}/end", data=form(other)).status_code == 303

    # A second open round.
    second = worker.post("/m/patrol/start", data=form(worker), follow_redirects=True)
    assert "已有一次进行中的巡查" in second.get_data(as_text=True)

    # Check-in without a photo, or outside China; a report with a file that is not a photo.
    response = worker.post(f"/m/patrol/{patrol.id}/check-in", data=form(
        worker, lon=str(LON), lat=str(LAT)), content_type="multipart/form-data")
    assert response.status_code == 422 and "请拍一张" in response.get_data(as_text=True)
    image, name = photo()
    response = worker.post(f"/m/patrol/{patrol.id}/check-in", data=form(
        worker, lon="2.35", lat="48.85", photo=(image, name)), content_type="multipart/form-data")
    assert response.status_code == 422 and "位置不在中国境内" in response.get_data(as_text=True)
    response = worker.post(f"/m/patrol/{patrol.id}/report", data=form(
        worker, lon=str(LON), lat=str(LAT), category_id=str(world.categories["garbage"].id),
        photo=(io.BytesIO(b"<html>not a photo</html>"), "x.jpg")), content_type="multipart/form-data")
    assert response.status_code == 422 and "不是可识别的照片" in response.get_data(as_text=True)

    assert counts() == before
    db.session.expire_all()
    assert db.session.get(PatrolRound, patrol.id).is_open


def test_route_is_thinned_and_bounded(world, login_as):
    worker = login_as("gridworker")
    patrol = start(worker)
    standing = points(10, step=0.0)  # ten fixes on one spot: one point
    assert post_points(worker, patrol.id, standing).json["point_count"] == 1
    route = [[120.0 + i * 1e-4, 30.0, i] for i in range(MAX_ROUTE_POINTS + 500)]
    bounded = bound_route(route)
    assert len(bounded) <= MAX_ROUTE_POINTS and bounded[0] == route[0] and bounded[-1] == route[-1]


def _round(world, worker_key: str, started_days_ago: float, *, ended: bool = True) -> PatrolRound:
    worker = world.users[worker_key]
    started = utcnow() - timedelta(days=started_days_ago)
    patrol = PatrolRound(worker_id=worker.id, grid_id=worker.scope_area_id, started_at=started,
                         ended_at=started + timedelta(hours=1) if ended else None,
                         open_worker_id=None if ended else worker.id, distance_m=1200,
                         route=[[120.001, 30.001, 0], [120.005, 30.002, 600]], point_count=2)
    db.session.add(patrol)
    db.session.flush()
    return patrol


@pytest.fixture()
def patrolled(world):
    add_user(world, "gridworker3", Role.GRID_WORKER, world.areas["grid3"])
    db.session.flush()
    rounds = {"grid1": _round(world, "gridworker", 1), "grid2": _round(world, "gridworker2", 10),
              "grid3": _round(world, "gridworker3", 2, ended=False)}
    db.session.commit()
    return rounds


def test_supervisors_see_the_rounds_of_their_area(world, patrolled, login_as):
    names = {key: world.users[key].display_name for key in ("gridworker", "gridworker2", "gridworker3")}
    seen = {
        "community": {"gridworker", "gridworker2"}, "community2": {"gridworker3"},
        "street": {"gridworker", "gridworker2"}, "leader": set(names), "admin": set(names),
    }
    for user, expected in seen.items():
        html = login_as(user).get("/admin/patrol/").get_data(as_text=True)
        shown = {key for key, name in names.items() if f"<td>{name}</td>" in html}
        assert shown == expected, user
    community = login_as("community")
    assert community.get(f"/admin/patrol/round/{patrolled['grid1'].id}").status_code == 200
    assert community.get(f"/admin/patrol/round/{patrolled['grid3'].id}").status_code == 404
    filtered = community.get(f"/admin/patrol/?grid={world.areas['grid2'].id}").get_data(as_text=True)
    assert f"<td>{names['gridworker2']}</td>" in filtered
    assert f"<td>{names['gridworker']}</td>" not in filtered
    by_worker = community.get(f"/admin/patrol/?worker={world.users['gridworker'].id}").get_data(
        as_text=True)
    assert f"<td>{names['gridworker']}</td>" in by_worker
    assert f"<td>{names['gridworker2']}</td>" not in by_worker
    # A worker outside the supervisor's area shows nothing of theirs, even when asked by id.
    outside = community.get(f"/admin/patrol/?worker={world.users['gridworker3'].id}").get_data(
        as_text=True)
    assert f"<td>{names['gridworker3']}</td>" not in outside
    for user in ("handler", "gridworker"):
        assert login_as(user).get("/admin/patrol/").status_code == 403
    # A handler uses the phone app but walks no patrol rounds.
    handler = login_as("handler")
    assert "巡查由网格员进行" in handler.get("/m/patrol").get_data(as_text=True)
    assert handler.post("/m/patrol/start", data=form(handler)).status_code == 403


def test_round_page_draws_the_route_with_check_ins_and_tickets(world, login_as):
    worker = login_as("gridworker")
    patrol = start(worker)
    post_points(worker, patrol.id, points(3))
    image, name = photo()
    worker.post(f"/m/patrol/{patrol.id}/check-in", data=form(
        worker, lon=str(LON), lat=str(LAT), photo=(image, name)), content_type="multipart/form-data")
    image, name = photo("red")
    worker.post(f"/m/patrol/{patrol.id}/report", data=form(
        worker, lon=str(LON), lat=str(LAT), category_id=str(world.categories["garbage"].id),
        photo=(image, name)), content_type="multipart/form-data")
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    visit = db.session.execute(sa.select(PatrolCheckIn)).scalar_one()
    community = login_as("community")
    html = community.get(f"/admin/patrol/round/{patrol.id}").get_data(as_text=True)
    assert "leaflet.js" in html and "&#34;route&#34;: [[30.003, 120.003" in html
    assert ticket.number in html and f"/admin/patrol/check-in/{visit.id}/photo" in html
    assert community.get(f"/admin/patrol/check-in/{visit.id}/photo").status_code == 200
    assert login_as("community2").get(f"/admin/patrol/check-in/{visit.id}/photo").status_code == 404


def test_coverage_of_the_last_n_days(world, patrolled, login_as):
    grid1, grid2, grid3 = (world.areas[k] for k in ("grid1", "grid2", "grid3"))
    week = {row.grid.id: row for row in patrol_coverage(world.users["admin"], 7)}
    assert week[grid1.id].covered and week[grid3.id].covered and not week[grid2.id].covered
    month = {row.grid.id: row.rounds for row in patrol_coverage(world.areas["community1"], 30)}
    assert month == {grid1.id: 1, grid2.id: 1}

    html = login_as("community").get("/admin/patrol-coverage/?days=7").get_data(as_text=True)
    assert "最近 7 天内有巡查的网格：1 / 2" in html
    assert html.count("gd-uncovered") == 1 and grid2.name in html and grid3.name not in html
    html = login_as("community").get("/admin/patrol-coverage/?days=30").get_data(as_text=True)
    assert "gd-uncovered" not in html


def test_patrol_discoveries_count_patrol_reports_and_those_made_on_rounds(world, login_as):
    worker = login_as("gridworker")
    patrol = start(worker)
    image, name = photo()
    worker.post(f"/m/patrol/{patrol.id}/report", data=form(
        worker, lon=str(LON), lat=str(LAT), category_id=str(world.categories["garbage"].id),
        photo=(image, name)), content_type="multipart/form-data")
    from .factories import make_ticket
    make_ticket(world, "grid2", source=Source.PATROL)
    make_ticket(world, "grid1", source=Source.PHONE)
    db.session.commit()
    today = date.today()
    found = patrol_discoveries(world.users["district"], today - timedelta(1), today + timedelta(1))
    assert (found.total, found.during_rounds) == (2, 1)
    assert found.by_grid == {world.areas["grid1"].id: 1, world.areas["grid2"].id: 1}
    assert patrol_discoveries(world.areas["grid2"], today - timedelta(1), today + timedelta(1)).total == 1
    assert patrol_discoveries(world.users["community2"], today, today).total == 0


def test_check_in_lists_show_thumbnails_and_the_full_photo_only_on_tap(world, login_as, app):
    from pathlib import Path

    worker = login_as("gridworker")
    patrol = start(worker)
    big = io.BytesIO()
    Image.new("RGB", (2000, 1500), "teal").save(big, "JPEG")
    for place in ("东门", "北门"):
        big.seek(0)
        response = worker.post(f"/m/patrol/{patrol.id}/check-in", data=form(
            worker, lon=str(LON), lat=str(LAT), place=place, photo=(io.BytesIO(big.getvalue()),
                                                                    "big.jpg")),
            content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)
    visit = db.session.execute(sa.select(PatrolCheckIn)).scalars().first()
    full, thumb = (f"/m/patrol/check-in/{visit.id}/photo", f"/m/patrol/check-in/{visit.id}/photo/thumbnail")

    def image_size(data: bytes) -> tuple[int, int]:
        return Image.open(io.BytesIO(data)).size

    # The round under way, its summary, and the supervisor's round page list thumbnails; the
    # full photo is only the link behind them.
    for page in (worker.get("/m/patrol"), worker.get(f"/m/patrol/{patrol.id}")):
        html = page.get_data(as_text=True)
        assert f'src="{thumb}"' in html and f'href="{full}"' in html and f'src="{full}"' not in html
    assert max(image_size(worker.get(thumb).data)) <= 320
    assert image_size(worker.get(full).data) == (2000, 1500)
    community = login_as("community")
    html = community.get(f"/admin/patrol/round/{patrol.id}").get_data(as_text=True)
    admin_thumb = f"/admin/patrol/check-in/{visit.id}/photo/thumbnail"
    assert f'src="{admin_thumb}"' in html and f'src="/admin/patrol/check-in/{visit.id}/photo"' not in html
    assert max(image_size(community.get(admin_thumb).data)) <= 320
    assert login_as("community2").get(admin_thumb).status_code == 404

    # A check-in stored before thumbnails were kept gets one made the first time it is listed.
    kept = Path(app.config["UPLOAD_DIR"]) / f"{visit.photo_sha256[:2]}/{visit.photo_sha256}.thumb.jpg"
    kept.unlink()
    assert max(image_size(worker.get(thumb).data)) <= 320 and kept.exists()


def test_route_batches_from_the_offline_queue_are_recorded_once(world, login_as):
    """The phone sends its route in compact batches ([lon, lat, t, accuracy]), each with an
    Idempotency-Key: a batch sent again (its answer was lost) is answered like the first time and
    stores no point twice; a key reused for other points is refused."""
    from models.people.api_clients import IdempotencyRecord

    worker = login_as("gridworker")
    patrol = start(worker)
    compact = [[p["lon"], p["lat"], p["t"], p["accuracy"]] for p in points(5)]

    def send(batch, key):
        return worker.post(f"/m/patrol/{patrol.id}/points", json={"points": batch}, headers={
            "X-CSRFToken": session_csrf_token(worker), "Idempotency-Key": key})

    first = send(compact[:3], "m-route-1")
    assert first.status_code == 200 and first.json["kept"] == 3 and first.json["point_count"] == 3
    again = send(compact[:3], "m-route-1")
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json
    second = send(compact[3:], "m-route-2")
    assert second.json["kept"] == 2 and second.json["point_count"] == 5
    reused = send(compact[:1], "m-route-2")
    assert reused.status_code == 422
    db.session.expire_all()
    stored = db.session.get(PatrolRound, patrol.id)
    assert stored.point_count == 5 and len(stored.route) == 5
    assert len({tuple(p) for p in stored.route}) == 5
    assert db.session.execute(sa.select(sa.func.count()).select_from(IdempotencyRecord)).scalar_one() == 2
    # A malformed compact point is refused with the reason, like any other.
    bad = send([[LON, LAT]], "m-route-3")
    assert bad.status_code == 422 and "格式不正确" in bad.json["error"]["message"]


def test_check_in_report_and_end_sent_from_the_offline_queue_happen_once(world, login_as):
    """Offline, the round's forms go to the phone's queue; sent later with an Idempotency-Key,
    each is answered in JSON, and sent again (the answer was lost) stores nothing twice."""
    worker = login_as("gridworker")
    patrol = start(worker)

    def queued(path, key, **data):
        return worker.post(f"/m/patrol/{patrol.id}/{path}", data=data, headers={
            "X-CSRFToken": session_csrf_token(worker), "Idempotency-Key": key,
            "Accept": "application/json"}, content_type="multipart/form-data")

    def check_in(key):
        image, name = photo()
        return queued("check-in", key, lon=str(LON), lat=str(LAT), place="3号楼", note="正常",
                      photo=(image, name))

    def report(key, with_photo=True):
        data = {"lon": str(LON), "lat": str(LAT), "category_id": str(world.categories["garbage"].id)}
        if with_photo:
            data["photo"] = photo("red")
        return queued("report", key, **data)

    before = counts()
    refused = report("m-patrol-0", with_photo=False)
    assert refused.status_code == 422 and "照片" in refused.json["error"]["message"]
    assert counts() == before

    first = check_in("m-patrol-1")
    assert first.status_code == 200 and first.json["ok"], first.get_data(as_text=True)
    again = check_in("m-patrol-1")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == first.json

    reported = report("m-patrol-2")
    assert reported.status_code == 201, reported.get_data(as_text=True)
    assert report("m-patrol-2").json == reported.json
    ticket = db.session.get(Ticket, reported.json["ticket"]["id"])
    assert ticket.source == Source.PATROL
    assert db.session.execute(sa.select(PatrolReport.round_id).where(
        PatrolReport.ticket_id == ticket.id)).scalar_one() == patrol.id
    assert counts() == (before[0], before[1] + 1, before[2] + 1, before[3] + 1)

    ended = queued("end", "m-patrol-3", summary="路线走完")
    assert ended.status_code == 200 and queued("end", "m-patrol-3", summary="路线走完").json == ended.json
    db.session.expire_all()
    assert db.session.get(PatrolRound, patrol.id).summary == "路线走完"
    # A step queued after the round ended is refused with the reason (shown on the queue page).
    late = check_in("m-patrol-4")
    assert late.status_code == 409 and "已结束" in late.json["error"]["message"]
    assert counts() == (before[0], before[1] + 1, before[2] + 1, before[3] + 1)
