"""Excel ledger import: a messy office sheet through the admin page and the CLI, dry run, error
sheet, re-import that creates nothing, progress in steps, scope and access."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from integrations.ledger.importer import (Resolver, ValueProblem, guess_mapping, import_ledger,
                                           parse_date, parse_phone, read_ledger)
from jobs.sweeps import deadline_sweep
from models import Category, Source, Ticket, TicketEvent, TicketStatus, db, utcnow
from models.areas.locate import invalidate_area_index
from models.tickets.deadlines import deadline_state
from models.tickets.timeline import replays_to_ticket

from .conftest import session_csrf_token
from .factories import build_world

SH = ZoneInfo("Asia/Shanghai")
HEADERS = ["序号", "上报日期", "事发地点", "所属社区", "所属网格", "问题类型", "问题描述", "反映人",
           "联系电话", "处理人", "处理结果", "办结日期", "备注"]
GOOD_ROWS = (4, 5, 7, 9, 13)
BAD_ROWS = (8, 10, 11, 12, 14)


@pytest.fixture()
def world(ctx):
    invalidate_area_index()
    w = build_world()
    w.categories["sweeping"] = Category(code="0102", name="道路保洁", parent=w.categories["top"])
    db.session.add(w.categories["sweeping"])
    db.session.commit()
    return w


def messy_ledger() -> bytes:
    """The office's sheet: two title rows, a community merged over four rows (one of them
    blank), blank rows, a datetime cell, a serial number, Chinese and full-width dates and
    phones, an unknown category, an unknown grid, a date without year, a closed date before the
    report and a row without description."""
    book = Workbook()
    sheet = book.active
    sheet.title = "三月台账"
    sheet.append(["甲乙社区网格事件台账（2025年3月）"])
    sheet.merge_cells("A1:M1")
    sheet.append(["填报单位：一号街道网格中心　　填报时间：2025年4月1日"])
    sheet.merge_cells("A2:M2")
    sheet.append(HEADERS)
    rows = {
        4: [1, datetime(2025, 3, 5, 9, 30), "文一路12号", "甲社区", "甲一网格", "垃圾清运",
            "垃圾桶满溢，无人清运", "张三", "１３９００００１１１１", "用户gridworker", "已清运",
            "2025年3月6日", "居民回访满意"],
        5: [2, "2025年3月5日", "文一路15号", None, "甲二", "垃圾清运不及时", "路边垃圾堆积",
            "李四", 13800002222, None, None, None, None],
        6: [None] * 13,  # blank, although inside the merged community block
        7: [3, "２０２５／３／７　１４:２０", "文二路口", None, "甲一网格", "道路保洁", "路面油污",
            None, None, "王师傅", None, None, None],
        8: [4, "2025.3.8", "文二路8号", "甲社区", "甲二网格", "违章养鸡", "楼顶养鸡", None, None,
            None, None, None, None],
        9: [5, 45726, "乙路2号", "乙社区", "乙一网格", "街面环境卫生/道路保洁", "落叶堆积", "王五",
            "0571-8888 6666", None, "已清扫", datetime(2025, 3, 10, 16, 0), None],
        10: [6, "2025-03-10", "乙路9号", "乙社区", "丙九网格", "垃圾清运", "垃圾外溢", None, None,
             None, None, None, None],
        11: [7, "3月12日", "乙路3号", "乙社区", "乙一网格", "垃圾清运", "垃圾", None,
             "1390000abcd", None, None, None, None],
        12: [8, datetime(2025, 3, 12), "乙路5号", "乙社区", "乙一网格", "道路保洁", "积水", None, None,
             "用户xyz", "已处理", "2025-03-11", None],
        13: [9, "2025-03-13 08:00", "乙社区服务站", "乙社区", None, "道路保洁", "人行道砖松动",
             None, None, None, None, None, None],
        14: [10, "2025-03-14", "文一路1号", "甲社区", "甲一网格", "垃圾清运", None, None, None,
             None, None, None, None],
    }
    for number in range(4, 15):
        sheet.append(rows[number])
    sheet.append(["以下为四月补录"])  # a section title across the table: skipped, noted
    sheet.merge_cells("A15:M15")
    sheet.merge_cells("D4:D7")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def tickets() -> list[Ticket]:
    db.session.expire_all()
    return db.session.execute(sa.select(Ticket).order_by(Ticket.id)).scalars().all()


def events_of(ticket: Ticket) -> list[TicketEvent]:
    return db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.seq)).scalars().all()


def upload(client, data: bytes, name: str = "三月台账.xlsx"):
    return client.post("/admin/ledger/", data={"csrf_token": session_csrf_token(client),
                                               "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.search(r"/admin/ledger/([0-9a-f]{32})/$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def guessed_mapping(page: str) -> dict:
    """The column each select of the mapping page has chosen."""
    mapping = {}
    for key, body in re.findall(r'<select[^>]*name="map_(\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="(\d*)"\s+selected', body)
        mapping[f"map_{key}"] = chosen.group(1) if chosen else ""
    return mapping


def run(client, token: str, mapping: dict, action: str):
    return client.post(f"/admin/ledger/{token}/", data=dict(
        mapping, csrf_token=session_csrf_token(client), action=action))


# --- the admin page, end to end --------------------------------------------------------------

def test_messy_ledger_through_the_admin_page(world, login_as):
    client = login_as("admin")
    assert "gd-ledger-upload" in client.get("/admin/ledger/").get_data(as_text=True)
    token = token_of(upload(client, messy_ledger()))

    page = client.get(f"/admin/ledger/{token}/").get_data(as_text=True)
    mapping = guessed_mapping(page)
    # The header was found in row 3 under the two title rows; every field guessed.
    assert "表头在第 3 行" in page or "header in row 3" in page
    assert mapping == {"map_date": "1", "map_place": "2", "map_grid": "4", "map_community": "3",
                       "map_category": "5", "map_description": "6", "map_reporter": "7",
                       "map_phone": "8", "map_handler": "9", "map_result": "10",
                       "map_closed": "11"}
    preview = page[page.index('id="gd-ledger-preview"'):page.index('id="gd-ledger-raw"')]
    assert "13900001111" in preview and "甲二网格" in preview  # full-width phone, "甲二"
    assert "违章养鸡" in preview  # the unknown category, with its reason
    assert "2025-03-07 14:20" in preview
    assert "已跳过 1 个空行" in page and "已跳过 1 个分节标题行" in page

    # Dry run: the report, nothing written.
    dry = run(client, token, mapping, "dry")
    assert dry.status_code == 302 and dry.headers["Location"].endswith(f"/{token}/result/dry")
    assert tickets() == []
    report = client.get(dry.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="gd-count-imported">5<', report)
    assert re.search(r'id="gd-count-invalid">5<', report)
    assert "gd-ledger-dry-note" in report
    errors = report[report.index('id="gd-ledger-errors"'):]
    for row in BAD_ROWS:
        assert f"<tr><td>{row}</td>" in errors

    # The real run.
    started = utcnow()
    done = run(client, token, mapping, "import")
    assert done.headers["Location"].endswith(f"/{token}/result/import")
    result = client.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="gd-count-imported">5<', result)
    assert re.search(r'id="gd-count-invalid">5<', result)
    imported = tickets()
    assert len(imported) == 5
    by_row = {t.attributes["ledger"]["row"]: t for t in imported}
    assert sorted(by_row) == list(GOOD_ROWS)
    for ticket in imported:
        assert ticket.source == Source.IMPORT
        assert ticket.external_ref.startswith("ledger:") and len(ticket.external_ref) == 71
        assert ticket.attributes["ledger"]["file"] == "三月台账.xlsx"
        assert replays_to_ticket(ticket, events_of(ticket))
        assert ticket.created_by_id == world.users["admin"].id

    a = by_row[4]  # datetime cell, full-width phone, matched handler, closed
    assert a.created_at == datetime(2025, 3, 5, 9, 30, tzinfo=SH)
    assert a.number.startswith("GD20250305")
    assert (a.grid_id, a.community_id) == (world.areas["grid1"].id, world.areas["community1"].id)
    assert a.category_id == world.categories["garbage"].id
    assert a.reporter_phone == "13900001111" and a.reporter_name == "张三"
    assert a.address == "文一路12号"
    assert a.status == TicketStatus.CLOSED
    assert a.closed_at == datetime(2025, 3, 6, tzinfo=SH)
    assert a.assigned_user_id == world.users["gridworker"].id
    assert a.attributes["ledger"]["extra"] == {"序号": "1", "备注": "居民回访满意"}
    timeline = events_of(a)
    assert [(e.action, e.to_status) for e in timeline] == [
        ("create", TicketStatus.PENDING), ("import", TicketStatus.IN_PROGRESS),
        ("import", TicketStatus.CLOSED)]
    assert [e.created_at for e in timeline] == [a.created_at, a.created_at, a.closed_at]
    assert timeline[1].actor_user_id == world.users["admin"].id
    assert timeline[1].details["row"] == 4 and timeline[1].details["file"] == "三月台账.xlsx"
    assert "导入" in timeline[1].note
    assert timeline[2].note.startswith("已清运")

    b = by_row[5]  # 2025年3月5日, community from the merged cell, "甲二" → 甲二网格, contained category
    assert b.created_at == datetime(2025, 3, 5, tzinfo=SH)
    assert (b.grid_id, b.community_id) == (world.areas["grid2"].id, world.areas["community1"].id)
    assert b.category_id == world.categories["garbage"].id
    assert b.status == TicketStatus.PENDING and b.closed_at is None
    assert b.reporter_phone == "13800002222"
    # Still open: dispatched now by the matrix, its clock starting at the import, not in 2025.
    assert b.assigned_department_id == world.departments["street1_centre"].id
    assert started < b.accept_deadline < b.handle_deadline
    assert deadline_state(b, utcnow()) == "green"
    assert [e.action for e in events_of(b)] == ["create", "import", "dispatch"]
    assert all(t.accept_deadline is None and t.handle_deadline is None
               for t in (a, by_row[9]))  # closed rows keep no deadlines

    c = by_row[7]  # a handler GridDesk does not know: pending, dispatched to the matrix's owner
    assert c.created_at == datetime(2025, 3, 7, 14, 20, tzinfo=SH)
    assert c.community_id == world.areas["community1"].id  # merged cell over a blank row
    assert c.status == TicketStatus.PENDING and c.assigned_user_id is None
    assert c.assigned_department_id == world.departments["street1_centre"].id
    assert started < c.accept_deadline
    assert c.attributes["ledger"]["handler"] == "王师傅"

    d = by_row[9]  # Excel serial number, "main/sub" category, landline, closed datetime cell
    assert d.created_at == datetime(2025, 3, 10, tzinfo=SH)
    assert d.grid_id == world.areas["grid3"].id
    assert d.category_id == world.categories["sweeping"].id
    assert d.reporter_phone == "057188886666"
    assert d.status == TicketStatus.CLOSED and d.closed_at == datetime(2025, 3, 10, 16, tzinfo=SH)

    e = by_row[13]  # only the community: a community-level ticket
    assert e.community_id == world.areas["community2"].id and e.grid_id is None
    assert e.street_id == world.areas["street2"].id

    # The per-row report on the page: row number, column and reason.
    errors = result[result.index('id="gd-ledger-errors"'):]
    expected = {8: ("问题类型", "违章养鸡"), 10: ("所属网格", "丙九网格"), 11: ("上报日期", "年份"),
                12: ("办结日期", "早于"), 14: ("问题描述", "")}
    for row, (column, words) in expected.items():
        line = re.search(rf"<tr><td>{row}</td><td[^>]*>{column}</td><td>([^<]*)</td>", errors)
        assert line, (row, column)
        assert words in line.group(1)
    assert re.search(r"<tr><td>11</td><td[^>]*>联系电话</td>", errors)  # two problems in row 11

    # The error sheet: one line per row not imported, with the reasons and the original values.
    sheet_response = client.get(f"/admin/ledger/{token}/errors/import.xlsx")
    assert sheet_response.status_code == 200
    assert "attachment" in sheet_response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(sheet_response.data))
    sheet = book.worksheets[0]
    lines = list(sheet.iter_rows(values_only=True))
    assert list(lines[0]) == ["原行号", "出错列", "错误原因"] + HEADERS
    assert [line[0] for line in lines[1:]] == list(BAD_ROWS)
    row8 = lines[1]
    assert row8[1] == "问题类型" and "违章养鸡" in row8[2]
    assert row8[3:3 + 7] == (4, "2025.3.8", "文二路8号", "甲社区", "甲二网格", "违章养鸡",
                             "楼顶养鸡")
    row11 = lines[3]
    assert row11[1] == "上报日期、联系电话" and row11[2].count("\n") == 1

    # The same file again: nothing new, every good row reported as already imported.
    again = token_of(upload(client, messy_ledger(), name="三月台账（副本）.xlsx"))
    second = run(client, again, mapping, "import")
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="gd-count-imported">0<', page)
    assert re.search(r'id="gd-count-existing">5<', page)
    assert a.number in page[page.index('id="gd-ledger-existing"'):]
    assert len(tickets()) == 5
    # Pressing "import" twice on the same upload is just as harmless.
    run(client, token, mapping, "import")
    assert len(tickets()) == 5


def test_a_corrected_error_sheet_imports_the_remaining_rows(world, login_as):
    client = login_as("admin")
    token = token_of(upload(client, messy_ledger()))
    mapping = guessed_mapping(client.get(f"/admin/ledger/{token}/").get_data(as_text=True))
    run(client, token, mapping, "import")
    book = load_workbook(io.BytesIO(client.get(f"/admin/ledger/{token}/errors/import.xlsx").data))
    sheet = book.worksheets[0]
    sheet.cell(2, 3 + 6).value = "垃圾清运"  # row 8: a known category now
    corrected = io.BytesIO()
    book.save(corrected)
    retry = token_of(upload(client, corrected.getvalue(), name="未导入行.xlsx"))
    page = client.get(f"/admin/ledger/{retry}/").get_data(as_text=True)
    run(client, retry, guessed_mapping(page), "import")
    assert len(tickets()) == 6
    fixed = [t for t in tickets() if t.attributes["ledger"]["file"] == "未导入行.xlsx"]
    assert len(fixed) == 1 and fixed[0].description == "楼顶养鸡"
    assert "原行号" not in fixed[0].attributes["ledger"].get("extra", {})


def test_the_import_runs_in_steps_with_progress(world, login_as, monkeypatch):
    from views.admin import ledger_views

    monkeypatch.setitem(ledger_views.STEP_ROWS, "import", 3)
    client = login_as("admin")
    token = token_of(upload(client, messy_ledger()))
    mapping = guessed_mapping(client.get(f"/admin/ledger/{token}/").get_data(as_text=True))
    url = f"/admin/ledger/{token}/step/import"
    answers = [client.post(url, data=dict(mapping, csrf_token=session_csrf_token(client),
                                          restart="1")).get_json()]
    while not answers[-1]["finished"]:
        answers.append(client.post(url, data={"csrf_token": session_csrf_token(client)}).get_json())
        assert len(answers) < 10
    assert [a["done"] for a in answers] == [3, 6, 9, 10]
    assert all(a["total"] == 10 for a in answers)
    assert answers[-1]["imported"] == 5 and answers[-1]["invalid"] == 5
    assert answers[-1]["result_url"].endswith(f"/{token}/result/import")
    assert len(tickets()) == 5
    # A finished run answers without doing anything again.
    assert client.post(url, data={"csrf_token": session_csrf_token(client)}).get_json()["done"] == 10
    # A mapping without the required columns is refused with the reason.
    refused = client.post(url, data=dict(mapping, map_date="", restart="1",
                                         csrf_token=session_csrf_token(client)))
    assert refused.status_code == 422 and "日期" in refused.get_json()["error"]


# --- access and scope ------------------------------------------------------------------------

def test_only_administrators_and_command_centres_may_import(world, login_as, client):
    for username in ("community", "gridworker", "handler", "leader"):
        assert login_as(username).get("/admin/ledger/").status_code == 403
    assert client.get("/admin/ledger/").status_code == 302  # to the login page
    admin = login_as("admin")
    token = token_of(upload(admin, messy_ledger()))
    # The upload belongs to the one who made it.
    assert login_as("district").get(f"/admin/ledger/{token}/").status_code == 404
    assert admin.get("/admin/ledger/../../etc/").status_code == 404
    assert admin.get("/admin/ledger/" + "0" * 32 + "/").status_code == 404


def test_a_street_centre_imports_only_inside_its_street(world, login_as):
    client = login_as("street")  # 一号街道: 甲社区 only
    token = token_of(upload(client, messy_ledger()))
    mapping = guessed_mapping(client.get(f"/admin/ledger/{token}/").get_data(as_text=True))
    page = client.get(run(client, token, mapping, "import").headers["Location"]).get_data(
        as_text=True)
    assert {t.attributes["ledger"]["row"] for t in tickets()} == {4, 5, 7}
    assert "不在您的管辖范围" in page or "outside your area" in page


def test_a_file_that_is_not_a_workbook_is_refused(world, login_as):
    client = login_as("admin")
    response = upload(client, b"date,place\n2025-03-05,x\n", name="ledger.csv")
    assert response.status_code == 200
    assert "alert-danger" in response.get_data(as_text=True)
    old_excel = upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, name="a.xls")
    assert ".xlsx" in old_excel.get_data(as_text=True)


def huge_ledger(rows: int, declared: bool) -> bytes:
    """A real .xlsx of `rows` data rows, written straight as XML (openpyxl takes half a minute
    for 150,000 rows); ``declared`` adds the sheet's <dimension>, as Excel writes it."""
    import zipfile

    def cell(ref, text):
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    body = ["<row r=\"1\">" + cell("A1", "上报时间") + cell("B1", "地点") + cell("C1", "问题描述")
            + "</row>"]
    body += [f'<row r="{n}">{cell(f"A{n}", "2025-03-05")}{cell(f"B{n}", f"幸福路{n}号")}'
             f'{cell(f"C{n}", "垃圾满溢")}</row>' for n in range(2, rows + 2)]
    dimension = f'<dimension ref="A1:C{rows + 1}"/>' if declared else ""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="台账" '
                            'sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": (f'<worksheet xmlns="{main}">{dimension}<sheetData>'
                                     + "".join(body) + "</sheetData></worksheet>"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize("declared", [True, False], ids=["with-dimension", "without-dimension"])
