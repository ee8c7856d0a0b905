"""Screenshots of the patrol pages on the demo: the grid worker's phone pages at 375×812 (with a
fake location walking through their grid) and the supervisors' round and coverage pages at
1440 px. Playwright drives Debian's Chromium (no browser download).

    .venv/bin/python docs/patrol_screenshots.py
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docs.take_screenshots import BASE, OUT, demo_server  # noqa: E402

PASSWORD = "demo12345"
CHROMIUM = "/usr/bin/chromium"


def log_in(page, username: str) -> None:
    page.goto(f"{BASE}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def grid_centre(engine, username: str) -> tuple[float, float]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT a.centroid_lat, a.centroid_lon FROM users u JOIN areas a ON a.id = u.scope_area_id"
            " WHERE u.username = :u"), {"u": username}).one()


def busiest_round(engine, username: str) -> int:
    """The supervisor's round with the most problems reported and check-ins."""
    with engine.connect() as conn:
        path = conn.execute(sa.text("SELECT a.path FROM users u JOIN areas a ON a.id = u.scope_area_id"
                                    " WHERE u.username = :u"), {"u": username}).scalar_one()
        return conn.execute(sa.text(
            "SELECT r.id FROM patrol_rounds r JOIN areas g ON g.id = r.grid_id"
            " WHERE g.path LIKE :p ORDER BY (SELECT count(*) FROM patrol_reports p WHERE p.round_id = r.id) DESC,"
            " (SELECT count(*) FROM patrol_check_ins c WHERE c.round_id = r.id) DESC, r.started_at DESC"
            " LIMIT 1"), {"p": path + "%"}).scalar_one()


def photo(tmp: Path) -> str:
    image = Image.new("RGB", (480, 360), (196, 210, 222))
    image.paste((120, 124, 128), (0, 220, 480, 360))
    image.paste((96, 150, 88), (200, 240, 290, 300))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    (tmp / "site.jpg").write_bytes(buffer.getvalue())
    return str(tmp / "site.jpg")


def phone_pages(browser, engine, tmp: Path) -> None:
    lat, lon = grid_centre(engine, "gridworker")
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="zh-CN",
                                  geolocation={"latitude": lat, "longitude": lon},
                                  permissions=["geolocation"])
    page = context.new_page()
    log_in(page, "gridworker")
    page.goto(f"{BASE}/m/patrol")
    shot(page, "phone-patrol-start")
    page.click("#patrol-start")
    page.wait_for_selector("#patrol-recorder.p-ok")
    for step in range(1, 6):
        page.wait_for_timeout(1100)
        context.set_geolocation({"latitude": lat + step * 0.0001, "longitude": lon + step * 0.00025})
    page.evaluate("window.patrolSend()")
    page.wait_for_function("document.getElementById('patrol-route-text').textContent.includes('轨迹')")
    picture = photo(tmp)
    page.click("#patrol-check-in-link")
    page.wait_for_selector("#patrol-recorder.p-ok")
    page.set_input_files("#patrol-check-in-form input[name=photo]", picture)
    page.fill("input[name=place]", "3号楼垃圾分类投放点")
    page.fill("textarea[name=note]", "投放点整洁，已提醒保洁员按时清运")
    shot(page, "phone-patrol-check-in")
    page.click("#patrol-check-in-form button[type=submit]")
    page.wait_for_url(f"{BASE}/m/patrol")
    page.click("#patrol-report-link")
    page.wait_for_selector("#patrol-recorder.p-ok")
    page.set_input_files("#patrol-report-form input[name=photo]", picture)
    shot(page, "phone-patrol-report")
    page.click(".p-cat >> nth=0")
    page.wait_for_url(f"{BASE}/m/patrol")
    page.wait_for_timeout(1500)
    shot(page, "phone-patrol-running")
    page.click("#patrol-end-link")
    page.fill("textarea[name=summary]", "沿主路和小区内部道路巡查一圈，发现的问题已上报。")
    shot(page, "phone-patrol-end")
    page.click("#patrol-end-form button[type=submit]")
    page.wait_for_selector("#patrol-summary")
    shot(page, "phone-patrol-summary")
    context.close()


def desktop_pages(browser, engine) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    log_in(page, "community")
    page.goto(f"{BASE}/admin/patrol/")
    shot(page, "patrol-rounds", full=True)
    page.goto(f"{BASE}/admin/patrol/round/{busiest_round(engine, 'community')}")
    page.wait_for_timeout(800)
    shot(page, "patrol-round", full=True)
    context.close()
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    log_in(page, "street")
    page.goto(f"{BASE}/admin/patrol-coverage/?days=7")
    page.wait_for_timeout(800)
    shot(page, "patrol-coverage", full=True)
    context.close()


def shot(page, name: str, full: bool = True) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print("saved", name)


def main() -> None:
    with demo_server("griddesk-patrol-shots-") as workdir:
        engine = sa.create_engine(f"sqlite:///{workdir / 'shots.db'}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--headless", "--no-sandbox", "--disable-gpu"])
            phone_pages(browser, engine, workdir)
            desktop_pages(browser, engine)
            browser.close()
        engine.dispose()


if __name__ == "__main__":
    main()
