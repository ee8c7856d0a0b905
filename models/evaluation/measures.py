"""What the evaluation reads from the indicators (models/stats): which of them a weighted scheme
may weigh, which count in the points scheme, and each unit's values for a month. The indicators
and their definitions live in models/stats/definitions.py and indicators.py, once; this module
only names the ones scoring uses and asks for them.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from models.clock import local_day_start
from models.people.user import User
from models.reference_cache import user_rows
from models.stats.definitions import BY_CODE
from models.vocabulary import Role

# Codes of models/stats/definitions.py.
ACCEPTED_IN_TIME_RATE = "response_rate"  # 响应率
CLOSED_IN_TIME_RATE = "on_time_rate"  # 按期办结率
SATISFACTION_RATE = "satisfaction_rate"  # 满意率
REWORK_RATE = "rework_rate"  # 返工率
OVERDUE_RATE = "overdue_rate"  # 超期率
RETURNED_RATE = "return_rate"  # 退回率
RATING_COVERAGE = "rating_coverage"  # 评价覆盖率
CLOSED = "closed"
CLOSED_IN_TIME = "closed_in_time"
EVER_OVERDUE = "ever_overdue"
REWORK = "rework"
PATROL_DISCOVERIES = "patrol_found"
# Not an indicator: cases put under supervision (督办) in the month against the unit handling
# them (models/tickets/supervision.py), deducted per case in every scheme.
SUPERVISED = "supervised"
OWN_LABELS = {SUPERVISED: (_l("Supervised cases (督办)"),
                           _l("Cases put under supervision (督办 or 挂牌督办) in the month while "
                              "the unit was handling them; each deducts the scheme's points per "
                              "supervised case."))}
PATROL_COVERAGE = "patrol_coverage"  # 巡查覆盖率: grids walked at least once
PATROL_DAY_COVERAGE = "patrol_day_coverage"  # 巡查日覆盖率: grid-days walked

# The number of cases a unit's month is judged on (the minimum-case rule counts these).
CASES = CLOSED

# A weighted scheme weighs ratios; these are the ones where less is better: (1 − rate) × weight.
WEIGHABLE = (CLOSED_IN_TIME_RATE, SATISFACTION_RATE, ACCEPTED_IN_TIME_RATE, REWORK_RATE,
            OVERDUE_RATE, RETURNED_RATE, RATING_COVERAGE)
LOWER_IS_BETTER = frozenset({REWORK_RATE, OVERDUE_RATE, RETURNED_RATE})
# The points scheme (积分制): points per count, deductions (entered negative), and patrol
# coverage, a ratio that earns its points × the rate.
POINT_ITEMS = (PATROL_DISCOVERIES, CLOSED_IN_TIME, EVER_OVERDUE, REWORK, PATROL_DAY_COVERAGE,
               PATROL_COVERAGE)
DEDUCTIONS = frozenset({EVER_OVERDUE, REWORK})
RATE_ITEMS = frozenset({PATROL_COVERAGE, PATROL_DAY_COVERAGE})
# How each item of the points scheme earns (or costs) its points, shown beside the line.
POINT_RULES = {
    PATROL_DISCOVERIES: "每上报一件巡查发现的事件，得一次分值。",
    CLOSED_IN_TIME: "每按期办结一件，得一次分值。",
    EVER_OVERDUE: "每被判定超期一次，扣一次分值。",
    REWORK: "每被审核退回（返工）一次，扣一次分值。",
    PATROL_DAY_COVERAGE: "得分 = 分值 × 巡查日覆盖率：本月（到今天为止）每天把负责的每个网格都巡查"
                         "一轮得满分值，少巡查的网格日按比例少得；只算本人的巡查。",
    PATROL_COVERAGE: "得分 = 分值 × 巡查覆盖率：本月至少巡查过一轮的负责网格 ÷ 负责网格数。",
}

# Every indicator a score reads (the lines either scheme may have, and the cases): a month's
# values are read for these only.
SCORED = tuple(dict.fromkeys((*WEIGHABLE, *POINT_ITEMS, CASES)))

# The indicators grouping that answers each evaluated role (models/stats/indicators GROUPS).
GROUPING = {"grid_worker": "assignee", "department": "department", "community": "community"}


def label(code: str) -> str:
    if code in OWN_LABELS:
        return str(OWN_LABELS[code][0])
    indicator = BY_CODE.get(code)
    return indicator.name if indicator else code


def definition(code: str) -> str:
    if code in OWN_LABELS:
        return str(OWN_LABELS[code][1])
    indicator = BY_CODE.get(code)
    return indicator.definition if indicator else ""


def weighted_indicators() -> dict[str, str]:
    """Indicator code → its name, for the weighted scheme's choices."""
    return {code: label(code) for code in WEIGHABLE}


def point_items() -> dict[str, str]:
    return {code: label(code) for code in POINT_ITEMS}


def point_rule(code: str) -> str:
    return POINT_RULES.get(code, "")


def _whole_district() -> User:
    """Who asks the indicators for a unit's month: a unit's score is its whole month, whoever
    looks at it (the viewer's scope picks the units shown, not the cases counted)."""
    return User(username="evaluation", display_name="evaluation", role=Role.ADMIN)


def month_values(role: str, month: date, next_month: date, unit_ids: list[int]) -> dict:
    """unit id → {indicator code: value} for the local month [month, next_month). A grid
    worker's patrol coverage is theirs even without a round (0 %, not "no data"), from
    models/patrol's one rule of a covered grid-day."""
    from models.stats.indicators import indicators
    from models.tickets.supervision import supervised_counts

    if not unit_ids:
        return {}
    role = str(getattr(role, "value", role))
    last = next_month - timedelta(days=1)
    rows = indicators(_whole_district(), month, last, group_by=GROUPING[role], codes=SCORED)
    wanted = set(unit_ids)
    values = {row.key: row.values for row in rows if row.key in wanted}  # each row's own dict
    del rows
    start, end = (local_day_start(day) for day in (month, next_month))
    for unit, count in supervised_counts(role, start, end, unit_ids).items():
        values.setdefault(unit, {})[SUPERVISED] = count
    if role == "grid_worker":
        from models.patrol.queries import worker_coverage

        # The indicators gave the coverage of the workers with cases or rounds (the same rule);
        # the others covered 0 %, which is not "no data".
        people = user_rows()  # plain rows: a city's 25,600 grid workers are no ORM objects
        workers = [people[key] for key in unit_ids if key in people
                   and values.get(key, {}).get(PATROL_COVERAGE) is None]
        for worker_id, coverage in worker_coverage(workers, month, last).items():
            unit = values.setdefault(worker_id, {})
            unit[PATROL_COVERAGE] = coverage.grid_share
            unit[PATROL_DAY_COVERAGE] = coverage.day_share
    return values