def test_a_sheet_of_150000_rows_is_refused_before_it_is_loaded(world, login_as, monkeypatch,
                                                                declared):
    """Loading it kept every cell in memory (22 s, 475 MB) before saying it was too long: now the
    rows are counted in the file as it unpacks, and the workbook is never loaded."""
    import time

    import openpyxl

    def no_loading(*args, **kwargs):
        raise AssertionError("the whole workbook was loaded")

    data = huge_ledger(150_000, declared)
    client = login_as("admin")
    monkeypatch.setattr(openpyxl, "load_workbook", no_loading)
    started = time.monotonic()
    response = upload(client, data)
    assert time.monotonic() - started < 15
    assert response.status_code == 200
    assert "工作表超过 50000 行，请拆分为多个文件。" in response.get_data(as_text=True)


def test_a_workbook_that_unpacks_to_too_much_is_refused(world, login_as, monkeypatch):
    import zipfile

    import integrations.ledger.importer as importer

    monkeypatch.setattr(importer, "MAX_UNPACKED_BYTES", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", "<sst>" + " " * 5000 + "</sst>")
    response = upload(login_as("admin"), buffer.getvalue())
    assert "工作表超过 50000 行" in response.get_data(as_text=True)


# --- the CLI ---------------------------------------------------------------------------------

def run_cli(app, *args):
    db.session.commit()  # the command shares the app context: leave no open transaction
    result = app.test_cli_runner().invoke(args=list(args))
    db.session.expire_all()
    return result


def test_cli_dry_run_import_and_reimport(world, app, tmp_path):
    path = tmp_path / "三月台账.xlsx"
    path.write_bytes(messy_ledger())
    dry = run_cli(app, "import-tickets", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "5 would be imported" in dry.output and "5 with problems" in dry.output
    assert "row 8 [问题类型]" in dry.output and "违章养鸡" in dry.output
    assert tickets() == []

    real = run_cli(app, "import-tickets", str(path))
    assert real.exit_code == 0, real.output
    assert "5 imported" in real.output and "… 10/10 rows" in real.output
    assert len(tickets()) == 5
    errors = load_workbook(tmp_path / "三月台账-errors.xlsx").worksheets[0]
    assert [r[0] for r in errors.iter_rows(min_row=2, values_only=True)] == list(BAD_ROWS)
    # The cells come back as they were written, to be fixed and imported again: 序号 as
    # numbers, a date cell as a date (row 12), texts as texts.
    rows = {r[0]: r[3:] for r in errors.iter_rows(min_row=2, values_only=True)}
    assert [rows[n][0] for n in BAD_ROWS] == [4, 6, 7, 8, 10]
    assert rows[12][1] == datetime(2025, 3, 12) and rows[8][1] == "2025.3.8"
    assert errors.cell(5, 5).number_format == "yyyy-mm-dd"  # (row 12: a date, no time)
    for ticket in tickets():
        assert ticket.source == Source.IMPORT and ticket.created_by_id is None
        timeline = events_of(ticket)
        assert replays_to_ticket(ticket, timeline)
        assert timeline[1].actor_user_id is None and timeline[1].actor_kind.value == "system"

    again = run_cli(app, "import-tickets", str(path))
    assert again.exit_code == 0
    assert "0 imported" in again.output and "5 already imported" in again.output
    assert len(tickets()) == 5


def test_cli_mapping_option_and_unreadable_files(world, app, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["导出数据"])  # a title, then headers nobody can guess
    sheet.merge_cells("A1:D1")
    sheet.append(["A列", "B列", "C列", "D列"])
    for i in range(450):  # more rows than one chunk: progress is reported per chunk
        sheet.append([f"2025-03-{i % 28 + 1:02d} {i % 24:02d}:{i % 60:02d}", "甲一网格",
                      "垃圾清运", f"第{i}处垃圾"])
    path = tmp_path / "plain.xlsx"
    book.save(path)
    refused = run_cli(app, "import-tickets", str(path))
    assert refused.exit_code == 2 and "列" in refused.output
    mapping = json.dumps({"date": "A", "grid": "B列", "category": 3, "description": "D"},
                         ensure_ascii=False)
    result = run_cli(app, "import-tickets", str(path), "--mapping", mapping)
    assert result.exit_code == 0, result.output
    assert "… 200/450 rows" in result.output and "… 450/450 rows" in result.output
    assert "450 imported" in result.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one() == 450
    bad_json = run_cli(app, "import-tickets", str(path), "--mapping", "{date")
    assert bad_json.exit_code == 2
    unknown = run_cli(app, "import-tickets", str(path), "--mapping", '{"colour": "A"}')
    assert unknown.exit_code == 2
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    assert run_cli(app, "import-tickets", str(junk)).exit_code == 2


# --- the pieces ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2025-03-05", datetime(2025, 3, 5)), ("2025/3/5", datetime(2025, 3, 5)),
    ("2025.3.5", datetime(2025, 3, 5)), ("2025年3月5日", datetime(2025, 3, 5)),
    ("２０２５年３月５日", datetime(2025, 3, 5)), ("2025年3月5日 14:30", datetime(2025, 3, 5, 14, 30)),
    ("2025年3月5日14时30分", datetime(2025, 3, 5, 14, 30)),
    ("2025年3月5日下午2点", datetime(2025, 3, 5, 14)), ("二〇二五年三月十五日", datetime(2025, 3, 15)),
    ("20250305", datetime(2025, 3, 5)), (45721, datetime(2025, 3, 5)),
    (45721.5, datetime(2025, 3, 5, 12)), (datetime(2025, 3, 5, 8), datetime(2025, 3, 5, 8)),
    ("2025-03-05T14:30:00", datetime(2025, 3, 5, 14, 30)),
])
def test_dates_in_the_ways_offices_write_them(ctx, value, expected):
    assert parse_date(value)[0] == expected


