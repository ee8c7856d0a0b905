"""Patrol rounds (巡查): the round, its check-ins at places, and the tickets reported on the way."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas.hierarchy import Area
from models.base import BigId, UTCDateTime, db, utcnow
from models.people.user import User


class PatrolRound(db.Model):
    __tablename__ = "patrol_rounds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker's id while the round is open, NULL once ended: the unique constraint keeps one
    # open round per worker, even against two simultaneous "start" requests.
    open_worker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    summary: Mapped[str | None] = mapped_column(sa.Text)
    distance_m: Mapped[float] = mapped_column(default=0.0, server_default="0")
    point_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The route, thinned: [[lon, lat, seconds since started_at], …] in WGS-84, 6 decimals.
    route: Mapped[list | None] = mapped_column(sa.JSON)

    worker: Mapped[User] = relationship(foreign_keys=[worker_id])
    grid: Mapped[Area] = relationship()
    check_ins: Mapped[list["PatrolCheckIn"]] = relationship(
        back_populates="round", order_by="PatrolCheckIn.at", cascade="all, delete-orphan")
    reports: Mapped[list["PatrolReport"]] = relationship(
        back_populates="round", order_by="PatrolReport.reported_at", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class PatrolCheckIn(db.Model):
    """A check-in (打卡) at a place on the round: a photo, the point, the time, a note."""

    __tablename__ = "patrol_check_ins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("patrol_rounds.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lon: Mapped[float]
    lat: Mapped[float]
    place: Mapped[str | None] = mapped_column(sa.String(100))
    note: Mapped[str | None] = mapped_column(sa.Text)
    photo_key: Mapped[str] = mapped_column(sa.String(255))
    photo_mime: Mapped[str] = mapped_column(sa.String(50))
    photo_sha256: Mapped[str] = mapped_column(sa.String(64))
    photo_size: Mapped[int]

    round: Mapped[PatrolRound] = relationship(back_populates="check_ins")


class PatrolReport(db.Model):
    """A ticket reported during a round (a ticket belongs to at most one round)."""

    __tablename__ = "patrol_reports"

    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), primary_key=True)
    round_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("patrol_rounds.id"), index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[PatrolRound] = relationship(back_populates="reports")
    ticket = relationship("Ticket")
