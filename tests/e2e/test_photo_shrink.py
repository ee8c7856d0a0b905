"""Photos are made smaller in the browser (375×812 phone) before they are uploaded or queued:
longest side 2048 px, JPEG. The camera's orientation is kept, and the place in the photo's EXIF
still places a report that has none (the browser reads it before the EXIF is dropped)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from models import Attachment, Ticket, TicketEvent, TicketStatus, db
from models.tickets.public_view import forget_popular_categories

from ..factories import make_ticket
from ..test_photos import jpeg
from .test_mobile_worker import sign_in

GRID2_POINT = (30.006, 120.014)  # inside 甲二网格


def camera_photo(tmp_path, name="IMG_0001.JPG"):
    """A 3000×2250 camera photo, turned (EXIF orientation 6), with the place in its EXIF."""
    path = tmp_path / name
    path.write_bytes(jpeg((3000, 2250), "seagreen", gps=GRID2_POINT, orientation=6))
    return path


def test_a_residents_photo_is_sent_smaller_and_still_places_the_report(world, live_url, phone,
                                                                        tmp_path):
    forget_popular_categories()
    original = camera_photo(tmp_path)
    phone.goto(f"{live_url}/report")
    phone.get_by_text("垃圾清运").click()
    phone.fill("#p-description", "路口垃圾桶满溢")
    phone.locator("#p-gallery").set_input_files(str(original))
    phone.wait_for_function("() => !document.getElementById('p-submit').disabled")
    size, kind = phone.evaluate(
        "[document.getElementById('p-gallery').files[0].size, document.getElementById('p-gallery').files[0].type]")
    assert kind == "image/jpeg" and size < original.stat().st_size
    phone.locator("#p-submit").click()
    phone.wait_for_url(re.compile(r"/report/sent/\w+"))

    code = phone.inner_text("#p-tracking-code").strip()
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
    assert ticket.grid_id == world.areas["grid2"].id  # from the place the photo was taken
    created = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "create")).scalar_one()
    assert created.details.get("location_from") == "photo"
    stored = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalar_one()
    assert (stored.width, stored.height) == (1536, 2048)  # upright, longest side 2048


def test_a_photo_queued_offline_is_kept_and_sent_smaller(world, live_url, phone, tmp_path):
    ticket = make_ticket(world, "grid1", title="井盖松动", assignee=world.users["gridworker"],
                         status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    original = camera_photo(tmp_path, "after.jpg")
    sign_in(phone, live_url)
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    phone.goto(f"{live_url}/m/tickets/{ticket.id}")
    phone.context.set_offline(True)
    phone.click("details[data-action=submit] summary")
    phone.fill("details[data-action=submit] textarea[name=note]", "已加固")
    phone.set_input_files("details[data-action=submit] input[name=photos]", str(original))
    phone.click("details[data-action=submit] button[type=submit]")
    phone.wait_for_selector("details[data-action=submit] .m-form-msg-queued")
    queued = phone.evaluate("""() => GDQueue.all().then(items => items.map(i => ({
        files: i.files.map(f => [f.blob.size, f.blob.type, f.name]), fields: i.fields})))""")
    (size, kind, name), = queued[0]["files"]
    assert kind == "image/jpeg" and size < original.stat().st_size / 2 and name == "after.jpg"
    assert ["photo_gps", "30.006000,120.014000"] in queued[0]["fields"]

    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.wait_for_url(re.compile(rf"/m/tickets/{ticket.id}"), timeout=15_000)
    for _ in range(50):
        db.session.expire_all()
        if db.session.get(Ticket, ticket.id).status == TicketStatus.PENDING_REVIEW:
            break
        phone.wait_for_timeout(200)
    stored = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalar_one()
    assert (stored.width, stored.height) == (1536, 2048)
