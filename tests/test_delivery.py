"""Delivering the notification outbox: a real HTTP receiver and a real SMTP server on 127.0.0.1.

Webhook, WeCom and DingTalk payloads and signatures are checked byte for byte; a message is
delivered once per event and channel, also after an HTTP 500 and after the delivering process
was killed in the middle of a request; the admin panel shows the bell, the inbox, the outbox,
the templates and the channel settings without ever showing a saved secret back.
"""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from integrations.delivery.channels import save_channel_settings
from integrations.delivery.runner import deliver_due, retry_failed
from integrations.delivery.senders import sender_for
from integrations.delivery.senders.robots import dingtalk_sign
from integrations.delivery.senders.smtp import message_id
from models import (Channel, Notification, NotificationState, NotificationTemplate, Ticket, db,
                    utcnow)
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

from .conftest import _INSTANCE, csrf_token, database_url, session_csrf_token

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "whsec-5f1c2a9e7d3b4c8aTAIL"
DINGTALK_SECRET = "SECdd8f0e3c6b1a2947f5e0c9d8b7a6Dk42"
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN = "c0ffee1234567890abcdef0123456789abcdef0123456789"
SMTP_PASSWORD = "smtp-pass-Zq81Xw"


# --- a real HTTP receiver ---------------------------------------------------------------------

class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every request.

    ``plan`` lists what to do with the next requests, in order: an HTTP status, a (status, body)
    pair or (status, body, headers), or "hold" (keep the request open until ``release`` is set). When the plan is used up,
    every request gets 200 with ``{"errcode": 0, "errmsg": "ok"}``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.plan: list = []
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    step = receiver.plan.pop(0) if receiver.plan else 200
                    record = {"path": self.path, "headers": self.headers,
                              "header_names": [name for name, _v in self.headers.items()],
                              "body": body, "answer": step}
                    receiver.requests.append(record)
                receiver.arrived.set()
                if step == "hold":
                    receiver.release.wait(30)
                    step = 200
                status, answer, *extra = step if isinstance(step, tuple) else \
                    (step, {"errcode": 0, "errmsg": "ok"} if step == 200 else {"error": "boom"})
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    for name, value in (extra[0] if extra else {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender was killed while we held its request

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def json(self, index: int) -> dict:
        return json.loads(self.requests[index]["body"].decode("utf-8"))


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def configure(channel: Channel, enabled: bool = True, **values) -> None:
    save_channel_settings(channel, enabled, values)
    db.session.commit()


def report(world, **reporter) -> Ticket:
    """A hotline report in grid 1: dispatched to the grid worker (an in-app row for them)."""
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id,
                                  description="甲一网格垃圾桶满溢", lon=120.004, lat=30.006,
                                  **reporter)).ticket
    db.session.commit()
    return ticket


def act(ticket: Ticket, action: str, user, **params):
    db.session.refresh(ticket)
    event = perform(ticket, action, Actor.staff(user), expected_version=ticket.version, **params)
    db.session.commit()
    return event


def rows(channel: Channel | None = None) -> list[Notification]:
    db.session.expire_all()
    query = sa.select(Notification).order_by(Notification.id)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    return db.session.execute(query).scalars().all()


def only(channel: Channel) -> Notification:
    found = rows(channel)
    assert len(found) == 1, [(r.channel, r.template, r.dedupe_key) for r in found]
    return found[0]


def accepted_ticket(world, **reporter) -> Ticket:
    """Reported and accepted by the grid worker: the reporter hears 'accepted'."""
    ticket = report(world, **reporter)
    act(ticket, "accept", world.users["gridworker"])
    return ticket


# --- the generic webhook (SMS gateway) --------------------------------------------------------

