"""What the evaluation reads from the indicators (models/stats/indicators.py): which of them a
weighted scheme may weigh, which count in the points scheme, and a unit's values for a month.
The indicators are defined there once; this module only names the ones scoring uses.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Keys of the indicators module.
ACCEPTED_IN_TIME_RATE = "accepted_in_time_rate"  # 响应率
CLOSED_IN_TIME_RATE = "closed_in_time_rate"  # 按期办结率
SATISFACTION_RATE = "satisfaction_rate"  # 满意率
REWORK_RATE = "rework_rate"  # 返工率
OVERDUE_RATE = "overdue_rate"  # 超期率
RETURNED_RATE = "returned_rate"  # 退回率
RATING_COVERAGE = "rating_coverage"
CLOSED = "closed"
CLOSED_IN_TIME = "closed_in_time"
EVER_OVERDUE = "ever_overdue"
REWORK = "rework"
PATROL_DISCOVERIES = "patrol_discoveries"
PATROL_COVERAGE = "patrol_coverage"

# The number of cases a unit's month is judged on (the minimum-case rule counts these).
CASES = CLOSED

# Rates where less is better: a weighted line counts (1 − rate) × weight.
LOWER_IS_BETTER = frozenset({REWORK_RATE, OVERDUE_RATE, RETURNED_RATE})
# Points items that take points away (entered as negative numbers).
DEDUCTIONS = frozenset({EVER_OVERDUE, REWORK})
# Points items that are rates (points × rate), not counts.
RATE_ITEMS = frozenset({PATROL_COVERAGE})

_WEIGHTED = {
    CLOSED_IN_TIME_RATE: _l("On-time closure rate (按期办结率)"),
    SATISFACTION_RATE: _l("Satisfaction rate (满意率)"),
    ACCEPTED_IN_TIME_RATE: _l("Response rate (响应率)"),
    REWORK_RATE: _l("Rework rate (返工率)"),
    OVERDUE_RATE: _l("Overdue rate (超期率)"),
    RETURNED_RATE: _l("Return rate (退回率)"),
    RATING_COVERAGE: _l("Rating coverage"),
}
_POINTS = {
    PATROL_DISCOVERIES: _l("Reports found on patrol"),
    CLOSED_IN_TIME: _l("Cases closed in time"),
    EVER_OVERDUE: _l("Overdue cases"),
    REWORK: _l("Rework (审核退回)"),
    PATROL_COVERAGE: _l("Patrol coverage"),
}


def weighted_indicators() -> dict[str, object]:
    """Indicator key → label, for the weighted scheme's choices."""
    return dict(_WEIGHTED)


def point_items() -> dict[str, object]:
    return dict(_POINTS)


def label(key: str) -> str:
    return str(_WEIGHTED.get(key) or _POINTS.get(key) or key)
