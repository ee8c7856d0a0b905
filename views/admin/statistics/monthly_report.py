"""The printable monthly report of an area (HTML with print CSS, and the same as a PDF), and
the indicator tables as .xlsx — all scoped to the user."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from integrations.charts.svg import bar_chart, column_chart
from integrations.excel.indicators import write_indicator_workbook
from integrations.excel.tickets import MEDIA_TYPE
from integrations.pdf import PdfUnavailable, html_to_pdf
from models.clock import format_local
from models.people.roles import AREA_REPORT_ROLES
from models.stats.definitions import BY_CODE, INDICATORS
from models.stats.indicators import GROUPS, indicators
from models.stats.monthly_report import (month_end, monthly_report, parse_month, report_area,
                                         report_areas)
from models.stats.scope import StatsQueryError, find_area, find_category
from models.errors import WorkflowError

from ..base import GridDeskView

GROUP_LABELS = {"grid": _l("Grid"), "community": _l("Community"), "street": _l("Street"),
                "district": _l("District"), "department": _l("Department"),
                "assignee": _l("Assigned to"), "category": _l("Category"),
                "month": _l("Report month"), "day": _l("Report day")}


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
                            title=_("Received by %(group)s", group=GROUP_LABELS[report.place_group])),
        "categories": bar_chart([(r.label, r.values.get("received") or 0)
                                 for r in report.by_category], title=_("Categories with the most cases")),
    }
    if report.hotspots:
        charts["hotspots"] = bar_chart(
            [(f"{h.grid} · {h.category}", h.count) for h in report.hotspots],
            title=_("Hotspots (grid × category)"))
    return charts


def render_report(report, *, for_pdf: bool) -> str:
    return render_template("admin/report/monthly.html", report=report, for_pdf=for_pdf,
                           charts=report_charts(report), figure=figure,
                           group_label=GROUP_LABELS[report.place_group],
                           generated=format_local(report.generated_at),
                           month_label=_("%(year)s-%(month)s", year=report.month.year,
                                         month=report.month.month))


def report_stylesheet() -> Path:
    return Path(current_app.static_folder) / "css" / "report.css"


class ReportView(GridDeskView):
    allowed_roles = AREA_REPORT_ROLES

    def _report(self):
        area = report_area(current_user, request.args.get("area"))
        return monthly_report(current_user, area, parse_month(request.args.get("month")))

    @expose("/")
    def index(self):
        try:
            report = self._report() if request.args.get("area") else None
        except WorkflowError as exc:
            flash(exc.message, "danger")
            report = None
        if report is None:
            return self.render("admin/report/choose.html", areas=report_areas(current_user),
                               month=parse_month(None).strftime("%Y-%m"),
                               groups=[(g, GROUP_LABELS[g]) for g in GROUPS if g != "day"])
        return render_report(report, for_pdf=False)

    @expose("/pdf")
    def pdf(self):
        try:
            report = self._report()
        except WorkflowError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(".index"))
        try:
            data = html_to_pdf(render_report(report, for_pdf=True), [report_stylesheet()])
        except PdfUnavailable as exc:
            current_app.logger.error("PDF report: %s", exc)
            flash(_("PDF reports cannot be made on this server (a system library is missing); "
                    "print the page instead."), "danger")
            return redirect(url_for(".index", area=report.area.code,
                                    month=report.month.strftime("%Y-%m")))
        name = f"{_('Monthly report')}-{report.area.name}-{report.month:%Y-%m}.pdf"
        return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name,
                         as_attachment=request.args.get("download") == "1")

    @expose("/indicators.xlsx")
    def indicator_table(self):
        """Any range, area, category and grouping, as the statistics pages ask for it."""
        try:
            start, end = self._range()
            group_by = request.args.get("group_by") or None
            if group_by is not None and group_by not in GROUPS:
                raise StatsQueryError(_("Group by one of: %(groups)s.", groups="、".join(
                    str(GROUP_LABELS[g]) for g in GROUPS)))
            area = find_area(current_user, request.args.get("area"))
            category = find_category(request.args.get("category"))
            rows = indicators(current_user, start, end, area=area, category=category,
                              group_by=group_by)
        except WorkflowError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(".index"))
        about = [(_("Report range"), _("%(start)s to %(end)s (local days, both included)",
                                        start=start.isoformat(), end=end.isoformat())),
                 (_("Area"), area.name if area else _("Everything you may see")),
                 (_("Category"), str(category) if category else _("All categories")),
                 (_("Grouped by"), str(GROUP_LABELS.get(group_by, _("Total of the range"))))]
        buffer = io.BytesIO()
        write_indicator_workbook(buffer, rows, INDICATORS,
                                 group_label=str(GROUP_LABELS.get(group_by, _("Report range"))),
                                 about=about)
        buffer.seek(0)
        name = f"{_('Indicator sheet')}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
        return send_file(buffer, as_attachment=True, download_name=name, mimetype=MEDIA_TYPE)

    def _range(self) -> tuple[date, date]:
        try:
            start = date.fromisoformat(request.args.get("from") or "")
            end = date.fromisoformat(request.args.get("to") or "")
        except ValueError:
            month = parse_month(request.args.get("month"))
            return month, month_end(month)
        if end < start:
            raise StatsQueryError(_("The end of the range is before its start."))
        return start, end
