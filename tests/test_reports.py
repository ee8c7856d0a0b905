"""The indicator workbook and the printable monthly report with its PDF (issue 11 § 7)."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from integrations.pdf import pdf_unavailable_reason
from models import ExportJob, db, utcnow
from models.stats.definitions import INDICATORS
from models.stats.indicators import indicators
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

from .conftest import session_csrf_token
from .test_admin_pages import after_photo, world  # noqa: F401  (garbage → community office)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTH = date(2026, 11, 1)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


@pytest.fixture()
def month_world(world):  # noqa: F811
    """Cases of November 2026 in both communities, some closed, one rated; rollups rebuilt."""
    from models.stats.rollups import rebuild

    staff = {"community1": world.users["community"], "community2": world.users["community2"]}
    for index, (lon, day) in enumerate(((120.004, 3), (120.006, 4), (120.014, 10),
                                         (120.025, 12), (120.026, 20))):
        ticket = report_ticket(Report(category_id=world.categories["garbage"].id,
                                      description=f"十一月垃圾{index}", lon=lon, lat=30.005),
                               now=at(day, 9)).ticket
        actor = Actor.staff(staff["community1" if lon < 120.02 else "community2"])
        if index % 2 == 0:
            perform(ticket, "accept", actor, expected_version=ticket.version, now=at(day, 10))
            perform(ticket, "submit", actor, expected_version=ticket.version, note="已清运",
                    attachments=after_photo(), now=at(day, 11))
    db.session.commit()
    rebuild(MONTH - timedelta(days=40), MONTH + timedelta(days=40))
    db.session.commit()
    return world


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return load_workbook(io.BytesIO(response.data))


def test_the_indicator_workbook_equals_the_indicator_function(month_world, login_as):
    client = login_as("district")
    book = workbook(client.get("/admin/report/indicators.xlsx?from=2026-11-01&to=2026-11-30"
                               "&group_by=community"))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header == ["社区"] + [i.name for i in INDICATORS]
    expected = indicators(month_world.users["district"], MONTH, date(2026, 11, 30),
                          group_by="community")
    assert len(expected) == 2 and sheet.max_row == len(expected) + 1
    for row, want in zip(sheet.iter_rows(min_row=2), expected):
        assert row[0].value == want.label
        for cell, indicator in zip(row[1:], INDICATORS):
            value = want.values.get(indicator.code)
            assert cell.value == (pytest.approx(value) if isinstance(value, float) else value), \
                indicator.code
            if indicator.unit == "ratio" and value is not None:
                assert cell.number_format == "0.0%"
    definitions = book.worksheets[1]
    assert definitions.cell(2, 1).value == INDICATORS[0].name
    assert definitions.cell(2, 2).value == INDICATORS[0].definition


def test_indicator_sheets_by_month_or_day_have_real_date_cells(month_world, login_as):
    client = login_as("district")
    sheet = workbook(client.get("/admin/report/indicators.xlsx?from=2026-10-01&to=2026-11-30"
                                "&group_by=month")).worksheets[0]
    assert sheet.freeze_panes == "A2" and sheet.cell(1, 1).value == "月份"
    [november] = list(sheet.iter_rows(min_row=2))  # October has no figures
    assert november[0].is_date and november[0].value == datetime(2026, 11, 1)
    assert november[0].number_format == "yyyy-mm"
    received = [c.value for c in sheet[1]].index("受理量")
    assert november[received].value == 5
    sheet = workbook(client.get("/admin/report/indicators.xlsx?from=2026-11-01&to=2026-11-30"
                                "&group_by=day")).worksheets[0]
    days = {row[0].value: row[received].value for row in sheet.iter_rows(min_row=2)}
    assert all(sheet.cell(r, 1).is_date for r in range(2, sheet.max_row + 1))
    assert days[datetime(2026, 11, 3)] == 1 and sum(v for v in days.values()) == 5


def test_a_community_users_indicator_sheet_covers_only_their_community(month_world, login_as):
    client = login_as("community2")
    sheet = workbook(client.get("/admin/report/indicators.xlsx?month=2026-11"
                                "&group_by=community")).worksheets[0]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["乙社区"]
    received = [c.value for c in sheet[1]].index("受理量")
    assert sheet.cell(2, received + 1).value == 2
    other = month_world.areas["community1"].code
    refused = client.get(f"/admin/report/indicators.xlsx?month=2026-11&area={other}",
                         follow_redirects=True)
    assert "spreadsheetml" not in refused.headers["Content-Type"]
    message = refused.get_data(as_text=True)
    assert "alert-danger" in message and other in message  # the scope's message names the area


def test_the_printable_report_shows_summary_tables_charts_and_definitions(month_world, login_as):
    client = login_as("street")
    code = month_world.areas["street1"].code
    page = client.get(f"/admin/report/?area={code}&month=2026-11")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "一号街道 2026年11月" in html and "甲社区" in html
    for part in ("gd-report-summary", "gd-report-places", "gd-report-rankings",
                 "gd-report-hotspots", "gd-report-indicators"):
        assert f'id="{part}"' in html
    assert html.count("<svg") >= 3  # charts drawn on the server: they print
    assert INDICATORS[0].definition in html
    assert "css/report.css" in html
    css = client.get("/static/css/report.css").get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css


def test_a_bad_month_or_a_foreign_area_gets_a_message(month_world, login_as):
    client = login_as("community")
    bad = client.get("/admin/report/?area=T010101&month=2026-13", follow_redirects=True)
    assert bad.status_code == 200 and "YYYY-MM" in bad.get_data(as_text=True)
    other = client.get("/admin/report/?area=T010201&month=2026-11", follow_redirects=True)
    assert other.status_code == 200 and "乙社区 2026年11月" not in other.get_data(as_text=True)


def ask_for_the_pdf(client, area_code: str, month: str = "2026-11"):
    """Press the report page's PDF button; the job page it leads to."""
    page = client.get(f"/admin/report/?area={area_code}&month={month}").get_data(as_text=True)
    assert 'id="gd-report-pdf"' in page and 'method="post"' in page
    response = client.post("/admin/report/pdf", data={
        "csrf_token": session_csrf_token(client), "area": area_code, "month": month})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert "/admin/exports/" in response.headers["Location"]
    return response.headers["Location"]


