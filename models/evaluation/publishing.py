"""Publishing (freezing) a month's ranking: one role's scores and breakdowns inside one area (a
street, the district; or the whole system), stored as published, with who published and when.
Each street publishes its own month: a publication covers the units of its role inside its area
and nothing else. Later edits of tickets and late events change the live figures, never a
published ranking. A wider area published later takes the frozen rows of the streets already
published inside it as they were published (people were told those figures) and freezes the
rest. Unpublishing is not offered (the publication itself is written to the audit trail).

Which publication a viewer reads: the narrowest one covering their whole view; without one, the
live ranking in which the units of the publications inside the view keep their frozen rows.
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
from models.people.access import area_within_scope, sees_everywhere
from models.people.roles import PUBLISHING_ROLES
from models.vocabulary import AreaLevel

WHOLE_SYSTEM = ""  # the area_path of a publication over every area
PUBLISHED_LEVELS = (AreaLevel.DISTRICT, AreaLevel.STREET)


class EvaluationMonth(db.Model):
    """A published (frozen) month of one role's ranking inside one area."""

    __tablename__ = "evaluation_months"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]  # its first day
    role: Mapped[str] = mapped_column(sa.String(24))
    # The area it covers (None with area_path "": the whole system).
    area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    area_path: Mapped[str] = mapped_column(sa.String(255), default=WHOLE_SYSTEM)
    area_name: Mapped[str] = mapped_column(sa.String(100), default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_by_name: Mapped[str] = mapped_column(sa.String(100))
    # role → the scheme as scored (name, kind, lines, base points, minimum cases)
    schemes: Mapped[dict] = mapped_column(sa.JSON)

    __table_args__ = (sa.UniqueConstraint("month", "role", "area_path",
                                          name="uq_evaluation_months_scope"),)

    @property
    def where(self) -> str:
        return self.area_name or _("the whole system")


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


def _path(scope: Area | None) -> str:
    return WHOLE_SYSTEM if scope is None else scope.path


def publications(month: date, role: EvaluatedRole) -> list[EvaluationMonth]:
    return list(db.session.execute(sa.select(EvaluationMonth).where(
        EvaluationMonth.month == month_start(month), EvaluationMonth.role == role.value)
        .order_by(EvaluationMonth.area_path)).scalars())


def covering_publication(month: date, role: EvaluatedRole,
                         scope: Area | None) -> EvaluationMonth | None:
    """The narrowest publication whose area holds the whole of ``scope`` (None: everywhere)."""
    path = _path(scope)
    covering = [p for p in publications(month, role) if path.startswith(p.area_path)]
    return max(covering, key=lambda p: len(p.area_path), default=None)


def publications_inside(month: date, role: EvaluatedRole,
                        scope: Area | None) -> list[EvaluationMonth]:
    """The publications of areas inside ``scope`` (a street's, seen from the district)."""
    path = _path(scope)
    return [p for p in publications(month, role)
            if p.area_path.startswith(path) and p.area_path != path]


def published_month(month: date, role: EvaluatedRole | str = EvaluatedRole.GRID_WORKER,
                    scope: Area | None = None) -> EvaluationMonth | None:
    return covering_publication(month, EvaluatedRole(role), scope)


def _rows(publication: EvaluationMonth, scope: Area | None) -> list[Row]:
    query = sa.select(EvaluationResult).where(EvaluationResult.month_id == publication.id)
    if scope is not None:
        query = query.where(EvaluationResult.area_path.startswith(scope.path))
    return [Row(Unit(r.unit_id, r.unit_label, r.area_path), r.cases,
                Score.from_dict(r.breakdown), r.eligible, r.rank)
            for r in db.session.execute(query).scalars()]


def published_ranking(publication: EvaluationMonth, role: EvaluatedRole,
                      scope: Area | None) -> Ranking:
    rows = _rows(publication, scope)
    ranked = sorted((r for r in rows if r.eligible), key=lambda r: (r.rank, r.unit.label))
    insufficient = sorted((r for r in rows if not r.eligible),
                          key=lambda r: (-r.cases, r.unit.label))
    return Ranking(role, publication.month, publication.schemes.get(role.value, {}), ranked,
                   insufficient, publication)


def with_frozen_parts(ranking: Ranking, scope: Area | None) -> Ranking:
    """The live ranking with the units of the publications inside ``scope`` as published
    (ranked again together with the others)."""
    parts = publications_inside(ranking.month, ranking.role, scope)
    if not parts:
        return ranking
    frozen = [row for part in parts for row in _rows(part, None)]
    live = [row for row in ranking.ranked + ranking.insufficient
            if not any(row.unit.area_path.startswith(p.area_path) for p in parts)]
    rows = [r.unranked() for r in frozen + live]
    ranking.ranked, ranking.insufficient = rank_rows(rows, ranking.scheme.get("min_cases", 1))
    ranking.frozen_parts = parts
    return ranking


def can_publish(user, area: Area | None = None) -> bool:
    """Command centres publish their own area (or an area inside it); administrators any area
    or the whole system."""
    if not (user.active and user.role in PUBLISHING_ROLES):
        return False
    if area is None:
        return sees_everywhere(user)
    return area.level in PUBLISHED_LEVELS and area_within_scope(user, area)


def publish_month(user, month: date, role: EvaluatedRole | str,
                  area: Area | None) -> EvaluationMonth:
    """Freeze ``role``'s ranking of ``month`` inside ``area`` (None: the whole system) as it
    stands now."""
    month, role = month_start(month), EvaluatedRole(role)
    if not can_publish(user, area):
        raise ActionForbidden(_("Only a command centre publishes the rankings of its own area "
                                "(an administrator any area)."))
    if month >= month_start(local_today()):
        raise ActionInvalid(_("Only a month that has ended can be published."))
    done = covering_publication(month, role, area)
    if done is not None:
        raise ActionInvalid(_("The %(role)s ranking of %(month)s for %(area)s is published "
                              "already (%(who)s).", role=role.label,
                              month=month.strftime("%Y-%m"), area=done.where,
                              who=done.published_by_name))
    ranking = with_frozen_parts(live_ranking(role, month, area), area)
    publication = EvaluationMonth(
        month=month, role=role.value, area_id=area.id if area is not None else None,
        area_path=_path(area), area_name=area.name if area is not None else "",
        published_by_id=user.id, published_by_name=user.display_name,
        schemes={role.value: ranking.scheme})
    db.session.add(publication)
    db.session.flush()
    for row in ranking.ranked + ranking.insufficient:
        db.session.add(EvaluationResult(
            month_id=publication.id, role=role.value, unit_id=row.unit.id,
            unit_label=row.unit.label[:100], area_path=row.unit.area_path,
            cases=row.cases, score=row.score.total, eligible=row.eligible, rank=row.rank,
            breakdown=row.score.as_dict()))
    record_change(user, "evaluation_month", publication.id,
                  f"{month.strftime('%Y-%m')} {role.label} {publication.where}", CREATE,
                  {"published_by": (None, user.display_name),
                   "units": (None, len(ranking.ranked) + len(ranking.insufficient))})
    db.session.flush()
    return publication


__all__ = ["EvaluationMonth", "EvaluationResult", "can_publish", "covering_publication",
           "publish_month", "published_month", "published_ranking", "rank_rows",
           "with_frozen_parts"]
