"""The grid worker's phone app /m/ through the real app: the inbox, acting on a ticket, the stale
version message, the offline queue's replays (one key → one step), 我的本月."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from models import Attachment, Ticket, TicketEvent, TicketStatus, db, utcnow
from models.tickets.worklist import my_month

from .conftest import session_csrf_token
from .factories import make_ticket
from .test_workflow import photo_bytes


def count(model, *where):
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def tab_counts(html: str) -> dict[str, int]:
    return {key: int(n) for key, n in re.findall(
        r'data-tab="(\w+)">\s*<span class="m-seg-label">[^<]*</span><span class="m-count">(\d+)', html)}


def post_action(client, ticket_id, action, *, key=None, **data):
    headers = {"X-CSRFToken": session_csrf_token(client), "Accept": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/m/api/tickets/{ticket_id}/actions/{action}", data=data,
                       headers=headers, content_type="multipart/form-data")


def test_inbox_holds_the_workers_tasks_by_tab_with_counts(world, login_as):
    w = world
    worker = w.users["gridworker"]
    now = utcnow()
    waiting = make_ticket(w, "grid1", title="待受理的桶", assignee=worker)
    handling = make_ticket(w, "grid1", title="正在处理的桶", assignee=worker,
                           status=TicketStatus.IN_PROGRESS, handle_deadline=now + timedelta(days=3))
    handling.deadlines_from = now - timedelta(hours=1)
    rework = make_ticket(w, "grid1", title="被退回的桶", assignee=worker,
                         status=TicketStatus.IN_PROGRESS, handle_deadline=now + timedelta(days=3))
    rework.rework_count, rework.deadlines_from = 1, now - timedelta(hours=1)
    late = make_ticket(w, "grid1", title="超期的桶", assignee=worker,
                       status=TicketStatus.IN_PROGRESS, handle_deadline=now - timedelta(hours=2))
    own_report = make_ticket(w, "grid1", title="自己上报的别人的事", department=w.departments["office1"])
    own_report.created_by_id = worker.id
    worker.department = w.departments["office1"]  # as in the demo: the community office
    make_ticket(w, "grid2", title="别人的桶", assignee=w.users["gridworker2"])
    db.session.commit()

    client = login_as("gridworker")
    html = client.get("/m/").get_data(as_text=True)
    assert tab_counts(html) == {"pending": 1, "in_progress": 2, "rework": 1, "due_soon": 1,
                                "supervised": 0}
    assert "待受理" in html and "审核退回" in html and "临期/超期" in html
    assert waiting.title in html and handling.title not in html
    assert own_report.title not in html and "别人的桶" not in html
    in_progress = client.get("/m/?tab=in_progress").get_data(as_text=True)
    assert handling.title in in_progress and late.title in in_progress
    assert rework.title not in in_progress
    assert rework.title in client.get("/m/?tab=rework").get_data(as_text=True)
    due = client.get("/m/?tab=due_soon").get_data(as_text=True)
    assert late.title in due and "m-ticket-red" in due and handling.title not in due
    # Their own report stays reachable (they may see it) but is no task of theirs.
    assert client.get(f"/m/tickets/{own_report.id}").status_code == 200
    for tab in ("pending", "in_progress", "rework", "due_soon"):
        assert own_report.title not in client.get(f"/m/?tab={tab}").get_data(as_text=True)


def test_a_tab_with_more_tickets_than_it_shows_says_so(world, login_as, monkeypatch):
    from models.tickets import worklist

    for n in range(3):
        make_ticket(world, "grid1", title=f"垃圾桶{n}", assignee=world.users["gridworker"])
    db.session.commit()
    monkeypatch.setattr(worklist, "INBOX_LIMIT", 2)
    html = login_as("gridworker").get("/m/").get_data(as_text=True)
    assert len(re.findall(r'<a class="m-ticket ', html)) == 2
    assert "此处显示 3 件中最紧急的 2 件" in html


def test_a_handler_sees_the_department_queue(world, login_as):
    w = world
    queued = make_ticket(w, "grid1", title="环卫队列里的事", department=w.departments["sanitation"])
    db.session.commit()
    html = login_as("handler").get("/m/").get_data(as_text=True)
    assert queued.title in html and tab_counts(html)["pending"] == 1
    assert queued.title not in login_as("gridworker").get("/m/").get_data(as_text=True)


def test_the_worker_accepts_and_submits_with_an_after_photo_from_the_ticket_page(world, login_as):
    w = world
    ticket = make_ticket(w, "grid1", assignee=w.users["gridworker"])
    db.session.commit()
    client = login_as("gridworker")
    page = client.get(f"/m/tickets/{ticket.id}").get_data(as_text=True)
    assert f'action="/m/api/tickets/{ticket.id}/actions/accept"' in page
    assert "/actions/submit" not in page  # not before it is accepted
    assert "geo:" in page and "uri.amap.com" in page and 'id="m-map"' in page
    version = int(re.search(r'name="version" value="(\d+)"', page).group(1))
    accepted = post_action(client, ticket.id, "accept", version=version)
    assert accepted.status_code == 200, accepted.get_json()
    page = client.get(f"/m/tickets/{ticket.id}").get_data(as_text=True)
    assert 'capture="environment"' in page and 'accept="image/*"' in page
    for action in ("note", "submit", "request_extension", "return", "escalate"):
        assert f"/actions/{action}\"" in page, action
    version = accepted.get_json()["ticket"]["version"]
    without_photo = post_action(client, ticket.id, "submit", version=version, note="已清运")
    assert without_photo.status_code == 422 and "照片" in without_photo.get_json()["error"]["message"]
    submitted = post_action(client, ticket.id, "submit", version=version, note="已清运",
                            photos=(io.BytesIO(photo_bytes()), "after.jpg"))
    assert submitted.status_code == 200, submitted.get_json()
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == TicketStatus.PENDING_REVIEW
    assert count(Attachment, Attachment.ticket_id == ticket.id, Attachment.kind == "after") == 1


def test_a_stale_version_is_refused_with_a_clear_message_and_changes_nothing(world, login_as):
    w = world
    ticket = make_ticket(w, "grid1", assignee=w.users["gridworker"])
    db.session.commit()
    client = login_as("gridworker")
    stale = ticket.version
    assert post_action(client, ticket.id, "accept", version=stale).status_code == 200
    events = count(TicketEvent, TicketEvent.ticket_id == ticket.id)
    refused = post_action(client, ticket.id, "note", version=stale, note="旧页面上的说明")
    assert refused.status_code == 409
    assert "已被他人更改" in refused.get_json()["error"]["message"]
    assert count(TicketEvent, TicketEvent.ticket_id == ticket.id) == events


def test_the_same_idempotency_key_twice_makes_one_event(world, login_as):
    w = world
    ticket = make_ticket(w, "grid1", assignee=w.users["gridworker"], status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    client = login_as("gridworker")
    photo, version = photo_bytes(), ticket.version
    first = post_action(client, ticket.id, "note", key="m-replay-1", version=version,
                        note="现场照片", photos=(io.BytesIO(photo), "scene.jpg"))
    assert first.status_code == 200, first.get_json()
    events = count(TicketEvent, TicketEvent.ticket_id == ticket.id)
    # The queue sends it again (the first answer was lost): a new multipart boundary, same step.
    again = post_action(client, ticket.id, "note", key="m-replay-1", version=version,
                        note="现场照片", photos=(io.BytesIO(photo), "scene.jpg"))
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert count(TicketEvent, TicketEvent.ticket_id == ticket.id) == events
    assert count(Attachment, Attachment.ticket_id == ticket.id) == 1


def test_a_queued_report_sent_twice_makes_one_ticket(world, login_as):
    client = login_as("gridworker")
    headers = {"X-CSRFToken": session_csrf_token(client), "Idempotency-Key": "m-report-1",
               "Accept": "application/json"}
    body = {"category_id": str(world.categories["garbage"].id), "description": "路边垃圾堆",
            "lat": "30.005", "lon": "120.005"}
    first = client.post("/m/api/reports", data={**body, "photos": (io.BytesIO(photo_bytes()), "a.jpg")},
                        headers=headers, content_type="multipart/form-data")
    assert first.status_code == 201, first.get_json()
    again = client.post("/m/api/reports", data={**body, "photos": (io.BytesIO(photo_bytes()), "a.jpg")},
                        headers=headers, content_type="multipart/form-data")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert count(Ticket) == 1
    assert db.session.get(Ticket, first.get_json()["ticket"]["id"]).source.value == "patrol"


def test_phone_endpoints_need_csrf_and_a_field_role(world, login_as):
    ticket = make_ticket(world, "grid1", assignee=world.users["gridworker"])
    db.session.commit()
    worker = login_as("gridworker")
    no_token = worker.post(f"/m/api/tickets/{ticket.id}/actions/accept",
                           data={"version": str(ticket.version)})
    assert no_token.status_code == 400 and no_token.is_json
    staff = login_as("community")
    refused = post_action(staff, ticket.id, "accept", version=ticket.version)
    assert refused.status_code == 403 and refused.is_json
    assert count(TicketEvent, TicketEvent.ticket_id == ticket.id, TicketEvent.action == "accept") == 0


def test_my_month_counts_on_time_and_average_time(world, login_as):
    w = world
    worker = w.users["gridworker"]
    client = login_as("gridworker")
    on_time = make_ticket(w, "grid1", assignee=worker)
    late = make_ticket(w, "grid1", assignee=worker)
    db.session.commit()
    for ticket, deadline in ((on_time, utcnow() + timedelta(days=1)), (late, utcnow() - timedelta(hours=1))):
        assert post_action(client, ticket.id, "accept", version=ticket.version).status_code == 200
        db.session.expire_all()
        fresh = db.session.get(Ticket, ticket.id)
        fresh.handle_deadline = deadline
        db.session.commit()
        done = post_action(client, ticket.id, "submit", version=fresh.version, note="完成",
                           photos=(io.BytesIO(photo_bytes()), "after.jpg"))
        assert done.status_code == 200, done.get_json()
    month = my_month(db.session.get(type(worker), worker.id), utcnow())
    assert (month.accepted, month.submitted, month.submitted_in_time) == (2, 2, 1)
    assert month.on_time_share == 0.5 and month.average_hours is not None
    html = client.get("/m/me").get_data(as_text=True)
    assert "我的本月" in html and "50%" in html and "按期率" in html


def test_the_pwa_files(world, client, login_as):
    manifest = client.get("/m/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    data = manifest.get_json()
    assert data["scope"] == "/m/" and {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    worker = client.get("/m/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.mimetype
    html = login_as("gridworker").get("/m/queue").get_data(as_text=True)
    assert "离线队列" in html and "被服务器拒绝" in html


def test_notification_links_open_the_phone_page_for_field_staff(world, login_as):
    ticket = make_ticket(world, "grid1", assignee=world.users["gridworker"])
    db.session.commit()
    from models.notify.notices import write_notice  # noqa: F401  (the inbox reads outbox rows)
    worker = login_as("gridworker")
    token = session_csrf_token(worker)
    opened = worker.post("/admin/inbox/read/999999", data={"open": "1", "ticket_id": str(ticket.id),
                                                          "csrf_token": token})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/m/tickets/{ticket.id}")
    staff = login_as("community")
    opened = staff.post("/admin/inbox/read/999999", data={"open": "1", "ticket_id": str(ticket.id),
                                                         "csrf_token": session_csrf_token(staff)})
    assert "/admin/ticket/details/" in opened.headers["Location"]


def test_a_queued_report_takes_the_place_its_photo_was_taken(world, login_as):
    """A report queued on the phone without a place: its photo was made smaller (no EXIF), the
    place read from the original travels as photo_gps and places the ticket."""
    client = login_as("gridworker")
    headers = {"X-CSRFToken": session_csrf_token(client), "Idempotency-Key": "m-report-gps",
               "Accept": "application/json"}
    answer = client.post("/m/api/reports", data={
        "category_id": str(world.categories["garbage"].id), "description": "路边垃圾堆",
        "photo_gps": "30.004,120.004", "photos": (io.BytesIO(photo_bytes()), "a.jpg")},
        headers=headers, content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_json()
    ticket = db.session.get(Ticket, answer.get_json()["ticket"]["id"])
    assert ticket.grid_id == world.areas["grid1"].id and round(ticket.lat, 3) == 30.004


def _form_of(page: str, ticket_id: int, action: str) -> dict[str, str]:
    """The fields the phone page's form for one action asks for (names as the page writes them)."""
    form = re.search(rf'<form[^>]*action="/m/api/tickets/{ticket_id}/actions/{action}"(.*?)</form>',
                     page, re.S)
    assert form, action
    fields = {}
    for tag in re.findall(r'<(?:input|textarea)[^>]*>', form.group(1)):
        value = re.search(r'value="([^"]*)"', tag)
        fields[re.search(r'name="(\w+)"', tag).group(1)] = value.group(1) if value else ""
    return fields


