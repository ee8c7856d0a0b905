"""Co-handling (主办/协办, 吹哨报到) in a real browser on a fresh demo, a screenshot of every step.

community enters a hotline report (垃圾清运) → the matrix dispatches it to 区环卫中心 (the lead,
主办) → the street command centre calls 城市管理局 and 市场监督管理局 onto the case in one action →
the lead accepts, and its submit is refused while the tasks are open → each co-handling
department finds the case in its 协办 queue, accepts its task and submits its part → the lead
submits → the street centre approves: the case closes. Then the board, the matrix cell
"城管 主办 / 市场监管 协办", and a department's phone inbox.

Screenshots go to docs/screenshots/cohandle-*.png (1440 wide; the phone page 375×812). Uses its
own port: SCREENSHOT_PORT (default 5093). Needs chromium + chromium-driver.
"""
from __future__ import annotations

import os
import re
import time

os.environ.setdefault("SCREENSHOT_PORT", "5093")

from PIL import Image  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402
import take_screenshots  # noqa: E402
from take_screenshots import BASE, OUT, chromium, demo_server, log_in, save_page  # noqa: E402

from demo_walkthrough import do_action, first_grid_centre  # noqa: E402

STEP = [0]


def _patient_start(workdir):
    """take_screenshots.start_server, waiting up to ten minutes (seeding on a busy machine)."""
    import subprocess
    import sys
    import urllib.request

    env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'shots.db'}",
               GRIDDESK_INSTANCE=str(workdir), PORT=str(take_screenshots.PORT),
               GRIDDESK_ENV="demo")
    log = open(workdir / "server.log", "w")
    server = subprocess.Popen([sys.executable, "run.py", "demo"], cwd=take_screenshots.ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    for _ in range(1200):
        try:
            urllib.request.urlopen(f"{BASE}/healthz", timeout=1)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("demo server stopped:\n" + (workdir / "server.log").read_text())
            time.sleep(0.5)
    server.kill()
    raise SystemExit("demo server did not start")


take_screenshots.start_server = _patient_start


def shot(driver, name: str, max_height: int = 2000) -> None:
    STEP[0] += 1
    save_page(driver, f"cohandle-{STEP[0]:02d}-{name}", max_height=max_height)


def as_user(driver, username: str) -> None:
    driver.get(f"{BASE}/logout")
    log_in(driver, username)


def alerts(driver) -> str:
    return " / ".join(a.text for a in driver.find_elements(By.CSS_SELECTOR, ".alert"))


def task_step(driver, ticket_url: str, department: str, step: str, note: str = "") -> str:
    """Open the ticket, find the task of ``department`` and take ``step`` on it."""
    driver.get(ticket_url)
    for task in driver.find_elements(By.CSS_SELECTOR, ".gd-co-task"):
        if department in task.text:
            button = task.find_element(By.CSS_SELECTOR, f"[id$='-{step}']")
            button.click()
            time.sleep(0.4)
            form = task.find_element(By.CSS_SELECTOR, f"form[id$='-{step}-form']")
            if note:
                form.find_element(By.NAME, "note").send_keys(note)
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".alert"))
            return alerts(driver)
    raise SystemExit(f"no {step} on the task of {department} at {ticket_url}")


