"""Excel ledger import (台账导入): a street office's old spreadsheet becomes historical tickets.

    read_ledger(file)            the sheet: header row found under any title rows, merged cells
                                 filled down, blank rows skipped
    guess_mapping(headers)       which column holds which field, from the header words
    preview(...) / parse_row()   every row validated: (Excel row number, column, reason)
    import_ledger(...)           dry run (validate and count) or real run (create tickets with their
                                 timeline), in chunks with a progress callback; a row already
                                 imported (same content, any file) is reported and never repeated
    error_workbook(report)       the rows that were not imported, as an .xlsx to fix and re-upload

The web page and the CLI command only call these functions; ``StoredLedger`` keeps an uploaded
file between the steps of the web page.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import time as clock
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from models.areas.hierarchy import Area
from models.base import db, utcnow
from models.categories import Category
from models.clock import local_zone
from models.fields import column_length
from models.people.access import sees_everywhere
from models.people.phones import PhoneError, clean_phone, phones_in_text
from models.people.roles import ASSIGNABLE_ROLES
from models.people.user import User
from models.tickets.deadlines import in_time
from models.tickets.records import open_ticket
from models.tickets.tables import Ticket
from models.tickets.timeline import append_event
from models.tickets.owner_deadlines import past_handling_deadline, start_handling_clock
from models.tickets.workflow import dispatch
from models.vocabulary import ActorKind, AreaLevel, Source, TicketStatus

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
# A workbook is a zip: what it may unpack to (a few bytes can unpack to gigabytes).
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
COMMIT_EVERY = 200  # rows per transaction (and per progress report)
HEADER_SEARCH_ROWS = 30
MAX_ADDRESS, MAX_REPORTER = 255, 64
MAX_DESCRIPTION = column_length(Ticket.description)
EARLIEST_YEAR = 1990
# Assignable people a "handler" name may be matched to (exact display name, only when unique).
# Cell texts that mean "nothing here".
PLACEHOLDERS = {"", "-", "--", "—", "——", "/", "\\", "无", "暂无", "不详", "空", "none", "null",
                "n/a", "na"}
# Column titles of the error sheet: ignored when a corrected error sheet is imported again.
REPORT_COLUMNS = ("原行号", "出错列", "错误原因")


class LedgerError(ValueError):
    """The file cannot be read as a ledger (not .xlsx, empty, too large…)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the fields of a ledger ------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerField:
    key: str
    label: Any
    words: tuple[str, ...]  # header words that name this field (exact match beats contained)
    required: bool = False


FIELDS: tuple[LedgerField, ...] = (
    LedgerField("date", _l("Reported date"), (
        "上报日期", "上报时间", "反映日期", "反映时间", "受理日期", "受理时间", "登记日期", "登记时间",
        "发现日期", "发现时间", "发生日期", "发生时间", "来电时间", "日期", "时间", "date", "reported"),
        required=True),
    LedgerField("place", _l("Place / address"), (
        "事发地点", "发生地点", "详细地址", "事发地址", "地点", "地址", "位置", "place", "address",
        "location")),
    LedgerField("grid", _l("Grid"), ("所属网格", "网格名称", "网格", "grid")),
    LedgerField("community", _l("Community"), ("所属社区", "社区名称", "社区", "community")),
    LedgerField("category", _l("Category"), (
        "事件类型", "事件类别", "事件分类", "问题类型", "问题类别", "问题分类", "事项类别", "类型",
        "类别", "分类", "category", "type"), required=True),
    LedgerField("description", _l("Description"), (
        "问题描述", "事件描述", "事件内容", "反映内容", "问题内容", "诉求内容", "具体内容", "基本情况",
        "内容", "描述", "情况", "description", "details"), required=True),
    LedgerField("reporter", _l("Reporter"), (
        "上报人", "反映人", "报告人", "来电人", "诉求人", "姓名", "reporter", "name")),
    LedgerField("phone", _l("Phone"), (
        "联系电话", "联系方式", "反映人电话", "上报人电话", "电话", "手机", "phone", "tel", "mobile")),
    LedgerField("handler", _l("Handler"), (
        "处理人", "责任人", "经办人", "处置人", "承办人", "办理人", "handler")),
    LedgerField("result", _l("Result"), (
        "处理结果", "办理结果", "处置结果", "处理情况", "办理情况", "完成情况", "结果", "result")),
    LedgerField("closed", _l("Closed date"), (
        "办结日期", "办结时间", "完成日期", "完成时间", "结案日期", "结案时间", "处理日期", "处理时间",
        "办结", "closed")),
)
FIELD_KEYS = tuple(f.key for f in FIELDS)
FIELD_BY_KEY = {f.key: f for f in FIELDS}


# --- reading the workbook --------------------------------------------------------------------

@dataclass
class LedgerRow:
    number: int  # the row number Excel shows
    values: list


@dataclass
class Ledger:
    sheet: str
    sheets: list[str]
    header_row: int  # Excel row number of the header (0: no header found)
    headers: list[str]
    rows: list[LedgerRow]
    blank_rows: int = 0
    notes: list[dict] = field(default_factory=list)  # rows skipped on purpose (section titles)

    def column_label(self, index: int | None) -> str:
        if index is None:
            return ""
        from openpyxl.utils import get_column_letter

        text = self.headers[index] if index < len(self.headers) else ""
        letter = get_column_letter(index + 1)
        return text or _("Column %(letter)s", letter=letter)

    def to_json(self) -> str:
        data = {name: getattr(self, name)
                for name in ("sheet", "sheets", "header_row", "headers", "blank_rows", "notes")}
        data["rows"] = [[r.number, [_dump(v) for v in r.values]] for r in self.rows]
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Ledger":
        data = json.loads(text)
        data["rows"] = [LedgerRow(n, [_load(v) for v in values]) for n, values in data["rows"]]
        return cls(**data)


