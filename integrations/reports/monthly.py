"""The monthly report of an area as HTML (the printable page) and as PDF (the same HTML through
WeasyPrint): its charts drawn on the server as SVG, its figures formatted as printed. The
numbers come from models.stats.monthly_report; nothing is counted here."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from integrations.charts.svg import bar_chart, column_chart
from integrations.pdf import html_to_pdf
from models.clock import format_local
from models.stats.definitions import BY_CODE

GROUP_LABELS = {"grid": _l("Grid"), "community": _l("Community"), "street": _l("Street"),
                "district": _l("District"), "department": _l("Department"),
                "assignee": _l("Assigned to"), "category": _l("Category"),
                "month": _l("Report month"), "day": _l("Report day")}
# What the PDF's export job does, in order: its progress is the number of steps done.
REPORT_STEPS = (_l("Reading the figures"), _l("Drawing the charts"), _l("Laying out the PDF"),
                _l("Saving the file"))


def figure(value, unit: str) -> str:
    """An indicator's value as the report prints it."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "hours":
        return f"{value:.1f}"
    if unit == "stars":
        return f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def report_charts(report) -> dict:
    days = [row.key[-2:] if isinstance(row.key, str) else str(row.key) for row in report.by_day]
    charts = {
        "daily": column_chart(days, [
            (BY_CODE["received"].name, [r.values.get("received") or 0 for r in report.by_day]),
            (BY_CODE["closed"].name, [r.values.get("closed") or 0 for r in report.by_day])],
            title=_("Received and closed per day")),
        "places": bar_chart([(r.label, r.values.get("received") or 0) for r in report.by_place],
                            title=_("Received by %(group)s",
                                    group=GROUP_LABELS[report.place_group])),
        "categories": bar_chart([(r.label, r.values.get("received") or 0)
                                 for r in report.by_category],
                                title=_("Categories with the most cases")),
    }
    if report.hotspots:
        charts["hotspots"] = bar_chart(
            [(f"{h.grid} · {h.category}", h.count) for h in report.hotspots],
            title=_("Hotspots (grid × category)"))
    return charts


def render_report(report, *, for_pdf: bool) -> str:
    """The report page; ``for_pdf`` leaves out the screen's toolbar (and needs no request)."""
    return render_template("admin/report/monthly.html", report=report, for_pdf=for_pdf,
                           charts=report_charts(report), figure=figure,
                           group_label=GROUP_LABELS[report.place_group],
                           generated=format_local(report.generated_at),
                           month_label=_("%(year)s-%(month)s", year=report.month.year,
                                         month=report.month.month))


def report_stylesheet() -> Path:
    return Path(current_app.static_folder) / "css" / "report.css"


def report_file_name(report) -> str:
    return f"{_('Monthly report')}-{report.area.name}-{report.month:%Y-%m}.pdf"


def report_pdf(html: str) -> bytes:
    """The report's HTML (``render_report(..., for_pdf=True)``) laid out as a PDF; raises
    integrations.pdf.PdfUnavailable where this server cannot make PDFs."""
    return html_to_pdf(html, [report_stylesheet()])