def test_webhook_payload_signature_and_idempotency_key_are_exact(world, receiver):
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    ticket = accepted_ticket(world, reporter_phone="13900001111")
    row = only(Channel.WEBHOOK)
    assert row.template == "reporter_accepted" and row.recipient_address == "13900001111"
    before = int(time.time())

    stats = deliver_due()
    assert stats["sent"] >= 1 and len(receiver.requests) == 1
    request = receiver.requests[0]
    body = request["body"]
    headers = request["headers"]
    assert request["path"] == "/sms"
    assert headers["Content-Type"] == "application/json"
    for name in ("X-GridDesk-Signature", "X-GridDesk-Timestamp", "Idempotency-Key"):
        assert name in request["header_names"]  # spelled as documented
    expected_signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body,
                                              hashlib.sha256).hexdigest()
    assert headers["X-GridDesk-Signature"] == expected_signature
    assert before - 1 <= int(headers["X-GridDesk-Timestamp"]) <= int(time.time()) + 1
    assert headers["Idempotency-Key"] == row.dedupe_key
    document = json.loads(body.decode("utf-8"))
    sent_at = document.pop("sent_at")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", sent_at)
    text = document.pop("text")
    assert document == {
        "id": row.id, "event": "accept", "template": "reporter_accepted",
        "ticket": {"number": ticket.number, "title": ticket.title, "status": "in_progress",
                   "tracking_code": ticket.tracking_code},
        "recipient": "13900001111"}
    assert text == (f"【网格工单】您反映的问题（工单号 {ticket.number}）已受理，正在处理。"
                    f"查询码：{ticket.tracking_code}")
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.SENT and row.attempts == 1 and row.sent_at
    assert row.last_error is None
    # Nothing is due any more, now or later: the message went out once.
    assert deliver_due(now=utcnow() + timedelta(days=1))["claimed"] == 0
    assert len(receiver.requests) == 1


def test_first_attempt_500_then_backoff_then_one_delivery_with_the_same_key(world, receiver,
                                                                             app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_BACKOFF_SECONDS", 60)
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    accepted_ticket(world, reporter_phone="13900001111")
    receiver.plan = [500]
    start = utcnow()

    assert deliver_due(now=start)["retried"] == 1
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.PENDING and row.attempts == 1
    assert row.last_error.startswith("HTTP 500")
    assert timedelta(seconds=59) <= row.next_attempt_at - start <= timedelta(seconds=61)
    # Not due before the pause is over.
    assert deliver_due(now=start + timedelta(seconds=30))["claimed"] == 0
    assert len(receiver.requests) == 1

    assert deliver_due(now=start + timedelta(seconds=61))["sent"] == 1
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.SENT and row.attempts == 2
    assert [r["answer"] for r in receiver.requests] == [500, 200]
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert keys == {row.dedupe_key}
    # Each attempt is signed over its own body.
    for r in receiver.requests:
        assert r["headers"]["X-GridDesk-Signature"] == "sha256=" + hmac.new(
            WEBHOOK_SECRET.encode(), r["body"], hashlib.sha256).hexdigest()
    assert deliver_due(now=start + timedelta(days=2))["claimed"] == 0
    assert sum(1 for r in receiver.requests if r["answer"] == 200) == 1


def test_backoff_grows_and_max_attempts_end_in_failed_then_admin_retry_delivers(
        world, receiver, app, monkeypatch, login_as):
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "NOTIFY_BACKOFF_SECONDS", 10)
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    ticket = accepted_ticket(world, reporter_phone="13900001111")
    receiver.plan = [500, 502, 503]
    at = utcnow()
    pauses = []
    for _ in range(3):
        deliver_due(now=at)
        row = only(Channel.WEBHOOK)
        if row.next_attempt_at:
            pauses.append((row.next_attempt_at - at).total_seconds())
            at = row.next_attempt_at
    assert pauses == [10, 20]
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.FAILED and row.attempts == 3
    assert row.last_error.startswith("HTTP 503")
    assert deliver_due(now=at + timedelta(days=1))["claimed"] == 0

    # Visible in the admin outbox, with its error; the retry action puts it back.
    admin = login_as("admin")
    page = admin.get("/admin/notification/?flt0_0=failed").get_data(as_text=True)
    assert ticket.number in page and "HTTP 503" in page and "13900001111" in page
    assert 'id="gd-failed-count"' in page
    details = admin.get(f"/admin/notification/details/?id={row.id}").get_data(as_text=True)
    assert row.dedupe_key in details and "HTTP 503" in details
    english = login_as("admin")
    english.get("/lang/en")
    assert "Send again" in english.get("/admin/notification/").get_data(as_text=True)
    refused = admin.post("/admin/notification/action/", data={
        "action": "retry", "rowid": [str(row.id)], "url": "/admin/notification/"})
    assert refused.status_code == 400  # no CSRF token
    assert only(Channel.WEBHOOK).state == NotificationState.FAILED
    response = admin.post("/admin/notification/action/", data={
        "action": "retry", "rowid": [str(row.id)], "csrf_token": session_csrf_token(admin),
        "url": "/admin/notification/"}, follow_redirects=True)
    assert response.status_code == 200
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.PENDING and row.attempts == 0
    assert deliver_due()["sent"] == 1
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.SENT
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {row.dedupe_key}
    assert [r["answer"] for r in receiver.requests] == [500, 502, 503, 200]
    # Only failed rows go back: a sent row stays sent.
    assert retry_failed([row.id]) == 0