def _dump(value):
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, time):
        return {"$t": value.isoformat()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _load(value):
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$t" in value:
            return time.fromisoformat(value["$t"])
    return value


def read_ledger(source, sheet: str | None = None, max_rows: int = MAX_ROWS) -> Ledger:
    """Read a ledger from an .xlsx path, bytes or file object.

    The sheet is the one given, or the one whose header is recognised best. Merged cells: the
    header area takes the merged value everywhere; below the header a merged block (e.g. one
    community over several rows) is filled down its first column. Blank rows are skipped.
    """
    from openpyxl import load_workbook

    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
    else:
        data = Path(source).read_bytes()
    if not data:
        raise LedgerError(_("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise LedgerError(_("The file is larger than %(mb)s MB; split it into several files.",
                            mb=MAX_FILE_BYTES // (1024 * 1024)))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise LedgerError(_("This is an old Excel file (.xls). Open it in Excel or WPS, save it "
                            "as .xlsx and upload that file."))
    try:
        _refuse_oversized(data, max_rows)
        book = load_workbook(io.BytesIO(data), data_only=True)
    except LedgerError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        current_app.logger.info("ledger file not readable: %s", exc)
        raise LedgerError(_("This file is not an Excel workbook (.xlsx).")) from None
    except Exception as exc:  # openpyxl raises assorted errors on damaged files
        current_app.logger.warning("ledger file not readable: %r", exc)
        raise LedgerError(_("This file is not an Excel workbook (.xlsx).")) from None
    names = [ws.title for ws in book.worksheets]
    if sheet is not None and sheet not in names:
        raise LedgerError(_("The workbook has no sheet named %(name)s.", name=sheet))
    candidates = [book[sheet]] if sheet is not None else book.worksheets
    best = None
    for worksheet in candidates:
        parsed = _read_sheet(worksheet, names, max_rows)
        score = _header_score(parsed.headers) if parsed.header_row else 0
        if best is None or (score, bool(parsed.rows)) > best[0]:
            best = ((score, bool(parsed.rows)), parsed)
    ledger = best[1]
    if not ledger.rows:
        raise LedgerError(_("The sheet %(name)s has no data rows.", name=ledger.sheet))
    return ledger


def _refuse_oversized(data: bytes, max_rows: int) -> None:
    """Refuse a workbook too large to read before loading it (loading keeps every cell in memory:
    150,000 rows took 22 s and 475 MB before being refused). What the zip unpacks to is checked
    first, then the rows of every sheet are counted in the decompressed XML as it streams by —
    a sheet's declared size (<dimension>) may be missing or wrong."""
    too_many = LedgerError(_("The sheet has more than %(count)s rows; split it into several "
                             "files.", count=max_rows))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        if sum(info.file_size for info in parts) > MAX_UNPACKED_BYTES:
            raise too_many
        for info in parts:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with archive.open(info) as sheet:
                    if _rows_exceed(sheet, max_rows + HEADER_SEARCH_ROWS):
                        raise too_many


_ROW_END = re.compile(rb"</(?:\w+:)?row>")  # a row with cells; an empty row is <row …/>


def _rows_exceed(sheet, limit: int, chunk_size: int = 1 << 20) -> bool:
    count, tail = 0, b""
    while chunk := sheet.read(chunk_size):
        text = tail + chunk
        ends = list(_ROW_END.finditer(text))
        count += len(ends)
        if count > limit:
            return True
        cut = ends[-1].end() if ends else 0
        tail = text[max(cut, len(text) - 32):]  # a closing tag may straddle two chunks
    return False


def _read_sheet(ws, sheet_names: list[str], max_rows: int) -> Ledger:
    own = [list(row) for row in ws.iter_rows(values_only=True)]
    width = max((len(r) for r in own), default=0)
    for row in own:
        row.extend([None] * (width - len(row)))
    merges = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges]

    # Header search on a copy where every merged block carries its value in all its cells.
    top = [list(r) for r in own[:HEADER_SEARCH_ROWS]]
    for r1, c1, r2, c2 in merges:
        value = own[r1 - 1][c1 - 1] if r1 <= len(own) else None
        for r in range(r1, min(r2, len(top)) + 1):
            for c in range(c1, c2 + 1):
                top[r - 1][c - 1] = value
    header_index = _find_header(top)
    header_row = header_index + 1 if header_index is not None else 0
    if header_index is None:
        # No recognisable header: the first row about as wide as the table names the columns
        # (a title above it fills one cell, even when merged across the table).
        counts = [sum(not _empty(v) for v in row) for row in own[:HEADER_SEARCH_ROWS]]
        widest = max(counts, default=0)
        header_index = next((i for i, n in enumerate(counts) if n and n >= 0.6 * widest), 0)
        header_row = header_index + 1 if own else 0
    headers = [_header_text(v) for v in (top[header_index] if header_index < len(top)
                                         else own[header_index] if own else [])]

    # Below the header: merged blocks are filled down their first column.
    filled = [list(r) for r in own]
    wide_starts = set()
    for r1, c1, r2, c2 in merges:
        if r2 <= header_row:
            continue
        value = own[r1 - 1][c1 - 1]
        for r in range(max(r1, header_row + 1), r2 + 1):
            filled[r - 1][c1 - 1] = value
        if c2 - c1 >= 2 and r1 > header_row:
            wide_starts.add((r1, c1))

    rows, notes, blank = [], [], 0
    for index in range(header_row, len(own)):
        number = index + 1
        if _blank(own[index]):
            blank += 1
            continue
        present = [(c, v) for c, v in enumerate(own[index], start=1) if not _empty(v)]
        if len(present) == 1 and (number, present[0][0]) in wide_starts:
            # A section title spanning the table ("三月份") is not a case.
            notes.append({"row": number, "text": cell_text(present[0][1])})
            continue
        rows.append(LedgerRow(number, filled[index]))
        if len(rows) > max_rows:
            raise LedgerError(_("The sheet has more than %(count)s rows; split it into several "
                                "files.", count=max_rows))
    # Drop columns that are empty everywhere (formatting only).
    used = max([i + 1 for i, h in enumerate(headers) if h]
               + [max((i + 1 for i, v in enumerate(r.values) if not _empty(v)), default=0)
                  for r in rows] + [0])
    headers = headers[:used] + [""] * (used - len(headers))
    for row in rows:
        row.values = row.values[:used]
    return Ledger(sheet=ws.title, sheets=sheet_names, header_row=header_row, headers=headers,
                  rows=rows, blank_rows=blank, notes=notes)


