"""Phone-size (375×812) screenshots of the grid worker's app /m/ on the seeded demo, into
docs/screenshots/phone-m-*.png, and of the admin pages a worker reaches from a notification.

Playwright drives Debian's Chromium (no browser download): python docs/take_phone_screenshots_mobile.py
"""
from __future__ import annotations

import io
import os
import socket
import sqlite3
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Several screenshot runs may share the machine: a port of our own, unless one is given.
os.environ.setdefault("SCREENSHOT_PORT", str(_free_port()))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import BASE, OUT, demo_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def photo(folder: Path) -> str:
    path = folder / "after.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "seagreen").save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def shot(page, name: str, full: bool = True) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    width = page.evaluate("document.documentElement.scrollWidth")
    print("saved", name, "(page width", width, "px)")


def first_ticket(page, tab: str) -> str | None:
    page.goto(f"{BASE}/m/?tab={tab}")
    link = page.locator("a.m-ticket").first
    return link.get_attribute("href") if link.count() else None


def busiest_field_user(workdir: Path) -> str:
    """The demo's grid worker or handler with the most open tasks, one in progress first (the
    demo accounts may have none on the day the screenshots are taken)."""
    with sqlite3.connect(workdir / "shots.db") as db:
        row = db.execute(
            "SELECT u.username FROM users u JOIN tickets t ON (t.assigned_user_id = u.id OR "
            "(u.role = 'handler' AND t.assigned_department_id = u.department_id "
            "AND t.assigned_user_id IS NULL)) "
            "WHERE u.role IN ('grid_worker', 'handler') AND t.status IN ('pending', 'in_progress') "
            "GROUP BY u.id ORDER BY max(t.status = 'in_progress') DESC, "
            "max(u.role = 'grid_worker') DESC, count(*) DESC, u.id LIMIT 1").fetchone()
    print("screenshots as", row)
    return row[0] if row else "gridworker"


def main() -> None:
    with demo_server("griddesk-phone-m-") as workdir, sync_playwright() as playwright:
        username = busiest_field_user(workdir)
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{BASE}/login?next=/m/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "demo12345")
        page.click("button[type=submit]")
        page.wait_for_url(f"{BASE}/m/")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        shot(page, "phone-m-inbox", full=False)

        href = first_ticket(page, "in_progress") or first_ticket(page, "rework") \
            or first_ticket(page, "pending")
        page.goto(BASE + href)
        page.wait_for_timeout(600)  # the map
        shot(page, "phone-m-ticket")

        action = "submit" if page.locator("details[data-action=submit]").count() else "accept"
        page.click(f"details[data-action={action}] summary")
        if action == "submit":
            page.fill("details[data-action=submit] textarea[name=note]", "垃圾已清运，地面已冲洗干净")
            page.set_input_files("details[data-action=submit] input[name=photos]", photo(workdir))
        page.locator(f"details[data-action={action}]").scroll_into_view_if_needed()
        shot(page, "phone-m-action", full=False)

        context.set_offline(True)
        page.click(f"details[data-action={action}] button[type=submit]")
        page.wait_for_selector(f"details[data-action={action}] .m-form-msg-queued")
        page.goto(f"{BASE}/m/queue")
        page.wait_for_selector("#m-queue-pending .m-qitem")
        shot(page, "phone-m-queue")
        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        page.wait_for_function("() => !document.querySelector('#m-queue-pending .m-qitem')",
                               timeout=15_000)

        page.goto(f"{BASE}/m/me")
        shot(page, "phone-m-me")

        ticket_id = href.rstrip("/").split("/")[-1]
        page.goto(f"{BASE}/admin/ticket/details/?id={ticket_id}")
        shot(page, "phone-admin-ticket-details")
        page.goto(f"{BASE}/admin/no-such-page")
        shot(page, "phone-admin-error-404", full=False)
        browser.close()


if __name__ == "__main__":
    main()
