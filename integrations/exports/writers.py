"""One writer per kind of export (models.exports.jobs.EXPORT_KINDS): it writes the job's file to
``target`` while recording the progress, and returns the name the user downloads it under."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from flask_babel import gettext as _

from integrations.excel import MEDIA_TYPE as XLSX
from integrations.pdf import PdfUnavailable
from integrations.reports.monthly import REPORT_STEPS, render_report, report_file_name, report_pdf
from models.clock import local_zone
from models.errors import WorkflowError
from models.exports.jobs import MONTHLY_REPORT, TICKETS, ExportJob, record_progress
from models.exports.ticket_rows import (count_rows, custom_field_columns, export_categories,
                                        export_condition, row_batches)
from models.people.user import User
from models.stats.monthly_report import monthly_report, parse_month, report_area


class ExportRefused(Exception):
    """The export cannot be made as asked; ``reason`` is shown to the user on the job's page."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Writer:
    write: Callable[[ExportJob, User, Path], str]
    suffix: str
    media_type: str
    failed: Callable[[], str]  # the message of an unexpected failure, in the user's words


def _stamp() -> str:
    return datetime.now(local_zone()).strftime("%Y%m%d-%H%M")


def write_tickets(job: ExportJob, user: User, target: Path) -> str:
    params = job.params or {}
    condition = export_condition(user, params.get("filters") or [], params.get("search"))
    record_progress(job.id, 0, total=count_rows(condition))
    categories = export_categories()
    from integrations.excel.tickets import write_ticket_workbook  # openpyxl, when used

    write_ticket_workbook(target, user, row_batches(condition), categories,
                          custom_field_columns(condition, categories),
                          on_batch=lambda done: record_progress(job.id, done))
    return f"{_('tickets')}-{_stamp()}.xlsx"


def write_monthly_report(job: ExportJob, user: User, target: Path) -> str:
    """The report as the user's scope shows it when the job runs, in REPORT_STEPS."""
    params = job.params or {}
    record_progress(job.id, 0, total=len(REPORT_STEPS))
    try:
        report = monthly_report(user, report_area(user, params.get("area")),
                                parse_month(params.get("month")))
    except WorkflowError as exc:  # e.g. the area left the user's scope meanwhile
        raise ExportRefused(exc.message) from exc
    record_progress(job.id, 1)
    html = render_report(report, for_pdf=True)
    record_progress(job.id, 2)
    try:
        data = report_pdf(html)
    except PdfUnavailable as exc:
        raise ExportRefused(_("PDF reports cannot be made on this server (a system library is "
                              "missing); print the page instead."), str(exc)) from exc
    record_progress(job.id, 3)
    target.write_bytes(data)
    record_progress(job.id, 4)
    return report_file_name(report)


WRITERS = {
    TICKETS: Writer(write_tickets, ".xlsx", XLSX,
                    lambda: _("The export failed. Try again, or narrow the filters.")),
    MONTHLY_REPORT: Writer(write_monthly_report, ".pdf", "application/pdf",
                           lambda: _("The PDF could not be made. Try again, or print the "
                                     "report page instead.")),
}