def _find_header(top: list[list]) -> int | None:
    scores = [_header_score([_header_text(v) for v in row]) for row in top]
    best = max(scores, default=0)
    if best < 2:
        return None
    index = scores.index(best)
    # A header merged over two rows (or a two-level header) ends at its last row.
    while index + 1 < len(top) and scores[index + 1] >= best:
        index += 1
    return index


def _header_score(headers: list[str]) -> int:
    return len({key for h in headers for key in [_field_for_header(h)] if key})


def _header_text(value) -> str:
    return re.sub(r"\s+", "", cell_text(value))


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[\s*：:（）()\[\]【】]", "", text)


def _field_scores(header: str) -> list[tuple[int, int, str]]:
    key = _header_key(header)
    if not key or len(key) > 20:
        return []
    found = []
    for order, f in enumerate(FIELDS):
        best = 0
        for word in f.words:
            w = _header_key(word)
            if key == w:
                best = max(best, 1000 + len(w))
            elif w in key:
                best = max(best, len(w))
        if best:
            found.append((best, -order, f.key))
    return sorted(found, reverse=True)


def _field_for_header(header: str) -> str | None:
    scores = _field_scores(header)
    return scores[0][2] if scores else None


def guess_mapping(headers: list[str]) -> dict[str, int | None]:
    """Field key → column index, from the header words (each column used once)."""
    candidates = []
    for index, header in enumerate(headers):
        for score, order, key in _field_scores(header):
            candidates.append((score, -index, order, key, index))
    candidates.sort(reverse=True)
    mapping: dict[str, int | None] = {key: None for key in FIELD_KEYS}
    used = set()
    for _score, _i, _o, key, index in candidates:
        if mapping[key] is None and index not in used:
            mapping[key] = index
            used.add(index)
    return mapping


def mapping_from_names(ledger: Ledger, names: dict, base: dict | None = None) -> dict:
    """Apply an explicit mapping {field: header text, column letter or None} on top of ``base``.

    Raises LedgerError naming every field or column that is not understood."""
    from openpyxl.utils import column_index_from_string

    mapping = dict(base or {key: None for key in FIELD_KEYS})
    problems = []
    for key, wanted in (names or {}).items():
        if key not in FIELD_BY_KEY:
            problems.append(_("Unknown field %(field)s (known: %(fields)s).", field=key,
                              fields=", ".join(FIELD_KEYS)))
            continue
        if wanted is None or str(wanted).strip() == "":
            mapping[key] = None
            continue
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            index = wanted - 1  # 1-based column number
        else:
            text = _header_key(str(wanted))
            index = next((i for i, h in enumerate(ledger.headers) if _header_key(h) == text), None)
            if index is None and re.fullmatch(r"[A-Za-z]{1,3}", str(wanted).strip()):
                index = column_index_from_string(str(wanted).strip().upper()) - 1
        if index is None or not 0 <= index < max(len(ledger.headers), 1):
            problems.append(_("No column %(column)s for %(field)s.", column=wanted,
                              field=FIELD_BY_KEY[key].label))
            continue
        mapping[key] = index
    if problems:
        raise LedgerError(" ".join(problems))
    return mapping


def mapping_problems(ledger: Ledger, mapping: dict) -> list[str]:
    """What is missing before rows can be checked."""
    problems = []
    for f in FIELDS:
        index = mapping.get(f.key)
        if index is not None and not 0 <= index < len(ledger.headers):
            problems.append(_("Choose an existing column for %(field)s.", field=f.label))
        elif f.required and index is None:
            problems.append(_("Choose the column of %(field)s.", field=f.label))
    if mapping.get("grid") is None and mapping.get("community") is None:
        problems.append(_("Choose the column of the grid or of the community."))
    return problems


def mapping_labels(ledger: Ledger, mapping: dict) -> dict[str, str]:
    return {key: ledger.column_label(index) for key, index in mapping.items() if index is not None}


# --- cell values -----------------------------------------------------------------------------

def cell_text(value) -> str:
    """A cell as the user sees it (dates as yyyy-mm-dd, whole numbers without ".0")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M" if value.time() != time() else "%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _blank(row: list) -> bool:
    return all(_empty(v) for v in row)


def _placeholder(value) -> bool:
    return _empty(value) or (isinstance(value, str)
                             and unicodedata.normalize("NFKC", value).strip().lower()
                             in PLACEHOLDERS)


def _norm(text: str) -> str:
    """Comparison form: full-width → half-width, lower case, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "").lower())


CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
_CN_NUMBER = re.compile("[〇零一二两三四五六七八九十]+")
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:[\sT]*(上午|早上|中午|下午|晚上)?\s*(\d{1,2})\s*(?:[:时点]\s*(?:(\d{1,2})\s*分?)?)"
    r"(?:\s*:?\s*(\d{1,2})\s*秒?)?)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NO_YEAR = re.compile(r"^\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?")
_YEAR_LAST = re.compile(r"^\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{4}\b")


def _cn_to_digits(text: str) -> str:
    def number(match):
        s = match.group(0)
        if "十" in s:
            tens, _sep, ones = s.partition("十")
            if len(tens) > 1 or len(ones) > 1:
                return s
            return str((CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[ones] if ones else 0))
        return "".join(str(CN_DIGITS[c]) for c in s)
    return _CN_NUMBER.sub(number, text)


class ValueProblem(ValueError):
    """A cell that cannot become the field it is mapped to; the message is the reason."""


def parse_date(value) -> tuple[datetime, bool] | None:
    """A local naive datetime and whether the cell gave a time of day; None for an empty cell.

    Accepts date cells, Excel serial numbers, 2025-03-05, 2025/3/5, 2025.3.5, 20250305,
    2025年3月5日 (also in Chinese numerals or full-width digits), each with an optional time."""
    if _placeholder(value):
        return None
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
        return naive, naive.time() != time()
    if isinstance(value, date):
        return datetime.combine(value, time()), False
    if isinstance(value, bool):
        raise ValueProblem(_not_a_date(value))
    if isinstance(value, (int, float)):
        if 19000101 <= value <= 21001231 and float(value).is_integer():
            return _parse_date_text(str(int(value)), value)
        if 20000 <= value <= 80000:  # an Excel serial number (1954–2119)
            from openpyxl.utils.datetime import from_excel

            moment = from_excel(value).replace(microsecond=0)
            return moment, moment.time() != time()
        raise ValueProblem(_not_a_date(value))
    return _parse_date_text(str(value), value)


