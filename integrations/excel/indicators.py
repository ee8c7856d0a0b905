"""Indicator tables as .xlsx: one row per group (grid, community, department, assignee,
category, month…), one column per indicator with its Chinese name, ratios as percentages; a
second sheet gives every indicator's definition and what the table covers."""
from __future__ import annotations

from datetime import date
from typing import Sequence

from flask_babel import gettext as _
from openpyxl import Workbook

from .cells import cell, header

NUMBER_FORMATS = {"ratio": "0.0%", "hours": "0.0", "stars": "0.00", "count": "0"}
MONTH_FORMAT = "yyyy-mm"


def write_indicator_workbook(target, rows: Sequence, indicators: Sequence, *,
                             group_label: str, about: Sequence[tuple[str, str]],
                             dated: str | None = None) -> None:
    """``rows``: objects with ``label`` and ``values[code]`` (models.stats.indicators);
    ``indicators``: objects with ``code``, ``name``, ``definition``, ``unit``; ``about``:
    (label, value) lines saying the range, scope and grouping; ``dated``: "day" or "month" when
    the rows are days ("YYYY-MM-DD") or months ("YYYY-MM"): their first column is then a real
    date cell (a month as its first day, shown as yyyy-mm)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Indicator sheet"))
    header(sheet, [group_label] + [i.name for i in indicators],
           [22] + [max(10, min(20, 2 * len(i.name) + 2)) for i in indicators])
    for row in rows:
        sheet.append([_first_cell(sheet, row, dated)] + [
            cell(sheet, row.values.get(i.code), NUMBER_FORMATS.get(i.unit)) for i in indicators])
    notes = book.create_sheet(_("Indicator definitions"))
    header(notes, [_("Indicator name"), _("Indicator definition"), _("Indicator code")],
           [24, 90, 20])
    for indicator in indicators:
        notes.append([cell(notes, indicator.name), cell(notes, indicator.definition),
                      cell(notes, indicator.code)])
    notes.append([])
    for label, value in about:
        notes.append([cell(notes, label), cell(notes, value)])
    book.save(target)


def _first_cell(sheet, row, dated: str | None):
    if dated == "day":
        return cell(sheet, date.fromisoformat(str(row.key)))
    if dated == "month":
        return cell(sheet, date.fromisoformat(f"{row.key}-01"), MONTH_FORMAT)
    return cell(sheet, row.label)