@pytest.mark.parametrize("value, words", [
    ("3月5日", "年份"), ("2025-02-30", "不是有效"), ("下周一", "2025-03-05"), (True, "2025-03-05"),
    ("3/12/2025", "请按年在前的格式填写")])  # (it said 没有年份)
def test_dates_that_are_refused_say_why(ctx, value, words):
    with pytest.raises(ValueProblem) as refused:
        parse_date(value)
    assert words in str(refused.value)


def test_phones_are_cleaned_and_refused_clearly(ctx):
    assert parse_phone("１３９００００１１１１") == ("13900001111", False)
    assert parse_phone(13900001111.0) == ("13900001111", False)
    assert parse_phone("无") == (None, False)
    assert parse_phone("13900001111 / 13800002222") == ("13900001111", True)
    with pytest.raises(ValueProblem):
        parse_phone("打不通")


def test_headers_are_guessed_from_common_words(ctx):
    mapping = guess_mapping(["日期", "地址", "网格/社区", "事件类型", "反映内容", "姓名", "手机",
                             "责任人", "办理结果", "完成时间"])
    assert mapping == {"date": 0, "place": 1, "grid": 2, "community": None, "category": 3,
                       "description": 4, "reporter": 5, "phone": 6, "handler": 7, "result": 8,
                       "closed": 9}


