"""Screenshots of the category suggestion (issue 12, point 4) on the demo, and its check: typing
"楼道里堆满了纸箱" on the grid worker's phone patrol form suggests 楼道堆物 first, with the words
that drove it (the script stops with an error otherwise). Also the hotline form (1440 px) and the
administrators' page with the held-out month's accuracy.

    SCREENSHOT_PORT=5130 .venv/bin/python docs/suggest_screenshots.py

Set SUGGEST_DEMO_RUNNING=1 to use a demo already served on SCREENSHOT_PORT (seeding takes
minutes on a busy machine). Playwright drives Debian's Chromium (no browser download).
"""
from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docs.take_screenshots import BASE, OUT, demo_server  # noqa: E402

PASSWORD = "demo12345"
CHROMIUM = "/usr/bin/chromium"
TYPED = "楼道里堆满了纸箱"
EXPECTED_FIRST = "楼道堆物"


def log_in(page, username: str) -> None:
    page.goto(f"{BASE}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def chips(page) -> list[tuple[str, str]]:
    """(category name, "because of" words) of each suggestion chip, best first."""
    page.wait_for_selector("#gd-suggest .gd-chip", timeout=15000)
    return [(chip.locator(".gd-chip-name").inner_text(),
             chip.locator(".gd-chip-words").inner_text()
             if chip.locator(".gd-chip-words").count() else "")
            for chip in page.locator("#gd-suggest .gd-chip").all()]


def shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print("saved", name)


def phone_patrol_form(browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="zh-CN",
                                  geolocation={"latitude": 30.26, "longitude": 120.10},
                                  permissions=["geolocation"])
    page = context.new_page()
    log_in(page, "gridworker")
    page.goto(f"{BASE}/m/patrol")
    if page.locator("#patrol-start").count():
        page.click("#patrol-start")
        page.wait_for_load_state()
    page.click("#patrol-report-link")
    page.wait_for_load_state()
    page.click("details.p-note summary")
    page.fill("#p-report-note", TYPED)
    found = chips(page)
    print("phone patrol form:", found)
    if not found or found[0][0] != EXPECTED_FIRST or not found[0][1]:
        raise SystemExit(f"expected {EXPECTED_FIRST} first with its words, got {found}")
    page.locator("#p-report-note").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, document.querySelector('.p-note').offsetTop - 80)")
    shot(page, "suggest-mobile-patrol-chips")
    context.close()


def admin_pages(browser) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    log_in(page, "community")
    page.goto(f"{BASE}/admin/ticket/new/")
    page.fill("#gd-description", "小区门口垃圾桶满了好几天没人清运，臭味很大")
    print("hotline form:", chips(page))
    shot(page, "suggest-admin-hotline-form")
    context.close()
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    log_in(page, "admin")
    page.goto(f"{BASE}/admin/category_suggestion/")
    shot(page, "suggest-admin-accuracy", full=True)
    context.close()


def main() -> None:
    running = os.environ.get("SUGGEST_DEMO_RUNNING")
    OUT.mkdir(parents=True, exist_ok=True)
    with (nullcontext() if running else demo_server("griddesk-suggest-shots-")), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            phone_patrol_form(browser)
            admin_pages(browser)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
