"""Screenshots of the performance evaluation pages (绩效考核) at 1440 px: the rankings of the last
complete month and of the current month with their breakdowns (the points scheme scoring patrol
coverage by grid-day), a street publishing (freezing) its own month, the district seeing that
street frozen and the other live, and the scoring scheme editor.

    SCREENSHOT_PORT=5123 .venv/bin/python docs/evaluation_screenshots.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from take_screenshots import (BASE, ROOT, chromium, log_in, save_page,  # noqa: E402
                              start_server)

@contextmanager
def seeded_demo_server(prefix: str):
    """The demo seeded (``seed-demo`` folds its statistics too) before the server starts (on a
    busy machine seeding takes longer than the server start waits), then served until the block
    ends; yields the folder."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'shots.db'}",
               GRIDDESK_INSTANCE=str(workdir), GRIDDESK_ENV="demo")
    try:
        for command in (["run.py", "init-db"], ["run.py", "seed-demo"]):
            subprocess.run([sys.executable, *command], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        server = start_server(workdir)
        try:
            yield workdir
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    with seeded_demo_server("griddesk-eval-shots-"), chromium() as driver:
        log_in(driver, "district")
        driver.get(f"{BASE}/admin/evaluation/?role=community")
        save_page(driver, "stats-evaluation-ranking-community")
        driver.get(f"{BASE}/admin/evaluation/?role=grid_worker")
        driver.execute_script(  # one breakdown of the 样本不足 list open as well
            "var d = document.querySelector('#gd-eval-insufficient details'); if (d) d.open = true;")
        save_page(driver, "stats-evaluation-ranking")
        driver.get(f"{BASE}/admin/evaluation/?role=grid_worker&month={this_month()}")
        save_page(driver, "stats-evaluation-ranking-current")
        driver.get(f"{BASE}/logout")
        log_in(driver, "street")  # a street centre publishes its own street's month
        driver.get(f"{BASE}/admin/evaluation/?role=grid_worker")
        driver.find_element(By.ID, "gd-eval-publish").click()
        driver.switch_to.alert.accept()
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "gd-eval-frozen"))
        save_page(driver, "stats-evaluation-published")
        driver.get(f"{BASE}/logout")
        log_in(driver, "district")
        driver.get(f"{BASE}/admin/evaluation/?role=grid_worker")
        save_page(driver, "stats-evaluation-street-frozen")
        driver.get(f"{BASE}/logout")
        log_in(driver, "admin")
        driver.get(f"{BASE}/admin/evaluationscheme/?role=grid_worker")
        save_page(driver, "stats-evaluation-scheme")
        driver.get(f"{BASE}/admin/evaluationscheme/?role=community")
        driver.find_element(By.ID, "w_on_time_rate").clear()
        driver.find_element(By.ID, "w_on_time_rate").send_keys("50")
        driver.find_element(By.ID, "gd-scheme-save").click()
        save_page(driver, "stats-evaluation-scheme-error")


def this_month() -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


if __name__ == "__main__":
    main()
