"""Exactly once, end to end (issue 13 § 10): a deliverer that dies after the message went out but
before it recorded "sent" is taken over after its lease, and the message goes out again with the
same idempotency key. Where GridDesk is the receiver (the in-app inbox) the user sees it once;
elsewhere the receiver sees the same Idempotency-Key header or the same e-mail Message-ID, which
is what it drops the repeat by (docs/OPERATIONS.md § Exactly once).

The deliverer is a real process, killed by ``os._exit`` at that moment: no cleanup, no rollback.
"""
from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from integrations.delivery.runner import deliver_due
from integrations.delivery.senders.smtp import message_id
from models import Channel, Notification, NotificationState, db, utcnow

from .conftest import _INSTANCE, database_url
from .test_delivery import (BELL, DINGTALK_SECRET, DINGTALK_TOKEN, ROOT, WEBHOOK_SECRET, WECOM_KEY,
                            Receiver, configure, only)
from .test_delivery import smtp_server  # noqa: F401  (the fixture)

LEASE = 2

# Sends the due rows, and dies the moment the first one is to be recorded as sent.
CRASHING_DELIVERER = """
import os, sys
sys.path.insert(0, {root!r})
os.environ["GRIDDESK_INSTANCE"] = {instance!r}
from admin_app import create_app
from config import Config
app = create_app(Config({{"DATABASE_URL": {url!r}, "SECRET_KEY": "test-secret",
                          "GRIDDESK_ENV": "test"}}))
app.config["NOTIFY_LEASE_SECONDS"] = {lease}
with app.app_context():
    from integrations.delivery import runner

    def crash(*args, **kwargs):
        print("delivered, dying before recording it", flush=True)
        os._exit(9)

    if {crash_point!r} == "record":
        runner._record_success = crash
    else:  # an in-app batch: die once its first message is rendered, before anything is written
        render = runner.render_message
        runner.render_message = lambda *args, **kwargs: (render(*args, **kwargs), crash())[0]
    runner.deliver_due()
    print("not killed", flush=True)
"""


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def crash_after_delivering(crash_point: str = "record") -> str:
    code = CRASHING_DELIVERER.format(root=str(ROOT), instance=_INSTANCE, url=database_url(),
                                     lease=LEASE, crash_point=crash_point)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 9, (done.stdout, done.stderr[-3000:])
    return done.stdout


def queue(world, channel: Channel) -> Notification:
    db.session.add(Notification(
        channel=channel, template="dispatch", dedupe_key=f"event:77:ticket:7:{channel.value}:x",
        recipient_address={Channel.EMAIL: "zhang@example.cn",
                           Channel.IN_APP: None}.get(channel, "13900001111"),
        recipient_user_id=world.users["gridworker"].id if channel == Channel.IN_APP else None,
        payload={"number": "GD202612020077", "title": "垃圾桶满溢"},
        state=NotificationState.PENDING, attempts=0))
    db.session.commit()
    return only(channel)


def configure_all(receiver: Receiver, smtp_port: int) -> None:
    configure(Channel.WEBHOOK, url=receiver.base + "/sms", secret=WEBHOOK_SECRET)
    configure(Channel.WECOM, url=f"{receiver.base}/cgi-bin/webhook/send?key={WECOM_KEY}")
    configure(Channel.DINGTALK, url=f"{receiver.base}/robot/send?access_token={DINGTALK_TOKEN}",
              secret=DINGTALK_SECRET)
    configure(Channel.EMAIL, host="127.0.0.1", port=smtp_port, security="none",
              from_addr="网格事件工单 <noreply@griddesk.test>")


def take_over_after_the_lease() -> Notification:
    """The next deliverer leaves the row alone within the lease, then sends it again once."""
    assert deliver_due()["claimed"] == 0
    time.sleep(LEASE + 0.5)
    stats = deliver_due()
    assert stats["sent"] == 1, stats
    assert deliver_due(now=utcnow() + timedelta(days=1))["claimed"] == 0  # and never again
    return db.session.get(Notification, only_id())


def only_id() -> int:
    db.session.expire_all()
    rows = db.session.query(Notification.id).all()
    assert len(rows) == 1, rows
    return rows[0][0]


def test_in_app_message_of_a_crashed_deliverer_is_in_the_inbox_once(world, app, login_as):
    """In-app messages are rendered and marked sent in one transaction: a deliverer killed in
    between wrote nothing, and the next run delivers the message at once (no lease to wait out)."""
    queue(world, Channel.IN_APP)
    worker = login_as("gridworker")
    assert "dying" in crash_after_delivering("render")
    assert only(Channel.IN_APP).state == NotificationState.PENDING  # the crash wrote nothing
    assert BELL.search(worker.get("/admin/").get_data(as_text=True)) is None
    stats = deliver_due()
    assert stats["sent"] == 1, stats
    assert deliver_due(now=utcnow() + timedelta(days=1))["claimed"] == 0  # and never again
    row = db.session.get(Notification, only_id())
    assert row.state == NotificationState.SENT and row.attempts == 1
    match = BELL.search(worker.get("/admin/").get_data(as_text=True))
    assert match and match.group(1) == "1"
    page = worker.get("/admin/inbox/").get_data(as_text=True)
    assert page.count("新工单待受理：GD202612020077 垃圾桶满溢") == 1


def test_in_app_message_interrupted_on_its_last_attempt_is_still_delivered(world, app,
                                                                          monkeypatch):
    """Nothing leaves the system for an in-app message, so an interrupted last attempt is not an
    "unknown" outcome: it is delivered, once."""
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 1)
    row = queue(world, Channel.IN_APP)
    row.state, row.attempts = NotificationState.SENDING, 1
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert deliver_due()["sent"] == 1
    row = only(Channel.IN_APP)
    assert row.state == NotificationState.SENT and row.attempts == 2


@pytest.mark.parametrize("channel", [Channel.WEBHOOK, Channel.WECOM, Channel.DINGTALK],
                         ids=lambda c: c.value)
def test_http_channels_resend_with_the_same_idempotency_key(world, receiver, smtp_server,
                                                            channel):
    configure_all(receiver, smtp_server.port)
    row = queue(world, channel)
    crash_after_delivering()
    assert len(receiver.requests) == 1  # it arrived before the deliverer died
    row = take_over_after_the_lease()
    assert row.state == NotificationState.SENT and row.attempts == 2
    assert [r["headers"]["Idempotency-Key"] for r in receiver.requests] == [row.dedupe_key] * 2
    # What a receiver that drops repeats by the key keeps: one message.
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 1


def test_email_resent_with_the_same_message_id(world, receiver, smtp_server):
    configure_all(receiver, smtp_server.port)
    row = queue(world, Channel.EMAIL)
    crash_after_delivering()
    assert len(smtp_server.messages) == 1
    row = take_over_after_the_lease()
    assert row.state == NotificationState.SENT and len(smtp_server.messages) == 2
    mails = [email.message_from_bytes(raw, policy=email.policy.default)
             for _from, _to, raw in smtp_server.messages]
    expected = message_id(row.dedupe_key, "noreply@griddesk.test")
    assert [m["Message-ID"] for m in mails] == [expected, expected]
    assert [m["X-GridDesk-Idempotency-Key"] for m in mails] == [row.dedupe_key] * 2
    assert mails[0].get_content() == mails[1].get_content()  # the same message, not a new one