def _parse_date_text(raw: str, original) -> tuple[datetime, bool]:
    text = _cn_to_digits(unicodedata.normalize("NFKC", raw)).strip()
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        if re.fullmatch(r"\d{5}(\.\d+)?", text) and 20000 <= float(text) <= 80000:
            return parse_date(float(text))
        if _YEAR_LAST.match(text):  # 3/12/2025: 12 March or 3 December?
            raise ValueProblem(_("“%(value)s” could be read with day and month either way round: "
                                 "write the date year first, e.g. 2025-03-12.",
                                 value=cell_text(original)))
        if _NO_YEAR.match(text):
            raise ValueProblem(_("“%(value)s” has no year.", value=cell_text(original)))
        raise ValueProblem(_not_a_date(original))
    groups = match.groups()
    year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
    hour = minute = second = 0
    has_time = len(groups) > 3 and groups[4] is not None
    if has_time:
        hour, minute, second = int(groups[4]), int(groups[5] or 0), int(groups[6] or 0)
        if groups[3] in ("下午", "晚上") and hour < 12:
            hour += 12
        elif groups[3] == "中午" and hour < 11:
            hour += 12
    try:
        return datetime(year, month, day, hour, minute, second), has_time
    except ValueError:
        raise ValueProblem(_("“%(value)s” is not a valid date.", value=cell_text(original))) \
            from None


def _not_a_date(value) -> str:
    return _("“%(value)s” is not a date GridDesk understands (write it like 2025-03-05 or "
             "2025年3月5日).", value=cell_text(value))


def parse_phone(value) -> tuple[str | None, bool]:
    """The reporter's phone (cleaned) and whether the cell held more than that number."""
    if _placeholder(value):
        return None, False
    try:
        return clean_phone(value), False
    except PhoneError:
        numbers = phones_in_text(cell_text(value))
    if numbers:
        return numbers[0], True
    raise ValueProblem(_("“%(value)s” is not a phone number.", value=cell_text(value)))


# --- finding categories, areas and people ----------------------------------------------------

@dataclass(frozen=True)
class CategoryRef:
    id: int
    code: str
    name: str
    parent_id: int | None
    parent_name: str | None
    active: bool

    def __str__(self) -> str:
        return f"{self.parent_name} / {self.name}" if self.parent_name else self.name


@dataclass(frozen=True)
class AreaRef:
    id: int
    name: str
    code: str
    level: AreaLevel
    path: str
    parent_id: int | None