@pytest.fixture()
def stopped_worker(monkeypatch):
    """The web worker queues the job but stops before running it: the scheduler picks it up."""
    from views.admin import export_views

    queued = []
    monkeypatch.setattr(export_views, "start_export", lambda app, job_id: queued.append(job_id))
    return queued


def scheduler_pickup() -> int:
    from jobs.sweeps import exports

    return exports(now=utcnow() + timedelta(minutes=1))["exports_run"]


def test_the_pdf_report_is_made_in_the_background_and_has_chinese_text(month_world, login_as,
                                                                       stopped_worker):
    reason = pdf_unavailable_reason()
    if reason:
        pytest.skip(f"PDF reports need the system's Pango: {reason}")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian package poppler-utils) is not installed")
    client = login_as("street")
    code = month_world.areas["street1"].code
    job_url = ask_for_the_pdf(client, code)
    assert len(stopped_worker) == 1
    waiting = client.get(job_url + "status").get_json()
    assert waiting["state"] == "queued" and waiting["download_url"] is None
    page = client.get(job_url).get_data(as_text=True)
    assert "月度报告（PDF）一号街道 2026-11" in page and "0 / 4 步" in page
    assert "gd-export-download" in page

    assert scheduler_pickup() == 1
    status = client.get(job_url + "status").get_json()
    assert status["state"] == "done" and status["percent"] == 100, status
    assert status["progress_text"] == "已完成：4 / 4 步"
    assert "下载 PDF" in client.get(job_url).get_data(as_text=True)
    response = client.get(status["download_url"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "2026-11.pdf" in response.headers["Content-Disposition"]
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data,
                          capture_output=True, check=True).stdout.decode("utf-8")
    assert "一号街道" in text and "月度报告" in text.replace(" ", "")
    assert "甲社区" in text and "受理量" in text
    # The file is the requesting user's: another user finds no such job.
    other = login_as("community2")
    assert other.get(job_url).status_code == 404
    assert other.get(status["download_url"]).status_code == 404
    assert "月度报告（PDF）" in client.get("/admin/exports/").get_data(as_text=True)


def test_a_pdf_that_cannot_be_made_fails_with_its_reason(month_world, login_as, stopped_worker,
                                                         monkeypatch):
    from integrations.exports import writers
    from integrations.pdf import PdfUnavailable

    def no_pango(html):
        raise PdfUnavailable("the Pango library WeasyPrint needs is missing")

    monkeypatch.setattr(writers, "report_pdf", no_pango)
    client = login_as("street")
    job_url = ask_for_the_pdf(client, month_world.areas["street1"].code)
    assert scheduler_pickup() == 1
    status = client.get(job_url + "status").get_json()
    assert status["state"] == "failed" and status["download_url"] is None
    assert "系统库" in status["error"] or "打印" in status["error"], status["error"]
    page = client.get(job_url).get_data(as_text=True)
    assert status["error"] in page and 'id="gd-export-error"' in page


def test_a_pdf_for_a_bad_month_or_a_foreign_area_is_refused_before_queuing(month_world, login_as):
    client = login_as("community")
    before = db.session.execute(sa.select(sa.func.count()).select_from(ExportJob)).scalar_one()
    for area, month in (("T010101", "2026-13"), ("T010201", "2026-11")):
        answer = client.post("/admin/report/pdf", data={
            "csrf_token": session_csrf_token(client), "area": area, "month": month},
            follow_redirects=True)
        assert answer.status_code == 200 and "alert-danger" in answer.get_data(as_text=True)
    after = db.session.execute(sa.select(sa.func.count()).select_from(ExportJob)).scalar_one()
    assert after == before
    # An old link to the PDF opens the report page, whose button makes the PDF.
    old = client.get("/admin/report/pdf?area=T010101&month=2026-11")
    assert old.status_code == 302 and "/admin/report/?" in old.headers["Location"]


def test_server_side_charts_escape_their_labels():
    from integrations.charts.svg import bar_chart, column_chart

    bars = bar_chart([("<script>alert(1)</script>", 3), ("甲社区", 5)], title="受理量")
    columns = column_chart(["01", "02"], [("受理量", [1, 4]), ("办结量", [0, 2])], title="每日")
    for svg in (bars, columns):
        assert svg.startswith("<svg") and svg.endswith("</svg>") and "<script>" not in svg
    assert "&lt;script&gt;" in bars and "甲社区" in bars
    assert columns.count("<rect") == 4 + 2  # four columns and two legend keys


def test_the_dashboard_links_its_own_filters_to_the_indicator_sheet(month_world, login_as):
    """The dashboard had no export; its link opens the sheet of the same range and area (by
    code), grouped one level down, and the sheet counts what happened: recounted here from the
    tickets themselves."""
    import html as htmllib
    import re

    from models import Ticket

    client = login_as("street")
    street = month_world.areas["street1"]
    page = client.get(f"/admin/stats/?from=2026-11-01&to=2026-11-30&area={street.id}"
                      ).get_data(as_text=True)
    href = htmllib.unescape(re.search(r'id="gd-indicator-sheet" href="([^"]+)"|'
                                      r'href="([^"]+)" id="gd-indicator-sheet"', page).group(2))
    assert f"area={street.code}" in href and "group_by=community" in href
    sheet = workbook(client.get(href)).worksheets[0]
    received = [c.value for c in sheet[1]].index("受理量")
    reported = db.session.execute(sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.street_id == street.id, Ticket.created_at >= at(1, 0),
        Ticket.created_at < datetime(2026, 12, 1, tzinfo=SHANGHAI))).scalar_one()
    assert reported == 3
    assert sum(row[received].value or 0 for row in sheet.iter_rows(min_row=2)) == reported
    # A person's own figures (a grid worker's) are no area sheet: no link.
    assert 'id="gd-indicator-sheet"' not in login_as("gridworker").get(
        "/admin/stats/?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
