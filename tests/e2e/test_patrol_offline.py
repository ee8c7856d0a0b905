"""A patrol round walked while the phone is offline (375×812, fake geolocation): the route points
are kept in IndexedDB through a reload, shown as waiting, and arrive once — in batches through
the offline queue — when the phone is back online."""
from __future__ import annotations

import sqlalchemy as sa

from models import PatrolRound, db

from .test_mobile_worker import sign_in

LAT, LON = 30.003, 120.003  # inside the factories' grid1 (甲一网格)


def walk(phone, steps, start=1):
    for step in range(start, start + steps):  # east ~30 m at a time
        phone.wait_for_timeout(1100)
        phone.context.set_geolocation({"latitude": LAT, "longitude": LON + step * 0.0003})


def waiting_points(phone) -> int:
    text = phone.locator("#patrol-route-queued").inner_text()
    return int(text.split()[0]) if text.strip() else 0


def test_a_round_walked_offline_keeps_its_route_and_sends_it_once(world, live_url, phone_at):
    phone = phone_at(LAT, LON)
    sign_in(phone, live_url)
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    phone.goto(f"{live_url}/m/patrol")
    phone.click("#patrol-start")
    phone.wait_for_selector("#patrol-recorder.p-ok")
    phone.wait_for_timeout(2000)  # the first point is sent while online

    phone.context.set_offline(True)
    walk(phone, 3)
    phone.wait_for_function("() => parseInt(document.getElementById('patrol-route-queued').textContent) >= 3")
    assert "暂存在手机上" in phone.inner_text("#patrol-route-queued")

    phone.reload()  # offline: the page comes from the service worker, the points from IndexedDB
    phone.wait_for_selector("#patrol-recorder")
    phone.wait_for_function("() => parseInt(document.getElementById('patrol-route-queued').textContent) >= 3")
    walk(phone, 2, start=4)
    phone.wait_for_function("() => parseInt(document.getElementById('patrol-route-queued').textContent) >= 5")
    waiting = waiting_points(phone)
    db.session.expire_all()
    assert db.session.execute(sa.select(PatrolRound.point_count)).scalar_one() <= 1

    phone.evaluate("() => window.patrolSend()")  # offline: the points become queued batches
    phone.goto(f"{live_url}/m/queue")
    phone.wait_for_selector("#m-queue-pending .m-qitem")
    pending = phone.locator("#m-queue-pending").inner_text()
    assert "巡查轨迹" in pending and "个轨迹点" in pending
    assert phone.evaluate("document.documentElement.scrollWidth") <= 376

    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.wait_for_function("() => !document.querySelector('#m-queue-pending .m-qitem')",
                            timeout=15_000)
    assert phone.locator("#m-queue-refused .m-qitem").count() == 0
    db.session.expire_all()
    patrol = db.session.execute(sa.select(PatrolRound)).scalar_one()
    assert waiting >= 5 and patrol.point_count == 6 and patrol.distance_m > 140  # start + 5 steps
    lons = [p[0] for p in patrol.route]
    assert lons == sorted(set(lons))  # every point once, in order

    # Sending again finds nothing left; the round page shows nothing waiting.
    phone.goto(f"{live_url}/m/patrol")
    phone.evaluate("() => window.patrolSend()")
    phone.wait_for_selector("#patrol-route-queued", state="hidden", timeout=10_000)
    db.session.expire_all()
    assert db.session.get(PatrolRound, patrol.id).point_count == patrol.point_count


def test_a_problem_and_a_check_in_made_offline_are_sent_once_back_online(world, live_url,
                                                                         phone_at, tmp_path):
    """Offline, the round's report (photo + category), a check-in and the end wait in the phone's
    queue; back online they arrive once and in order: one ticket (source 巡查, linked to the
    round), one check-in, the round ended with its summary, no point recorded after the end."""
    from PIL import Image

    from models import PatrolCheckIn, PatrolReport, Source, Ticket

    picture = tmp_path / "problem.jpg"
    Image.new("RGB", (640, 480), "orange").save(picture, "JPEG")
    phone = phone_at(LAT, LON)
    sign_in(phone, live_url)
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    phone.goto(f"{live_url}/m/patrol")
    phone.click("#patrol-start")
    phone.wait_for_selector("#patrol-recorder.p-ok")
    phone.wait_for_timeout(1500)  # the round page fetches its form pages for offline use

    phone.context.set_offline(True)
    phone.click("#patrol-report-link")  # offline: the page from the service worker's cache
    phone.wait_for_selector("#patrol-report-form")
    phone.wait_for_selector("#patrol-recorder.p-ok")
    phone.set_input_files("#patrol-report-form input[name=photo]", str(picture))
    phone.click(".p-cat >> nth=0")
    phone.wait_for_selector("#patrol-form-queued")
    assert "联网后自动发送" in phone.inner_text("#patrol-form-queued")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 376

    phone.goto(f"{live_url}/m/patrol")
    phone.click("#patrol-check-in-link")
    phone.wait_for_selector("#patrol-check-in-form")
    phone.wait_for_selector("#patrol-recorder.p-ok")
    phone.set_input_files("#patrol-check-in-form input[name=photo]", str(picture))
    phone.fill("#patrol-check-in-form input[name=place]", "3号楼垃圾站")
    phone.click("#patrol-check-in-form button[type=submit]")
    phone.wait_for_selector("#patrol-form-queued")

    # The round ends offline too; the phone records no more points for it.
    phone.goto(f"{live_url}/m/patrol")
    phone.click("#patrol-end-link")
    phone.wait_for_selector("#patrol-end-form")
    phone.fill("#patrol-end-form textarea[name=summary]", "断网时巡查结束")
    phone.click("#patrol-end-form button[type=submit]")
    phone.wait_for_selector("#patrol-form-queued")
    phone.context.set_geolocation({"latitude": LAT, "longitude": LON + 0.002})
    phone.wait_for_timeout(1500)

    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one() == 0
    phone.goto(f"{live_url}/m/queue")
    phone.wait_for_selector("#m-queue-pending .m-qitem")
    pending = phone.locator("#m-queue-pending").inner_text()
    assert "上报问题" in pending and "打卡" in pending and "1张照片" in pending
    assert "结束巡查" in pending

    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.wait_for_function("() => !document.querySelector('#m-queue-pending .m-qitem')",
                            timeout=20_000)
    assert phone.locator("#m-queue-refused .m-qitem").count() == 0
    phone.evaluate("() => window.GDApp.sync()")  # a second send finds nothing left to send
    db.session.expire_all()
    patrol = db.session.execute(sa.select(PatrolRound)).scalar_one()
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    assert ticket.source == Source.PATROL and ticket.grid_id == world.areas["grid1"].id
    assert db.session.execute(sa.select(PatrolReport.round_id)).scalar_one() == patrol.id
    visit = db.session.execute(sa.select(PatrolCheckIn)).scalar_one()
    assert visit.round_id == patrol.id and visit.place == "3号楼垃圾站"
    assert patrol.ended_at is not None and patrol.summary == "断网时巡查结束"
    assert all(lon < LON + 0.002 for lon, *_rest in patrol.route)  # nothing after the end
