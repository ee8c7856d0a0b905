"""Phone-sized (375×812) screenshots of the resident's pages on the demo, into docs/screenshots/:
phone-report-empty, phone-report-duplicate (the "是这件事吗？" suggestion), phone-report-sent (code
and QR), phone-track-open, phone-track-closed (after-photo, rating form, the notices sent),
phone-track-lookup (the code typed in) and phone-track-not-found (a mistyped code).

Starts the demo server (docs/take_screenshots.py) and drives Debian's Chromium with Playwright;
closes the new case in between through the same workflow operations the staff pages call.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import sync_playwright

# A port of its own: other screenshot scripts' servers may be up on the default one.
os.environ.setdefault("SCREENSHOT_PORT", "5391")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from take_screenshots import BASE, OUT, demo_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def shot(page, name: str) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print("saved", name)


def demo_app(workdir: Path):
    os.environ["GRIDDESK_INSTANCE"] = str(workdir)
    from admin_app import create_app
    from config import Config

    return create_app(Config({"DATABASE_URL": f"sqlite:///{workdir / 'shots.db'}",
                              "GRIDDESK_ENV": "demo", "SECRET_KEY": "shots",
                              "GRIDDESK_UPLOAD_DIR": str(workdir / "uploads")}))


def open_case_nearby(app):
    """An open demo case of a publicly listed category, with its place."""
    from models import Ticket, db
    from models.categories import publicly_listed_category_ids
    from models.vocabulary import OPEN_STATUSES

    with app.app_context():
        print(db.engine.url, db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar())
        ticket = db.session.execute(sa.select(Ticket).where(
            Ticket.status.in_(OPEN_STATUSES), Ticket.lat.is_not(None),
            Ticket.category_id.in_(publicly_listed_category_ids()))
            .order_by(Ticket.created_at.desc())).scalars().first()
        return ticket.id, ticket.category_id, ticket.lat, ticket.lon


def close_case(app, code: str) -> None:
    """Accept, submit with an after-photo, approve: the staff's steps, through perform."""
    from models import Ticket, User, db
    from models.people.roles import MANAGER_ROLES
    from models.tickets.actions import Actor
    from models.tickets.attachments import Upload
    from models.tickets.workflow import allowed_actions, perform
    from models.vocabulary import AttachmentKind

    with app.app_context():
        ticket = db.session.execute(sa.select(Ticket).where(Ticket.tracking_code == code)).scalar_one()
        people = db.session.execute(sa.select(User).where(User.active.is_(True))).scalars().all()

        def someone(action):
            return next(Actor.staff(u) for u in people
                        if action in allowed_actions(Actor.staff(u), ticket)
                        and (action != "accept" or u.role not in MANAGER_ROLES))

        worker = someone("accept")
        perform(ticket, "accept", worker, expected_version=ticket.version)
        perform(ticket, "submit", worker, expected_version=ticket.version, note="已清理完毕",
                attachments=[Upload(AttachmentKind.AFTER, "after.jpg", jpeg("seagreen"))])
        perform(ticket, "approve", someone("approve"), expected_version=ticket.version)
        db.session.commit()


def main() -> None:
    with demo_server("griddesk-phone-") as workdir, sync_playwright() as playwright:
        app = demo_app(workdir)
        case_id, category_id, lat, lon = open_case_nearby(app)
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 375, "height": 812},
                                      device_scale_factor=2, is_mobile=True, has_touch=True,
                                      locale="zh-CN", permissions=["geolocation"],
                                      geolocation={"latitude": lat, "longitude": lon + 0.0001})
        page = context.new_page()
        page.goto(f"{BASE}/report")
        page.wait_for_selector("#p-map .leaflet-interactive")
        shot(page, "phone-report-empty")

        page.locator(f"input[name=category_id][value='{category_id}']").check(force=True)
        page.locator("#p-locate").click()
        page.wait_for_selector("#p-nearby:not([hidden])")
        page.locator("#p-nearby").scroll_into_view_if_needed()
        page.fill("#p-description", "小区门口这里也有同样的问题，已经好几天了")
        photo = workdir / "photo.jpg"
        photo.write_bytes(jpeg("darkorange"))
        page.locator("#p-gallery").set_input_files(str(photo))
        page.fill("#p-name", "陈女士")
        page.fill("#p-phone", "13957001234")
        shot(page, "phone-report-duplicate")

        page.locator("#p-submit").click()
        page.wait_for_selector("#p-tracking-code")
        code = page.inner_text("#p-tracking-code").strip()
        shot(page, "phone-report-sent")

        page.locator("#p-tracking-link").click()
        page.wait_for_selector("#p-timeline")
        shot(page, "phone-track-open")

        close_case(app, code)
        page.reload()
        page.wait_for_selector("#p-rate")
        shot(page, "phone-track-closed")

        page.goto(f"{BASE}/track")  # the code typed in by hand (from the header's 查询进度)
        shot(page, "phone-track-lookup")
        page.goto(f"{BASE}/track/NOSUCHCODE")
        shot(page, "phone-track-not-found")
        browser.close()
        print("case near", case_id, "tracking code", code)


if __name__ == "__main__":
    main()