KILLED_DELIVERER = """
import os, sys
sys.path.insert(0, {root!r})
os.environ["GRIDDESK_INSTANCE"] = {instance!r}
from admin_app import create_app
from config import Config
app = create_app(Config({{"DATABASE_URL": {url!r}, "SECRET_KEY": "test-secret",
                          "GRIDDESK_ENV": "test"}}))
app.config["NOTIFY_LEASE_SECONDS"] = {lease}
with app.app_context():
    from integrations.delivery.runner import deliver_due
    print("delivering", flush=True)
    print(deliver_due(), flush=True)
"""


def test_a_deliverer_killed_mid_request_is_taken_over_after_the_lease_with_the_same_key(
        world, receiver, app, monkeypatch):
    lease = 2
    monkeypatch.setitem(app.config, "NOTIFY_LEASE_SECONDS", lease)
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    accepted_ticket(world, reporter_phone="13900001111")
    row = only(Channel.WEBHOOK)
    receiver.plan = ["hold"]
    code = KILLED_DELIVERER.format(root=str(ROOT), instance=_INSTANCE, url=database_url(),
                                   lease=lease)
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert receiver.arrived.wait(60), process.communicate(timeout=5)
        # The attempt was recorded and committed before the request went out.
        held = only(Channel.WEBHOOK)
        assert held.state == NotificationState.SENDING and held.attempts == 1
        process.kill()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    receiver.release.set()
    assert len(receiver.requests) == 1
    # Within the lease nobody touches the row: the dead deliverer might still be sending.
    assert deliver_due()["claimed"] == 0
    time.sleep(lease + 0.5)
    stats = deliver_due()
    assert stats["sent"] == 1, stats
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.SENT and row.attempts == 2
    assert "interrupted" in (row.last_error or "") or "中断" in (row.last_error or "")
    assert len(receiver.requests) == 2
    assert [r["headers"]["Idempotency-Key"] for r in receiver.requests] == [row.dedupe_key] * 2
    assert deliver_due(now=utcnow() + timedelta(days=1))["claimed"] == 0
    assert len(receiver.requests) == 2


def test_two_deliverers_at_once_send_every_message_once(world, receiver, app):
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    for i in range(12):
        db.session.add(Notification(channel=Channel.WEBHOOK, template="reporter_accepted",
                                    recipient_address=f"1390000{i:04d}", dedupe_key=f"race:{i}",
                                    payload={"number": f"GD20261123{i:04d}"},
                                    state=NotificationState.PENDING, attempts=0))
    db.session.commit()
    results = []

    def run():
        with app.app_context():
            results.append(deliver_due())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert sorted(keys) == sorted(f"race:{i}" for i in range(12))
    assert sum(r["sent"] for r in results) == 12
    assert all(r.state == NotificationState.SENT and r.attempts == 1
               for r in rows(Channel.WEBHOOK))


def test_one_run_drains_a_backlog_and_in_app_floods_do_not_hold_up_the_others(
        world, receiver, app, monkeypatch):
    """A busy hour leaves hundreds of messages waiting: one run of the deliverer (two running at
    once, as with two schedulers' worth of load) delivers every one of them once — not 200 per
    run while the backlog grows — and the SMS rows go out between the in-app batches."""
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "NOTIFY_IN_APP_BATCH", 50)
    worker = world.users["gridworker"].id
    db.session.execute(sa.insert(Notification), [
        {"channel": Channel.IN_APP, "template": "dispatch", "recipient_user_id": worker,
         "dedupe_key": f"flood:{i}", "payload": {"number": f"GD2026112{i:05d}", "title": "积水"},
         "state": NotificationState.PENDING, "attempts": 0} for i in range(460)])
    for i in range(6):
        db.session.add(Notification(channel=Channel.WEBHOOK, template="reporter_accepted",
                                    recipient_address=f"1390000{i:04d}", dedupe_key=f"sms:{i}",
                                    payload={"number": f"GD20261123{i:04d}"},
                                    state=NotificationState.PENDING, attempts=0))
    db.session.commit()
    results = []

    def run():
        with app.app_context():
            results.append(deliver_due())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(r["sent"] for r in results) == 466, results
    assert sorted(r["headers"]["Idempotency-Key"] for r in receiver.requests) == \
        sorted(f"sms:{i}" for i in range(6))
    delivered = rows(Channel.IN_APP)
    assert len(delivered) == 460
    assert all(r.state == NotificationState.SENT and r.attempts == 1 for r in delivered)
    assert all(r.payload["_rendered"]["subject"].startswith("新工单待受理：") for r in delivered)


