"""Screenshots of the admin pages changed for issue 9 § 1, into docs/screenshots/admin-*.png:
a closed ticket with its stars and custom fields, the grid worker's patrol report form, the
Chinese 404 page (desktop and a 375 px phone) and the new-user form.

    .venv/bin/python docs/admin_screenshots.py
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402
from take_screenshots import BASE, OUT, PORT, ROOT, chromium, demo_server, log_in, save_page  # noqa: E402,F401


def setup_rated_ticket() -> None:
    """Runs inside the server's database (see main): a patrol report with custom-field answers,
    handled, approved and rated by its reporter, all through the workflow."""
    import io

    import sqlalchemy as sa
    from PIL import Image

    from admin_app import create_app
    from models import AttachmentKind, Category, Role, Source, User, db
    from models.tickets.attachments import Upload
    from models.tickets.intake import Report, report_ticket
    from models.tickets.workflow import Actor, perform

    app = create_app()
    with app.app_context():
        worker = db.session.execute(sa.select(User).where(User.username == "gridworker")).scalar_one()
        garbage = db.session.execute(sa.select(Category).where(Category.code == "0101")).scalar_one()
        ticket = report_ticket(Report(
            category_id=garbage.id, description="幸福路12号垃圾桶满溢，周边有散落垃圾", title="垃圾桶满溢",
            area_id=worker.scope_area_id, source=Source.PATROL, reporter_name="李阿姨",
            reporter_phone="13900001234", answers={"bins": ["3"], "kind": ["household"]}),
            actor=worker).ticket
        db.session.commit()
        handler = db.session.get(User, ticket.assigned_user_id) if ticket.assigned_user_id else \
            db.session.execute(sa.select(User).where(
                User.department_id == ticket.assigned_department_id, User.active.is_(True))
                .limit(1)).scalar_one()
        photo = io.BytesIO()
        Image.new("RGB", (64, 48), (90, 140, 90)).save(photo, "JPEG")
        perform(ticket, "accept", Actor.staff(handler), expected_version=ticket.version)
        perform(ticket, "submit", Actor.staff(handler), expected_version=ticket.version,
                note="已清运3桶，地面已清扫",
                attachments=[Upload(AttachmentKind.AFTER, "after.jpg", photo.getvalue())])
        reviewer = db.session.execute(sa.select(User).where(
            User.role == Role.ADMIN, User.id != handler.id).limit(1)).scalar_one()
        perform(ticket, "approve", Actor.staff(reviewer), expected_version=ticket.version)
        perform(ticket, "rate", Actor.reporter(), expected_version=ticket.version, rating=4,
                note="处理很快，下次早点来")
        db.session.commit()
        Path(os.environ["GRIDDESK_INSTANCE"], "rated_ticket").write_text(str(ticket.id))


def save_whole(driver, name: str) -> None:
    """save_page, measuring the document rather than the body (forms end below the body)."""
    import time

    time.sleep(0.3)
    height = driver.execute_script("return Math.max(document.documentElement.scrollHeight, "
                                   "document.body.scrollHeight)")
    driver.set_window_size(1440, min(max(height + 120, 700), 2400))
    driver.save_screenshot(str(OUT / f"{name}.png"))
    print("saved", name)


def phone_width(driver, width: int | None) -> None:
    if width is None:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(1440, 1000)
    else:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 760, "deviceScaleFactor": 1, "mobile": True})


def main() -> None:
    with demo_server("griddesk-admin-shots-") as workdir:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'shots.db'}",
                   GRIDDESK_INSTANCE=str(workdir), PORT=str(PORT), GRIDDESK_ENV="demo")
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--setup"], cwd=ROOT,
                       env=env, check=True)
        ticket_id = (workdir / "rated_ticket").read_text()
        with chromium() as driver:
            log_in(driver, "community")
            driver.get(f"{BASE}/admin/ticket/details/?id={ticket_id}")
            save_whole(driver, "admin-ticket-details-stars-fields")

            log_in(driver, "gridworker")
            driver.set_window_size(1440, 1000)
            driver.get(f"{BASE}/admin/ticket/new/")
            Select(driver.find_element(By.NAME, "category_id")).select_by_value(
                driver.execute_script(
                    "return document.querySelector('.gd-custom-fields').dataset.category"))
            save_whole(driver, "admin-gridworker-create")
            driver.get(f"{BASE}/admin/ticket/details/?id=99999999")
            save_page(driver, "admin-404")
            phone_width(driver, 375)
            driver.get(f"{BASE}/admin/ticket/details/?id=99999999")
            driver.save_screenshot(str(OUT / "admin-404-375.png"))
            print("saved admin-404-375")
            phone_width(driver, None)

            log_in(driver, "admin")
            driver.set_window_size(1440, 1000)
            driver.get(f"{BASE}/admin/user/new/")
            save_whole(driver, "admin-user-create")


if __name__ == "__main__":
    if sys.argv[1:] == ["--setup"]:
        setup_rated_ticket()
    else:
        main()
