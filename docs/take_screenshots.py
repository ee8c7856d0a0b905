"""Screenshots of the main pages in headless Chromium, one per role, into docs/screenshots/.

Starts its own demo server on a scratch SQLite database, so the pictures show the seeded demo.
Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PORT = int(os.environ.get("SCREENSHOT_PORT", "5077"))
BASE = f"http://127.0.0.1:{PORT}"

PAGES = [
    ("login", None, "/login", None),
    ("admin-home", "admin", "/admin/", None),
    ("admin-tickets", "admin", "/admin/ticket/", None),
    ("admin-areas", "admin", "/admin/area/?flt0_0=grid", None),
    ("admin-users", "admin", "/admin/user/", None),
    ("admin-categories", "admin", "/admin/category/", None),
    ("admin-dispatch-rules", "admin", "/admin/dispatchrule/", None),
    ("admin-calendar", "admin", "/admin/calendar/", None),
    ("street-tickets", "street", "/admin/ticket/", None),
    ("community-home", "community", "/admin/", None),
    ("gridworker-tickets", "gridworker", "/admin/ticket/", None),
    ("handler-tickets", "handler", "/admin/ticket/", None),
    ("leader-ticket-details", "leader", "/admin/ticket/", "first-ticket"),
    ("community-ticket-details", "community", "/admin/ticket/", "first-ticket"),
    ("leader-config-refused", "leader", "/admin/user/", None),
    ("admin-tickets-en", "admin", "/admin/ticket/", "english"),
    ("community-board", "community", "/admin/board/", None),
    ("district-matrix", "district", "/admin/matrix/?level=street", None),
    ("admin-create-ticket", "admin", "/admin/ticket/new/", None),
]


def start_server(workdir: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'shots.db'}",
               GRIDDESK_INSTANCE=str(workdir), PORT=str(PORT), GRIDDESK_ENV="demo")
    # The server's log goes to a file: an unread pipe fills up and stalls the server.
    log = open(workdir / "server.log", "w")
    server = subprocess.Popen([sys.executable, "run.py", "demo"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, text=True)
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{BASE}/healthz", timeout=1)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("demo server stopped:\n" + (workdir / "server.log").read_text())
            time.sleep(0.5)
    server.kill()
    raise SystemExit("demo server did not start")


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--window-size=1440,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


def log_in(driver, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{BASE}/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys("demo12345")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)


def save_page(driver, name: str, max_height: int = 2400) -> None:
    """The whole page (the window grown to its height, within limits) as OUT/<name>.png."""
    time.sleep(0.3)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1440, min(max(height + 40, 700), max_height))
    driver.save_screenshot(str(OUT / f"{name}.png"))
    print("saved", name)


@contextmanager
def demo_server(prefix: str):
    """The demo on a scratch SQLite database in a fresh folder, served until the block ends;
    yields the folder (its database is ``shots.db``)."""
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    server = start_server(workdir)
    try:
        yield workdir
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def chromium():
    driver = browser()
    try:
        yield driver
    finally:
        driver.quit()


def main() -> None:
    with demo_server("griddesk-shots-"), chromium() as driver:
        current = None
        for name, user, path, extra in PAGES:
            if user != current:
                driver.get(f"{BASE}/logout") if current else None
                if user:
                    log_in(driver, user)
                current = user
            if extra == "english":
                driver.get(f"{BASE}/lang/en")
            driver.get(BASE + path)
            if extra == "first-ticket":
                driver.find_element(By.CSS_SELECTOR, "td.col-number a").click()
            save_page(driver, name)
            if extra == "english":
                driver.get(f"{BASE}/lang/zh_Hans_CN")


if __name__ == "__main__":
    main()
