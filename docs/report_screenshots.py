"""The monthly report and the ticket export in a real browser, on the seeded demo.

Saves docs/screenshots/stats-report.png (the printable report page at 1440 px),
stats-report-pdf-job.png (the PDF's export job when it is ready), stats-report-pdf.png (the
first page of that PDF, rendered with pdftoppm) and export-progress.png (an "export all" job
after it finished).
Run from docs/: python report_screenshots.py (needs chromium + chromium-driver, poppler-utils).
"""
from __future__ import annotations

import http.cookiejar
import subprocess
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
import take_screenshots
from take_screenshots import BASE, OUT, chromium, demo_server, log_in, save_page


def _patient(sleep=time.sleep):
    """The demo takes minutes to seed on a busy machine: wait four times longer for it."""
    return lambda seconds: sleep(seconds * 4)


take_screenshots.time = type("PatientTime", (), {"sleep": staticmethod(_patient()),
                                                 "time": staticmethod(time.time)})


def last_month() -> str:
    return (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def fetch_pdf(driver, url: str) -> bytes:
    """The PDF with the browser's session cookie (headless Chromium shows no PDF viewer)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with opener.open(request, timeout=120) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        return response.read()


def main() -> None:
    with demo_server("griddesk-report-shots-"), chromium() as driver:
        log_in(driver, "street")
        month = last_month()
        driver.get(f"{BASE}/admin/report/?month={month}")
        driver.find_element(By.CSS_SELECTOR, "#gd-report-form button").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "gd-report-title"))
        report_url = driver.current_url
        for _attempt in range(30):  # the demo's scheduler folds the seeded history into rollups
            received = driver.find_element(By.CSS_SELECTOR, ".gd-figure-value").text
            if received not in ("0", "—"):
                break
            time.sleep(5)
            driver.get(report_url)
        save_page(driver, "stats-report", max_height=9000)
        # The PDF is a background job: its page shows the steps, then offers the file.
        driver.find_element(By.CSS_SELECTOR, "#gd-report-pdf button").click()
        WebDriverWait(driver, 300).until(
            lambda d: d.find_element(By.ID, "gd-export-download").is_displayed())
        save_page(driver, "stats-report-pdf-job")
        pdf_url = driver.find_element(By.ID, "gd-export-download").get_attribute("href")
        pdf = fetch_pdf(driver, pdf_url)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "report.pdf"
            path.write_bytes(pdf)
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                            str(path), str(OUT / "stats-report-pdf")], check=True)
            text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                  text=True, check=True).stdout
        print("saved stats-report-pdf;", "PDF text starts:", text.strip().splitlines()[0])

        driver.get(f"{BASE}/admin/ticket/")
        driver.find_element(By.CSS_SELECTOR, "#gd-export-all button").click()
        WebDriverWait(driver, 120).until(
            lambda d: d.find_element(By.ID, "gd-export-download").is_displayed())
        save_page(driver, "export-progress")


if __name__ == "__main__":
    main()
