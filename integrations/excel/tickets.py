"""The ticket export: one sheet, Chinese headers, frozen header row, real date cells, the
custom fields' answers in their own columns. Written with openpyxl's write-only mode from
batches of rows, so millions of tickets never sit in memory at once."""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

from flask_babel import gettext as _
from openpyxl import Workbook

from models.exports.ticket_rows import row_answers
from models.people.access import reporter_phone_for
from models.vocabulary import Priority, Source, TicketStatus

from .cells import cell, header

from . import MEDIA_TYPE  # noqa: F401  (where callers used to find it)


def _label(enum_cls, value) -> str:
    return enum_cls(value).label if value is not None else ""


def ticket_columns(categories, user) -> list[tuple[str, Callable, int]]:
    """(header, value of a row, width) of the fixed columns, in the list's words; the
    reporter's phone as ``user`` may read it (masked for most roles, as on the ticket's page)."""
    def category(row):
        found = categories.get(row.category_id)
        return str(found) if found is not None else ""

    return [
        (_("Number"), lambda r: r.number, 18), (_("Title"), lambda r: r.title, 30),
        (_("Category"), category, 22), (_("Status"), lambda r: _label(TicketStatus, r.status), 10),
        (_("Priority"), lambda r: _label(Priority, r.priority), 8),
        (_("Source"), lambda r: _label(Source, r.source), 10),
        (_("Street"), lambda r: r.street or "", 14),
        (_("Community"), lambda r: r.community or "", 14), (_("Grid"), lambda r: r.grid or "", 14),
        (_("Address"), lambda r: r.address or "", 30),
        (_("Assigned department"), lambda r: r.department or "", 18),
        (_("Assigned to"), lambda r: r.assignee or "", 12),
        (_("Handling deadline"), lambda r: r.handle_deadline, 17),
        (_("Created"), lambda r: r.created_at, 17), (_("Closed at"), lambda r: r.closed_at, 17),
        (_("Rating"), lambda r: r.rating, 8),
        (_("Reporter"), lambda r: r.reporter_name or "", 12),
        (_("Reporter phone"), lambda r: reporter_phone_for(user, r), 15),
        (_("Description"), lambda r: r.description or "", 60),  # the whole text: titles are cut
    ]


def write_ticket_workbook(target, user, batches: Iterable[Sequence], categories: dict,
                          custom_columns: dict[str, str],
                          on_batch: Callable[[int], None] | None = None) -> int:
    """Write the rows of ``batches`` to ``target`` (a path or a binary file) as ``user`` may
    read them; ``on_batch`` gets the number of rows written so far after each batch. Returns
    that number."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Tickets"))
    columns = ticket_columns(categories, user)
    header(sheet, [label for label, _get, _w in columns] + list(custom_columns.values()),
           [width for _l, _get, width in columns] + [16] * len(custom_columns))
    written = 0
    for batch in batches:
        for item in batch:
            answers = row_answers(item, categories) if custom_columns else {}
            sheet.append([cell(sheet, get(item)) for _label, get, _w in columns]
                         + [cell(sheet, answers.get(code)) for code in custom_columns])
        written += len(batch)
        if on_batch is not None:
            on_batch(written)
    book.save(target)
    return written
