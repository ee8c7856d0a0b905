"""Screenshots of the notification pages (bell, my notifications, outbox, templates, channel
settings) in headless Chromium, into docs/screenshots/notify-*.png. Run from docs/:

    cd docs && ../.venv/bin/python notify_screenshots.py

Starts the demo server on a scratch SQLite database (take_screenshots.start_server), then, in a
separate process on the same database, performs a few real workflow actions (so the outbox has
rows), saves channel settings with secrets and runs one delivery pass.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from selenium.webdriver.common.by import By  # noqa: E402
from take_screenshots import BASE, PORT, ROOT, chromium, demo_server, log_in, save_page  # noqa: E402


def setup_notifications() -> None:
    """Runs inside the server's database (see main): actions, settings, one delivery pass."""
    import sqlalchemy as sa

    from admin_app import create_app
    from integrations.delivery.channels import save_channel_settings
    from integrations.delivery.runner import deliver_due
    from models import Channel, Ticket, TicketStatus, User, db
    from models.errors import WorkflowError
    from models.notify.inbox import mark_read
    from models.tickets.workflow import Actor, perform

    app = create_app()
    app.config["NOTIFY_MAX_ATTEMPTS"] = 1  # the unreachable gateway fails at once: visible
    with app.app_context():
        save_channel_settings(Channel.WEBHOOK, True, {"url": "http://127.0.0.1:9/sms",
                                                      "secret": "demo-webhook-secret-8f3a"})
        save_channel_settings(Channel.WECOM, True, {
            "url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=1b2c3d4e-demo-key-77aa"})
        save_channel_settings(Channel.DINGTALK, False, {
            "url": "https://oapi.dingtalk.com/robot/send?access_token=demo0123456789token9f2e",
            "secret": "SECdemo0123456789abcdefsecret42"})
        save_channel_settings(Channel.EMAIL, False, {
            "host": "smtp.example.cn", "port": 587, "security": "starttls",
            "username": "griddesk", "password": "demo-smtp-password-55",
            "from_addr": "网格事件工单 <noreply@example.cn>"})
        db.session.commit()
        worker = db.session.execute(sa.select(User).where(User.username == "gridworker")).scalar_one()
        staff = db.session.execute(sa.select(User).where(User.username == "community")).scalar_one()
        tickets = db.session.execute(
            sa.select(Ticket).where(Ticket.community_id == staff.scope_area_id,
                                    Ticket.status == TicketStatus.PENDING)
            .order_by(Ticket.created_at.desc()).limit(8)).scalars().all()
        done = 0
        for n, ticket in enumerate(tickets):
            try:
                perform(ticket, "assign", Actor.staff(staff), expected_version=ticket.version,
                        user_id=worker.id, note="请今天内到现场处理")
                if n % 3 == 1:
                    perform(ticket, "accept", Actor.staff(worker), expected_version=ticket.version)
                if n == 2:
                    perform(ticket, "escalate", Actor.staff(worker),
                            expected_version=ticket.version, note="涉及物业，需要社区协调")
                db.session.commit()
                done += 1
            except WorkflowError as exc:
                db.session.rollback()
                print("skipped", ticket.number, exc)
        print("actions on", done, "tickets")
        print(deliver_due(limit=1000))
        first = db.session.execute(sa.text(
            "SELECT min(id) FROM notifications WHERE recipient_user_id = :u"), {"u": worker.id}
        ).scalar()
        if first:
            mark_read(worker.id, [first])
            db.session.commit()


SHOTS = [
    ("notify-bell", "gridworker", "/admin/", None),
    ("notify-inbox", "gridworker", "/admin/inbox/", None),
    ("notify-outbox", "admin", "/admin/notification/", None),
    ("notify-outbox-failed", "admin", "/admin/notification/?flt0_0=failed", None),
    ("notify-templates", "admin", "/admin/notifytemplate/", None),
    ("notify-template-edit", "admin",
     "/admin/notifytemplate/new/?event_kind=escalate&channel=wecom", None),
    ("notify-template-error", "admin",
     "/admin/notifytemplate/new/?event_kind=escalate&channel=wecom", "syntax-error"),
    ("notify-template-preview", "admin",
     "/admin/notifytemplate/preview/?event_kind=escalate&channel=wecom", None),
    ("notify-template-preview-sms", "admin",
     "/admin/notifytemplate/preview/?event_kind=reporter_closed&channel=webhook", None),
    ("notify-channels", "admin", "/admin/notifychannels/", None),
]


def main() -> None:
    with demo_server("griddesk-notify-shots-") as workdir:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'shots.db'}",
                   GRIDDESK_INSTANCE=str(workdir), PORT=str(PORT), GRIDDESK_ENV="demo")
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--setup"], cwd=ROOT,
                       env=env, check=True)
        with chromium() as driver:
            current = None
            for name, user, path, extra in SHOTS:
                if user != current:
                    log_in(driver, user)
                    current = user
                driver.set_window_size(1440, 1000)
                driver.get(BASE + path)
                if extra == "syntax-error":
                    body = driver.find_element(By.NAME, "body")
                    body.clear()
                    body.send_keys("### 工单已上报 {{ number }\n{% if note %}说明：{{ note }}")
                    driver.find_element(By.CSS_SELECTOR, "input[type=submit].btn-primary, "
                                                         "button[type=submit].btn-primary").click()
                save_page(driver, name)


if __name__ == "__main__":
    if sys.argv[1:] == ["--setup"]:
        setup_notifications()
    else:
        main()
