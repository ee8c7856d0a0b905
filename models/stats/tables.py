"""The statistics tables.

``StatsFact``: one row per counted event of a ticket (its report, dispatch, acceptance, closure,
rework, return, reopening, escalation, rating, overdue mark …) with the ticket's place and
category, the unit it counts for and the Asia/Shanghai day it happened. A closure row also
carries the case's handling time (natural and working seconds) — the per-ticket duration facts
medians are computed from, exactly — and whether that closure has been rated since
(``closed_rated``: a rating arriving next month updates the closure's own day).

``StatsDaily``: the facts summed per day × grid (with its community, street, district) ×
category × department × person. Counts are read from here. Absent dimensions are 0, not NULL,
so the row key is unique on both databases.

``StatsMonthly``: the same sums per month (``month``: its first day), kept by the same fold, so
that a range of whole months reads a month's rows instead of thirty days' (a city's year of daily
rows is some forty million).

``StatsPending``: tickets whose timeline changed since they were last folded; written in the same
transaction as the event (models.tickets.timeline.append_event), emptied by the scheduler.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import BigId, db

DIMENSIONS = ("district_id", "street_id", "community_id", "grid_id", "category_id",
              "department_id", "user_id")
MEASURES = (
    "received", "dispatched", "accepted", "accepted_in_time", "closed", "closed_in_time",
    "rework", "returned", "reopened", "escalated", "rated", "rating_sum", "satisfied",
    "rated_by_reporter", "follow_ups", "overdue_marked", "merged", "invalidated", "patrol_found",
    "handling_seconds", "handling_work_seconds", "closed_rated",
    # Co-handling (协办), counted for the co-handling department apart from its lead cases.
    "co_handled", "co_handled_done", "co_handled_in_time",
)


CLOSURES = sa.text("closed > 0")
CLOSURE_COLUMNS = [*DIMENSIONS, "handling_seconds", "handling_work_seconds"]


def _measures(cls):
    for name in MEASURES:
        setattr(cls, name, mapped_column(name, sa.BigInteger, default=0, nullable=False))
    return cls


class _Dimensions:
    """The place, category and unit a statistics row counts for (0 where there is none)."""

    district_id: Mapped[int] = mapped_column(default=0)
    street_id: Mapped[int] = mapped_column(default=0)
    community_id: Mapped[int] = mapped_column(default=0)
    grid_id: Mapped[int] = mapped_column(default=0)
    category_id: Mapped[int] = mapped_column(default=0)
    department_id: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int] = mapped_column(default=0)


class StatsFact(_Dimensions, db.Model):
    __tablename__ = "stats_facts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, index=True)
    seq: Mapped[int]  # the event's sequence in the ticket's timeline
    day: Mapped[date]

    __table_args__ = (
        # Medians read closure rows of a range in a scope.
        sa.Index("ix_stats_facts_day_district", "day", "district_id"),
        sa.Index("ix_stats_facts_street_day", "street_id", "day"),
        sa.Index("ix_stats_facts_community_day", "community_id", "day"),
        sa.Index("ix_stats_facts_grid_day", "grid_id", "day"),
        sa.Index("ix_stats_facts_user_day", "user_id", "day"),
        sa.Index("ix_stats_facts_department_day", "department_id", "day"),
        # The medians' rows: a range's closures with their scope and durations, read from the
        # index alone (a fifth of the facts, instead of every fact of the range from the heap).
        sa.Index("ix_stats_facts_closures_day", "day", postgresql_where=CLOSURES,
                 sqlite_where=CLOSURES, postgresql_include=CLOSURE_COLUMNS),
    )


class StatsDaily(_Dimensions, db.Model):
    __tablename__ = "stats_daily"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date]

    __table_args__ = (
        sa.UniqueConstraint("day", "grid_id", "community_id", "street_id", "district_id",
                            "category_id", "department_id", "user_id", name="uq_stats_daily_key"),
        sa.Index("ix_stats_daily_district_day", "district_id", "day"),
        sa.Index("ix_stats_daily_street_day", "street_id", "day"),
        sa.Index("ix_stats_daily_community_day", "community_id", "day"),
        sa.Index("ix_stats_daily_grid_day", "grid_id", "day"),
        sa.Index("ix_stats_daily_user_day", "user_id", "day"),
        sa.Index("ix_stats_daily_department_day", "department_id", "day"),
    )


class StatsMonthly(_Dimensions, db.Model):
    __tablename__ = "stats_monthly"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[date]  # the month's first day

    __table_args__ = (
        sa.UniqueConstraint("month", "grid_id", "community_id", "street_id", "district_id",
                            "category_id", "department_id", "user_id",
                            name="uq_stats_monthly_key"),
        sa.Index("ix_stats_monthly_district_month", "district_id", "month"),
        sa.Index("ix_stats_monthly_street_month", "street_id", "month"),
        sa.Index("ix_stats_monthly_community_month", "community_id", "month"),
        sa.Index("ix_stats_monthly_grid_month", "grid_id", "month"),
        sa.Index("ix_stats_monthly_user_month", "user_id", "month"),
        sa.Index("ix_stats_monthly_department_month", "department_id", "month"),
    )


class StatsPending(db.Model):
    __tablename__ = "stats_pending"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"))

    # Through the relationship: a ticket being reported has no id until the flush.
    ticket = relationship("Ticket", lazy="raise")


_measures(StatsFact)
_measures(StatsDaily)
_measures(StatsMonthly)
