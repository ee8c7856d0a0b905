"""Screenshots of the work calendar past chinese-calendar's last year: the provisional year on the
calendar page, the arrangement form (also refusing a wrong entry) and the home page notices.

    .venv/bin/python docs/calendar_screenshots.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from selenium.webdriver.common.by import By

sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import BASE, chromium, demo_server, log_in, save_page  # noqa: E402


def main() -> None:
    with demo_server("griddesk-calendar-shots-"), chromium() as driver:
        log_in(driver, "admin")
        driver.get(f"{BASE}/admin/")
        save_page(driver, "calendar-admin-home")
        driver.get(f"{BASE}/admin/calendar/?search=春节")
        save_page(driver, "calendar-list")
        driver.get(f"{BASE}/admin/calendar/arrangement?year=2027")
        save_page(driver, "calendar-arrangement")
        workdays = driver.find_element(By.NAME, "make_up_workdays")
        workdays.clear()
        workdays.send_keys("2027-02-06 2027-02-22 2月20日")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        save_page(driver, "calendar-arrangement-refused")
        driver.get(f"{BASE}/logout")
        log_in(driver, "district")
        driver.get(f"{BASE}/admin/")
        save_page(driver, "calendar-district-home")


if __name__ == "__main__":
    main()
