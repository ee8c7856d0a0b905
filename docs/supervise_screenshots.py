"""Screenshots of supervision (督办) on a fresh demo, walked as users do it: the district
command centre puts an overdue case under 挂牌督办 (1440 px); the handler sees it in the phone
inbox's 督办 tab and answers from the phone (375 px); the district centre reads the reply on the
ticket page and on the 督办件 page; the list filtered by 督办; the board's badge.

    SCREENSHOT_PORT=5231 .venv/bin/python docs/supervise_screenshots.py

On a slow machine (the demo takes minutes to seed), start the demo yourself on that port with
GRIDDESK_INSTANCE=DIR and DATABASE_URL=sqlite:///DIR/shots.db, and pass SUPERVISE_DEMO_DIR=DIR.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from take_screenshots import BASE, OUT, ROOT, chromium, demo_server, log_in, save_page  # noqa: E402

from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402


@contextmanager
def the_demo():
    running = os.environ.get("SUPERVISE_DEMO_DIR")
    if running:
        yield Path(running)
        return
    with demo_server("griddesk-supervise-shots-") as workdir:
        yield workdir

FIND_CASE = """
import json
import sqlalchemy as sa
from admin_app import create_app
from models import Role, Ticket, TicketStatus, User, db, utcnow
app = create_app()
with app.app_context():
    # An overdue case a department handler is working on: the demo account's when it has one
    # (the demo's overdue cases depend on the day it was seeded), else another handler's.
    ticket, user = db.session.execute(sa.select(Ticket, User).join(
        User, User.id == Ticket.assigned_user_id).where(
        User.role == Role.HANDLER, Ticket.status == TicketStatus.IN_PROGRESS,
        Ticket.handle_deadline < utcnow()).order_by(
        (User.username != "handler"), Ticket.handle_deadline)).first()
    print(json.dumps({"id": ticket.id, "number": ticket.number, "handler": user.username,
                      "department": ticket.assigned_department.name}))
"""


def overdue_case_of_the_handler(workdir) -> dict:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'shots.db'}",
               GRIDDESK_INSTANCE=str(workdir), GRIDDESK_ENV="demo")
    out = subprocess.run([sys.executable, "-c", FIND_CASE], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def save_phone(driver, name: str) -> None:
    time.sleep(0.3)
    driver.set_window_size(375, 812)
    driver.save_screenshot(str(OUT / f"{name}.png"))
    print("saved", name)


def main() -> None:
    with the_demo() as workdir, chromium() as driver:
        case = overdue_case_of_the_handler(workdir)
        page = f"{BASE}/admin/ticket/details/?id={case['id']}"
        # The district command centre supervises the overdue case
        log_in(driver, "district")
        driver.get(page)
        driver.find_element(By.ID, "gd-supervision-button-supervise").click()
        time.sleep(0.5)
        form = driver.find_element(By.ID, "gd-supervision-supervise")
        Select(form.find_element(By.NAME, "level")).select_by_value("listed")
        expected = driver.execute_script(
            "var d = new Date(Date.now() + 3 * 864e5); return d.toISOString().slice(0, 10);")
        driver.execute_script("arguments[0].value = arguments[1];",
                              form.find_element(By.NAME, "expected_by"), expected)
        form.find_element(By.NAME, "note").send_keys("群众多次反映，已超期。请三日内办结并回复处置情况。")
        save_page(driver, "supervise-admin-form")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                                   "#gd-supervision .gd-supervised"))
        save_page(driver, "supervise-admin-ticket")
        # The handler, on the phone: the badge in the inbox, the answer from the ticket page
        log_in(driver, case["handler"])
        driver.set_window_size(375, 812)
        driver.get(f"{BASE}/m/?tab=supervised")
        save_phone(driver, "supervise-phone-inbox")
        driver.get(f"{BASE}/m/tickets/{case['id']}")
        driver.execute_script("window.scrollTo(0, document.getElementById('m-supervision')"
                              ".getBoundingClientRect().top + window.scrollY - 60);")
        driver.find_element(By.CSS_SELECTOR, "details[data-action=supervision_reply] summary").click()
        driver.find_element(By.CSS_SELECTOR, "details[data-action=supervision_reply] textarea") \
            .send_keys("已安排人员到现场处置，明天上午办结，完成后上传照片。")
        save_phone(driver, "supervise-phone-reply")
        driver.find_element(By.CSS_SELECTOR,
                            "details[data-action=supervision_reply] button[type=submit]").click()
        time.sleep(2)
        driver.get(f"{BASE}/m/tickets/{case['id']}")
        driver.execute_script("window.scrollTo(0, document.getElementById('m-supervision')"
                              ".getBoundingClientRect().top + window.scrollY - 60);")
        save_phone(driver, "supervise-phone-replied")
        # The district centre reads the reply
        driver.set_window_size(1440, 1000)
        log_in(driver, "district")
        driver.get(page)
        save_page(driver, "supervise-admin-reply")
        driver.get(f"{BASE}/admin/supervision/")
        save_page(driver, "supervise-admin-list")
        driver.find_element(By.ID, "gd-supervision-in-list").click()
        save_page(driver, "supervise-admin-ticket-list")
        driver.get(f"{BASE}/admin/board/?supervised=1")
        save_page(driver, "supervise-admin-board")
        month = time.strftime("%Y-%m")
        driver.get(f"{BASE}/admin/evaluation/?role=department&month={month}&live=1")
        driver.execute_script("document.querySelectorAll('details').forEach(function (d) {"
                              " if (d.textContent.indexOf('督办') >= 0 || d.closest('tr')"
                              ".textContent.indexOf(arguments[0]) >= 0) d.open = true; });",
                              case["department"])
        save_page(driver, "supervise-evaluation")


if __name__ == "__main__":
    main()
