"""The grid worker's phone app in Chromium at 375×812: accept, then submit with a camera photo
while offline; the step waits in the queue and is sent when the phone is back online."""
from __future__ import annotations

import io
import time

import sqlalchemy as sa
from PIL import Image

from models import Attachment, Ticket, TicketEvent, TicketStatus, db

from ..factories import make_ticket


def jpeg(tmp_path) -> str:
    path = tmp_path / "after.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "seagreen").save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def sign_in(page, live_url, username="gridworker"):
    page.goto(f"{live_url}/login?next=/m/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo12345")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/m/")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 376


def test_worker_accepts_then_submits_offline_and_the_queue_drains(world, live_url, phone, tmp_path):
    ticket = make_ticket(world, "grid1", title="公园门口垃圾满溢", assignee=world.users["gridworker"])
    db.session.commit()
    ticket_id = ticket.id

    sign_in(phone, live_url)
    assert phone.locator(".m-seg-active .m-count").inner_text() == "1"
    assert no_sideways_scroll(phone)
    # The service worker takes the page over (the shell is cached for offline use).
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    phone.click("text=公园门口垃圾满溢")
    phone.wait_for_url(f"{live_url}/m/tickets/{ticket_id}")
    assert no_sideways_scroll(phone)
    # The place: the grid's outline and the point, drawn without any tile server.
    assert phone.locator("#m-map path.leaflet-interactive").count() == 2
    assert phone.locator("a[href^='geo:']").count() == 1
    phone.click("details[data-action=accept] button[type=submit]")
    phone.wait_for_selector("details[data-action=submit]")
    assert "处理中" in phone.locator("#m-summary .m-status").inner_text()

    phone.context.set_offline(True)
    phone.click("details[data-action=submit] summary")
    phone.fill("details[data-action=submit] textarea[name=note]", "已清运，地面已冲洗")
    phone.set_input_files("details[data-action=submit] input[name=photos]", jpeg(tmp_path))
    phone.click("details[data-action=submit] button[type=submit]")
    phone.wait_for_selector("details[data-action=submit] .m-form-msg-queued")
    assert "离线队列" in phone.locator("details[data-action=submit] .m-form-msg").inner_text()
    phone.wait_for_selector("#m-queue-badge:not([hidden])")
    # The page still shows the state before the step, and says which step waits on the phone.
    phone.wait_for_selector("#m-ticket-queued:not([hidden])")
    waiting_here = phone.locator("#m-ticket-queued").inner_text()
    assert "尚待发送" in waiting_here and "提交办结" in waiting_here
    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id).status == TicketStatus.IN_PROGRESS

    phone.goto(f"{live_url}/m/")  # the inbox opens offline too (the copy last seen online)
    assert phone.locator(".m-seg-active .m-count").count() == 1
    assert "公园门口垃圾满溢" in phone.locator("body").inner_text()
    # Its card says a step waits on the phone (the copy shows the state before it).
    phone.wait_for_selector("a.m-ticket .m-card-queued")
    assert "有步骤待发送" in phone.locator("a.m-ticket .m-card-queued").inner_text()
    phone.goto(f"{live_url}/m/patrol")  # saved when the app was installed: the patrol page
    assert phone.locator(".m-seg").count() == 0 and phone.locator("#m-not-saved").count() == 0
    phone.goto(f"{live_url}/m/tickets/{ticket_id + 1000}")  # never opened: says so
    assert "此页面尚未保存在本机" in phone.locator("#m-not-saved").inner_text()
    phone.goto(f"{live_url}/m/queue")  # offline: from the service worker's cache
    phone.wait_for_selector("#m-queue-pending .m-qitem")
    waiting = phone.locator("#m-queue-pending").inner_text()
    assert "提交办结" in waiting and "1张照片" in waiting

    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.wait_for_function("() => !document.querySelector('#m-queue-pending .m-qitem')",
                            timeout=15_000)
    assert "提交办结" in phone.locator("#m-queue-done").inner_text()
    assert phone.locator("#m-queue-refused .m-qitem").count() == 0
    phone.goto(f"{live_url}/m/tickets/{ticket_id}")
    phone.wait_for_selector("#m-summary .m-status")
    assert phone.locator("#m-ticket-queued").is_hidden()  # nothing of it waits any more

    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id).status == TicketStatus.PENDING_REVIEW
    submits = db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.action == "submit")).scalar_one()
    photos = db.session.execute(sa.select(sa.func.count()).select_from(Attachment).where(
        Attachment.ticket_id == ticket_id, Attachment.kind == "after")).scalar_one()
    assert (submits, photos) == (1, 1)


