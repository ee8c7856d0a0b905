"""The closed loop in a real browser, on the seeded demo, with a screenshot of every step.

community (hotline entry at a point) → dispatched by the matrix to 区环卫中心 → handler accepts →
submits without the after-photo (refused) → submits with it → community rejects once → handler
resubmits → street approves → community records the phone follow-up (回访). Then the board and the matrix.
Screenshots go to docs/screenshots/walkthrough-*.png. Needs chromium + chromium-driver.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from take_screenshots import BASE, chromium, demo_server, log_in, save_page

STEP = [0]


def shot(driver, name: str) -> None:
    STEP[0] += 1
    save_page(driver, f"walkthrough-{STEP[0]:02d}-{name}", max_height=2000)


def as_user(driver, username: str) -> None:
    driver.get(f"{BASE}/logout")
    log_in(driver, username)


def do_action(driver, ticket_url: str, action: str, note: str = "", photo: str | None = None,
              extra=None) -> str:
    driver.get(ticket_url)
    buttons = driver.find_elements(By.ID, f"gd-button-{action}")
    if not buttons:
        shot(driver, f"no-{action}-button")
        raise SystemExit(f"no {action} button for this user on {ticket_url}")
    buttons[0].click()
    time.sleep(0.4)
    form = driver.find_element(By.ID, f"gd-action-{action}")
    if note:
        form.find_element(By.NAME, "note").send_keys(note)
    if photo:
        form.find_element(By.NAME, "photos").send_keys(photo)
    if extra:
        extra(form)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".alert"))
    alerts = driver.find_elements(By.CSS_SELECTOR, ".alert")
    return " / ".join(a.text for a in alerts)


def first_grid_centre(database: Path) -> tuple[float, float]:
    """A point in the community user's first grid, read from the demo database."""
    import sqlite3

    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT centroid_lon, centroid_lat FROM areas WHERE level = 'grid' "
                            "ORDER BY code LIMIT 1").fetchone()


def main() -> None:
    with demo_server("griddesk-walk-") as work, chromium() as driver:
        photo = work / "after.jpg"
        Image.new("RGB", (640, 480), (90, 160, 90)).save(photo, "JPEG")
        log_in(driver, "community")
        driver.get(f"{BASE}/admin/ticket/new/")
        Select(driver.find_element(By.NAME, "category_id")).select_by_visible_text("街面环境卫生 / 垃圾清运")
        driver.find_element(By.CSS_SELECTOR, "textarea[name=description]").send_keys("文新路与学院路口垃圾桶满溢，气味很大（12345热线转来）")
        lon, lat = first_grid_centre(work / "shots.db")
        driver.find_element(By.NAME, "lon").send_keys(f"{lon:.6f}")
        driver.find_element(By.NAME, "lat").send_keys(f"{lat:.6f}")
        driver.find_element(By.NAME, "reporter_phone").send_keys("13905710001")
        shot(driver, "create-form")
        driver.find_element(By.ID, "gd-create-submit").click()
        time.sleep(0.5)
        if driver.find_elements(By.ID, "gd-duplicate-candidates"):
            shot(driver, "duplicate-candidates")
            driver.find_element(By.ID, "gd-create-submit").click()
            time.sleep(0.5)
        ticket_url = driver.current_url
        found = re.search(r"GD\d{12}", driver.page_source)
        if found is None:
            shot(driver, "create-failed")
            raise SystemExit("the ticket was not created: " + " / ".join(
                a.text for a in driver.find_elements(By.CSS_SELECTOR, ".alert")))
        number = found.group(0)
        print("created", number, ticket_url)
        shot(driver, "created-and-dispatched")

        as_user(driver, "handler")
        print("accept:", do_action(driver, ticket_url, "accept"))
        print("submit without photo:", do_action(driver, ticket_url, "submit", "已清运"))
        shot(driver, "submit-refused-without-photo")
        print("submit:", do_action(driver, ticket_url, "submit", "已清运，桶已清洗", str(photo)))

        as_user(driver, "community")
        print("reject:", do_action(driver, ticket_url, "reject", "路面仍有散落垃圾，请返工"))
        as_user(driver, "handler")
        print("resubmit:", do_action(driver, ticket_url, "submit", "已返工，路面清扫干净", str(photo)))
        as_user(driver, "street")
        print("approve:", do_action(driver, ticket_url, "approve", "现场核查通过"))
        as_user(driver, "community")
        print("follow_up:", do_action(driver, ticket_url, "follow_up", "电话回访上报人：满意",
                                 extra=lambda f: Select(f.find_element(By.NAME, "rating")).select_by_value("5")))
        shot(driver, "closed-with-timeline")
        as_user(driver, "leader")
        driver.get(ticket_url)
        print("leader sees buttons:", len(driver.find_elements(By.CSS_SELECTOR, "[id^=gd-button-]")))
        shot(driver, "leader-read-only")
        as_user(driver, "street")
        driver.get(f"{BASE}/admin/board/")
        shot(driver, "board")
        driver.get(f"{BASE}/admin/matrix/?level=community")
        shot(driver, "matrix")
        as_user(driver, "admin")
        driver.get(f"{BASE}/admin/matrix/?level=street")
        shot(driver, "matrix-admin-street")


if __name__ == "__main__":
    main()
