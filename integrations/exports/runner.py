"""Running export jobs (models/exports/jobs.py): claim, write the file step by step while
recording the progress, store it under UPLOAD_DIR/exports/, finish — or fail with a reason the
user can act on.

The web worker that queued a job starts it at once in a thread of its own; the scheduler's sweep
(jobs/sweeps.py) runs any job whose runner never started or stopped, and deletes old files. The
state lives in the job row, so whichever web worker answers the progress poll or the download
sees the same thing.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app

from models.base import db
from models.exports.jobs import (ExportJob, abandoned_exports, claim_export, expired_export_files,
                                 finish_export, forget_export_files)
from models.people.user import User

from .writers import WRITERS, ExportRefused

log = logging.getLogger("griddesk.exports")
THREAD_PREFIX = "griddesk-export-"


def export_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def export_path(job: ExportJob) -> Path | None:
    if not job.stored_name:
        return None
    path = export_folder() / job.stored_name
    return path if path.is_file() else None


def run_export(job_id: int) -> bool:
    """Run one job if this runner can claim it; True when it ran (done or failed)."""
    if not claim_export(job_id):
        return False
    job = db.session.get(ExportJob, job_id)
    user = db.session.get(User, job.user_id)
    writer = WRITERS[job.kind]
    stored = f"{job.id}-{secrets.token_hex(8)}{writer.suffix}"
    partial = export_folder() / f"{stored}.part"
    try:
        if user is None or not user.active:
            raise PermissionError("the user who asked for the export is no longer active")
        file_name = writer.write(job, user, partial)
        os.replace(partial, export_folder() / stored)
        finish_export(job_id, stored_name=stored, file_name=file_name)
    except ExportRefused as refused:  # the reason is the user's to read
        db.session.rollback()
        log.warning("export %s refused: %s", job_id, refused.detail or refused.reason)
        partial.unlink(missing_ok=True)
        finish_export(job_id, error=refused.reason)
    except Exception:  # the job row must say it failed, whatever failed
        db.session.rollback()
        log.exception("export %s failed", job_id)
        partial.unlink(missing_ok=True)
        finish_export(job_id, error=writer.failed())
    return True


def start_export(app: Flask, job_id: int) -> threading.Thread:
    """Run the job now in a thread of this worker (its own app context and session)."""
    def target():
        with app.app_context():
            try:
                run_export(job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, name=f"{THREAD_PREFIX}{job_id}", daemon=True)
    thread.start()
    return thread


def run_abandoned(now: datetime | None = None) -> dict:
    """The scheduler's sweep: run jobs nobody runs, delete files past their keeping time."""
    ran = sum(1 for job_id in abandoned_exports(now) if run_export(job_id))
    expired = expired_export_files(now)
    for _job_id, name in expired:
        (export_folder() / name).unlink(missing_ok=True)
    forget_export_files([job_id for job_id, _name in expired])
    return {"exports_run": ran, "export_files_deleted": len(expired)}


__all__ = ["export_path", "run_abandoned", "run_export", "start_export"]
