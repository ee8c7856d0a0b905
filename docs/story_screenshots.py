"""The issue's "Done when" walked on the demo, one screenshot per step, into
docs/screenshots/story-*.png: phones at 375×812, the community office's desktop at 1440.

A resident reports 楼道堆物 in 文新第一网格 with a photo and the browser's location and keeps the
tracking link; the community office (community) sends it to the grid's worker (gridworker);
the worker accepts on the phone, submits with a photo while offline, and the queue sends it back
online; the office approves; the resident reads the notices, sees the after-photo and rates; a
neighbour who joined the case rates on their own page; the worker walks a patrol round.

Against a running demo: STORY_BASE=http://127.0.0.1:PORT STORY_DB=/path/demo.db python
docs/story_screenshots.py; without them it starts its own demo (docs/take_screenshots.py).
"""
from __future__ import annotations

import io
import os
import re
import socket
import sqlite3
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import sync_playwright


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


os.environ.setdefault("SCREENSHOT_PORT", str(_free_port()))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import OUT, demo_server  # noqa: E402

BASE = os.environ.get("STORY_BASE") or f"http://127.0.0.1:{os.environ['SCREENSHOT_PORT']}"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
DESKTOP = {"viewport": {"width": 1440, "height": 900}, "locale": "zh-CN",
           "timezone_id": "Asia/Shanghai"}
PASSWORD = "demo12345"


def picture(folder: Path, name: str, colour: str, text: str) -> str:
    image = Image.new("RGB", (800, 600), colour)
    ImageDraw.Draw(image).rectangle((120, 160, 680, 440), outline="white", width=12)
    path = folder / name
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def shot(page, name: str, full: bool = True) -> None:
    page.wait_for_timeout(500)
    page.screenshot(path=str(OUT / f"story-{name}.png"), full_page=full)
    print("saved", f"story-{name}", "width", page.evaluate("document.documentElement.scrollWidth"))


def sign_in(page, username: str, then: str) -> None:
    page.goto(f"{BASE}/login?next={then}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{BASE}{then}")


def grid_point(db: Path) -> tuple[float, float, int]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT a.centroid_lat, a.centroid_lon, u.id FROM users u JOIN areas a "
            "ON a.id = u.scope_area_id WHERE u.username = 'gridworker'").fetchone()


