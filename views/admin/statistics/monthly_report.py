"""The printable monthly report of an area (HTML with print CSS; the same as a PDF, made in the
background as an export job with its progress), and the indicator tables as .xlsx — all scoped
to the user."""
from __future__ import annotations

import io
from datetime import date

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from integrations.excel import MEDIA_TYPE
from integrations.reports.monthly import GROUP_LABELS, render_report
from models.exports.jobs import MONTHLY_REPORT
from models.people.roles import AREA_REPORT_ROLES
from models.stats.definitions import INDICATORS
from models.stats.indicators import GROUPS, indicators
from models.stats.monthly_report import (month_end, monthly_report, parse_month, report_area,
                                         report_areas)
from models.stats.scope import StatsQueryError, find_area, find_category
from models.errors import WorkflowError
from views.downloads import send_download

from ..base import GridDeskView
from ..export_views import begin_export

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

    @expose("/pdf", methods=["GET", "POST"])
    def pdf(self):
        """POST: the PDF is made in the background (an export job with its progress page);
        GET (an old link): the report page, whose button asks for the PDF."""
        try:
            area = report_area(current_user, request.values.get("area"))
            month = parse_month(request.values.get("month"))
        except WorkflowError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(".index"))
        if request.method == "GET":
            return redirect(url_for(".index", area=area.code, month=month.strftime("%Y-%m")))
        job = begin_export(MONTHLY_REPORT, {"area": area.code, "area_name": area.name,
                                             "month": month.strftime("%Y-%m")})
        return redirect(url_for("exports.job", job_id=job.id))

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
        from integrations.excel.indicators import write_indicator_workbook  # openpyxl, when used

        write_indicator_workbook(buffer, rows, INDICATORS,
                                 group_label=str(GROUP_LABELS.get(group_by, _("Report range"))),
                                 about=about,
                                 dated=group_by if group_by in ("day", "month") else None)
        buffer.seek(0)
        name = f"{_('Indicator sheet')}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
        return send_download(buffer, name, MEDIA_TYPE)

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
