"""Excel ledger import page (台账导入): upload → column mapping with a preview → dry run or import
→ result with the per-row report and the error sheet. The work is done in integrations.ledger.importer; large
files are processed in steps (one request per step) so the page can show a progress bar.
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import PurePath

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from integrations.ledger.importer import (FIELDS, MAX_FILE_BYTES, MAX_ROWS, MODES, ImportReport,
                                           LedgerError, Resolver, StoredLedger, cell_text,
                                           error_workbook, import_ledger, mapping_problems, preview)
from models.clock import local_zone
from models.people.access import sees_everywhere
from models.people.roles import COMMAND_ROLES
from views.inputs import whole_number
from views.downloads import send_download

from .base import GridDeskView

PREVIEW_ROWS = 10
SHOWN_ROWS = 500  # problems, warnings and already-imported rows listed on the result page
STEP_ROWS = {"dry": 2000, "import": 400}  # rows per request when the page shows progress
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def form_mapping(ledger) -> dict:
    """The column chosen for each field (``map_<field>`` = column index, empty = not imported)."""
    mapping = {}
    for f in FIELDS:
        index = whole_number(request.form.get(f"map_{f.key}"))
        mapping[f.key] = index if index is not None and index < len(ledger.headers) else None
    return mapping


class LedgerImportView(GridDeskView):
    # Command centres may import too, but only into areas inside their own scope.
    allowed_roles = COMMAND_ROLES

    def _stored(self, token: str) -> StoredLedger:
        stored = StoredLedger.open(token, current_user._get_current_object())
        if stored is None:
            abort(404)
        return stored

    def _run(self, stored: StoredLedger, mode: str, ledger, *, restart: bool,
             max_rows: int | None) -> ImportReport:
        report = None if restart else stored.report(mode)
        report = import_ledger(ledger, stored.mapping, dry_run=mode == "dry",
                               actor=current_user._get_current_object(),
                               file_name=stored.file_name, report=report, max_rows=max_rows)
        stored.save_report(mode, report)
        return report

    # --- 1. upload ---------------------------------------------------------------------------
    @expose("/", methods=["GET", "POST"])
    def index(self):
        if request.method == "POST":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                flash(_("Choose the Excel file (.xlsx) of the ledger."), "danger")
            else:
                try:
                    stored = StoredLedger.create(upload.read(MAX_FILE_BYTES + 1), upload.filename,
                                                 current_user._get_current_object())
                    return redirect(url_for(".mapping", token=stored.token))
                except LedgerError as exc:
                    flash(exc.message, "danger")
        return self.render("admin/ledger_upload.html", fields=FIELDS,
                           max_mb=MAX_FILE_BYTES // (1024 * 1024), max_rows=MAX_ROWS,
                           scope=None if sees_everywhere(current_user)
                           else current_user.scope_area)

    # --- 2. mapping and preview ----------------------------------------------------------------
    @expose("/<token>/", methods=["GET", "POST"])
    def mapping(self, token: str):
        stored = self._stored(token)
        ledger = stored.ledger()
        if request.method == "POST":
            stored.meta["mapping"] = form_mapping(ledger)
            stored.save_meta()
            mode = request.form.get("action")
            if mode in MODES:
                problems = mapping_problems(ledger, stored.mapping)
                if not problems:
                    self._run(stored, mode, ledger, restart=True, max_rows=None)
                    return redirect(url_for(".result", token=token, mode=mode))
                for problem in problems:
                    flash(problem, "danger")
            return redirect(url_for(".mapping", token=token))
        from openpyxl.utils import get_column_letter  # openpyxl only where a ledger is read

        mapping = stored.mapping
        problems = mapping_problems(ledger, mapping)
        rows = [] if problems else preview(ledger, mapping,
                                           Resolver(current_user._get_current_object()),
                                           limit=PREVIEW_ROWS)
        return self.render("admin/ledger_mapping.html", stored=stored, ledger=ledger,
                           fields=FIELDS, mapping=mapping, problems=problems, rows=rows,
                           letters=[get_column_letter(i + 1) for i in range(len(ledger.headers))],
                           raw_rows=[(r.number, [cell_text(v) for v in r.values])
                                     for r in ledger.rows[:PREVIEW_ROWS]])

    @expose("/<token>/sheet", methods=["POST"])
    def sheet(self, token: str):
        stored = self._stored(token)
        try:
            stored.choose_sheet(request.form.get("sheet", ""))
        except LedgerError as exc:
            flash(exc.message, "danger")
        return redirect(url_for(".mapping", token=token))

    # --- 3. running, in one request or step by step ----------------------------------------------
    @expose("/<token>/step/<mode>", methods=["POST"])
    def step(self, token: str, mode: str):
        """One step of a dry run or import (JSON for the progress bar of the page)."""
        stored = self._stored(token)
        if mode not in MODES:
            abort(404)
        ledger = stored.ledger()
        restart = request.form.get("restart") == "1" or stored.report(mode) is None
        if restart and any(f"map_{f.key}" in request.form for f in FIELDS):
            stored.meta["mapping"] = form_mapping(ledger)
            stored.save_meta()
        problems = mapping_problems(ledger, stored.mapping)
        if problems:
            return jsonify(error=" ".join(problems)), 422
        report = None if restart else stored.report(mode)
        if report is None or not report.finished:
            report = self._run(stored, mode, ledger, restart=restart, max_rows=STEP_ROWS[mode])
        return jsonify(done=report.position, total=report.total, elapsed=round(report.elapsed, 1),
                       finished=report.finished, imported=report.imported,
                       invalid=report.invalid, existing=report.skipped_existing,
                       result_url=url_for(".result", token=token, mode=mode))

    # --- 4. the result -----------------------------------------------------------------------
    @expose("/<token>/result/<mode>")
    def result(self, token: str, mode: str):
        stored = self._stored(token)
        report = stored.report(mode) if mode in MODES else None
        if report is None:
            abort(404)
        issues = report.issues
        return self.render("admin/ledger_result.html", stored=stored, report=report, mode=mode,
                           issues=issues[:SHOWN_ROWS], more_issues=max(0, len(issues) - SHOWN_ROWS),
                           warnings=report.warnings[:SHOWN_ROWS],
                           more_warnings=max(0, len(report.warnings) - SHOWN_ROWS),
                           existing=report.existing[:SHOWN_ROWS],
                           more_existing=max(0, len(report.existing) - SHOWN_ROWS),
                           fields=FIELDS, mapping=stored.mapping)

    @expose("/<token>/errors/<mode>.xlsx")
    def errors(self, token: str, mode: str):
        stored = self._stored(token)
        report = stored.report(mode) if mode in MODES else None
        if report is None:
            abort(404)
        stamp = datetime.now(local_zone()).strftime("%Y%m%d-%H%M")
        name = f"{PurePath(stored.file_name).stem}-{_('not imported')}-{stamp}.xlsx"
        return send_download(io.BytesIO(error_workbook(report)), name, XLSX_MIME)