def main() -> None:
    with demo_server("griddesk-cohandle-") as work, chromium() as driver:
        photo = work / "after.jpg"
        Image.new("RGB", (640, 480), (90, 160, 90)).save(photo, "JPEG")
        log_in(driver, "community")
        driver.get(f"{BASE}/admin/ticket/new/")
        Select(driver.find_element(By.NAME, "category_id")).select_by_visible_text(
            "街面环境卫生 / 垃圾清运")
        driver.find_element(By.CSS_SELECTOR, "textarea[name=description]").send_keys(
            "文新菜场门口占道摆摊，烂菜叶和纸箱堆满人行道（12345热线转来）")
        lon, lat = first_grid_centre(work / "shots.db")
        driver.find_element(By.NAME, "lon").send_keys(f"{lon:.6f}")
        driver.find_element(By.NAME, "lat").send_keys(f"{lat:.6f}")
        driver.find_element(By.NAME, "reporter_phone").send_keys("13905710002")
        driver.find_element(By.ID, "gd-create-submit").click()
        time.sleep(0.5)
        if driver.find_elements(By.ID, "gd-duplicate-candidates"):
            driver.find_element(By.ID, "gd-create-submit").click()
            time.sleep(0.5)
        ticket_url = driver.current_url
        number = re.search(r"GD\d{12}", driver.page_source).group(0)
        print("created", number, ticket_url)

        # The street command centre calls two departments onto the case in one action.
        as_user(driver, "street")
        driver.get(ticket_url)
        driver.find_element(By.ID, "gd-button-co_handle").click()
        time.sleep(0.4)
        form = driver.find_element(By.ID, "gd-action-co_handle")
        for label in form.find_elements(By.CSS_SELECTOR, ".gd-department-ticks label"):
            if label.text in ("云栖区城市管理局", "云栖区市场监督管理局"):
                label.click()
        form.find_element(By.NAME, "note").send_keys(
            "城管：清理占道摊点；市场监管：核查菜场经营户的经营许可（吹哨报到）")
        shot(driver, "street-calls-in-two-departments")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "gd-co-handling"))
        print("co_handle:", alerts(driver))
        shot(driver, "two-tasks-on-the-ticket")
        driver.get(f"{BASE}/admin/board/")
        shot(driver, "board-card-badges")

        # The lead accepts; it cannot submit while the tasks are open.
        as_user(driver, "handler")
        print("accept:", do_action(driver, ticket_url, "accept"))
        driver.get(ticket_url)
        shot(driver, "lead-waits-for-co-handlers")

        # Each co-handling department: its 协办 queue, accept, its part.
        for user, department, result in (
                ("cg_01", "云栖区城市管理局", "占道摊点已清理，已告知摊主到菜场内规范经营"),
                ("sj_01", "云栖区市场监督管理局", "已核查3户经营许可，1户无证已责令停止经营")):
            as_user(driver, user)
            driver.get(f"{BASE}/admin/")
            if user == "cg_01":
                shot(driver, "department-home-co-handling-count")
                driver.find_element(By.ID, "gd-home-co-handling").click()
                time.sleep(0.5)
                shot(driver, "department-co-handling-queue")
            print(user, "accept:", task_step(driver, ticket_url, department, "accept"))
            print(user, "submit:", task_step(driver, ticket_url, department, "submit", result))
        shot(driver, "both-parts-done")

        as_user(driver, "handler")
        print("submit:", do_action(driver, ticket_url, "submit", "人行道已清扫，协办单位均已完成",
                                   str(photo)))
        as_user(driver, "street")
        print("approve:", do_action(driver, ticket_url, "approve", "现场核查通过"))
        driver.get(ticket_url)
        shot(driver, "closed-with-timeline", max_height=2600)
        as_user(driver, "district")
        driver.get(f"{BASE}/admin/matrix/?level=street")
        driver.set_window_size(1440, 900)
        row = driver.find_element(By.XPATH, "//tr[th[contains(., '占道经营')]]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", row)
        time.sleep(0.3)
        STEP[0] += 1
        driver.save_screenshot(str(OUT / f"cohandle-{STEP[0]:02d}-matrix-lead-and-co-handling.png"))
        print("saved matrix")

        # A 占道经营 report: the matrix cell itself names 市场监管 as co-handler of 城管's case.
        as_user(driver, "community")
        driver.get(f"{BASE}/admin/ticket/new/")
        Select(driver.find_element(By.NAME, "category_id")).select_by_visible_text(
            "街面秩序 / 占道经营")
        driver.find_element(By.CSS_SELECTOR, "textarea[name=description]").send_keys(
            "学院路早餐摊占道经营，现场加工食品")
        driver.find_element(By.NAME, "lon").send_keys(f"{lon + 0.0004:.6f}")
        driver.find_element(By.NAME, "lat").send_keys(f"{lat:.6f}")
        driver.find_element(By.ID, "gd-create-submit").click()
        time.sleep(0.5)
        if driver.find_elements(By.ID, "gd-duplicate-candidates"):
            driver.find_element(By.ID, "gd-create-submit").click()
            time.sleep(0.5)
        second_url = driver.current_url
        shot(driver, "dispatched-with-co-handler-from-the-matrix")
        # That department's phone: the 协办 tab and the task on the ticket page (375×812).
        as_user(driver, "sj_01")
        driver.set_window_size(375, 812)
        driver.get(f"{BASE}/m/?tab=co_handling")
        time.sleep(0.5)
        driver.save_screenshot(str(OUT / "cohandle-phone-inbox-375.png"))
        print("saved cohandle-phone-inbox-375")
        ticket_id = re.search(r"id=(\d+)", second_url).group(1)
        driver.get(f"{BASE}/m/tickets/{ticket_id}")
        time.sleep(0.5)
        driver.execute_script(
            "document.getElementById('m-co-handling').scrollIntoView({block: 'start'});"
            "window.scrollBy(0, -64);")
        time.sleep(0.3)
        driver.save_screenshot(str(OUT / "cohandle-phone-task-375.png"))
        print("saved cohandle-phone-task-375")


if __name__ == "__main__":
    main()
