"""Scoring schemes (考核方案): one per evaluated role (grid worker, department, community),
edited by administrators and audited (models/audit_subjects.py). A scheme is either weighted
indicators or points (积分制); its lines are checked against the indicators' vocabulary
(models/evaluation/measures.py) before anything is saved.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db, str_enum, utcnow
from models.errors import ActionInvalid
from models.evaluation import measures
from models.evaluation.scoring import POINTS, WEIGHT_TOTAL, WEIGHTED
from models.vocabulary import LabelledEnum


class EvaluatedRole(LabelledEnum):
    GRID_WORKER = "grid_worker"
    DEPARTMENT = "department"
    COMMUNITY = "community"

    @classmethod
    def _labels(cls):
        return {cls.GRID_WORKER: _l("Grid workers"), cls.DEPARTMENT: _l("Handling departments"),
                cls.COMMUNITY: _l("Communities")}


SCHEME_KINDS = {WEIGHTED: _l("Weighted indicators"), POINTS: _l("Points scheme (积分制)")}
MAX_POINTS = 1000
MAX_MIN_CASES = 10000
SUPERVISED_POINTS = -2.0  # the default deduction per supervised case


class ScoringScheme(db.Model):
    __tablename__ = "scoring_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[EvaluatedRole] = mapped_column(str_enum(EvaluatedRole), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))  # weighted / points
    # weighted: [{"indicator", "weight"}]; points: [{"item", "points"}] (negative: a deduction)
    lines: Mapped[list] = mapped_column(sa.JSON)
    base_points: Mapped[float] = mapped_column(default=0.0)
    # Units with fewer closed cases in the month are listed apart (样本不足), not ranked.
    min_cases: Mapped[int] = mapped_column(default=5)
    # Points per case put under supervision (督办 or 挂牌督办) against the unit handling it, in
    # either kind of scheme: zero or negative (a deduction), shown as its own breakdown line.
    supervised_points: Mapped[float] = mapped_column(default=SUPERVISED_POINTS,
                                                     server_default=sa.text("-2"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return f"{self.role.label} · {self.name}"


class SchemeError(ActionInvalid):
    """A scheme that cannot be saved; the message says why, in the user's words."""


# --- the defaults -----------------------------------------------------------------------------

DEFAULT_WEIGHTED = [
    {"indicator": measures.CLOSED_IN_TIME_RATE, "weight": 30},
    {"indicator": measures.SATISFACTION_RATE, "weight": 30},
    {"indicator": measures.ACCEPTED_IN_TIME_RATE, "weight": 20},
    {"indicator": measures.REWORK_RATE, "weight": 20},
]
DEFAULT_POINTS = [
    {"item": measures.PATROL_DISCOVERIES, "points": 2},
    {"item": measures.CLOSED_IN_TIME, "points": 1},
    {"item": measures.EVER_OVERDUE, "points": -2},
    {"item": measures.REWORK, "points": -1},
    {"item": measures.PATROL_DAY_COVERAGE, "points": 20},
]
DEFAULTS = {
    EvaluatedRole.GRID_WORKER: ("网格员积分制考核", POINTS, DEFAULT_POINTS, 60.0, 3),
    EvaluatedRole.DEPARTMENT: ("职能部门加权考核", WEIGHTED, DEFAULT_WEIGHTED, 0.0, 5),
    EvaluatedRole.COMMUNITY: ("社区加权考核", WEIGHTED, DEFAULT_WEIGHTED, 0.0, 5),
}


def default_scheme(role: EvaluatedRole) -> ScoringScheme:
    name, kind, lines, base, min_cases = DEFAULTS[role]
    return ScoringScheme(role=role, name=name, kind=kind, lines=[dict(x) for x in lines],
                         base_points=base, min_cases=min_cases,
                         supervised_points=SUPERVISED_POINTS)


def ensure_default_schemes() -> int:
    """Store the default scheme of every role that has none (init-db, the demo); returns how
    many were added."""
    have = set(db.session.execute(sa.select(ScoringScheme.role)).scalars())
    added = [default_scheme(role) for role in EvaluatedRole if role not in have]
    db.session.add_all(added)
    db.session.flush()
    return len(added)


def scheme_for(role: EvaluatedRole) -> ScoringScheme:
    """The role's stored scheme, or its default (not stored) where none was saved yet."""
    found = db.session.execute(
        sa.select(ScoringScheme).where(ScoringScheme.role == role)).scalar_one_or_none()
    return found or default_scheme(role)


# --- checking and saving ----------------------------------------------------------------------

