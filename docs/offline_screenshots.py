"""Screenshots of the phone pages' offline work on the demo, into docs/screenshots/:

- phone-report-map-photo: /report at 375×812 with the grid map (only the visible cells asked for)
  and a camera photo made smaller in the browser;
- phone-patrol-offline: a round walked offline, the route points kept on the phone;
- phone-patrol-report-queued: a problem reported offline in two taps, kept in the queue;
- phone-m-queue-route: the queue page listing the route batches and the report waiting;
- phone-patrol-round-thumbs / phone-patrol-summary-thumbs: check-ins listed with thumbnails;
- patrol-round-thumbs: the supervisor's round page (1440 px) with check-in thumbnails.

    SCREENSHOT_PORT=5437 .venv/bin/python docs/offline_screenshots.py
"""
from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from PIL import Image
from PIL.ExifTags import GPS, IFD
from playwright.sync_api import sync_playwright

os.environ.setdefault("SCREENSHOT_PORT", "5437")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docs.take_screenshots as take_screenshots  # noqa: E402
from docs.patrol_screenshots import grid_centre, log_in, photo, shot  # noqa: E402
from docs.take_screenshots import BASE, demo_server  # noqa: E402

# The demo takes minutes to seed on a busy machine: wait four times longer for it to start.
take_screenshots.time = type("PatientTime", (), {"sleep": staticmethod(lambda s: time.sleep(s * 4)),
                                                 "time": staticmethod(time.time)})

CHROMIUM = "/usr/bin/chromium"
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "permissions": ["geolocation"]}


def camera_photo(tmp: Path, lat: float, lon: float) -> str:
    """A 4000×3000 camera photo with its place in the EXIF."""
    image = Image.new("RGB", (4000, 3000), (196, 210, 222))
    image.paste((120, 124, 128), (0, 1800, 4000, 3000))
    image.paste((60, 120, 60), (1500, 1900, 2600, 2500))
    exif = Image.Exif()
    dms = lambda v: (int(v), int(v * 60 % 60), round(v * 3600 % 60, 4))  # noqa: E731
    exif.get_ifd(IFD.GPSInfo).update({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: dms(lat),
                                      GPS.GPSLongitudeRef: "E", GPS.GPSLongitude: dms(lon)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif)
    (tmp / "IMG_2041.JPG").write_bytes(buffer.getvalue())
    return str(tmp / "IMG_2041.JPG")


def report_page(browser, lat: float, lon: float, tmp: Path) -> None:
    context = browser.new_context(geolocation={"latitude": lat, "longitude": lon}, **PHONE)
    page = context.new_page()
    page.goto(f"{BASE}/report")
    page.wait_for_function("() => document.querySelectorAll('#p-map path.leaflet-interactive').length > 0")
    page.get_by_text("垃圾清运").first.click()
    page.locator("#p-gallery").set_input_files(camera_photo(tmp, lat, lon))
    page.wait_for_function("() => !document.getElementById('p-submit').disabled")
    page.fill("#p-description", "小区东门垃圾桶满溢，周边有异味")
    page.wait_for_timeout(500)
    shot(page, "phone-report-map-photo")
    context.close()


def patrol_pages(browser, engine, tmp: Path) -> int:
    lat, lon = grid_centre(engine, "gridworker")
    context = browser.new_context(geolocation={"latitude": lat, "longitude": lon}, **PHONE)
    context.set_default_timeout(30_000)
    page = context.new_page()
    log_in(page, "gridworker")
    print("signed in", page.url)
    page.goto(f"{BASE}/m/")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller")
    print("service worker ready")
    page.goto(f"{BASE}/m/patrol")
    if page.locator("#patrol-end-link").count():  # a round left open by the demo: end it first
        page.click("#patrol-end-link")
        page.click("#patrol-end-form button[type=submit]")
        page.goto(f"{BASE}/m/patrol")
    page.click("#patrol-start")
    page.wait_for_selector("#patrol-recorder.p-ok")
    page.wait_for_timeout(2000)
    context.set_offline(True)
    for step in range(1, 7):
        page.wait_for_timeout(1100)
        context.set_geolocation({"latitude": lat + step * 0.0001, "longitude": lon + step * 0.00025})
    page.wait_for_function("() => parseInt(document.getElementById('patrol-route-queued').textContent) >= 6")
    page.evaluate("() => window.dispatchEvent(new Event('offline'))")
    shot(page, "phone-patrol-offline")
    # A problem reported offline in two taps waits in the queue too (the round page fetched the
    # form page beforehand, so the service worker opens it offline).
    page.click("#patrol-report-link")
    page.wait_for_selector("#patrol-report-form")
    page.set_input_files("#patrol-report-form input[name=photo]", photo(tmp))
    page.click(".p-cat >> nth=0")
    page.wait_for_selector("#patrol-form-queued")
    shot(page, "phone-patrol-report-queued")
    page.goto(f"{BASE}/m/patrol")
    page.wait_for_selector("#patrol-recorder")
    page.evaluate("window.patrolSend()")
    page.goto(f"{BASE}/m/queue")
    page.wait_for_selector("#m-queue-pending .m-qitem")
    shot(page, "phone-m-queue-route")
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => !document.querySelector('#m-queue-pending .m-qitem')", timeout=20_000)
    for place, note in (("3号楼垃圾分类投放点", "投放点整洁"), ("东门消防通道", "通道畅通，无占用")):
        page.goto(f"{BASE}/m/patrol")
        page.click("#patrol-check-in-link")
        page.wait_for_selector("#patrol-recorder.p-ok")
        page.set_input_files("#patrol-check-in-form input[name=photo]", camera_photo(tmp, lat, lon)
                             if place.startswith("3") else photo(tmp))
        page.fill("input[name=place]", place)
        page.fill("textarea[name=note]", note)
        page.click("#patrol-check-in-form button[type=submit]")
        page.wait_for_url(f"{BASE}/m/patrol")
    page.wait_for_timeout(1500)
    shot(page, "phone-patrol-round-thumbs")
    round_id = int(page.locator("#patrol-recorder").get_attribute("data-round-id"))
    page.click("#patrol-end-link")
    page.fill("textarea[name=summary]", "离线巡查一圈，轨迹联网后补传。")
    page.click("#patrol-end-form button[type=submit]")
    page.wait_for_selector("#patrol-summary")
    page.wait_for_timeout(800)
    shot(page, "phone-patrol-summary-thumbs")
    context.close()
    return round_id


def supervisor_page(browser, round_id: int) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    log_in(page, "community")
    page.goto(f"{BASE}/admin/patrol/round/{round_id}")
    page.wait_for_timeout(1200)
    shot(page, "patrol-round-thumbs")
    context.close()


def shots(workdir: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{workdir / 'shots.db'}")
    lat, lon = grid_centre(engine, "gridworker")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        report_page(browser, lat, lon, workdir)
        round_id = patrol_pages(browser, engine, workdir)
        supervisor_page(browser, round_id)
        browser.close()
    engine.dispose()


def main() -> None:
    if os.environ.get("SHOTS_WORKDIR"):  # a demo server already running on SCREENSHOT_PORT
        shots(Path(os.environ["SHOTS_WORKDIR"]))
        return
    with demo_server("griddesk-offline-shots-") as workdir:
        shots(workdir)


if __name__ == "__main__":
    main()
