"""Exports (issue 11 § 7, issue 13 § 5): the ticket list with any filter as a background .xlsx
job with its progress, read in keyset batches; formula-looking text stays text everywhere."""
from __future__ import annotations

import inspect
import io
import re
import math
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from integrations.excel.cells import cell
from integrations.exports.runner import THREAD_PREFIX, run_export
from models import ExportJob, Ticket, TicketStatus, db, utcnow
from models.exports.jobs import queue_export
from models.exports.ticket_rows import export_condition, row_batches
from models.vocabulary import AreaLevel, ExportState, Priority, Source

from .conftest import session_csrf_token
from .factories import make_ticket
from .test_ticket_list import SHANGHAI, filter_indexes, listed, local, world  # noqa: F401

NUMBER, TITLE, COMMUNITY, CREATED = "工单编号", "标题", "社区", "创建时间"


def wait_for_exports() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith(THREAD_PREFIX):
            thread.join(timeout=120)


def export_all(client, query: str = ""):
    """Press "export all" on the list with this query; wait for the job; its status and book."""
    response = client.post("/admin/ticket/export-all/" + (f"?{query}" if query else ""),
                           data={"csrf_token": session_csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    job_url = response.headers["Location"]
    assert "/admin/exports/" in job_url
    wait_for_exports()
    page = client.get(job_url).get_data(as_text=True)
    status = client.get(job_url + "status").get_json()
    assert status["state"] == "done", status
    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert "spreadsheetml" in download.headers["Content-Type"]
    # An ASCII name that still says whose file it is, and the Chinese one for browsers that read it.
    disposition = download.headers["Content-Disposition"]
    assert re.search(r'filename="griddesk-[0-9-]+\.xlsx"', disposition), disposition
    assert "filename*=UTF-8''%E5%B7%A5%E5%8D%95-" in disposition  # 工单-
    return page, status, load_workbook(io.BytesIO(download.data))


def sheet_rows(book) -> list[dict]:
    sheet = book.active
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, [c for c in row])) for row in sheet.iter_rows(min_row=2)]


def test_export_all_has_every_row_of_the_filtered_list_not_just_the_page(world, login_as):
    formula = make_ticket(world, "grid1", title="=HYPERLINK(\"http://x\",\"点我\")",
                          status=TicketStatus.IN_PROGRESS, created_at=local(2026, 3, 20, 23, 45))
    formula.address = "+86 坏人路"
    db.session.commit()
    client = login_as("community")  # community 1: grids 1 and 2
    indexes = filter_indexes(client.get("/admin/ticket/").get_data(as_text=True))
    query = f"flt0_{indexes['状态']}=in_progress&page_size=20"
    shown = listed(client.get(f"/admin/ticket/?{query}").get_data(as_text=True))
    assert len(shown) == 3

    page, status, book = export_all(client, query)
    assert "gd-export-job" in page and status["progress"] == status["total"] == 3
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    rows = sheet_rows(book)
    assert [r[NUMBER].value for r in rows] == shown  # same rows, same order
    by_number = {r[NUMBER].value: r for r in rows}
    evil = by_number[formula.number]
    assert evil[TITLE].value == formula.title and evil[TITLE].data_type == "s"
    assert evil["地址"].value == "+86 坏人路" and evil["地址"].data_type == "s"
    # 23:45 in Shanghai on 20 March is a real date cell showing that local time.
    assert evil[CREATED].value == datetime(2026, 3, 20, 23, 45) and evil[CREATED].is_date
    b = world.tickets["b"]
    assert by_number[b.number][CREATED].value == datetime(2026, 3, 2, 0, 30)
    assert by_number[b.number]["紧急程度"].value == "紧急" or by_number[b.number]["紧急程度"].value
    assert by_number[b.number][COMMUNITY].value == "甲社区"
    assert by_number[b.number]["网格"].value == "甲二网格"
    # The street, and the whole description (titles are cut at 40 characters).
    assert by_number[b.number]["街道"].value == b.street.name
    assert by_number[b.number]["描述"].value == b.description and b.description
    assert "办结时间" in by_number[b.number]