def _number(raw, what: str) -> float:
    try:
        value = float(str(raw).strip())
    except (TypeError, ValueError):
        raise SchemeError(_("%(what)s must be a number.", what=what)) from None
    if not math.isfinite(value):
        raise SchemeError(_("%(what)s must be a number.", what=what))
    return value


def check_weighted(lines: list[Mapping]) -> list[dict]:
    labels = measures.weighted_indicators()
    cleaned, seen = [], set()
    for line in lines:
        key = line.get("indicator") or ""
        if key not in labels:
            raise SchemeError(_("“%(key)s” is not an indicator that can be weighted.", key=key))
        if key in seen:
            raise SchemeError(_("The indicator “%(label)s” is listed twice.", label=labels[key]))
        seen.add(key)
        weight = _number(line.get("weight"), _("The weight of “%(label)s”", label=labels[key]))
        if weight < 0:
            raise SchemeError(_("The weight of “%(label)s” must not be negative.",
                                label=labels[key]))
        if weight > 0:
            cleaned.append({"indicator": key, "weight": weight})
    if not cleaned:
        raise SchemeError(_("A weighted scheme needs at least one indicator with a weight."))
    total = sum(line["weight"] for line in cleaned)
    if abs(total - WEIGHT_TOTAL) > 1e-6:
        raise SchemeError(_("The weights add up to %(total)s; they must add up to 100.",
                            total=f"{total:g}"))
    return cleaned


def check_points(lines: list[Mapping]) -> list[dict]:
    items = measures.point_items()
    cleaned, seen = [], set()
    for line in lines:
        key = line.get("item") or ""
        if key not in items:
            raise SchemeError(_("“%(key)s” is not an item of the points scheme.", key=key))
        if key in seen:
            raise SchemeError(_("The item “%(label)s” is listed twice.", label=items[key]))
        seen.add(key)
        points = _number(line.get("points"), _("The points of “%(label)s”", label=items[key]))
        if abs(points) > MAX_POINTS:
            raise SchemeError(_("The points of “%(label)s” must lie between −%(max)s and "
                                "%(max)s.", label=items[key], max=MAX_POINTS))
        if key in measures.DEDUCTIONS and points > 0:
            raise SchemeError(_("“%(label)s” is a deduction: enter zero or a negative number.",
                                label=items[key]))
        if key not in measures.DEDUCTIONS and points < 0:
            raise SchemeError(_("“%(label)s” earns points: enter zero or a positive number.",
                                label=items[key]))
        if points != 0:
            cleaned.append({"item": key, "points": points})
    if not cleaned:
        raise SchemeError(_("A points scheme needs at least one item with points."))
    return cleaned


def check_supervised_points(raw) -> float:
    points = _number(raw if raw not in (None, "") else 0, _("The points per supervised case"))
    if points > 0 or points < -MAX_POINTS:
        raise SchemeError(_("The points per supervised case are a deduction: enter zero or a "
                            "negative number down to −%(max)s.", max=MAX_POINTS))
    return points


def save_scheme(role: EvaluatedRole, *, name: str, kind: str, lines: list[Mapping],
                base_points=0, min_cases=1, supervised_points=SUPERVISED_POINTS) -> ScoringScheme:
    """Check everything first; on any mistake raise SchemeError and change nothing. The flush
    writes the audit entry (models/audit_subjects.py)."""
    name = (name or "").strip()
    if not name:
        raise SchemeError(_("Give the scheme a name."))
    if len(name) > 100:
        raise SchemeError(_("The name is longer than 100 characters."))
    if kind not in SCHEME_KINDS:
        raise SchemeError(_("Choose weighted indicators or the points scheme."))
    cleaned = check_weighted(lines) if kind == WEIGHTED else check_points(lines)
    base = _number(base_points or 0, _("The base points")) if kind == POINTS else 0.0
    if abs(base) > MAX_POINTS:
        raise SchemeError(_("The base points must lie between −%(max)s and %(max)s.",
                            max=MAX_POINTS))
    per_supervised = check_supervised_points(supervised_points)
    minimum = _number(min_cases, _("The minimum number of cases"))
    if minimum != int(minimum) or not 1 <= minimum <= MAX_MIN_CASES:
        raise SchemeError(_("The minimum number of cases must be a whole number from 1 to "
                            "%(max)s.", max=MAX_MIN_CASES))
    scheme = db.session.execute(
        sa.select(ScoringScheme).where(ScoringScheme.role == role)).scalar_one_or_none()
    if scheme is None:
        scheme = ScoringScheme(role=role)
        db.session.add(scheme)
    scheme.name, scheme.kind, scheme.lines = name, kind, cleaned
    scheme.base_points, scheme.min_cases = base, int(minimum)
    scheme.supervised_points = per_supervised
    db.session.flush()
    return scheme