def test_a_redirect_is_not_followed_to_another_host(world, receiver):
    other = Receiver()
    try:
        configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
        accepted_ticket(world, reporter_phone="13900001111")
        receiver.plan = [(307, {}, {"Location": other.base + "/elsewhere"})]
        assert deliver_due()["retried"] == 1
        assert other.requests == [] and len(receiver.requests) == 1
        row = only(Channel.WEBHOOK)
        assert row.state == NotificationState.PENDING and row.last_error.startswith("HTTP 307")
    finally:
        other.close()


# --- one sender per channel, found by the runner ----------------------------------------------

def test_every_channel_has_its_sender():
    assert {channel: sender_for(channel).channel for channel in Channel} == \
        {channel: channel for channel in Channel}


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_the_runner_sends_each_row_through_its_own_channel(world, receiver, smtp_server,
                                                            channel):
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    configure(Channel.WECOM, url=f"{receiver.base}/cgi-bin/webhook/send?key={WECOM_KEY}")
    configure(Channel.DINGTALK, url=f"{receiver.base}/robot/send?access_token={DINGTALK_TOKEN}",
              secret=DINGTALK_SECRET)
    configure(Channel.EMAIL, host="127.0.0.1", port=smtp_server.port, security="none",
              from_addr="noreply@griddesk.test")
    address = "zhang@example.cn" if channel == Channel.EMAIL else "13900001111"
    db.session.add(Notification(
        channel=channel, template="reporter_accepted", dedupe_key=f"pick:{channel.value}",
        recipient_address=None if channel == Channel.IN_APP else address,
        recipient_user_id=world.users["gridworker"].id if channel == Channel.IN_APP else None,
        payload={"number": "GD202611230001", "title": "垃圾桶满溢"},
        state=NotificationState.PENDING, attempts=0))
    db.session.commit()
    assert deliver_due()["sent"] == 1
    arrived = {"/sms": Channel.WEBHOOK, "/cgi-bin": Channel.WECOM, "/robot": Channel.DINGTALK}
    reached = [arrived[prefix] for r in receiver.requests for prefix in arrived
               if r["path"].startswith(prefix)]
    reached += [Channel.EMAIL] * len(smtp_server.messages)
    assert reached == ([] if channel == Channel.IN_APP else [channel])
    assert only(channel).state == NotificationState.SENT


# --- the group robots -----------------------------------------------------------------------

def escalated_ticket(world) -> Ticket:
    ticket = accepted_ticket(world)
    act(ticket, "escalate", world.users["gridworker"], note="需要社区协调")
    return ticket


def test_wecom_robot_markdown_message(world, receiver):
    configure(Channel.WECOM, url=f"{receiver.base}/cgi-bin/webhook/send?key={WECOM_KEY}")
    ticket = escalated_ticket(world)
    row = only(Channel.WECOM)
    assert row.template == "escalate"
    deliver_due()
    (request,) = [r for r in receiver.requests if r["path"].startswith("/cgi-bin")]
    assert request["path"] == f"/cgi-bin/webhook/send?key={WECOM_KEY}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Idempotency-Key"] == row.dedupe_key
    document = json.loads(request["body"].decode("utf-8"))
    assert list(document) == ["msgtype", "markdown"]
    assert document["msgtype"] == "markdown" and list(document["markdown"]) == ["content"]
    content = document["markdown"]["content"]
    assert content.startswith(f"### 工单已上报 {ticket.number}\n工单已上报至社区，请处理：{ticket.number}")
    assert f"> 工单号：{ticket.number}" in content and "> 说明：需要社区协调" in content
    assert only(Channel.WECOM).state == NotificationState.SENT


