"""The Excel ledger import in a real browser, on the seeded demo, with screenshots of each step.

Builds a messy office ledger with openpyxl (title rows, a merged community column, blank rows,
Chinese and full-width dates, an unknown category and grid…), uploads it as the administrator,
runs the dry run and the import (step by step with the progress bar), opens an imported ticket
and uploads the same file again. Screenshots go to docs/screenshots/ledger-*.png.
Run from docs/: python ledger_screenshots.py (needs chromium + chromium-driver).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from take_screenshots import BASE, OUT, chromium, demo_server, log_in, save_page

# Grids and categories of the demo district (models/demo.py).
PLACES = [("文新社区", "文新第一网格", "文一西路"), ("文新社区", "文新第二网格", "丰潭路"),
          ("古荡社区", "古荡第一网格", "古墩路"), ("益乐社区", "益乐第三网格", "益乐路")]
CASES = [("垃圾清运", "垃圾桶满溢，周边有异味"), ("道路保洁", "路面有油污"),
         ("乱停车", "小区消防通道被私家车占用"), ("路灯损坏", "路灯夜间不亮"),
         ("噪音扰民", "夜间装修噪音"), ("占道经营", "早市摊贩占用人行道")]
RESULTS = ["已清运，现场恢复整洁", "已通知物业处理", "已修复", "经劝导已整改"]


def sample_ledger(path: Path, rows: int) -> None:
    rng = random.Random(7)
    book = Workbook()
    sheet = book.active
    sheet.title = "2025年台账"
    sheet.append(["之江街道网格事件台账（2025年）"])
    sheet.merge_cells("A1:L1")
    sheet.append(["填报单位：之江街道网格化服务管理中心"])
    sheet.merge_cells("A2:L2")
    sheet.append(["序号", "上报时间", "事发地点", "所属社区", "所属网格", "事件类型", "问题描述",
                  "反映人", "联系电话", "处理人", "处理结果", "办结日期"])
    start = datetime(2025, 1, 2, 8, 0)
    number = 0
    for block in range(rows // 4):
        community, grid, road = PLACES[block % len(PLACES)]
        first = sheet.max_row + 1
        for k in range(4):
            number += 1
            day = start + timedelta(hours=3 * number + rng.randint(0, 2))
            category, text = rng.choice(CASES)
            closed = day + timedelta(days=rng.randint(0, 4))
            date_text = rng.choice([day, day.strftime("%Y年%-m月%-d日"), day.strftime("%Y/%m/%d %H:%M"),
                                    day.strftime("%Y.%-m.%-d")])
            done = rng.random() < 0.7
            sheet.append([number, date_text, f"{road}{rng.randint(1, 300)}号",
                          community if k == 0 else None, grid, category, f"{text}（{number}）",
                          rng.choice(["张先生", "李女士", "王阿姨", None]),
                          "１３９" + f"{rng.randint(0, 99999999):08d}".translate(
                              str.maketrans("0123456789", "０１２３４５６７８９")),
                          rng.choice(["周网格员", "陈师傅", None]),
                          rng.choice(RESULTS) if done else None,
                          closed.strftime("%Y年%-m月%-d日") if done else None])
        sheet.merge_cells(start_row=first, start_column=4, end_row=first + 3, end_column=4)
        if block % 10 == 3:
            sheet.append([None] * 12)  # blank rows here and there
        if block % 120 == 119:
            sheet.append([f"以下为第{block // 120 + 2}批"])  # a section title across the table
            sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row,
                              end_column=12)
    # The usual mistakes.
    sheet.append([number + 1, "3月12日", "文一西路5号", "文新社区", "文新第一网格", "垃圾清运",
                  "垃圾堆放", None, None, None, None, None])
    sheet.append([number + 2, "2025-03-13", "古墩路8号", "古荡社区", "古荡第九网格", "道路保洁",
                  "路面破损", None, None, None, None, None])
    sheet.append([number + 3, "2025年3月14日", "益乐路2号", "益乐社区", "益乐第三网格", "违章养鸡",
                  "楼顶养鸡", None, "1390000abcd", None, None, None])
    sheet.append([number + 4, "2025-03-15", "丰潭路6号", "文新社区", "文新第二网格", "乱停车",
                  "占用通道", None, None, None, "已处理", "2025-03-01"])
    for column, width in zip("ABCDEFGHIJKL", (6, 18, 16, 10, 14, 10, 28, 8, 14, 10, 20, 14)):
        sheet.column_dimensions[column].width = width
    book.save(path)


def shot(driver, name: str) -> None:
    save_page(driver, f"ledger-{name}")
    driver.set_window_size(1440, 1000)


def upload(driver, path: Path) -> None:
    driver.get(f"{BASE}/admin/ledger/")
    driver.find_element(By.NAME, "file").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "#gd-ledger-upload button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "gd-ledger-mapping"))


def run_and_wait(driver, button_id: str, mode: str, progress_shot: str | None = None) -> None:
    driver.find_element(By.ID, button_id).click()
    if progress_shot:
        WebDriverWait(driver, 30).until(
            lambda d: "%" in d.find_element(By.CSS_SELECTOR, "#gd-ledger-progress .progress-bar").text
            and d.find_element(By.CSS_SELECTOR, "#gd-ledger-progress .progress-bar").text != "0%")
        driver.save_screenshot(str(OUT / f"ledger-{progress_shot}.png"))
        print("saved", progress_shot)
    WebDriverWait(driver, 600).until(lambda d: f"/result/{mode}" in d.current_url)


def main() -> None:
    with demo_server("griddesk-ledger-shots-") as workdir, chromium() as driver:
        ledger = workdir / "之江街道2025年台账.xlsx"
        sample_ledger(ledger, rows=2400)
        log_in(driver, "admin")
        driver.get(f"{BASE}/admin/ledger/")
        shot(driver, "01-upload")
        upload(driver, ledger)
        shot(driver, "02-mapping")
        run_and_wait(driver, "gd-ledger-dry", "dry")
        shot(driver, "03-dry-run")
        run_and_wait(driver, "gd-ledger-import", "import", progress_shot="04-progress")
        shot(driver, "05-imported")
        upload(driver, ledger)
        run_and_wait(driver, "gd-ledger-import", "import")
        shot(driver, "06-reimport")
        first = driver.find_element(By.CSS_SELECTOR, "#gd-ledger-existing td:nth-child(2)").text
        ticket_number = first.split()[-1]
        driver.get(f"{BASE}/admin/ticket/?search={ticket_number}")
        driver.find_element(By.CSS_SELECTOR, "td.col-number a").click()
        shot(driver, "07-ticket")


if __name__ == "__main__":
    main()