class Resolver:
    """Looks up categories, areas and handlers by the words of a ledger, once per distinct text.

    ``user``: the importing staff member; anyone but an administrator may only import into areas
    within their own scope."""

    def __init__(self, user: User | None = None, now: datetime | None = None) -> None:
        self.now = now or utcnow()
        self.restricted = user is not None and not sees_everywhere(user)
        scope = user.scope_area if self.restricted else None
        self.scope = (AreaRef(scope.id, scope.name, scope.code, scope.level, scope.path,
                              scope.parent_id) if scope is not None else None)
        rows = db.session.execute(
            sa.select(Area.id, Area.name, Area.code, Area.level, Area.path, Area.parent_id)
            .where(Area.level.in_([AreaLevel.GRID, AreaLevel.COMMUNITY])).order_by(Area.path))
        self.areas = [AreaRef(*row) for row in rows]
        self.area_keys = [(a, _norm(a.name)) for a in self.areas]
        self.exact_areas: dict[tuple[AreaLevel, str], list[AreaRef]] = {}
        for area, key in self.area_keys:
            self.exact_areas.setdefault((area.level, key), []).append(area)
        parent = sa.orm.aliased(Category)
        self.categories = [CategoryRef(*row) for row in db.session.execute(
            sa.select(Category.id, Category.code, Category.name, Category.parent_id, parent.name,
                      Category.active)
            .outerjoin(parent, Category.parent_id == parent.id).order_by(Category.code))]
        self.users: dict[str, list[tuple[int, int | None]]] = {}
        for uid, name, department_id in db.session.execute(
                sa.select(User.id, User.display_name, User.department_id)
                .where(User.active.is_(True), User.role.in_(ASSIGNABLE_ROLES))):
            self.users.setdefault(_norm(name), []).append((uid, department_id))
        self._category_memo: dict[str, tuple[CategoryRef | None, str | None]] = {}
        self._area_memo: dict[tuple, tuple[AreaRef | None, str | None, str | None]] = {}

    # categories ---------------------------------------------------------------------------
    def category(self, text: str) -> tuple[CategoryRef | None, str | None]:
        key = _norm(text)
        if key not in self._category_memo:
            self._category_memo[key] = self._find_category(text, key)
        return self._category_memo[key]

    def _find_category(self, text: str, key: str) -> tuple[CategoryRef | None, str | None]:
        subs = [c for c in self.categories if c.parent_id is not None]
        tops = [c for c in self.categories if c.parent_id is None]

        def chosen(found: list[CategoryRef]):
            active = [c for c in found if c.active]
            if len(active) == 1:
                return active[0], None
            if len(active) > 1:
                return None, _("“%(value)s” matches several categories (%(names)s); write it as "
                               "main category/sub-category.", value=text,
                               names="、".join(str(c) for c in active[:5]))
            return None, _("The category %(name)s is no longer in use.", name=str(found[0]))

        # 1. the exact name (or code) of a sub-category
        exact = [c for c in subs if _norm(c.name) == key or c.code == key]
        if exact:
            return chosen(exact)
        # 2. "main category/sub-category" (any separator), or a main category alone
        parts = [p for p in re.split(r"[/\\>|·、,，;；:：\-—]+", key) if p]
        if len(parts) >= 2:
            found = [c for c in subs if _norm(c.name) == parts[-1]
                     and _norm(c.parent_name or "") == parts[0]]
            found = found or [c for c in subs if _norm(c.name) == parts[-1]]
            if found:
                return chosen(found)
        top = [c for c in tops if _norm(c.name) == key or c.code == key]
        if top:
            children = [c for c in subs if c.parent_id == top[0].id and c.active]
            if len(children) == 1:
                return children[0], None
            return None, _("%(name)s is a main category; the ledger must name one of its "
                           "sub-categories (%(names)s).", name=top[0].name,
                           names="、".join(c.name for c in children[:8]) or "—")
        # 3. a sub-category name inside the text ("垃圾清运不及时"), the longest one
        inside = [c for c in subs if c.active and _norm(c.name) and _norm(c.name) in key]
        if inside:
            longest = max(len(_norm(c.name)) for c in inside)
            return chosen([c for c in inside if len(_norm(c.name)) == longest])
        # 4. the text inside one sub-category name ("垃圾分类" → 垃圾分类不规范)
        if len(key) >= 2:
            around = [c for c in subs if c.active and key in _norm(c.name)]
            if around:
                return chosen(around)
        return None, _("Unknown category “%(value)s”: GridDesk has no category of that name.",
                       value=text)

    # areas --------------------------------------------------------------------------------
    def area(self, grid_text: str, community_text: str) -> tuple[AreaRef | None, str | None,
                                                                   str | None]:
        """(area, field key the problem is about, problem)."""
        memo_key = (_norm(grid_text), _norm(community_text))
        if memo_key not in self._area_memo:
            self._area_memo[memo_key] = self._find_area(grid_text, community_text)
        return self._area_memo[memo_key]

    def _match(self, text: str, levels, within: AreaRef | None = None
               ) -> tuple[AreaRef | None, str | None]:
        key = _norm(text)
        for level in levels:  # exact names, grids first
            exact = [a for a in self.exact_areas.get((level, key), [])
                     if within is None or a.path.startswith(within.path)]
            if len(exact) == 1:
                return exact[0], None
            if len(exact) > 1:
                return None, _("“%(value)s” names several areas (%(names)s).", value=text,
                               names="、".join(f"{a.name}（{a.code}）" for a in exact[:5]))
        pool = [(a, k) for a, k in self.area_keys if a.level in levels
                and (within is None or a.path.startswith(within.path))]
        inside = [(a, k) for a, k in pool if k and k in key]  # "甲社区甲一网格"
        if inside:
            longest = max(len(k) for _a, k in inside)
            inside = [a for a, k in inside if len(k) == longest]
            if len(inside) == 1:
                return inside[0], None
        around = [a for a, k in pool if len(key) >= 2 and key in k]  # "甲一" → 甲一网格
        if len(around) == 1:
            return around[0], None
        if len(around) > 1:
            return None, _("“%(value)s” names several areas (%(names)s).", value=text,
                           names="、".join(a.name for a in around[:5]))
        return None, None

    def _find_area(self, grid_text: str, community_text: str):
        community = None
        if community_text:
            community, problem = self._match(community_text, (AreaLevel.COMMUNITY,))
            if community is None:
                return None, "community", problem or _(
                    "Unknown community “%(value)s”.", value=community_text)
        area = community
        if grid_text:
            grid, problem = self._match(grid_text, (AreaLevel.GRID,), within=community)
            if grid is None and problem is None:
                # A "网格/社区" column may hold a community name.
                grid, problem = self._match(grid_text, (AreaLevel.COMMUNITY,), within=community)
                if grid is not None and community is not None and grid.id != community.id:
                    grid = None
            if grid is None and problem is None and community is not None:
                other, _problem = self._match(grid_text, (AreaLevel.GRID,))
                if other is not None:
                    problem = _("The grid %(grid)s is not in %(community)s.", grid=other.name,
                                community=community.name)
            if grid is None:
                return None, "grid", problem or (
                    _("Unknown grid “%(value)s” in %(community)s.", value=grid_text,
                      community=community.name) if community is not None
                    else _("Unknown grid “%(value)s”.", value=grid_text))
            area = grid
        if area is None:
            return None, "grid", _("Give the grid or the community.")
        if self.restricted and (self.scope is None or not area.path.startswith(self.scope.path)):
            return None, "grid" if grid_text else "community", _(
                "%(area)s lies outside your area (%(scope)s).", area=area.name,
                scope=self.scope.name if self.scope else "—")
        return area, None, None

    # people -------------------------------------------------------------------------------
    def handler(self, text: str) -> tuple[int, int | None] | None:
        """(user id, department id) of the one active person with exactly this name."""
        people = self.users.get(_norm(text), [])
        return people[0] if len(people) == 1 else None


# --- one row ---------------------------------------------------------------------------------

@dataclass
class ParsedRow:
    row: int
    values: list  # the cells as the row held them, JSON-ready (``_dump``)
    issues: list[tuple[str, str]] = field(default_factory=list)  # (column, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    reported_at: datetime | None = None
    closed_at: datetime | None = None
    reported_has_time: bool = False  # the cell gave a time of day, not just a date
    closed_has_time: bool = False
    place: str | None = None
    area: AreaRef | None = None
    category: CategoryRef | None = None
    description: str = ""
    reporter: str | None = None
    phone: str | None = None
    handler: str | None = None
    handler_user: tuple[int, int | None] | None = None
    result: str | None = None
    extra: dict = field(default_factory=dict)
    ref: str = ""

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def status(self) -> TicketStatus:
        if self.closed_at is not None:
            return TicketStatus.CLOSED
        if self.handler_user is not None:
            return TicketStatus.IN_PROGRESS
        # Nobody GridDesk knows is on it: the matrix gives it an owner, who accepts it.
        return TicketStatus.PENDING

    @property
    def title(self) -> str:
        first = next((line.strip() for line in self.description.splitlines() if line.strip()), "")
        return first[:40]