def test_return_extension_and_escalation_go_through_with_the_fields_the_page_asks_for(
        world, login_as):
    w = world
    returned = make_ticket(w, "grid1", title="不归我们管的事", assignee=w.users["gridworker"])
    working = make_ticket(w, "grid1", title="要多几天的事", assignee=w.users["gridworker"],
                          status=TicketStatus.IN_PROGRESS, handle_deadline=utcnow() + timedelta(days=1))
    db.session.commit()
    client = login_as("gridworker")

    page = client.get(f"/m/tickets/{returned.id}").get_data(as_text=True)
    fields = _form_of(page, returned.id, "return")
    assert set(fields) >= {"version", "note"}
    done = post_action(client, returned.id, "return", version=fields["version"], note="属物业管理范围")
    assert done.status_code == 200, done.get_json()
    db.session.expire_all()
    assert db.session.get(Ticket, returned.id).assigned_user_id is None

    page = client.get(f"/m/tickets/{working.id}").get_data(as_text=True)
    fields = _form_of(page, working.id, "request_extension")
    assert set(fields) >= {"version", "until", "note"}
    until = (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")  # what datetime-local sends
    done = post_action(client, working.id, "request_extension", version=fields["version"],
                       until=until, note="等待配件")
    assert done.status_code == 200, done.get_json()
    db.session.expire_all()
    assert db.session.get(Ticket, working.id).extension_requested_until is not None

    page = client.get(f"/m/tickets/{working.id}").get_data(as_text=True)
    fields = _form_of(page, working.id, "escalate")
    done = post_action(client, working.id, "escalate", version=fields["version"],
                       note="需要街道协调")
    assert done.status_code == 200, done.get_json()
    kinds = [e.action for e in db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == working.id).order_by(TicketEvent.seq)).scalars()]
    assert "request_extension" in kinds and "escalate" in kinds


