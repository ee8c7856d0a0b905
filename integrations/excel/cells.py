"""Cells as GridDesk writes them into every workbook.

Text that a spreadsheet program could take for a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return: CSV/formula injection) is written as a string cell with
Excel's quote prefix, so it is shown and re-saved as the same text and never evaluated. Times
become real date cells in local time (GRIDDESK_TIMEZONE; Excel has no time zones).
"""
from __future__ import annotations

from datetime import date, datetime

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from models.clock import to_local

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")


def looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def cell(sheet, value, number_format: str | None = None):
    """A value ready for ``sheet.append`` (write-only and normal sheets alike): the value itself
    when nothing needs saying, otherwise a cell that says it."""
    if isinstance(value, datetime):
        local = to_local(value) if value.tzinfo is not None else value
        item = WriteOnlyCell(sheet, local.replace(tzinfo=None))
        item.number_format = number_format or DATETIME_FORMAT
        return item
    if isinstance(value, date):
        item = WriteOnlyCell(sheet, value)
        item.number_format = number_format or DATE_FORMAT
        return item
    if looks_like_formula(value):
        item = WriteOnlyCell(sheet, value)
        item.data_type = "s"  # openpyxl would store "=…" as a formula
        item.quotePrefix = True  # and Excel keeps it text when the cell is edited
        return item
    if number_format is not None and value is not None:
        item = WriteOnlyCell(sheet, value)
        item.number_format = number_format
        return item
    return value


def row(sheet, values) -> list:
    """One row of safe cells (see ``cell``)."""
    return [cell(sheet, value) for value in values]


def header(sheet, labels, widths=None) -> None:
    """The header row: bold, shaded, frozen; column widths set before any row is written (a
    write-only sheet takes them only then)."""
    from openpyxl.utils import get_column_letter

    for index, label in enumerate(labels, 1):
        width = widths[index - 1] if widths else max(10, min(40, 2 * len(str(label)) + 4))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    cells = []
    for label in labels:
        item = WriteOnlyCell(sheet, str(label))
        item.font, item.fill = HEADER_FONT, HEADER_FILL
        item.alignment = Alignment(vertical="center")
        cells.append(item)
    sheet.append(cells)
