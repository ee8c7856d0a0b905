"""Monthly scores and rankings: every unit of a role inside a scope, scored by the role's scheme
from its indicator values for an Asia/Shanghai month; units with fewer cases than the scheme's
minimum are listed apart (样本不足). A published month is read from its snapshot
(models/evaluation/publishing.py), never recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from models.areas.hierarchy import Area
from models.base import db
from models.clock import next_month
from models.evaluation import measures
from models.evaluation.schemes import EvaluatedRole, ScoringScheme, scheme_for
from models.evaluation.scoring import (POINTS, Score, points_score, weighted_score,
                                       with_per_case_line)
from models.people.department import Department
from models.people.user import User
from models.vocabulary import AreaLevel, DepartmentKind, Role

# Departments that handle cases sent to them. Command centres dispatch; community offices are
# judged as their community (the community ranking), not a second time here.
RANKED_DEPARTMENT_KINDS = (DepartmentKind.FUNCTIONAL, DepartmentKind.PROPERTY_COMPANY)


@dataclass(frozen=True, slots=True)
class Unit:
    id: int
    label: str
    area_path: str  # where the unit belongs: a viewer sees the units inside their scope area


class Row:
    """One unit's line of a ranking. A live row keeps its indicator values and its score's
    total, and works out the breakdown when it is shown: a city's 25,600 grid workers are ranked
    by their totals, and a page shows a few breakdowns (each score's lines took ~1.5 KB)."""

    __slots__ = ("unit", "cases", "eligible", "rank", "total", "_score", "_scheme", "_values")

    def __init__(self, unit: Unit, cases: int, score: Score | None, eligible: bool,
                 rank: int | None = None, *, total: float | None = None,
                 scheme: ScoringScheme | dict | None = None, values: dict | None = None):
        self.unit, self.cases, self.eligible, self.rank = unit, cases, eligible, rank
        self._score, self._scheme, self._values = score, scheme, values
        self.total = score.total if score is not None else total

    @property
    def score(self) -> Score:
        if self._score is None:
            self._score = score_values(self._scheme, self._values)
        return self._score

    def unranked(self) -> "Row":
        """The same row without its rank (to be ranked again among others)."""
        return Row(self.unit, self.cases, self._score, self.eligible, total=self.total,
                   scheme=self._scheme, values=self._values)


@dataclass
class Ranking:
    role: EvaluatedRole
    month: date
    scheme: dict  # name, kind, lines, base_points, min_cases (as scored)
    ranked: list[Row] = field(default_factory=list)
    insufficient: list[Row] = field(default_factory=list)  # 样本不足
    published: object = None  # the EvaluationMonth, when the month is frozen
    publication_exists: bool = False  # live figures of a month that is published
    frozen_parts: list = field(default_factory=list)  # publications inside a live view


def month_start(value: date) -> date:
    return value.replace(day=1)


def scheme_summary(scheme: ScoringScheme) -> dict:
    return {"name": scheme.name, "kind": scheme.kind, "lines": list(scheme.lines),
            "base_points": scheme.base_points, "min_cases": scheme.min_cases,
            "supervised_points": scheme.supervised_points}


# --- the units of each role -------------------------------------------------------------------

def _in_scope(path_column, scope: Area | None):
    return sa.true() if scope is None else path_column.startswith(scope.path)


def units(role: EvaluatedRole, scope: Area | None) -> list[Unit]:
    """The units of ``role`` inside ``scope`` (None: everywhere), in a stable order."""
    if role == EvaluatedRole.GRID_WORKER:
        query = (sa.select(User.id, User.display_name, Area.path)
                 .join(Area, User.scope_area_id == Area.id)
                 .where(User.role == Role.GRID_WORKER, User.active.is_(True),
                        _in_scope(Area.path, scope))
                 .order_by(Area.path, User.display_name, User.id))
    elif role == EvaluatedRole.DEPARTMENT:
        query = (sa.select(Department.id, Department.name, Area.path)
                 .join(Area, Department.area_id == Area.id)
                 .where(Department.kind.in_(RANKED_DEPARTMENT_KINDS),
                        Department.active.is_(True), _in_scope(Area.path, scope))
                 .order_by(Area.path, Department.name, Department.id))
    else:
        query = (sa.select(Area.id, Area.name, Area.path)
                 .where(Area.level == AreaLevel.COMMUNITY, Area.active.is_(True),
                        _in_scope(Area.path, scope))
                 .order_by(Area.path))
    return [Unit(*row) for row in db.session.execute(query)]


# --- scoring ----------------------------------------------------------------------------------

def score_values(scheme: ScoringScheme | dict, values: dict) -> Score:
    """One unit's score and breakdown under ``scheme`` from its indicator values."""
    get = scheme.get if isinstance(scheme, dict) else lambda k: getattr(scheme, k)
    if get("kind") == POINTS:
        score = points_score(float(get("base_points") or 0), get("lines"), values,
                             measures.RATE_ITEMS)
    else:
        score = weighted_score(get("lines"), values, measures.LOWER_IS_BETTER)
    per_case, supervised = get("supervised_points"), values.get(measures.SUPERVISED)
    if per_case and supervised:  # a line where the unit had supervised cases
        score = with_per_case_line(score, measures.SUPERVISED, supervised, float(per_case))
    return score


def rank_rows(rows: list[Row], min_cases: int) -> tuple[list[Row], list[Row]]:
    """Eligible rows by score (ties share a rank; more cases first among equals), and the rows
    below the minimum number of cases."""
    ranked = sorted((r for r in rows if r.eligible),
                    key=lambda r: (-r.total, -r.cases, r.unit.label))
    previous, rank = None, 0
    for position, row in enumerate(ranked, start=1):
        if row.total != previous:
            rank, previous = position, row.total
        row.rank = rank
    insufficient = sorted((r for r in rows if not r.eligible),
                          key=lambda r: (-r.cases, r.unit.label))
    return ranked, insufficient


def live_ranking(role: EvaluatedRole, month: date, scope: Area | None) -> Ranking:
    """The month's ranking computed now from the indicators."""
    month = month_start(month)
    scheme = scheme_for(role)
    found = units(role, scope)
    values = measures.month_values(role, month, next_month(month), [u.id for u in found])
    rows = []
    for unit in found:
        unit_values = values.get(unit.id, {})
        cases = int(unit_values.get(measures.CASES) or 0)
        rows.append(Row(unit, cases, None, cases >= scheme.min_cases,
                        total=score_values(scheme, unit_values).total, scheme=scheme,
                        values=unit_values))
    ranked, insufficient = rank_rows(rows, scheme.min_cases)
    return Ranking(role, month, scheme_summary(scheme), ranked, insufficient)


def monthly_ranking(scope: Area | None, month: date, role: EvaluatedRole | str, *,
                    live: bool = False) -> Ranking:
    """The ranking of ``role``'s units inside ``scope`` (None: everywhere) for the month of
    ``month``: as published when a publication covers the scope (unless ``live`` is asked for:
    the figures as they stand now, for comparison), else live with the units of the
    publications inside the scope as published. For pages and exports."""
    from models.evaluation.publishing import covering_publication, published_ranking, \
        with_frozen_parts

    role = EvaluatedRole(role)
    publication = covering_publication(month_start(month), role, scope)
    if publication is not None and not live:
        return published_ranking(publication, role, scope)
    ranking = live_ranking(role, month, scope)
    ranking.publication_exists = publication is not None
    return ranking if live else with_frozen_parts(ranking, scope)
