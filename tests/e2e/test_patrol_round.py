"""A grid worker walks a short patrol round on a phone (375×812, fake geolocation) and reports
a problem on the way; the route, the report and the summary arrive."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from models import PatrolReport, PatrolRound, Source, Ticket, db

from ..factories import PASSWORD

LAT, LON = 30.003, 120.003  # inside the factories' grid1 (甲一网格)


def test_walk_a_round_and_report_a_problem(world, live_url, phone_at, tmp_path):
    phone = phone_at(LAT, LON)
    phone.goto(f"{live_url}/login")
    phone.fill("input[name=username]", "gridworker")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    phone.goto(f"{live_url}/m/patrol")
    phone.click("#patrol-start")
    phone.wait_for_selector("#patrol-recorder.p-ok")

    for step in range(1, 4):  # walk east ~30 m at a time
        phone.wait_for_timeout(1100)
        phone.context.set_geolocation({"latitude": LAT, "longitude": LON + step * 0.0003})
    phone.wait_for_timeout(500)
    phone.evaluate("window.patrolSend()")
    phone.wait_for_function("() => document.getElementById('patrol-route-text').textContent.includes('轨迹')")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 376

    picture = tmp_path / "problem.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, "JPEG")
    picture.write_bytes(buffer.getvalue())
    phone.click("#patrol-report-link")
    phone.wait_for_selector("#patrol-recorder.p-ok")
    phone.set_input_files("#patrol-report-form input[name=photo]", str(picture))  # tap 1
    phone.click(".p-cat >> nth=0")  # tap 2
    phone.wait_for_url(f"{live_url}/m/patrol")
    assert "已上报" in phone.inner_text(".m-flashes")

    phone.click("#patrol-end-link")
    phone.fill("textarea[name=summary]", "沿主路巡查一圈")
    phone.click("#patrol-end-form button[type=submit]")
    summary = phone.inner_text("#patrol-summary")
    assert "巡查已结束" in summary

    db.session.expire_all()
    patrol = db.session.execute(sa.select(PatrolRound)).scalar_one()
    assert patrol.ended_at is not None and patrol.summary == "沿主路巡查一圈"
    assert patrol.point_count >= 3 and patrol.distance_m > 50
    ticket = db.session.execute(sa.select(Ticket).join(
        PatrolReport, PatrolReport.ticket_id == Ticket.id)).scalar_one()
    assert ticket.source == Source.PATROL and ticket.grid_id == world.areas["grid1"].id


def test_supervisor_sees_the_route_and_coverage_drawn_on_the_map(world, live_url, browser):
    from ..test_patrol import _round

    patrol = _round(world, "gridworker", 1)
    db.session.commit()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "community")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_url}/admin/patrol/round/{patrol.id}")
    # The grid, the route line, its start and end points.
    page.wait_for_function("() => document.querySelectorAll('#gd-patrol-map path.leaflet-interactive').length >= 4")
    page.goto(f"{live_url}/admin/patrol-coverage/?days=7")
    page.wait_for_function("() => document.querySelectorAll('#gd-patrol-map path.leaflet-interactive').length == 2")
    assert page.locator("#gd-patrol-map .leaflet-tooltip").count() == 2  # the grids' names
    assert errors == []
    context.close()