def test_wecom_errcode_is_a_failure_and_is_retried(world, receiver):
    configure(Channel.WECOM, url=f"{receiver.base}/cgi-bin/webhook/send?key={WECOM_KEY}")
    escalated_ticket(world)
    receiver.plan = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    deliver_due()
    row = only(Channel.WECOM)
    assert row.state == NotificationState.PENDING and "93000" in row.last_error
    deliver_due(now=utcnow() + timedelta(minutes=5))
    assert only(Channel.WECOM).state == NotificationState.SENT


def test_dingtalk_robot_signed_url_and_markdown(world, receiver):
    configure(Channel.DINGTALK, url=f"{receiver.base}/robot/send?access_token={DINGTALK_TOKEN}",
              secret=DINGTALK_SECRET)
    ticket = escalated_ticket(world)
    row = only(Channel.DINGTALK)
    before = int(time.time() * 1000)
    deliver_due()
    (request,) = [r for r in receiver.requests if r["path"].startswith("/robot")]
    path, _, query = request["path"].partition("?")
    assert path == "/robot/send"
    # The raw query: access_token, then timestamp and the URL-encoded sign appended.
    assert re.fullmatch(rf"access_token={DINGTALK_TOKEN}&timestamp=\d{{13}}&sign=[A-Za-z0-9%]+",
                        query)
    params = urllib.parse.parse_qs(query)
    timestamp = int(params["timestamp"][0])
    assert before - 1000 <= timestamp <= int(time.time() * 1000) + 1000
    expected = base64.b64encode(hmac.new(DINGTALK_SECRET.encode(),
                                         f"{timestamp}\n{DINGTALK_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert params["sign"][0] == expected
    assert query.split("&sign=")[1] == urllib.parse.quote_plus(expected)
    assert dingtalk_sign(DINGTALK_SECRET, timestamp) == urllib.parse.quote_plus(expected)
    document = json.loads(request["body"].decode("utf-8"))
    assert list(document) == ["msgtype", "markdown"] and document["msgtype"] == "markdown"
    assert list(document["markdown"]) == ["title", "text"]
    assert document["markdown"]["title"] == f"工单已上报 {ticket.number}"
    assert document["markdown"]["text"].startswith(f"### 工单已上报 {ticket.number}\n")
    assert request["headers"]["Idempotency-Key"] == row.dedupe_key
    assert only(Channel.DINGTALK).state == NotificationState.SENT


def test_switched_off_channel_fails_visibly_without_sending(world, receiver):
    configure(Channel.WEBHOOK, enabled=False, url=receiver.base + "/sms")
    accepted_ticket(world, reporter_phone="13900001111")
    stats = deliver_due()
    assert stats["failed"] == 1 and stats["claimed"] >= 0
    row = only(Channel.WEBHOOK)
    assert row.state == NotificationState.FAILED and row.attempts == 0 and row.last_error
    assert receiver.requests == []


# --- e-mail through a local SMTP server -------------------------------------------------------

@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content or envelope.content))
            return "250 OK"

    handler = Collect()
    with socket.socket() as probe:  # a free port (aiosmtpd checks it can connect to its port)
        probe.bind(("127.0.0.1", 0))
        handler.port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def test_email_arrives_with_chinese_subject_and_body_and_a_stable_message_id(world, smtp_server):
    configure(Channel.EMAIL, host="127.0.0.1", port=smtp_server.port, security="none",
              from_addr="网格事件工单 <noreply@griddesk.test>")
    ticket = accepted_ticket(world, reporter_phone=None, reporter_email="zhang@example.cn",
                             reporter_name="张女士")
    row = only(Channel.EMAIL)
    assert deliver_due()["sent"] >= 1
    assert len(smtp_server.messages) == 1
    mail_from, rcpt, raw = smtp_server.messages[0]
    assert mail_from == "noreply@griddesk.test" and rcpt == ["zhang@example.cn"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(message["Subject"]) == f"【网格事件工单】您反映的问题已受理（{ticket.number}）"
    assert message["To"] == "zhang@example.cn"
    assert str(message["From"]) == "网格事件工单 <noreply@griddesk.test>"
    assert message["Message-ID"] == message_id(row.dedupe_key, "noreply@griddesk.test")
    assert message["X-GridDesk-Idempotency-Key"] == row.dedupe_key
    body = message.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends
    assert body.startswith("您好，张女士：\n\n您反映的问题（工单号")
    assert f"查询码：{ticket.tracking_code}" in body and "请勿直接回复" in body
    assert only(Channel.EMAIL).state == NotificationState.SENT
    deliver_due(now=utcnow() + timedelta(days=1))
    assert len(smtp_server.messages) == 1


def test_email_server_down_is_retried(world, app):
    configure(Channel.EMAIL, host="127.0.0.1", port=1, from_addr="noreply@griddesk.test")
    accepted_ticket(world, reporter_phone=None, reporter_email="zhang@example.cn")
    assert deliver_due()["retried"] == 1
    row = only(Channel.EMAIL)
    assert row.state == NotificationState.PENDING and row.last_error


# --- in-app: the bell, the list, mark read ----------------------------------------------------

BELL = re.compile(r'id="gd-bell-count">(\d+\+?)<')


def bell(client) -> str | None:
    match = BELL.search(client.get("/admin/").get_data(as_text=True))
    return match.group(1) if match else None


def test_bell_inbox_and_mark_read_for_the_recipient_only(world, login_as):
    ticket = report(world)
    row = only(Channel.IN_APP)
    assert row.recipient_user_id == world.users["gridworker"].id and row.template == "dispatch"
    worker = login_as("gridworker")
    assert bell(worker) is None  # written with the event, shown once delivered
    deliver_due()
    assert only(Channel.IN_APP).state == NotificationState.SENT
    assert bell(worker) == "1"
    other = login_as("gridworker2")
    assert bell(other) is None
    assert ticket.number not in other.get("/admin/inbox/").get_data(as_text=True)

    page = worker.get("/admin/inbox/").get_data(as_text=True)
    assert f"新工单待受理：{ticket.number} {ticket.title}" in page
    # Issue 10 § 6: a grid worker's notification opens the ticket on the phone page.
    assert f"/m/tickets/{ticket.id}" in page
    assert 'name="csrf_token"' in page
    # Someone else cannot mark it read; a POST without the token is refused.
    other.post(f"/admin/inbox/read/{row.id}", data={"csrf_token": session_csrf_token(other)})
    assert only(Channel.IN_APP).read_at is None
    assert worker.post(f"/admin/inbox/read/{row.id}").status_code == 400
    assert only(Channel.IN_APP).read_at is None
    token = csrf_token(worker, "/admin/inbox/")
    response = worker.post(f"/admin/inbox/read/{row.id}", data={"csrf_token": token})
    assert response.status_code == 302
    row = only(Channel.IN_APP)
    assert row.read_at is not None and row.state == NotificationState.READ
    assert bell(worker) is None
    assert ticket.number in worker.get("/admin/inbox/").get_data(as_text=True)  # still listed
    assert ticket.number not in worker.get("/admin/inbox/?unread=1").get_data(as_text=True)


def test_mark_all_read_and_paging(world, login_as):
    worker_id = world.users["gridworker"].id
    for i in range(25):
        db.session.add(Notification(channel=Channel.IN_APP, template="dispatch",
                                    recipient_user_id=worker_id, dedupe_key=f"page:{i}",
                                    payload={"number": f"GD2026112300{i:02d}",
                                             "title": f"第{i}号"},
                                    state=NotificationState.PENDING, attempts=0))
    db.session.commit()
    deliver_due()
    worker = login_as("gridworker")
    assert bell(worker) == "25"
    first = worker.get("/admin/inbox/").get_data(as_text=True)
    assert "GD202611230024" in first and "GD202611230000" not in first  # newest first
    second = worker.get("/admin/inbox/?page=2").get_data(as_text=True)
    assert "GD202611230000" in second and "GD202611230024" not in second
    response = worker.post("/admin/inbox/read-all",
                           data={"csrf_token": csrf_token(worker, "/admin/inbox/")})
    assert response.status_code == 302
    assert bell(worker) is None
    assert all(r.read_at is not None for r in rows(Channel.IN_APP))


def test_a_system_message_without_a_ticket_reads_well(world, login_as):
    """The scheduler's calendar warning: payload values are template variables too."""
    db.session.add(Notification(channel=Channel.IN_APP, template="calendar_missing",
                                recipient_user_id=world.users["admin"].id,
                                dedupe_key="calendar:2031:1", payload={"year": 2031},
                                state=NotificationState.PENDING, attempts=0))
    db.session.commit()
    deliver_due()
    page = login_as("admin").get("/admin/inbox/").get_data(as_text=True)
    assert "2031 年工作日历尚未导入" in page and "工作日历缺少 2031 年的数据" in page


# --- templates --------------------------------------------------------------------------------

def test_admin_edits_a_template_refuses_syntax_errors_and_previews(world, login_as):
    admin = login_as("admin")
    overview = admin.get("/admin/notifytemplate/").get_data(as_text=True)
    assert "event_kind=reporter_closed" in overview and "channel=dingtalk" in overview
    form = admin.get("/admin/notifytemplate/new/?event_kind=dispatch&channel=in_app")
    html = form.get_data(as_text=True)
    assert "新工单待受理：{{ number }} {{ title }}" in html  # the default, to start from

    token = csrf_token(admin, "/admin/notifytemplate/new/")
    bad = admin.post("/admin/notifytemplate/new/", data={
        "csrf_token": token, "event_kind": "dispatch", "channel": "in_app",
        "subject": "请处理 {{ number }", "body": "{% if note %}{{ note }}", "active": "y"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "unexpected &#39;}&#39;" in page or "unexpected '}'" in page
    assert "endif" in page  # jinja: "Unexpected end of template … looking for endif"
    assert db.session.execute(sa.select(sa.func.count()).select_from(NotificationTemplate)) \
        .scalar_one() == 0

    good = admin.post("/admin/notifytemplate/new/", data={
        "csrf_token": token, "event_kind": "dispatch", "channel": "in_app",
        "subject": "请处理 {{ number }}",
        "body": "{{ title }}（{{ grid }}），期限 {{ handle_deadline }}", "active": "y"},
        follow_redirects=True)
    assert good.status_code == 200, good.get_data(as_text=True)
    saved = db.session.execute(sa.select(NotificationTemplate)).scalar_one()
    assert saved.subject == "请处理 {{ number }}"
    twice = admin.post("/admin/notifytemplate/new/", data={
        "csrf_token": token, "event_kind": "dispatch", "channel": "in_app", "subject": "",
        "body": "{{ title }}", "active": "y"}, follow_redirects=True).get_data(as_text=True)
    assert "该事件和渠道已有模板" in twice
    assert db.session.execute(sa.select(sa.func.count()).select_from(NotificationTemplate)) \
        .scalar_one() == 1

    preview = admin.get(f"/admin/notifytemplate/preview/?id={saved.id}").get_data(as_text=True)
    assert "请处理 GD202611230001" in preview and "幸福小区东门垃圾桶满溢（幸福社区第一网格）" in preview
    # The edit form's preview button posts unsaved text.
    unsaved = admin.post("/admin/notifytemplate/preview/", data={
        "csrf_token": token, "event_kind": "overdue", "channel": "wecom", "subject": "",
        "body": "**超期** {{ number }} {{ location }}"}).get_data(as_text=True)
    assert "**超期** GD202611230001 幸福社区 · 幸福社区第一网格 · 幸福路1号东门" in unsaved
    default = admin.get("/admin/notifytemplate/preview/?event_kind=reporter_closed&channel=webhook")
    assert "【网格工单】您反映的问题（工单号 GD202611230001）已办结" in default.get_data(as_text=True)

    # The saved template is what the grid worker reads; a real ticket can be previewed too.
    ticket = report(world)
    deliver_due()
    worker = login_as("gridworker")
    inbox = worker.get("/admin/inbox/").get_data(as_text=True)
    assert f"请处理 {ticket.number}" in inbox and "甲一网格" in inbox
    real = admin.post("/admin/notifytemplate/preview/", data={
        "csrf_token": token, "id": str(saved.id), "ticket": ticket.number}).get_data(as_text=True)
    assert f"请处理 {ticket.number}" in real


def test_a_template_that_breaks_at_delivery_falls_back_to_the_default(world):
    # Compiles, but the sandbox refuses it when rendering: saved behind the form's back.
    db.session.add(NotificationTemplate(event_kind="dispatch", channel=Channel.IN_APP,
                                        subject="{{ number }}",
                                        body="{{ title.__class__.__mro__ }}", active=True))
    db.session.commit()
    ticket = report(world)
    deliver_due()
    row = only(Channel.IN_APP)
    assert row.state == NotificationState.SENT
    assert "SecurityError" in row.last_error
    assert row.payload["_rendered"]["subject"] == f"新工单待受理：{ticket.number} {ticket.title}"


# --- channel settings: secrets never shown back -------------------------------------------------

ADMIN_PAGES = ("/admin/notifychannels/", "/admin/notification/", "/admin/notifytemplate/",
               "/admin/", "/admin/inbox/")


def test_channel_settings_keep_secrets_write_only(world, login_as, receiver):
    admin = login_as("admin")
    page = admin.get("/admin/notifychannels/").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    token = csrf_token(admin, "/admin/notifychannels/")
    form = {"csrf_token": token,
            "webhook_enabled": "y", "webhook_url": receiver.base + "/sms",
            "webhook_secret": WEBHOOK_SECRET,
            "wecom_enabled": "y",
            "wecom_url": f"{receiver.base}/cgi-bin/webhook/send?key={WECOM_KEY}",
            "dingtalk_url": f"{receiver.base}/robot/send?access_token={DINGTALK_TOKEN}",
            "dingtalk_secret": DINGTALK_SECRET,
            "email_host": "smtp.example.cn", "email_port": "587", "email_security": "starttls",
            "email_username": "griddesk", "email_password": SMTP_PASSWORD,
            "email_from_addr": "noreply@example.cn"}
    response = admin.post("/admin/notifychannels/save", data=form, follow_redirects=True)
    assert response.status_code == 200
    from models import ChannelSetting
    db.session.expire_all()
    stored = {r.channel: r for r in db.session.execute(sa.select(ChannelSetting)).scalars()}
    assert stored[Channel.WEBHOOK].enabled and stored[Channel.WEBHOOK].settings["secret"] == \
        WEBHOOK_SECRET
    assert stored[Channel.EMAIL].settings["password"] == SMTP_PASSWORD
    assert stored[Channel.EMAIL].settings["starttls"] is True
    assert not stored[Channel.DINGTALK].enabled
    for url in ADMIN_PAGES:
        html = admin.get(url).get_data(as_text=True)
        for secret in (WEBHOOK_SECRET, DINGTALK_SECRET, SMTP_PASSWORD, WECOM_KEY, DINGTALK_TOKEN):
            assert secret not in html, (url, secret)
    html = admin.get("/admin/notifychannels/").get_data(as_text=True)
    assert "••••TAIL" in html and "••••Dk42" in html and "••••" + WECOM_KEY[-4:] in html
    assert receiver.base + "/sms" in html  # the gateway URL itself is no secret

    # Saving again with the secret fields empty keeps them; "remove" removes one.
    form2 = {k: v for k, v in form.items() if k not in ("webhook_secret", "wecom_url",
                                                         "dingtalk_url", "dingtalk_secret",
                                                         "email_password")}
    form2["dingtalk_clear_secret"] = "y"
    admin.post("/admin/notifychannels/save", data=form2)
    db.session.expire_all()
    stored = {r.channel: r for r in db.session.execute(sa.select(ChannelSetting)).scalars()}
    assert stored[Channel.WEBHOOK].settings["secret"] == WEBHOOK_SECRET
    assert stored[Channel.WECOM].settings["url"].endswith(WECOM_KEY)
    assert stored[Channel.EMAIL].settings["password"] == SMTP_PASSWORD
    assert "secret" not in stored[Channel.DINGTALK].settings
    assert stored[Channel.DINGTALK].settings["url"].endswith(DINGTALK_TOKEN)

    # Switching a channel on without its URL is refused with a message; nothing changes.
    refused = admin.post("/admin/notifychannels/save", data={
        "csrf_token": token, "dingtalk_enabled": "y", "dingtalk_clear_url": "y"})
    assert refused.status_code == 200
    db.session.expire_all()
    assert db.session.get(ChannelSetting, Channel.DINGTALK).settings["url"].endswith(
        DINGTALK_TOKEN)

    # The test button sends the sample message through the saved settings.
    test = admin.post("/admin/notifychannels/test/webhook", data=form2).get_data(as_text=True)
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["X-GridDesk-Signature"].startswith("sha256=")
    assert WEBHOOK_SECRET not in test


def test_notification_pages_are_for_administrators(world, login_as):
    worker = login_as("gridworker")
    for url in ("/admin/notification/", "/admin/notifytemplate/", "/admin/notifychannels/"):
        assert worker.get(url).status_code == 403
    assert worker.get("/admin/inbox/").status_code == 200
    assert login_as("admin").get("/admin/notifychannels/").status_code == 200
