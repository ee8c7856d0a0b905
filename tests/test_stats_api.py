"""/api/v1/stats, /stats/hotspots and /stats/seasonality through the real app: figures from the
rollups, scoped to the caller, checked against counts written here; bad parameters get a 422 in
Chinese and change nothing."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from jobs.sweeps import JOBS
from models import db
from models.people.tokens import create_api_client
from models.tickets.intake import Report, report_ticket

from .test_api import auth, token_for

SH = ZoneInfo("Asia/Shanghai")
# (grid, local report time): grid1 and grid2 are in the first community, grid3 in the second.
REPORTS = [("grid1", "2025-03-02 10:00"), ("grid1", "2025-03-20 23:30"),
           ("grid1", "2025-03-31 23:59"), ("grid2", "2025-03-05 09:00"),
           ("grid3", "2025-03-06 09:00"), ("grid1", "2025-02-10 09:00"),
           ("grid3", "2025-02-11 09:00"), ("grid3", "2025-02-12 09:00"),
           ("grid1", "2024-07-01 09:00")]


@pytest.fixture()
def reported(world):
    for grid, when in REPORTS:
        area = world.areas[grid]
        report_ticket(Report(category_id=world.categories["garbage"].id, description="垃圾",
                             lat=area.centroid_lat, lon=area.centroid_lon,
                             reporter_phone="13800000000"),
                      now=datetime.fromisoformat(when).replace(tzinfo=SH))
    db.session.commit()
    JOBS["fold_statistics"]()
    return world


def _get(client, token, url):
    return client.get(url, headers=auth(token))


def test_stats_rows_are_the_callers_figures(reported, client):
    w = reported
    admin = token_for(client, "admin")
    body = _get(client, admin, "/api/v1/stats?from=2025-03-01&to=2025-03-31").get_json()
    [row] = body["rows"]
    assert row["key"] == "all" and row["values"]["received"] == 5
    assert {d["code"] for d in body["definitions"]} >= set(row["values"])
    assert any(d["name"] == "按期办结率" and d["definition"] for d in body["definitions"])
    by_grid = _get(client, admin, "/api/v1/stats?from=2025-03-01&to=2025-03-31&group_by=grid"
                   ).get_json()["rows"]
    assert {r["label"]: r["values"]["received"] for r in by_grid} == {
        "甲一网格": 3, "甲二网格": 1, "乙一网格": 1}
    months = _get(client, admin, "/api/v1/stats?from=2024-01-01&to=2025-12-31&group_by=month"
                  ).get_json()["rows"]
    assert {r["key"]: r["values"]["received"] for r in months} == {
        "2024-07": 1, "2025-02": 3, "2025-03": 5}
    # The first community's staff see their community only, even when asking for the district.
    community = token_for(client, "community")
    for url in ("/api/v1/stats?from=2025-03-01&to=2025-03-31",
                "/api/v1/stats?from=2025-03-01&to=2025-03-31&area=T010101"):
        [mine] = _get(client, community, url).get_json()["rows"]
        assert mine["values"]["received"] == 4
    refused = _get(client, community, "/api/v1/stats?from=2025-03-01&to=2025-03-31&area=T010201")
    assert refused.status_code == 422 and "T010201" in refused.get_json()["error"]["message"]
    # A client scoped to the second street reads only there.
    _client, client_token = create_api_client("大屏", w.areas["street2"])
    db.session.commit()
    [screen] = _get(client, client_token, "/api/v1/stats?from=2025-03-01&to=2025-03-31"
                    ).get_json()["rows"]
    assert screen["values"]["received"] == 1


@pytest.mark.parametrize("query", [
    "from=2025-13-01", "from=2025-03-31&to=2025-03-01", "group_by=planet",
    "area=NOPE", "category=NOPE"])
def test_bad_stats_parameters_get_a_chinese_422(reported, client, query):
    response = _get(client, token_for(client, "admin"), f"/api/v1/stats?{query}")
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_stats_need_a_token(client, world):
    assert client.get("/api/v1/stats").status_code == 401


@pytest.mark.parametrize("name", ["gridworker", "handler"])
def test_hotspots_and_seasons_are_area_views_a_person_is_told_so(reported, client, name):
    """Area counts are not counted for a person: a grid worker or a department handler gets a
    403 in Chinese (their own figures are at /api/v1/stats), not a list of zeros."""
    token = token_for(client, name)
    for url in ("/api/v1/stats/hotspots?from=2025-03-01&to=2025-03-31",
                "/api/v1/stats/seasonality?top=0"):
        response = _get(client, token, url)
        assert response.status_code == 403, url
        error = response.get_json()["error"]
        assert error["code"] == "area_view" and "/api/v1/stats" in error["message"]
        assert "指挥中心" in error["message"]
    assert _get(client, token, "/api/v1/stats?from=2025-03-01&to=2025-03-31").status_code == 200


def test_hotspots_rank_grid_and_category_with_the_previous_period(reported, client):
    admin = token_for(client, "admin")
    body = _get(client, admin, "/api/v1/stats/hotspots?from=2025-03-01&to=2025-03-31&top=2"
                ).get_json()
    assert body["previous_from"] == "2025-01-29" and body["previous_to"] == "2025-02-28"
    first, second = body["items"]
    assert (first["grid"], first["count"], first["previous"], first["change"]) == (
        "甲一网格", 3, 1, 2)
    assert first["category"] == "垃圾清运"
    assert second["count"] == 1
    bad = _get(client, admin, "/api/v1/stats/hotspots?top=0")
    assert bad.status_code == 422
    # A year at most (the page's limit too): 1900–2999 compared with the eleven centuries before.
    for url in ("/api/v1/stats/hotspots?from=1900-01-01&to=2999-12-31",
                "/api/v1/stats/hotspots?from=2024-03-30&to=2025-03-31"):  # 367 days
        too_long = _get(client, admin, url)
        assert too_long.status_code == 422
        assert too_long.get_json()["error"]["message"] == "一次最多查询一年。"
    year = _get(client, admin, "/api/v1/stats/hotspots?from=2024-03-31&to=2025-03-31")  # 366
    assert year.status_code == 200 and year.get_json()["items"][0]["count"] >= first["count"]


def test_seasonality_is_month_by_category_within_three_years(reported, client, login_as):
    admin = token_for(client, "admin")
    body = _get(client, admin, "/api/v1/stats/seasonality?from=2024-01-01&to=2025-12-31"
                ).get_json()
    assert len(body["months"]) == 24 and body["months"][0] == "2024-01"
    [category] = body["categories"]
    assert category["label"] == "垃圾清运"
    assert body["counts"][str(category["id"])] == {"2024-07": 1, "2025-02": 3, "2025-03": 5}
    too_long = _get(client, admin, "/api/v1/stats/seasonality?from=2020-01-01&to=2025-12-31")
    assert too_long.status_code == 422
    # Three years at most, counted as the statistics pages count them (1,098 days with both
    # ends): the page narrows a longer range where the API refuses it.
    longest = _get(client, admin, "/api/v1/stats/seasonality?from=2023-01-01&to=2026-01-02")
    assert longest.status_code == 200
    one_more = _get(client, admin, "/api/v1/stats/seasonality?from=2023-01-01&to=2026-01-03")
    assert one_more.get_json()["error"]["message"] == "一次最多查询三年。"
    browser = login_as("admin")
    page = browser.get("/admin/stats/?from=2023-01-01&to=2026-01-02").get_data(as_text=True)
    assert "统计期间超过" not in page
    page = browser.get("/admin/stats/?from=2023-01-01&to=2026-01-03").get_data(as_text=True)
    assert "统计期间超过 1098 天" in page


def test_recurring_problems_and_trend(reported):
    from datetime import date

    from models.stats.analysis import recurring_problems, trend

    w = reported
    admin = w.users["admin"]
    [spot] = recurring_problems(admin, date(2025, 3, 31), at_least=3, days=30)
    assert (spot.grid, spot.count) == ("甲一网格", 3)
    # One day less and the report of 2 March falls out of the window.
    assert recurring_problems(admin, date(2025, 3, 31), at_least=3, days=29) == []
    days = {row.key: row.values["received"] for row in trend(admin, date(2025, 3, 1),
                                                             date(2025, 3, 31))}
    assert days["2025-03-31"] == 1 and sum(days.values()) == 5
    # The community staff's trend is their community's.
    mine = trend(w.users["community2"], date(2025, 2, 1), date(2025, 3, 31), by="month")
    assert {row.key: row.values["received"] for row in mine} == {"2025-02": 2, "2025-03": 1}


def test_rebuild_rollups_command_restores_the_figures(reported, app, client):
    import sqlalchemy as sa

    admin = token_for(client, "admin")
    url = "/api/v1/stats?from=2024-01-01&to=2025-12-31&group_by=month"
    before = _get(client, admin, url).get_json()["rows"]
    for table in ("stats_daily", "stats_monthly", "stats_facts"):
        db.session.execute(sa.text(f"DELETE FROM {table}"))
    db.session.commit()
    assert _get(client, admin, url).get_json()["rows"] == []
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rebuild-rollups", "--from", "2024-01-01", "--to", "2025-12-31"])
    assert result.exit_code == 0, result.output
    assert "9 tickets" in result.output
    assert _get(client, admin, url).get_json()["rows"] == before
    bad = runner.invoke(args=["rebuild-rollups", "--from", "2025-02-30", "--to", "2025-03-01"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
    far = runner.invoke(args=["rebuild-rollups", "--from", "2025-01-01", "--to", "9999-12-31"])
    assert far.exit_code != 0 and "2999-12-31" in far.output


def test_a_community_moved_to_another_street_takes_its_figures_along(reported):
    from datetime import date

    from models.areas.hierarchy import place_area
    from models.stats.indicators import indicators

    w = reported
    admin = w.users["admin"]
    span = (date(2024, 1, 1), date(2025, 12, 31))
    streets = {row.key: row.values["received"]
               for row in indicators(admin, *span, group_by="street")}
    assert streets == {w.areas["street1"].id: 6, w.areas["street2"].id: 3}
    place_area(w.areas["community1"], w.areas["street2"])
    db.session.commit()
    JOBS["fold_statistics"]()
    streets = {row.key: row.values["received"]
               for row in indicators(admin, *span, group_by="street")}
    assert streets == {w.areas["street2"].id: 9}


def test_today_is_current_after_one_scheduler_run_even_after_a_burst(world, login_as, app,
                                                                    monkeypatch):
    """Issue 11 § 2: "today" is current within a minute. The job runs every 30 s and folds every
    waiting batch in that run, not one batch per run (a burst of intake would leave the
    dashboard minutes behind). Batches of 2 marks stand for the production's 5,000."""
    import re

    import sqlalchemy as sa

    from models.stats import rollups
    from models.stats.tables import StatsPending

    assert app.config["JOB_INTERVALS"]["fold_statistics"] <= 30
    monkeypatch.setattr(rollups, "FOLD_LIMIT", 2)
    area = world.areas["grid1"]
    for index in range(5):
        report_ticket(Report(category_id=world.categories["garbage"].id,
                             description=f"垃圾{index}", lat=area.centroid_lat,
                             lon=area.centroid_lon, reporter_phone="13800000000"))
    db.session.commit()
    marks = db.session.execute(sa.select(sa.func.count()).select_from(StatsPending)).scalar()
    assert marks > 2 * 2  # more than two batches wait

    def received_today() -> str:
        html = login_as("district").get("/admin/stats/").get_data(as_text=True)
        block = html.split('id="gd-figure-received"')[1]
        return re.search(r'class="gd-figure-value[^"]*"[^>]*>([^<]*)<', block)[1].strip()

    assert received_today() == "0"
    assert JOBS["fold_statistics"]()["tickets"] == 5
    assert db.session.execute(sa.select(sa.func.count()).select_from(StatsPending)).scalar() == 0
    assert received_today() == "5"