def test_a_step_refused_on_sync_is_shown_with_its_reason(world, live_url, phone):
    from models.tickets.actions import Actor
    from models.tickets.workflow import perform

    worker = world.users["gridworker"]
    ticket = make_ticket(world, "grid1", title="井盖松动", assignee=worker,
                         status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    sign_in(phone, live_url)
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    phone.goto(f"{live_url}/m/tickets/{ticket.id}")
    phone.context.set_offline(True)
    phone.click("details[data-action=note] summary")
    phone.fill("details[data-action=note] textarea[name=note]", "已联系物业")
    phone.click("details[data-action=note] button[type=submit]")
    phone.wait_for_selector("details[data-action=note] .m-form-msg-queued")
    # Meanwhile the ticket changes on the server (the page's version is now stale).
    perform(db.session.get(Ticket, ticket.id), "note", Actor.staff(worker),
            expected_version=None, note="电脑上写的说明")
    db.session.commit()
    phone.goto(f"{live_url}/m/queue")
    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.wait_for_selector("#m-queue-refused .m-qitem", timeout=15_000)
    refused = phone.locator("#m-queue-refused").inner_text()
    assert "409" in refused and "已被他人更改" in refused
    notes = db.session.execute(sa.select(TicketEvent.note).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "note")).scalars().all()
    assert notes == ["电脑上写的说明"]


def test_admin_pages_a_worker_reaches_from_a_notification_fit_a_phone(world, live_url, phone):
    ticket = make_ticket(world, "grid1", title="路灯不亮", assignee=world.users["gridworker"])
    db.session.commit()
    sign_in(phone, live_url)
    phone.goto(f"{live_url}/admin/ticket/details/?id={ticket.id}")
    assert phone.locator("#gd-ticket-fields").is_visible()
    assert no_sideways_scroll(phone), "the admin ticket page scrolls sideways at 375 px"
    phone.click("#gd-phone-page")
    phone.wait_for_url(f"{live_url}/m/tickets/{ticket.id}")
    phone.goto(f"{live_url}/admin/ticket/details/?id=999999")
    assert no_sideways_scroll(phone), "the error page scrolls sideways at 375 px"
    for path, status, title in (("/admin/no-such-page/", 404, "找不到该页面"),
                                ("/admin/patrol/", 403, "无权打开此页面")):
        answer = phone.goto(f"{live_url}{path}")
        assert answer.status == status and phone.locator("#gd-error").is_visible()
        assert title in phone.inner_text("body")
        assert no_sideways_scroll(phone), f"the {status} page scrolls sideways at 375 px"


def test_a_note_after_an_accept_sent_in_the_background_is_not_lost(world, live_url, phone):
    """Accept queued offline and sent when the phone is back online while the page stays open
    (it still holds the old version); a note then written on the same page follows the worker's
    own accept instead of being refused as "changed by someone else"."""
    ticket = make_ticket(world, "grid1", title="路灯不亮", assignee=world.users["gridworker"])
    db.session.commit()
    sign_in(phone, live_url)
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    phone.goto(f"{live_url}/m/tickets/{ticket.id}")
    phone.context.set_offline(True)
    phone.click("details[data-action=accept] button[type=submit]")
    phone.wait_for_selector("details[data-action=accept] .m-form-msg-queued")
    phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 15
    while db.session.get(Ticket, ticket.id).status != TicketStatus.IN_PROGRESS:
        assert time.monotonic() < deadline, "the queued accept was not sent"
        time.sleep(0.2)
        db.session.rollback()
    time.sleep(0.5)  # the page's queue records the answer (the version the accept left)
    phone.click("details[data-action=note] summary")
    phone.fill("details[data-action=note] textarea[name=note]", "已联系供电所")
    phone.click("details[data-action=note] button[type=submit]")
    # Only the database is read from here on: the page reloads once the note is sent.
    deadline = time.monotonic() + 15
    while True:
        db.session.rollback()  # a fresh snapshot of what the app wrote
        notes = db.session.execute(sa.select(TicketEvent.note).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "note")).scalars().all()
        if notes or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert notes == ["已联系供电所"]


def test_a_step_refused_at_once_is_told_under_its_form_and_not_kept_as_refused(
        world, live_url, phone):
    """Submitting without the after-photo the category needs: the reason under the form, and
    no 被拒 badge left on every page until removed by hand."""
    ticket = make_ticket(world, "grid1", title="垃圾满溢待清运", assignee=world.users["gridworker"],
                         status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    sign_in(phone, live_url)
    phone.goto(f"{live_url}/m/tickets/{ticket.id}")
    phone.click("details[data-action=submit] summary")
    phone.fill("details[data-action=submit] textarea[name=note]", "已清运")
    phone.click("details[data-action=submit] button[type=submit]")
    phone.wait_for_selector("details[data-action=submit] .m-form-msg-bad")
    assert "照片" in phone.locator("details[data-action=submit] .m-form-msg").inner_text()
    deadline = time.monotonic() + 10
    while phone.evaluate("() => GDQueue.all().then(items => items.length)"):  # (awaited)
        assert time.monotonic() < deadline, "the refused step stayed in the queue"
        time.sleep(0.2)
    assert phone.locator("#m-queue-badge").is_hidden()
    phone.goto(f"{live_url}/m/queue")
    assert phone.locator("#m-queue-refused .m-qitem").count() == 0