def parse_row(ledger: Ledger, row: LedgerRow, mapping: dict, resolver: Resolver) -> ParsedRow:
    """Validate one row; every problem is listed with the column it is about."""
    values = row.values
    parsed = ParsedRow(row=row.number, values=[_dump(v) for v in values])

    def raw(key):
        index = mapping.get(key)
        return values[index] if index is not None and index < len(values) else None

    def text(key) -> str:
        value = raw(key)
        return "" if _placeholder(value) else cell_text(value)

    def column(key) -> str:
        return ledger.column_label(mapping.get(key))

    def problem(key, reason):
        parsed.issues.append((column(key), reason))

    zone = local_zone()
    reported = closed = None
    try:
        reported = parse_date(raw("date"))
        if reported is None:
            problem("date", _("The date is missing."))
    except ValueProblem as exc:
        problem("date", str(exc))
    if reported is not None:
        moment = reported[0].replace(tzinfo=zone)
        if moment.year < EARLIEST_YEAR:
            problem("date", _("The date %(value)s is before %(year)s.",
                              value=cell_text(raw("date")), year=EARLIEST_YEAR))
        elif moment > resolver.now + timedelta(minutes=5):
            problem("date", _("The date %(value)s lies in the future.",
                              value=cell_text(raw("date"))))
        else:
            parsed.reported_at, parsed.reported_has_time = moment, reported[1]
    if mapping.get("closed") is not None:
        try:
            closed = parse_date(raw("closed"))
        except ValueProblem as exc:
            problem("closed", str(exc))
    if closed is not None and parsed.reported_at is not None:
        moment, has_time = closed[0].replace(tzinfo=zone), closed[1]
        if moment > resolver.now + timedelta(minutes=5):
            problem("closed", _("The date %(value)s lies in the future.",
                                value=cell_text(raw("closed"))))
        elif moment.date() < parsed.reported_at.date() or (has_time and moment < parsed.reported_at):
            problem("closed", _("The closed date %(closed)s is before the reported date.",
                                closed=cell_text(raw("closed"))))
        else:
            # A closed day without a time on the day of the report: closed at the report time.
            parsed.closed_at = max(moment, parsed.reported_at)
            parsed.closed_has_time = has_time or parsed.closed_at != moment

    category_text = text("category")
    if not category_text:
        problem("category", _("The category is missing."))
    else:
        parsed.category, reason = resolver.category(category_text)
        if reason:
            problem("category", reason)

    grid_text, community_text = text("grid"), text("community")
    parsed.area, about, reason = resolver.area(grid_text, community_text)
    if reason:
        key = about if mapping.get(about) is not None else (
            "grid" if mapping.get("grid") is not None else "community")
        problem(key, reason)

    parsed.description = text("description")
    if not parsed.description:
        problem("description", _("The description is missing."))
    elif len(parsed.description) > MAX_DESCRIPTION:  # the ticket's own limit (models/fields.py)
        problem("description", _("Longer than %(count)s characters.", count=MAX_DESCRIPTION))

    parsed.place = text("place") or None
    if parsed.place and len(parsed.place) > MAX_ADDRESS:
        problem("place", _("Longer than %(count)s characters.", count=MAX_ADDRESS))
    parsed.reporter = text("reporter") or None
    if parsed.reporter and len(parsed.reporter) > MAX_REPORTER:
        problem("reporter", _("Longer than %(count)s characters.", count=MAX_REPORTER))
    try:
        parsed.phone, more = parse_phone(raw("phone"))
        if more:
            parsed.extra[column("phone")] = cell_text(raw("phone"))
            parsed.warnings.append((column("phone"), _(
                "Only the first number (%(phone)s) is kept as the reporter's phone; the whole "
                "cell is kept with the ticket.", phone=parsed.phone)))
    except ValueProblem as exc:
        problem("phone", str(exc))
    parsed.handler = text("handler") or None
    parsed.result = text("result") or None
    if parsed.handler:
        parsed.handler_user = resolver.handler(parsed.handler)
    if parsed.result and parsed.closed_at is None and not any(
            c == column("closed") for c, _r in parsed.issues):
        parsed.warnings.append((column("result"), _(
            "There is a result but no closed date: the ticket is imported as still in progress.")))

    mapped = {i for i in mapping.values() if i is not None}
    for index, value in enumerate(values):
        label = ledger.column_label(index)
        if index not in mapped and not _placeholder(value) and label not in REPORT_COLUMNS:
            parsed.extra[label] = cell_text(value)

    if parsed.ok:
        parsed.ref = row_reference(parsed)
    return parsed


def row_reference(parsed: ParsedRow) -> str:
    """The identity of a ledger row, the same in any file: imports never repeat it."""
    content = "\x1f".join([
        parsed.reported_at.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M:%S"),
        _norm(parsed.place or ""), parsed.area.code, parsed.category.code,
        _norm(parsed.description), parsed.phone or ""])
    return "ledger:" + hashlib.sha256(content.encode("utf-8")).hexdigest()


def preview(ledger: Ledger, mapping: dict, resolver: Resolver, limit: int = 10) -> list[ParsedRow]:
    return [parse_row(ledger, row, mapping, resolver) for row in ledger.rows[:limit]]


# --- the report ------------------------------------------------------------------------------

@dataclass
class ImportReport:
    file_name: str
    sheet: str
    dry_run: bool
    headers: list[str]
    mapping: dict  # field key → column label
    total: int = 0  # data rows (blank rows and section titles not counted)
    position: int = 0  # rows handled so far
    imported: int = 0  # in a dry run: rows that would be imported
    skipped_existing: int = 0
    invalid: int = 0
    blank_rows: int = 0
    elapsed: float = 0.0
    started_at: str = ""
    errors: list[dict] = field(default_factory=list)  # {"row", "issues": [[column, reason]], "values"}
    warnings: list[dict] = field(default_factory=list)  # {"row", "column", "reason"}
    existing: list[dict] = field(default_factory=list)  # {"row", "number", "same_as_row"}
    notes: list[dict] = field(default_factory=list)  # {"row", "text"}: skipped section titles
    seen: dict = field(default_factory=dict)  # row reference → row number, within this file

    @classmethod
    def start(cls, ledger: Ledger, mapping: dict, file_name: str, dry_run: bool) -> "ImportReport":
        return cls(file_name=file_name, sheet=ledger.sheet, dry_run=dry_run,
                   headers=[ledger.column_label(i) for i in range(len(ledger.headers))],
                   mapping=mapping_labels(ledger, mapping), total=len(ledger.rows),
                   blank_rows=ledger.blank_rows, notes=list(ledger.notes),
                   started_at=utcnow().isoformat())

    @property
    def finished(self) -> bool:
        return self.position >= self.total

    @property
    def issues(self) -> list[tuple[int, str, str]]:
        """(row, column, reason), one per problem, in row order."""
        return [(e["row"], column, reason) for e in self.errors for column, reason in e["issues"]]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "ImportReport":
        return cls(**json.loads(text))


