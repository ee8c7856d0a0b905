"""Screenshots of the statistics pages on the demo at 1440 px, into docs/screenshots/:
stats-dashboard (a year, district command centre), stats-figure-tickets (the tickets behind the
dispatch figure, each with its count), stats-definitions (指标口径), stats-analysis, stats-map (no
tiles configured: the grids on a plain background), stats-home (the leader's home page),
stats-handler-dashboard (a department handler's dashboard: the department's figures) and
stats-area-only (a grid worker who opens the analysis by its address: the area views are not
theirs, and the page says so and leads to their dashboard).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SCREENSHOT_PORT", "5447")  # a port of its own: other scripts may run too

import take_screenshots  # noqa: E402
from take_screenshots import BASE, OUT, chromium, demo_server, log_in, save_page  # noqa: E402

# The demo takes minutes to seed on a busy machine: wait four times longer for it to answer.
take_screenshots.time = type("PatientTime", (), {
    "sleep": staticmethod(lambda seconds: time.sleep(seconds * 4)),
    "time": staticmethod(time.time)})

YEAR = "?from={start}&to={end}"


def wait_for_charts(driver) -> None:
    """ECharts draws into canvases after load; give the animation time to settle."""
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.querySelectorAll('.gd-chart canvas').length")
        >= d.execute_script("return document.querySelectorAll('.gd-chart').length"))
    time.sleep(1.5)


def wait_until_folded(workdir: Path, timeout: float = 600) -> None:
    """The demo's scheduler folds the seeded timelines into the rollups (fold_statistics):
    wait until nothing is left to fold, so the pictures show every ticket."""
    import sqlite3

    deadline = time.time() + timeout
    while time.time() < deadline:
        with sqlite3.connect(workdir / "shots.db", timeout=30) as conn:
            if conn.execute("SELECT count(*) FROM stats_pending").fetchone()[0] == 0:
                return
        time.sleep(3)
    raise SystemExit("the statistics were not folded in time")


def main() -> None:
    from datetime import date, timedelta

    end = date.today()
    year = YEAR.format(start=end - timedelta(days=364), end=end)
    with demo_server("griddesk-stats-shots-") as workdir, chromium() as driver:
        wait_until_folded(workdir)
        log_in(driver, "district")
        driver.get(BASE + "/admin/stats/" + year)
        wait_for_charts(driver)
        save_page(driver, "stats-dashboard", max_height=3200)
        # A figure of events (派单量: a ticket is often dispatched twice) and its tickets.
        driver.set_window_size(1440, 1000)
        driver.find_element(By.CSS_SELECTOR, "#gd-figure-dispatched a.gd-figure-value").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "gd-figure-summary"))
        save_page(driver, "stats-figure-tickets", max_height=1400)
        driver.get(BASE + "/admin/stats/definitions/#def-rework")
        save_page(driver, "stats-definitions", max_height=2400)
        driver.get(BASE + "/admin/stats/analysis/" + year)
        wait_for_charts(driver)
        save_page(driver, "stats-analysis", max_height=3200)
        driver.set_window_size(1440, 1100)
        driver.get(BASE + "/admin/stats/map/" + year)
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return document.getElementById('gd-map')"
                                       ".getAttribute('data-loaded')") == "1")
        time.sleep(1)
        driver.save_screenshot(str(OUT / "stats-map.png"))
        driver.find_element(By.XPATH, "//label[contains(., '热力图')]//input").click()
        time.sleep(1)
        driver.save_screenshot(str(OUT / "stats-map-heat.png"))
        log_in(driver, "leader")
        driver.get(BASE + "/admin/")
        time.sleep(0.5)
        save_page(driver, "stats-home")
        log_in(driver, "handler")
        driver.get(BASE + "/admin/stats/" + year)
        wait_for_charts(driver)
        save_page(driver, "stats-handler-dashboard", max_height=3200)
        log_in(driver, "gridworker")
        driver.set_window_size(1440, 700)
        driver.get(BASE + "/admin/stats/analysis/" + year)
        save_page(driver, "stats-area-only", max_height=900)


if __name__ == "__main__":
    main()
