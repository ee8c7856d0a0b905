"""The scoring arithmetic: pure functions from a unit's indicator values to its score and its
breakdown line by line. Nothing here reads the database; the values come from the indicators
(models/stats) and the scheme from models/evaluation/schemes.py.

Weighted scheme (加权指标): each line is ``rate × weight`` (or ``(1 − rate) × weight`` for a rate
where less is better, such as 返工率); the weights sum to 100, so a unit that is perfect on every
line scores 100. A line whose rate is undefined for the unit (no rated case: no 满意率) is left
out and the remaining weights are scaled up to 100, so nobody is punished or rewarded for what
cannot be measured; the breakdown says so.

Points scheme (积分制): base points, plus points per counted item (patrol finds, cases closed in
time), minus points per deduction item (overdue cases, rework), plus points × patrol coverage.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

WEIGHTED = "weighted"
POINTS = "points"
WEIGHT_TOTAL = 100


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a breakdown: what was counted, its value, its factor and its contribution.
    Stored as published (the page renders the formula from these fields)."""

    key: str
    value: float | None  # a rate 0..1 or a count; None: no data (left out)
    factor: float  # the weight, or the points per item (negative for a deduction)
    contribution: float
    is_rate: bool = True
    inverted: bool = False  # (1 − rate) × weight
    counted: bool = True


@dataclass(frozen=True, slots=True)
class Score:
    total: float
    lines: list[Line] = field(default_factory=list)
    base: float = 0.0  # points scheme: the base points
    measured_weight: float | None = None  # weighted scheme: the weights that had data

    @property
    def rescaled(self) -> bool:
        return self.measured_weight is not None and 0 < self.measured_weight < WEIGHT_TOTAL

    def as_dict(self) -> dict:
        return {"total": self.total, "base": self.base, "measured_weight": self.measured_weight,
                "lines": [{f.name: getattr(line, f.name) for f in fields(Line)}
                          for line in self.lines]}

    @classmethod
    def from_dict(cls, data: dict) -> "Score":
        return cls(data["total"], [Line(**line) for line in data.get("lines", [])],
                   data.get("base", 0.0), data.get("measured_weight"))


def weighted_score(lines: list[dict], values: Mapping[str, float | None],
                   lower_is_better: frozenset[str]) -> Score:
    """``lines``: [{"indicator": key, "weight": w}]; ``values``: rates between 0 and 1."""
    result: list[Line] = []
    raw, measured = 0.0, 0.0
    for line in lines:
        key, weight = line["indicator"], float(line["weight"])
        rate = values.get(key)
        inverted = key in lower_is_better
        if rate is None:
            result.append(Line(key, None, weight, 0.0, inverted=inverted, counted=False))
            continue
        contribution = (1 - rate if inverted else rate) * weight
        result.append(Line(key, rate, weight, contribution, inverted=inverted))
        raw += contribution
        measured += weight
    total = raw * WEIGHT_TOTAL / measured if 0 < measured < WEIGHT_TOTAL else raw
    return Score(round(total, 2), result, measured_weight=measured)


def with_per_case_line(score: Score, key: str, count: int | None, points: float) -> Score:
    """``score`` with one more line: ``count × points`` (a per-case deduction such as the
    supervised cases), added to the total in either kind of scheme."""
    contribution = (count or 0) * points
    return Score(round(score.total + contribution, 2),
                 [*score.lines, Line(key, count or 0, points, contribution, is_rate=False)],
                 score.base, score.measured_weight)


def points_score(base: float, lines: list[dict], values: Mapping[str, float | None],
                 rate_items: frozenset[str]) -> Score:
    """``lines``: [{"item": key, "points": p}]; p < 0 deducts per item. A rate item (patrol
    coverage) counts ``rate × points``; a value the indicators cannot give (None) earns nothing
    and is shown as such."""
    result = []
    total = base
    for line in lines:
        key, points = line["item"], float(line["points"])
        value = values.get(key)
        if value is None:  # not measured (patrol coverage before patrol rounds are counted)
            result.append(Line(key, None, points, 0.0, is_rate=key in rate_items, counted=False))
            continue
        contribution = value * points
        result.append(Line(key, value, points, contribution, is_rate=key in rate_items))
        total += contribution
    return Score(round(total, 2), result, base=base)
