"""Publishing (freezing) a month's rankings: the scores and breakdowns of every role's units are
stored as published, with who published and when. Later edits of tickets and late events change
the live figures, never a published month. Unpublishing is not offered: a published ranking is a
fact people were told (the publication itself is written to the audit trail).
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column

from models.areas.hierarchy import Area
from models.audit import CREATE, record_change
from models.base import BigId, UTCDateTime, db, utcnow
from models.clock import local_today
from models.errors import ActionForbidden, ActionInvalid
from models.evaluation.ranking import (Ranking, Row, Unit, live_ranking, month_start,
                                       rank_rows)
from models.evaluation.schemes import EvaluatedRole
from models.evaluation.scoring import Score
from models.people.roles import PUBLISHING_ROLES


class EvaluationMonth(db.Model):
    """A published (frozen) month."""

    __tablename__ = "evaluation_months"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(unique=True)  # its first day
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_by_name: Mapped[str] = mapped_column(sa.String(100))
    # role → the scheme as scored (name, kind, lines, base points, minimum cases)
    schemes: Mapped[dict] = mapped_column(sa.JSON)


class EvaluationResult(db.Model):
    """One unit's published score and breakdown."""

    __tablename__ = "evaluation_results"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_months.id"))
    role: Mapped[str] = mapped_column(sa.String(24))
    unit_id: Mapped[int]
    unit_label: Mapped[str] = mapped_column(sa.String(100))
    area_path: Mapped[str] = mapped_column(sa.String(255))
    cases: Mapped[int]
    score: Mapped[float]
    eligible: Mapped[bool]
    rank: Mapped[int | None]
    breakdown: Mapped[dict] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_evaluation_results_month_role", "month_id", "role"),)


def published_month(month: date) -> EvaluationMonth | None:
    return db.session.execute(sa.select(EvaluationMonth).where(
        EvaluationMonth.month == month_start(month))).scalar_one_or_none()


def published_ranking(publication: EvaluationMonth, role: EvaluatedRole,
                      scope: Area | None) -> Ranking:
    query = sa.select(EvaluationResult).where(EvaluationResult.month_id == publication.id,
                                              EvaluationResult.role == role.value)
    if scope is not None:
        query = query.where(EvaluationResult.area_path.startswith(scope.path))
    rows = [Row(Unit(r.unit_id, r.unit_label, r.area_path), r.cases,
                Score.from_dict(r.breakdown), r.eligible, r.rank)
            for r in db.session.execute(query).scalars()]
    ranked = sorted((r for r in rows if r.eligible), key=lambda r: (r.rank, r.unit.label))
    insufficient = sorted((r for r in rows if not r.eligible),
                          key=lambda r: (-r.cases, r.unit.label))
    return Ranking(role, publication.month, publication.schemes.get(role.value, {}), ranked,
                   insufficient, publication)


def can_publish(user) -> bool:
    return user.active and user.role in PUBLISHING_ROLES


def publish_month(user, month: date) -> EvaluationMonth:
    """Freeze ``month``: store every role's ranking over the whole system as it stands now."""
    month = month_start(month)
    if not can_publish(user):
        raise ActionForbidden(_("Only a command centre or an administrator publishes rankings."))
    if month >= month_start(local_today()):
        raise ActionInvalid(_("Only a month that has ended can be published."))
    if published_month(month) is not None:
        raise ActionInvalid(_("The rankings of %(month)s are published already.",
                              month=month.strftime("%Y-%m")))
    rankings = [live_ranking(role, month, None) for role in EvaluatedRole]
    publication = EvaluationMonth(month=month, published_by_id=user.id,
                                  published_by_name=user.display_name,
                                  schemes={r.role.value: r.scheme for r in rankings})
    db.session.add(publication)
    db.session.flush()
    for ranking in rankings:
        for row in ranking.ranked + ranking.insufficient:
            db.session.add(EvaluationResult(
                month_id=publication.id, role=ranking.role.value, unit_id=row.unit.id,
                unit_label=row.unit.label[:100], area_path=row.unit.area_path,
                cases=row.cases, score=row.score.total, eligible=row.eligible, rank=row.rank,
                breakdown=row.score.as_dict()))
    record_change(user, "evaluation_month", publication.id, month.strftime("%Y-%m"), CREATE,
                  {"published_by": (None, user.display_name),
                   "units": (None, sum(len(r.ranked) + len(r.insufficient) for r in rankings))})
    db.session.flush()
    return publication


__all__ = ["EvaluationMonth", "EvaluationResult", "can_publish", "publish_month",
           "published_month", "published_ranking", "rank_rows"]