def test_export_all_with_a_search_and_a_date_range(world, login_as):
    client = login_as("district")
    indexes = filter_indexes(client.get("/admin/ticket/").get_data(as_text=True))
    query = f"flt0_{indexes['创建时间']}=2026-03-02+to+2026-03-12&search=%E4%B9%99"  # 乙
    shown = listed(client.get(f"/admin/ticket/?{query}").get_data(as_text=True))
    _page, _status, book = export_all(client, query)
    assert [r[NUMBER].value for r in sheet_rows(book)] == shown
    assert sorted(shown) == sorted(world.tickets[k].number for k in ("c", "e"))


def test_a_community_users_export_covers_only_their_community(world, login_as):
    _page, status, book = export_all(login_as("community2"))
    numbers = {r[NUMBER].value for r in sheet_rows(book)}
    assert numbers == {world.tickets[k].number for k in ("c", "e")}
    assert {r[COMMUNITY].value for r in sheet_rows(book)} == {"乙社区"}
    assert status["total"] == 2


def test_an_export_belongs_to_the_user_who_asked_for_it(world, login_as):
    owner = login_as("community")
    response = owner.post("/admin/ticket/export-all/", data={"csrf_token": session_csrf_token(owner)})
    wait_for_exports()
    job_url = response.headers["Location"]
    stranger = login_as("community2")
    assert stranger.get(job_url).status_code == 404
    assert stranger.get(job_url + "download").status_code == 404
    assert owner.get(job_url + "download").status_code == 200
    assert "gd-export-list" in owner.get("/admin/exports/").get_data(as_text=True)


def test_the_ticked_rows_export_keeps_formula_text_as_text(world, login_as):
    ticket = world.tickets["a"]
    ticket.title = "@SUM(A1:A9)"
    db.session.commit()
    client = login_as("community")
    response = client.post("/admin/ticket/action/", data={
        "action": "export", "rowid": [str(ticket.id)], "csrf_token": session_csrf_token(client),
        "url": "/admin/ticket/"})
    row = sheet_rows(load_workbook(io.BytesIO(response.data)))[0]
    assert row[TITLE].value == "@SUM(A1:A9)" and row[TITLE].data_type == "s"
    assert row[CREATED].value == datetime(2026, 3, 1, 23, 30)


def test_the_one_cell_rule_for_every_workbook():
    sheet = Workbook().active
    for text in ("=1+2", "+1", "-1", "@x", "\tx", "\rx"):
        sheet.append([cell(sheet, text)])
    sheet.append([cell(sheet, "普通文字"), cell(sheet, -5)])
    buffer = io.BytesIO()
    sheet.parent.save(buffer)
    back = load_workbook(io.BytesIO(buffer.getvalue())).active
    values = [(row[0].value, row[0].data_type, row[0].quotePrefix) for row in back.iter_rows()]
    # (XML reads a lone carriage return back as a line feed; it is still text.)
    assert values[:6] == [(t, "s", True) for t in ("=1+2", "+1", "-1", "@x", "\tx", "\nx")]
    assert back.cell(7, 2).value == -5 and back.cell(7, 2).data_type == "n"


def test_the_ledger_error_workbook_keeps_formula_text_as_text(ctx):
    from integrations.ledger.importer import ImportReport, error_workbook

    report = ImportReport(headers=["描述", "电话"], file_name="x.xlsx", sheet="Sheet1",
                          dry_run=True, mapping={})
    report.errors.append({"row": 3, "issues": [["描述", "太短"]],
                          "values": ["=cmd|'/c calc'!A1", "+8613800000000"]})
    sheet = load_workbook(io.BytesIO(error_workbook(report))).active
    assert sheet.cell(2, 4).value == "=cmd|'/c calc'!A1" and sheet.cell(2, 4).data_type == "s"
    assert sheet.cell(2, 5).data_type == "s"


# --- a large export: batches, not the whole result --------------------------------------------