def test_categories_and_areas_are_matched_by_words(world):
    other = Category(code="02", name="小区物业管理")
    db.session.add_all([other, Category(code="0201", name="其他", parent=other),
                        Category(code="0199", name="其他", parent=world.categories["top"])])
    db.session.commit()
    resolver = Resolver()
    assert resolver.category("垃圾清运")[0].id == world.categories["garbage"].id
    assert resolver.category("０１０１")[0].id == world.categories["garbage"].id
    assert resolver.category("街面环境卫生 > 道路保洁")[0].id == world.categories["sweeping"].id
    assert resolver.category("小区物业管理-其他")[0].code == "0201"
    assert "多个" in resolver.category("其他")[1]
    assert resolver.category("街面环境卫生")[0] is None  # a main category with several children
    assert resolver.category("违章养鸡")[0] is None
    assert resolver.area("甲一", "")[0].id == world.areas["grid1"].id
    assert resolver.area("", "甲社区")[0].id == world.areas["community1"].id
    assert resolver.area("甲社区甲二网格", "")[0].id == world.areas["grid2"].id
    area, column, reason = resolver.area("乙一网格", "甲社区")
    assert area is None and column == "grid" and "乙一网格" in reason


def test_the_reader_finds_the_table_in_a_messy_sheet(ctx):
    ledger = read_ledger(messy_ledger())
    assert ledger.sheet == "三月台账" and ledger.header_row == 3
    assert ledger.headers == HEADERS
    assert [r.number for r in ledger.rows] == [4, 5, 7, 8, 9, 10, 11, 12, 13, 14]
    assert ledger.blank_rows == 1  # row 6
    assert ledger.notes == [{"row": 15, "text": "以下为四月补录"}]
    assert ledger.rows[1].values[3] == "甲社区"  # filled down from the merged cell


