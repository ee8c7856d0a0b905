"""A user's exports (the ticket list as .xlsx, a monthly report as PDF): the progress of a
background export (polled), and its file when ready."""
from __future__ import annotations

from flask import abort, current_app, jsonify, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from integrations.exports.runner import export_path, start_export
from integrations.exports.writers import WRITERS
from integrations.reports.monthly import REPORT_STEPS
from models import db
from models.exports.jobs import MONTHLY_REPORT, ExportJob, export_of, queue_export
from models.people.roles import ALL_ROLES
from models.vocabulary import ExportState
from views.downloads import send_download

from .base import GridDeskView


def begin_export(kind: str, params: dict) -> ExportJob:
    """Queue the current user's export, commit, and start it in this worker at once."""
    job = queue_export(current_user._get_current_object(), kind, params)
    db.session.commit()
    start_export(current_app._get_current_object(), job.id)
    return job


def job_title(job: ExportJob) -> str:
    if job.kind == MONTHLY_REPORT:
        params = job.params or {}
        return _("Monthly report (PDF) %(area)s %(month)s",
                 area=params.get("area_name") or params.get("area", ""),
                 month=params.get("month", ""))
    return _("Tickets")


def progress_text(job: ExportJob) -> str:
    """How far the job is, in its own units: rows written, or the report's steps."""
    if job.kind != MONTHLY_REPORT:
        return _("%(state)s: %(done)s of %(total)s rows written", state=job.state.label,
                 done=job.progress, total=job.total if job.total is not None else "…")
    steps = len(REPORT_STEPS)
    if job.state == ExportState.RUNNING and job.progress < steps:
        return _("%(state)s: step %(step)s of %(total)s, %(name)s", state=job.state.label,
                 step=job.progress + 1, total=steps, name=REPORT_STEPS[job.progress])
    return _("%(state)s: %(done)s of %(total)s steps done", state=job.state.label,
             done=min(job.progress, steps), total=steps)


def job_status(job: ExportJob) -> dict:
    ready = job.state == ExportState.DONE and job.stored_name is not None
    return {"id": job.id, "state": job.state.value, "state_label": job.state.label,
            "progress": job.progress, "total": job.total, "percent": job.percent,
            "progress_text": progress_text(job),
            "error": job.error, "finished": job.state in (ExportState.DONE, ExportState.FAILED),
            "download_url": url_for("exports.download", job_id=job.id) if ready else None}


class ExportView(GridDeskView):
    allowed_roles = ALL_ROLES

    def is_visible(self) -> bool:
        return False  # reached from the list's export button and the report's PDF button

    def _job(self, job_id: int) -> ExportJob:
        job = export_of(current_user, job_id)
        if job is None:
            abort(404)  # someone else's export does not exist for this user
        return job

    @expose("/")
    def index(self):
        jobs = db.session.execute(db.select(ExportJob).where(ExportJob.user_id == current_user.id)
                                  .order_by(ExportJob.id.desc()).limit(20)).scalars().all()
        return self.render("admin/export_list.html", jobs=jobs, job_title=job_title)

    @expose("/<int:job_id>/")
    def job(self, job_id: int):
        job = self._job(job_id)
        return self.render("admin/export_job.html", job=job, status=job_status(job),
                           title=job_title(job), is_pdf=job.kind == MONTHLY_REPORT)

    @expose("/<int:job_id>/status")
    def status(self, job_id: int):
        return jsonify(job_status(self._job(job_id)))

    @expose("/<int:job_id>/download")
    def download(self, job_id: int):
        job = self._job(job_id)
        path = export_path(job) if job.state == ExportState.DONE else None
        if path is None:
            abort(404)
        return send_download(path, job.file_name, WRITERS[job.kind].media_type)