def test_my_month_average_time_is_the_mean_from_acceptance_to_result(world, login_as):
    """我的本月's average, recounted here from the timeline: per submitted ticket, the time from
    its acceptance to the submitted result."""
    w = world
    worker = w.users["gridworker"]
    now = utcnow()
    from models.tickets.actions import Actor
    from models.tickets.workflow import perform

    tickets = []
    for hours in (10, 4):  # accepted through the workflow, that many hours ago
        ticket = make_ticket(w, "grid1", title=f"桶{hours}", assignee=worker,
                             created_at=now - timedelta(hours=hours + 1))
        perform(ticket, "accept", Actor.staff(worker), expected_version=ticket.version,
                now=now - timedelta(hours=hours))
        tickets.append(ticket)
    db.session.commit()
    client = login_as("gridworker")
    for ticket in tickets:
        done = post_action(client, ticket.id, "submit", version=ticket.version, note="完成",
                           photos=(io.BytesIO(photo_bytes()), "after.jpg"))
        assert done.status_code == 200, done.get_json()
    db.session.expire_all()
    spans = []
    for ticket in tickets:
        at = dict(db.session.execute(sa.select(TicketEvent.action, TicketEvent.created_at).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action.in_(("accept", "submit")))).all())
        spans.append((at["submit"] - at["accept"]).total_seconds() / 3600)
    expected = sum(spans) / len(spans)
    assert 6.9 < expected < 7.1
    html = client.get("/m/me").get_data(as_text=True)
    assert f"<b>{expected:.1f}</b>" in html, re.findall(r"m-stat\"><b>([^<]*)</b><span>([^<]*)", html)