def test_a_row_repeated_in_the_same_file_is_imported_once(world):
    book = Workbook()
    sheet = book.active
    sheet.append(["日期", "网格", "类别", "描述", "电话"])
    sheet.append(["2025-05-01", "甲一网格", "垃圾清运", "垃圾满溢", "13900001111"])
    sheet.append(["2025年5月1日", " 甲一网格 ", "垃圾清运", "垃圾满溢", "１３９００００１１１１"])
    buffer = io.BytesIO()
    book.save(buffer)
    ledger = read_ledger(buffer.getvalue())
    mapping = guess_mapping(ledger.headers)
    dry = import_ledger(ledger, mapping, dry_run=True, file_name="x.xlsx")
    assert (dry.imported, dry.skipped_existing) == (1, 1)
    assert dry.existing == [{"row": 3, "number": None, "same_as_row": 2}]
    assert tickets() == []
    seen = []
    real = import_ledger(ledger, mapping, dry_run=False, file_name="x.xlsx",
                         progress=lambda done, total: seen.append((done, total)))
    assert (real.imported, real.skipped_existing, real.invalid) == (1, 1, 0)
    assert seen == [(2, 2)]
    assert len(tickets()) == 1
    again = import_ledger(ledger, mapping, dry_run=False, file_name="y.xlsx")
    number = tickets()[0].number
    assert [e["number"] for e in again.existing] == [number, number]
    assert len(tickets()) == 1



