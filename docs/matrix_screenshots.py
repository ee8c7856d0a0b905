"""Screenshots of the board and the responsibility matrix (issue 9: one overdue definition, one
dispatch resolution), at 1440 px, into docs/screenshots/.

Retakes community-board and district-matrix as take_screenshots.py makes them, then deactivates
the department of one dispatch rule in the scratch demo database and shows the matrix with the
gap cells dispatch would fall through, each with its reason (admin-matrix-gaps).
"""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from take_screenshots import BASE, chromium, demo_server, log_in, save_page  # noqa: E402


def deactivate_one_rules_department(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE departments SET active = 0 WHERE id = (SELECT department_id FROM "
                     "dispatch_rules WHERE department_id IS NOT NULL AND active ORDER BY id "
                     "LIMIT 1)")


def main() -> None:
    with demo_server("griddesk-matrix-shots-") as workdir, chromium() as driver:
        log_in(driver, "community")
        driver.get(BASE + "/admin/board/")
        save_page(driver, "community-board")
        log_in(driver, "district")
        driver.get(BASE + "/admin/matrix/?level=street")
        save_page(driver, "district-matrix")
        deactivate_one_rules_department(workdir / "shots.db")
        log_in(driver, "admin")
        driver.get(BASE + "/admin/matrix/?level=community")
        save_page(driver, "admin-matrix-gaps", max_height=3000)


if __name__ == "__main__":
    main()