@contextmanager
def demo():
    if os.environ.get("STORY_BASE"):
        with nullcontext():
            yield Path(os.environ["STORY_DB"])
    else:
        with demo_server("griddesk-story-") as workdir:
            yield workdir / "shots.db"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="story-photos-"))
    with demo() as db, sync_playwright() as playwright:
        lat, lon, worker_id = grid_point(db)
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu",
                                                   "--lang=zh-CN"])
        where = {"geolocation": {"latitude": lat, "longitude": lon},
                 "permissions": ["geolocation"]}

        # --- the resident reports ---------------------------------------------------------
        resident = browser.new_context(**PHONE, **where).new_page()
        resident.goto(f"{BASE}/report")
        shot(resident, "01-report-form", full=False)
        resident.get_by_text("楼道堆物", exact=True).click()
        resident.locator("#p-locate").click()
        resident.wait_for_function("() => document.getElementById('p-lat').value !== ''")
        resident.fill("#p-description", "3单元楼道里堆满纸箱和旧家具，挡住了消防通道")
        resident.locator("#p-gallery").set_input_files(
            picture(folder, "before.jpg", "darkorange", "before"))
        resident.fill("#p-phone", "13611115555")
        resident.wait_for_timeout(800)
        shot(resident, "02-report-filled")
        resident.locator("#p-submit").click()
        resident.wait_for_url(re.compile(r"/report/sent/\w+"))
        shot(resident, "03-report-sent")
        link = resident.get_attribute("#p-tracking-link", "href")
        resident.goto(link)
        shot(resident, "04-track-received")
        number = re.search(r"GD[\w-]+", resident.inner_text("#p-status")).group(0)

        # --- a neighbour reports the same problem and joins the case ----------------------
        neighbour = browser.new_context(**PHONE, **where).new_page()
        neighbour.goto(f"{BASE}/report")
        neighbour.get_by_text("楼道堆物", exact=True).click()
        neighbour.locator("#p-locate").click()
        neighbour.wait_for_selector("#p-nearby:not([hidden])")
        neighbour.fill("#p-description", "楼道堆物，老人下楼不方便")
        neighbour.fill("#p-name", "李阿姨")
        neighbour.fill("#p-phone", "13911116666")
        neighbour.locator("#p-nearby").scroll_into_view_if_needed()
        shot(neighbour, "04b-neighbour-nearby", full=False)
        neighbour.locator("#p-nearby button[name=join]").first.click()
        neighbour.wait_for_url(re.compile(r"/report/sent/\w+"))
        neighbour_link = neighbour.get_attribute("#p-tracking-link", "href")

        # --- the community office sends it to the grid's worker ---------------------------
        desk = browser.new_context(**DESKTOP).new_page()
        sign_in(desk, "community", "/admin/")
        desk.goto(f"{BASE}/admin/ticket/?search={number}")
        desk.click(f"text={number}")
        desk.wait_for_selector("#gd-ticket-fields")
        ticket_url = desk.url
        desk.click("#gd-button-assign")
        desk.wait_for_selector("#gd-action-assign.show")  # slid fully open (tests/e2e/test_demo_story.py)
        desk.select_option("#gd-action-assign select[name=user_id]", str(worker_id))
        shot(desk, "05-desk-assign", full=False)
        desk.click("#gd-action-assign button[type=submit]")
        desk.wait_for_selector(".alert-success")

        # --- the worker on the phone ------------------------------------------------------
        field = browser.new_context(**PHONE, **where).new_page()
        sign_in(field, "gridworker", "/m/")
        field.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        shot(field, "06-m-inbox")
        field.locator("a.m-ticket", has_text="楼道").first.click()
        field.wait_for_selector("#m-summary")
        shot(field, "07-m-ticket", full=False)
        field.click("details[data-action=accept] button[type=submit]")
        field.wait_for_selector("details[data-action=submit]")
        field.context.set_offline(True)
        field.click("details[data-action=submit] summary")
        field.fill("details[data-action=submit] textarea[name=note]",
                   "已联系住户清走纸箱和旧家具，通道已畅通")
        field.set_input_files("details[data-action=submit] input[name=photos]",
                              picture(folder, "after.jpg", "seagreen", "after"))
        field.click("details[data-action=submit] button[type=submit]")
        field.wait_for_selector("details[data-action=submit] .m-form-msg-queued")
        field.locator("details[data-action=submit]").scroll_into_view_if_needed()
        shot(field, "08-m-submitted-offline", full=False)
        field.goto(f"{BASE}/m/queue")
        field.wait_for_selector("#m-queue-pending .m-qitem")
        shot(field, "09-m-queue-offline")
        field.context.set_offline(False)
        field.evaluate("() => window.dispatchEvent(new Event('online'))")
        field.wait_for_function("() => !document.querySelector('#m-queue-pending .m-qitem')",
                                timeout=20_000)
        shot(field, "10-m-queue-sent")

        # --- the office reviews and approves ----------------------------------------------
        desk.goto(ticket_url)
        desk.click("#gd-button-approve")
        desk.wait_for_selector("#gd-action-approve.show")
        shot(desk, "11-desk-review")
        desk.click("#gd-action-approve button[type=submit]")
        desk.wait_for_selector(".alert-success")

        # --- the resident: notices, after-photo, rating -----------------------------------
        resident.goto(link)
        shot(resident, "12-track-closed")
        resident.locator("label[for=p-star-5]").click()
        resident.fill("#p-comment", "处理很快，谢谢网格员")
        resident.locator("#p-rate-submit").click()
        resident.wait_for_selector("#p-rated")
        shot(resident, "13-track-rated")
        neighbour.goto(neighbour_link)
        neighbour.locator("label[for=p-star-3]").click()
        neighbour.fill("#p-comment", "清走了，但楼道还要常检查")
        neighbour.locator("#p-rate-submit").click()
        neighbour.wait_for_selector("#p-rated")
        shot(neighbour, "13b-neighbour-rated")
        desk.goto(ticket_url)
        desk.locator("#gd-further-reporters").scroll_into_view_if_needed()
        shot(desk, "13c-desk-further-reporters", full=False)

        # --- a patrol round ---------------------------------------------------------------
        field.goto(f"{BASE}/m/patrol")
        shot(field, "14-patrol-start", full=False)
        field.click("#patrol-start")
        field.wait_for_selector("#patrol-recorder.p-ok")
        for step in range(1, 4):
            field.wait_for_timeout(1100)
            field.context.set_geolocation({"latitude": lat + step * 0.0003, "longitude": lon})
        field.wait_for_timeout(500)
        field.evaluate("window.patrolSend()")
        field.wait_for_function(
            "() => document.getElementById('patrol-route-text').textContent.includes('轨迹')")
        shot(field, "15-patrol-round")
        field.click("#patrol-check-in-link")
        field.wait_for_selector("#patrol-recorder.p-ok")
        field.set_input_files("#patrol-check-in-form input[name=photo]",
                              picture(folder, "visit.jpg", "steelblue", "visit"))
        field.fill("#patrol-check-in-form input[name=place]", "3单元垃圾投放点")
        field.fill("#patrol-check-in-form textarea[name=note]", "投放点整洁")
        shot(field, "16-patrol-check-in")
        field.click("#patrol-check-in-form button[type=submit]")
        field.wait_for_url(f"{BASE}/m/patrol")
        field.click("#patrol-report-link")
        field.wait_for_selector("#patrol-recorder.p-ok")
        field.set_input_files("#patrol-report-form input[name=photo]",
                              picture(folder, "problem.jpg", "dimgray", "problem"))
        shot(field, "17-patrol-report")
        field.locator(".p-cat", has_text="井盖缺失").click()
        field.wait_for_url(f"{BASE}/m/patrol")
        shot(field, "18-patrol-reported")
        field.click("#patrol-end-link")
        field.fill("textarea[name=summary]", "沿小区主路巡查一圈，发现井盖缺失一处")
        field.click("#patrol-end-form button[type=submit]")
        field.wait_for_selector("#patrol-summary")
        shot(field, "19-patrol-summary")
        browser.close()


if __name__ == "__main__":
    main()
