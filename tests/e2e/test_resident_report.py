"""A resident on a 375×812 phone reports a problem with a photo and the browser's (fake) location,
and ends on the tracking page of the new case."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa
from PIL import Image

from models import Attachment, Ticket, db
from models.tickets.public_view import forget_popular_categories
from models.vocabulary import Source

# Inside grid1 of the factories' world (tests/factories.py).
WORLD_POINT = (30.0052, 120.0047)


def photo_file(tmp_path):
    path = tmp_path / "pothole.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "orange").save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_a_resident_reports_with_photo_and_location_on_a_phone(world, live_url, phone_at, tmp_path):
    forget_popular_categories()
    page = phone_at(*WORLD_POINT)
    page.goto(f"{live_url}/report")
    assert page.evaluate("document.documentElement.scrollWidth") <= 376
    page.get_by_text("垃圾清运").click()
    page.locator("#p-locate").click()
    page.wait_for_function("() => document.getElementById('p-lat').value !== ''")
    assert abs(float(page.input_value("#p-lat")) - WORLD_POINT[0]) < 1e-5
    assert page.locator("#p-map .leaflet-interactive").count() >= 3  # the grid polygons
    page.fill("#p-description", "路口垃圾桶满溢，气味很大")
    page.locator("#p-gallery").set_input_files(str(photo_file(tmp_path)))
    assert page.locator("#p-thumbs img").count() == 1
    page.fill("#p-phone", "13611114444")
    page.locator("#p-submit").click()

    page.wait_for_url(re.compile(r"/report/sent/\w+"))
    code = page.inner_text("#p-tracking-code").strip()
    assert page.locator("#p-qr svg").count() == 1
    page.locator("#p-tracking-link").click()
    page.wait_for_url(f"{live_url}/track/{code}")
    assert "待受理" in page.inner_text("#p-status")
    assert "已收到您的反映" in page.inner_text("#p-timeline")

    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    assert ticket.source == Source.WEB and ticket.reporter_phone == "13611114444"
    assert ticket.grid_id == world.areas["grid1"].id
    assert db.session.execute(sa.select(sa.func.count()).select_from(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalar_one() == 1


def test_a_resident_joins_the_case_shown_nearby(world, live_url, phone_at):
    from models.tickets.intake import Report, report_ticket

    case = report_ticket(Report(category_id=world.categories["garbage"].id,
                                description="垃圾桶满了", lat=WORLD_POINT[0] + 0.0001,
                                lon=WORLD_POINT[1], source=Source.PHONE)).ticket
    db.session.commit()
    page = phone_at(*WORLD_POINT)
    page.goto(f"{live_url}/report")
    page.get_by_text("垃圾清运").click()
    page.locator("#p-locate").click()
    page.wait_for_selector("#p-nearby:not([hidden])")
    assert "垃圾桶满了" in page.inner_text("#p-nearby")
    page.locator(f"button[name=join][value='{case.id}']").click()
    page.wait_for_url(re.compile(r"/report/sent/\w+"))
    code = page.inner_text("#p-tracking-code").strip()
    assert code != case.tracking_code
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one() == 1