# --- the import ------------------------------------------------------------------------------

def import_ledger(ledger: Ledger, mapping: dict, *, dry_run: bool, actor: User | None = None,
                  file_name: str = "", report: ImportReport | None = None,
                  max_rows: int | None = None, resolver: Resolver | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  chunk_size: int = COMMIT_EVERY) -> ImportReport:
    """Check (dry run) or import the rows of a ledger, ``chunk_size`` rows per transaction.

    Continues ``report`` when given (the web page imports a large file over several requests)
    and stops after ``max_rows`` rows; ``report.finished`` says when the file is done. A real run
    commits each chunk; a dry run writes nothing."""
    problems = mapping_problems(ledger, mapping)
    if problems:
        raise LedgerError(" ".join(problems))
    report = report or ImportReport.start(ledger, mapping, file_name, dry_run)
    resolver = resolver or Resolver(actor)
    began = clock.monotonic()
    end = report.total if max_rows is None else min(report.total, report.position + max_rows)
    while report.position < end:
        batch = ledger.rows[report.position:min(report.position + chunk_size, end)]
        parsed = [parse_row(ledger, row, mapping, resolver) for row in batch]
        for attempt in range(3):
            try:
                outcome = _import_batch(parsed, report, dry_run, actor, file_name, ledger.sheet)
                if not dry_run:
                    db.session.commit()
                break
            except IntegrityError:
                # The same rows were imported meanwhile by someone else: check them again.
                db.session.rollback()
                if attempt == 2:
                    raise
        _merge(report, outcome)
        report.position += len(batch)
        if progress is not None:
            progress(report.position, report.total)
    report.elapsed += clock.monotonic() - began
    return report


def _import_batch(parsed: list[ParsedRow], report: ImportReport, dry_run: bool,
                  actor: User | None, file_name: str, sheet: str) -> dict:
    refs = [p.ref for p in parsed if p.ok]
    known = dict(db.session.execute(
        sa.select(Ticket.external_ref, Ticket.number).where(Ticket.external_ref.in_(refs)))
        .all()) if refs else {}
    outcome = {"errors": [], "warnings": [], "existing": [], "seen": {}, "imported": 0}
    seen = dict(report.seen)
    for p in parsed:
        if not p.ok:
            outcome["errors"].append({"row": p.row, "issues": [list(i) for i in p.issues],
                                      "values": p.values})
            continue
        if p.ref in known:
            outcome["existing"].append({"row": p.row, "number": known[p.ref], "same_as_row": None})
            continue
        if p.ref in seen:
            outcome["existing"].append({"row": p.row, "number": None, "same_as_row": seen[p.ref]})
            continue
        if not dry_run:
            create_historical_ticket(p, actor=actor, file_name=file_name, sheet=sheet)
        seen[p.ref] = outcome["seen"][p.ref] = p.row
        outcome["imported"] += 1
        outcome["warnings"].extend({"row": p.row, "column": c, "reason": r} for c, r in p.warnings)
    if not dry_run:
        db.session.flush()
    return outcome


def _merge(report: ImportReport, outcome: dict) -> None:
    report.errors.extend(outcome["errors"])
    report.invalid += len(outcome["errors"])
    report.existing.extend(outcome["existing"])
    report.skipped_existing += len(outcome["existing"])
    report.warnings.extend(outcome["warnings"])
    report.seen.update(outcome["seen"])
    report.imported += outcome["imported"]


def create_historical_ticket(p: ParsedRow, *, actor: User | None, file_name: str,
                             sheet: str = "") -> Ticket:
    """One good ledger row as a ticket with the timeline it had: reported at the row's date,
    imported (in progress when someone handled it), and closed at the closed date with the
    result (a closure like any other in the statistics, models/stats/facts.py). A row still open gets an owner and deadlines counted from the import: the person
    in the handler column when GridDesk knows them (in progress), else the matrix (pending)."""
    area = db.session.get(Area, p.area.id)
    ticket = open_ticket(category=db.session.get(Category, p.category.id), title=p.title, description=p.description,
                         source=Source.IMPORT, area=area, address=p.place,
                         reporter_name=p.reporter, reporter_phone=p.phone, at=p.reported_at)
    ticket.external_ref = p.ref
    ticket.created_by_id = actor.id if actor is not None else None
    ledger_data = {"file": file_name, "sheet": sheet, "row": p.row}
    if p.handler:
        ledger_data["handler"] = p.handler
    if p.result:
        ledger_data["result"] = p.result
    if p.extra:
        ledger_data["extra"] = p.extra
    ticket.attributes = {"ledger": ledger_data}
    kind = ActorKind.USER if actor is not None else ActorKind.SYSTEM
    person = {}
    if p.handler_user is not None:
        user = db.session.get(User, p.handler_user[0])
        person = {"to_user": user, "to_department": user.department}
    opened = TicketStatus.IN_PROGRESS if p.status != TicketStatus.PENDING else TicketStatus.PENDING
    append_event(ticket, "import", actor=actor, actor_kind=kind, to_status=opened,
                 note=_("Imported from the ledger %(file)s, row %(row)s.", file=file_name,
                        row=p.row),
                 details={"file": file_name, "sheet": sheet, "row": p.row,
                          "imported_at": utcnow().isoformat(), "handler": p.handler},
                 at=p.reported_at, **person)
    if opened == TicketStatus.IN_PROGRESS:
        ticket.accepted_at = p.reported_at
    if p.closed_at is None:
        now = utcnow()
        if opened == TicketStatus.IN_PROGRESS:
            start_handling_clock(ticket, now)
            ticket.last_activity_at = now  # the import is its latest activity, not the old date
        else:
            dispatch(ticket, now, deadlines_from=now)
    if p.closed_at is not None:
        # The deadline the case had (the matrix's, counted from the report) tells whether it
        # closed in time; the closure counts in the statistics on its historical day.
        deadline = past_handling_deadline(ticket, p.reported_at)
        note = p.result or ""
        if p.handler:
            note = (note + "\n" if note else "") + _("Handled by %(name)s.", name=p.handler)
        append_event(ticket, "import", actor=actor, actor_kind=kind,
                     to_status=TicketStatus.CLOSED, note=note or None,
                     details={"file": file_name, "row": p.row, "closed": True,
                              "handler": p.handler,
                              "in_time": in_time(p.closed_at, deadline)},
                     at=p.closed_at)
        ticket.submitted_at = ticket.closed_at = p.closed_at
        if p.handler_user is not None:
            ticket.submitted_by_id = p.handler_user[0]
    return ticket