def insert_tickets(world, count: int) -> None:
    grid = world.areas["grid1"]
    start = utcnow() - timedelta(days=30)
    rows = [{"number": f"GD20260101{i:06d}", "title": f"批量{i}", "description": "",
             "category_id": world.categories["garbage"].id, "priority": Priority.NORMAL,
             "source": Source.PHONE, "status": TicketStatus.PENDING,
             "district_id": world.areas["district"].id, "street_id": world.areas["street1"].id,
             "community_id": world.areas["community1"].id, "grid_id": grid.id,
             "tracking_code": f"T{i:09d}", "current_level": AreaLevel.GRID,
             "location_flagged": False, "rework_count": 0, "reopen_count": 0, "event_seq": 0,
             "version": 1, "created_at": start + timedelta(seconds=i // 3),  # ties on purpose
             "updated_at": start, "last_activity_at": start}
            for i in range(count)]
    for offset in range(0, count, 5000):
        db.session.execute(sa.insert(Ticket), rows[offset:offset + 5000])
    db.session.commit()


def test_a_large_export_is_streamed_in_batches(ctx, login_as):
    from .factories import build_world

    world = build_world()
    db.session.commit()
    total = 20_000
    insert_tickets(world, total)
    user = world.users["community"]
    batches = row_batches(export_condition(user, []), batch_size=1000)
    assert inspect.isgenerator(batches)  # nothing is read before the writer asks
    sizes, seen = [], set()
    for batch in batches:
        sizes.append(len(batch))
        assert all(isinstance(row, sa.Row) for row in batch)  # plain rows, not ORM objects
        seen.update(row.id for row in batch)
    assert max(sizes) == 1000 and len(sizes) == math.ceil(total / 1000)
    assert len(seen) == total  # keyset paging over equal timestamps loses and repeats nothing

    job = queue_export(user, "tickets", {"filters": [], "search": ""})
    db.session.commit()
    assert run_export(job.id)
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.state == ExportState.DONE and job.progress == job.total == total
    from integrations.exports.runner import export_path

    book = load_workbook(export_path(job), read_only=True)
    assert sum(1 for _row in book.active.iter_rows(values_only=True)) == total + 1


def test_the_scheduler_runs_an_export_whose_worker_stopped(world):
    from jobs.sweeps import exports

    user = world.users["community"]
    job = queue_export(user, "tickets", {"filters": [["status", "in_progress"]], "search": ""})
    job.created_at = utcnow() - timedelta(minutes=2)  # its web worker never started it
    stuck = queue_export(user, "tickets", {"filters": [], "search": ""})
    stuck.state, stuck.heartbeat_at = ExportState.RUNNING, utcnow() - timedelta(hours=1)
    db.session.commit()
    assert exports()["exports_run"] == 2
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).total == 2  # b and f
    assert db.session.get(ExportJob, stuck.id).state == ExportState.DONE
    assert exports()["exports_run"] == 0


def test_the_export_has_the_reporter_and_the_phone_as_the_user_may_read_it(world, login_as):
    a, d = world.tickets["a"], world.tickets["d"]  # a is assigned to the grid worker
    a.reporter_name, a.reporter_phone = "赵大妈", "13800001234"
    d.reporter_name = "钱师傅"
    db.session.commit()
    _page, _status, book = export_all(login_as("community"))  # a manager phones back: all of it
    rows = {r[NUMBER].value: r for r in sheet_rows(book)}
    assert rows[a.number]["上报人"].value == "赵大妈"
    assert rows[a.number]["上报人电话"].value == "13800001234"
    assert rows[d.number]["上报人"].value == "钱师傅"
    assert rows[d.number]["上报人电话"].value == d.reporter_phone == "13900001111"

    # The grid worker: the ticket assigned to them in full; one they reported (and so see)
    # but is not theirs to handle, masked.
    reported = make_ticket(world, "grid1", title="巡查发现井盖松动", reporter_phone="13955556666",
                           created_at=local(2026, 3, 16, 9, 0))
    reported.created_by_id = world.users["gridworker"].id
    db.session.commit()
    worker = login_as("gridworker")
    response = worker.post("/admin/ticket/action/", data={
        "action": "export", "rowid": [str(a.id), str(reported.id)],
        "csrf_token": session_csrf_token(worker), "url": "/admin/ticket/"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rows = {r[NUMBER].value: r for r in sheet_rows(load_workbook(io.BytesIO(response.data)))}
    assert rows[a.number]["上报人电话"].value == "13800001234"
    assert rows[reported.number]["上报人电话"].value == "139****6666"

    _page, _status, book = export_all(login_as("leader"))  # reads the district, calls nobody
    rows = {r[NUMBER].value: r for r in sheet_rows(book)}
    assert rows[a.number]["上报人"].value == "赵大妈"
    assert [rows[t.number]["上报人电话"].value for t in (a, d)] == ["138****1234", "139****1111"]
