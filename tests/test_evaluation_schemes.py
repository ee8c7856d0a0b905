"""Scoring schemes (绩效考核): validation in the editor, the arithmetic, the audit trail."""
from __future__ import annotations

import sqlalchemy as sa

from models import ConfigChange, ScoringScheme, db
from models.evaluation import measures
from models.evaluation.schemes import EvaluatedRole, ensure_default_schemes
from models.evaluation.scoring import points_score, weighted_score

from .conftest import csrf_token

EDITOR = "/admin/evaluationscheme/"


def weighted_form(token, role="community", **weights):
    data = {"csrf_token": token, "role": role, "name": "社区考核", "kind": "weighted",
            "min_cases": "4", "base_points": ""}
    data.update({f"w_{k}": v for k, v in weights.items()})
    return data


def stored(role: EvaluatedRole) -> ScoringScheme | None:
    db.session.expire_all()
    return db.session.execute(sa.select(ScoringScheme).where(ScoringScheme.role == role)) \
        .scalar_one_or_none()


def test_weighted_score_is_the_sum_of_rate_times_weight():
    score = weighted_score(
        [{"indicator": measures.CLOSED_IN_TIME_RATE, "weight": 30},
         {"indicator": measures.SATISFACTION_RATE, "weight": 30},
         {"indicator": measures.ACCEPTED_IN_TIME_RATE, "weight": 20},
         {"indicator": measures.REWORK_RATE, "weight": 20}],
        {measures.CLOSED_IN_TIME_RATE: 0.8, measures.SATISFACTION_RATE: 0.5,
         measures.ACCEPTED_IN_TIME_RATE: 1.0, measures.REWORK_RATE: 0.25},
        measures.LOWER_IS_BETTER)
    assert [round(line.contribution, 6) for line in score.lines] == [24, 15, 20, 15]
    assert score.total == 74
    assert score.lines[3].inverted  # (1 − 25%) × 20


def test_a_rate_without_data_is_left_out_and_the_rest_scaled_to_100():
    score = weighted_score(
        [{"indicator": measures.CLOSED_IN_TIME_RATE, "weight": 60},
         {"indicator": measures.SATISFACTION_RATE, "weight": 40}],
        {measures.CLOSED_IN_TIME_RATE: 0.5, measures.SATISFACTION_RATE: None},
        measures.LOWER_IS_BETTER)
    assert not score.lines[1].counted and score.rescaled
    assert score.total == 50  # 0.5 × 60 × 100 / 60


def test_points_score_adds_and_deducts_per_case():
    score = points_score(
        60, [{"item": measures.PATROL_DISCOVERIES, "points": 2},
             {"item": measures.CLOSED_IN_TIME, "points": 1},
             {"item": measures.EVER_OVERDUE, "points": -2},
             {"item": measures.REWORK, "points": -1},
             {"item": measures.PATROL_COVERAGE, "points": 20}],
        {measures.PATROL_DISCOVERIES: 5, measures.CLOSED_IN_TIME: 7, measures.EVER_OVERDUE: 2,
         measures.REWORK: 3, measures.PATROL_COVERAGE: 0.5},
        measures.RATE_ITEMS)
    assert score.total == 60 + 10 + 7 - 4 - 3 + 10


def test_the_editor_shows_the_defaults_and_refuses_bad_weights(world, login_as):
    admin = login_as("admin")
    page = admin.get(EDITOR + "?role=community").get_data(as_text=True)
    assert "按期办结率" in page and 'name="w_on_time_rate" value="30"' in page
    token = csrf_token(admin, EDITOR)
    cases = [
        (dict(on_time_rate="60", satisfaction_rate="30"), "权重合计为 90，须为 100"),
        (dict(on_time_rate="120", satisfaction_rate="-20"), "权重不得为负数"),
        (dict(on_time_rate="abc", satisfaction_rate="100"), "须为数字"),
        ({}, "至少需要一项有权重的指标"),
    ]
    for weights, message in cases:
        response = admin.post(EDITOR + "save", data=weighted_form(token, **weights))
        assert response.status_code == 422
        assert message in response.get_data(as_text=True), message
        assert stored(EvaluatedRole.COMMUNITY) is None  # nothing saved
    assert db.session.execute(sa.select(sa.func.count()).select_from(ConfigChange).where(
        ConfigChange.object_type == "scoring_scheme")).scalar_one() == 0
    bad = weighted_form(token, on_time_rate="50", satisfaction_rate="50")
    bad["name"] = "  "
    assert "请填写方案名称" in admin.post(EDITOR + "save", data=bad).get_data(as_text=True)
    bad = weighted_form(token, on_time_rate="50", satisfaction_rate="50")
    bad["min_cases"] = "0"
    assert "最低件数须为 1 到" in admin.post(EDITOR + "save", data=bad).get_data(as_text=True)
    assert stored(EvaluatedRole.COMMUNITY) is None


def test_points_scheme_deductions_must_be_negative(world, login_as):
    admin = login_as("admin")
    token = csrf_token(admin, EDITOR)
    data = {"csrf_token": token, "role": "grid_worker", "name": "积分", "kind": "points",
            "min_cases": "2", "base_points": "60", "p_closed_in_time": "1",
            "p_ever_overdue": "2"}
    response = admin.post(EDITOR + "save", data=data)
    assert response.status_code == 422
    assert "是扣分项：请填 0 或负数" in response.get_data(as_text=True)
    assert stored(EvaluatedRole.GRID_WORKER) is None
    data["p_ever_overdue"] = "-2"
    assert admin.post(EDITOR + "save", data=data).status_code == 302
    scheme = stored(EvaluatedRole.GRID_WORKER)
    assert scheme.kind == "points" and scheme.base_points == 60 and scheme.min_cases == 2
    assert scheme.lines == [{"item": "closed_in_time", "points": 1.0},
                            {"item": "ever_overdue", "points": -2.0}]


def test_a_scheme_edit_is_in_the_change_log(world, login_as):
    ensure_default_schemes()
    db.session.commit()
    admin = login_as("admin")
    token = csrf_token(admin, EDITOR)
    response = admin.post(EDITOR + "save", data=weighted_form(
        token, on_time_rate="50", satisfaction_rate="50"))
    assert response.status_code == 302
    scheme = stored(EvaluatedRole.COMMUNITY)
    assert scheme.min_cases == 4 and len(scheme.lines) == 2
    entry = db.session.execute(sa.select(ConfigChange).where(
        ConfigChange.object_type == "scoring_scheme", ConfigChange.operation == "update")
    ).scalar_one()
    assert entry.actor_name == "admin"
    fields = {row["field"]: row for row in entry.changes}
    assert set(fields) >= {"lines", "min_cases", "name"}
    assert fields["min_cases"]["before"] == 5 and fields["min_cases"]["after"] == 4
    log = admin.get("/admin/configchange/").get_data(as_text=True)
    assert "考核方案" in log and "社区考核" in log


def test_only_administrators_edit_schemes(world, login_as):
    for username in ("district", "leader", "community"):
        assert login_as(username).get(EDITOR).status_code == 403


def test_an_unmeasured_points_item_earns_nothing_and_says_so():
    score = points_score(10, [{"item": measures.PATROL_COVERAGE, "points": 20},
                              {"item": measures.CLOSED_IN_TIME, "points": 1}],
                         {measures.PATROL_COVERAGE: None, measures.CLOSED_IN_TIME: 4},
                         measures.RATE_ITEMS)
    assert score.total == 14 and not score.lines[0].counted and score.lines[1].counted