# --- the error sheet -------------------------------------------------------------------------

def _as_written(value):
    """A cell of a row not imported, given back as it was: numbers as numbers, dates as dates
    (a date cell reads as a datetime at midnight: shown again without the time)."""
    if isinstance(value, datetime) and value.time() == time() and value.tzinfo is None:
        return value.date()
    return value


def error_workbook(report: ImportReport) -> bytes:
    """The rows that were not imported, with their reasons and original values (first sheet),
    the rows imported before, and the warnings. A corrected first sheet can be imported again."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from integrations.excel.cells import row as safe_row

    book = Workbook()
    sheet = book.active
    sheet.title = _("Not imported")
    sheet.append(list(REPORT_COLUMNS) + list(report.headers))
    for error in report.errors:
        columns = "、".join(dict.fromkeys(c for c, _r in error["issues"] if c))
        reasons = "\n".join(f"{c}：{r}" if c else r for c, r in error["issues"])
        original = [_as_written(_load(value)) for value in error["values"]]
        sheet.append(safe_row(sheet, [error["row"], columns, reasons] + original))
    bold, red = Font(bold=True), PatternFill("solid", fgColor="F8D7DA")
    for cell in sheet[1]:
        cell.font = bold
    for cell in sheet[1][:3]:
        cell.fill = red
    for row in sheet.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 8
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 48
    sheet.freeze_panes = "D2"

    before = book.create_sheet(_("Imported before"))
    before.append([_("Row"), _("Ticket"), _("Same as row")])
    for item in report.existing:
        before.append(safe_row(before, [item["row"], item["number"] or "", item["same_as_row"] or ""]))
    notes = book.create_sheet(_("Warnings"))
    notes.append([_("Row"), _("Column"), _("Reason")])
    for item in report.warnings:
        notes.append(safe_row(notes, [item["row"], item["column"], item["reason"]]))
    for item in report.notes:
        notes.append([item["row"], "", _("Skipped: a section title (%(text)s).", text=item["text"])])
    for extra in (before, notes):
        for cell in extra[1]:
            cell.font = bold
        extra.column_dimensions["B"].width = 20
        extra.column_dimensions["C"].width = 60
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- an uploaded file between the steps of the web page --------------------------------------

TOKEN_PATTERN = re.compile(r"^[0-9a-f]{32}$")
KEEP_UPLOADS = timedelta(days=2)
MODES = ("dry", "import")


class StoredLedger:
    """UPLOAD_DIR/imports/<token>.xlsx with its metadata, parsed rows and reports beside it.
    The token is random; only the user who uploaded the file may open it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.folder = Path(current_app.config["UPLOAD_DIR"]) / "imports"
        self.meta = json.loads(self._path("json").read_text(encoding="utf-8"))

    def _path(self, suffix: str) -> Path:
        return Path(current_app.config["UPLOAD_DIR"]) / "imports" / f"{self.token}.{suffix}"

    @classmethod
    def create(cls, data: bytes, file_name: str, owner: User) -> "StoredLedger":
        """Check and keep an upload; raises LedgerError when it is no readable ledger."""
        ledger = read_ledger(data)
        folder = Path(current_app.config["UPLOAD_DIR"]) / "imports"
        folder.mkdir(parents=True, exist_ok=True)
        _remove_old_uploads(folder)
        token = secrets.token_hex(16)
        name = re.split(r"[\\/]", file_name or "")[-1].strip()[:120] or "ledger.xlsx"
        (folder / f"{token}.xlsx").write_bytes(data)
        (folder / f"{token}.rows.json").write_text(ledger.to_json(), encoding="utf-8")
        meta = {"owner": owner.id, "file_name": name, "uploaded_at": utcnow().isoformat(),
                "sheet": ledger.sheet, "mapping": guess_mapping(ledger.headers)}
        (folder / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False),
                                              encoding="utf-8")
        return cls(token)

    @classmethod
    def open(cls, token: str, owner: User) -> "StoredLedger | None":
        if not TOKEN_PATTERN.match(token or ""):
            return None
        path = Path(current_app.config["UPLOAD_DIR"]) / "imports" / f"{token}.json"
        if not path.exists():
            return None
        stored = cls(token)
        return stored if stored.meta.get("owner") == owner.id else None

    @property
    def file_name(self) -> str:
        return self.meta["file_name"]

    @property
    def mapping(self) -> dict:
        return {key: self.meta["mapping"].get(key) for key in FIELD_KEYS}

    def save_meta(self) -> None:
        self._path("json").write_text(json.dumps(self.meta, ensure_ascii=False), encoding="utf-8")

    def ledger(self) -> Ledger:
        return Ledger.from_json(self._path("rows.json").read_text(encoding="utf-8"))

    def choose_sheet(self, sheet: str) -> Ledger:
        """Read another sheet of the workbook; the mapping is guessed again."""
        ledger = read_ledger(self._path("xlsx"), sheet=sheet)
        self._path("rows.json").write_text(ledger.to_json(), encoding="utf-8")
        self.meta.update(sheet=ledger.sheet, mapping=guess_mapping(ledger.headers))
        for mode in MODES:
            self._path(f"{mode}.json").unlink(missing_ok=True)
        self.save_meta()
        return ledger

    def report(self, mode: str) -> ImportReport | None:
        path = self._path(f"{mode}.json")
        return ImportReport.from_json(path.read_text(encoding="utf-8")) if path.exists() else None

    def save_report(self, mode: str, report: ImportReport) -> None:
        temporary = self._path(f"{mode}.json.part")
        temporary.write_text(report.to_json(), encoding="utf-8")
        os.replace(temporary, self._path(f"{mode}.json"))


def _remove_old_uploads(folder: Path) -> None:
    limit = clock.time() - KEEP_UPLOADS.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass
