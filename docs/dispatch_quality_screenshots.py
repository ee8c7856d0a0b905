"""Screenshots of dispatch quality (派单质量) and the level view (哪一级办结), issue 12 points 3
and 5, at 1440 px, into docs/screenshots/ (prefix dispatch-quality-).

The demo's history routes 道路破损 by the rule to 城管, which returns most of them; the street
centre transfers them to 住建. The matrix marks that cell, the report page shows the evidence and
the suggested change; the level view shows where each category's cases were closed.
Set DQ_DEMO_RUNNING=1 to use a demo already served on SCREENSHOT_PORT.
"""
from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from take_screenshots import BASE, chromium, demo_server, log_in, save_page  # noqa: E402


def main() -> None:
    # DQ_DEMO_RUNNING=1: a demo already serves on SCREENSHOT_PORT (seeding takes minutes)
    running = os.environ.get("DQ_DEMO_RUNNING")
    with (nullcontext() if running else demo_server("griddesk-dq-shots-")), chromium() as driver:
        log_in(driver, "admin")
        driver.get(BASE + "/admin/matrix/?level=street")
        save_page(driver, "dispatch-quality-matrix-flagged")
        driver.get(BASE + "/admin/dispatch-quality/")
        save_page(driver, "dispatch-quality-report", max_height=3000)
        driver.get(BASE + "/admin/matrix/levels?months=12")
        save_page(driver, "dispatch-quality-levels")


if __name__ == "__main__":
    main()