def test_a_description_longer_than_a_tickets_is_a_row_error_not_a_failed_import(world):
    """A ticket's description holds 10,000 characters (models/fields.py): a longer cell is that
    row's error in the report, the other rows are imported."""
    book = Workbook()
    sheet = book.active
    sheet.append(["日期", "网格", "类别", "描述", "电话"])
    sheet.append(["2025-05-01", "甲一网格", "垃圾清运", "垃圾满溢" * 2501, "13900001111"])
    sheet.append(["2025-05-02", "甲一网格", "垃圾清运", "垃圾桶坏了", "13900001112"])
    buffer = io.BytesIO()
    book.save(buffer)
    ledger = read_ledger(buffer.getvalue())
    report = import_ledger(ledger, guess_mapping(ledger.headers), dry_run=False,
                           file_name="x.xlsx")
    assert (report.imported, report.invalid) == (1, 1)
    assert "10000" in str(report.errors[0])
    assert [t.description for t in tickets()] == ["垃圾桶坏了"]


def test_an_open_row_with_a_known_handler_is_in_progress_with_a_deadline_from_now(world):
    book = Workbook()
    sheet = book.active
    sheet.append(["日期", "网格", "类别", "描述", "处理人", "处理结果"])
    sheet.append(["2025-05-01", "甲一网格", "垃圾清运", "垃圾满溢", "用户gridworker", "已联系物业"])
    buffer = io.BytesIO()
    book.save(buffer)
    ledger = read_ledger(buffer.getvalue())
    started = utcnow()
    report = import_ledger(ledger, guess_mapping(ledger.headers), dry_run=False, file_name="x.xlsx")
    assert report.imported == 1
    [ticket] = tickets()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.assigned_user_id == world.users["gridworker"].id
    assert ticket.accepted_at == datetime(2025, 5, 1, tzinfo=SH)
    assert ticket.handle_deadline > started  # its clock starts at the import
    assert replays_to_ticket(ticket, events_of(ticket))
    # A case from 2025 is not "most of its time used" the moment it arrives, nor stalled.
    now = utcnow()
    assert deadline_state(ticket, now) == "green" and ticket.last_activity_at >= started
    assert deadline_sweep(now)["warned"] == 0


def test_the_pages_speak_english_too(world, login_as):
    client = login_as("admin")
    client.get("/lang/en")
    token = token_of(upload(client, messy_ledger()))
    page = client.get(f"/admin/ledger/{token}/").get_data(as_text=True)
    assert "Dry run" in page and "header in row 3" in page
    mapping = guessed_mapping(page)
    result = client.get(run(client, token, mapping, "dry").headers["Location"]).get_data(
        as_text=True)
    assert "Would be imported" in result and "Unknown category “违章养鸡”" in result
