"""An export that runs in the background (the ticket list as .xlsx, an area's monthly report as
PDF): its row carries the request, the progress (rows written, or the report's steps) and the
result, so any web worker answers "how far is it?" and serves the file (state in the database,
never in one process's memory).

A job is claimed by one runner with a conditional UPDATE; the runner beats (``heartbeat_at``)
after every batch. A job whose runner stopped (its worker was killed) is claimed again once the
heartbeat is older than the lease, and starts over.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, UTCDateTime, db, str_enum, utcnow
from models.people.user import User
from models.vocabulary import ExportState

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 3
KEEP_FILES = timedelta(days=2)
TICKETS = "tickets"  # the ticket list with its filters, as .xlsx
MONTHLY_REPORT = "monthly_report"  # an area's monthly report, as PDF
EXPORT_KINDS = (TICKETS, MONTHLY_REPORT)


class ExportJob(db.Model):
    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    state: Mapped[ExportState] = mapped_column(str_enum(ExportState), default=ExportState.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
    stored_name: Mapped[str | None] = mapped_column(sa.String(100))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_export_jobs_user_created", "user_id", "created_at"),
                      sa.Index("ix_export_jobs_state", "state"))

    @property
    def percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.progress / self.total))


def queue_export(user: User, kind: str, params: dict) -> ExportJob:
    """A new export for ``user`` (its scope is the user's when it runs); the caller commits."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    job = ExportJob(kind=kind, user_id=user.id, params=params, state=ExportState.QUEUED)
    db.session.add(job)
    db.session.flush()
    return job


def export_of(user: User, job_id: int) -> ExportJob | None:
    """The user's own export (nobody else's: the file holds what their scope shows)."""
    return db.session.execute(sa.select(ExportJob).where(
        ExportJob.id == job_id, ExportJob.user_id == user.id)).scalar_one_or_none()


def _claimable(now: datetime):
    return sa.and_(ExportJob.attempts < MAX_ATTEMPTS, sa.or_(
        ExportJob.state == ExportState.QUEUED,
        sa.and_(ExportJob.state == ExportState.RUNNING, ExportJob.heartbeat_at < now - LEASE)))


def claim_export(job_id: int, now: datetime | None = None) -> bool:
    """Take the job for this runner (committed); False when another runner has it or it ended."""
    now = now or utcnow()
    taken = db.session.execute(
        sa.update(ExportJob).where(ExportJob.id == job_id, _claimable(now))
        .values(state=ExportState.RUNNING, attempts=ExportJob.attempts + 1, progress=0,
                started_at=now, heartbeat_at=now, error=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def abandoned_exports(now: datetime | None = None) -> list[int]:
    """Jobs nobody runs: queued and never started, or running with a stale heartbeat."""
    now = now or utcnow()
    waiting = sa.or_(ExportJob.state == ExportState.RUNNING,
                     ExportJob.created_at < now - timedelta(seconds=30))
    return list(db.session.execute(sa.select(ExportJob.id).where(_claimable(now), waiting)
                                   .order_by(ExportJob.id)).scalars())


def record_progress(job_id: int, progress: int, total: int | None = None) -> None:
    values = {"progress": progress, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    db.session.execute(sa.update(ExportJob).where(ExportJob.id == job_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def finish_export(job_id: int, *, stored_name: str | None = None, file_name: str | None = None,
                  error: str | None = None) -> None:
    values = {"finished_at": utcnow(), "heartbeat_at": utcnow()}
    if error is None:
        values.update(state=ExportState.DONE, stored_name=stored_name, file_name=file_name)
    else:
        values.update(state=ExportState.FAILED, error=error)
    db.session.execute(sa.update(ExportJob).where(ExportJob.id == job_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def expired_export_files(now: datetime | None = None) -> list[tuple[int, str]]:
    """(job id, stored file) of exports finished longer ago than KEEP_FILES."""
    now = now or utcnow()
    return [tuple(r) for r in db.session.execute(sa.select(ExportJob.id, ExportJob.stored_name).where(
        ExportJob.stored_name.is_not(None), ExportJob.finished_at < now - KEEP_FILES))]


def forget_export_files(job_ids: list[int]) -> None:
    """Their files are gone: the jobs no longer offer a download."""
    if job_ids:
        db.session.execute(sa.update(ExportJob).where(ExportJob.id.in_(job_ids))
                           .values(stored_name=None).execution_options(synchronize_session=False))
    db.session.commit()
