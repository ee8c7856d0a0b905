"""Follow-ups of the statistics and evaluation (issue 11): the points scheme scores patrol
coverage by grid-day; each street publishes (freezes) its own month; closed cases imported from
an old ledger count as closures on their historical days; rating coverage compares the closures
of a period with how many of them were rated, also when the rating came next month. Every
expectation is recounted from the rows themselves (tests/stats_recount.py), not by the rollups."""
from __future__ import annotations

import io
from calendar import monthrange
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from integrations.ledger.importer import guess_mapping, import_ledger, read_ledger
from models import Role, Ticket, db
from models.clock import local_today, local_zone
from models.evaluation import measures
from models.evaluation.publishing import EvaluationMonth, publish_month
from models.evaluation.ranking import live_ranking, monthly_ranking
from models.evaluation.schemes import EvaluatedRole, save_scheme
from models.patrol.rounds import end_round, start_round
from models.stats.indicators import indicators
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

from . import stats_recount as recount
from .conftest import session_csrf_token
from .factories import add_user
from .test_evaluation_ranking import at, case, fold, last_month, row_of

PAGE = "/admin/evaluation/"


def walk(worker, start: datetime) -> None:
    patrol = start_round(worker, now=start)
    end_round(worker, patrol.id, summary="巡查正常", now=start + timedelta(minutes=40))


def points_scheme():
    save_scheme(EvaluatedRole.GRID_WORKER, name="网格员积分制", kind="points", base_points=60,
                min_cases=1, lines=[{"item": measures.CLOSED_IN_TIME, "points": 1},
                                    {"item": measures.PATROL_DAY_COVERAGE, "points": 20}])
    db.session.commit()


def recounted_day_coverage(worker_id: int, month: date) -> float:
    """Distinct local days of the month with a round of this worker (one grid each here),
    over the days of the month — straight from patrol_rounds."""
    days = {recount.local_day(started) for who, started in db.session.execute(sa.text(
        "SELECT worker_id, started_at FROM patrol_rounds")) if who == worker_id}
    inside = {d for d in days if (d.year, d.month) == (month.year, month.month)}
    return len(inside) / monthrange(month.year, month.month)[1]


def test_the_points_scheme_scores_patrol_coverage_by_grid_day(world, login_as):
    month = last_month()
    worker, idle = world.users["gridworker"], world.users["gridworker2"]
    case(world, "gridworker", at(month + timedelta(days=3), 9))
    case(world, "gridworker2", at(month + timedelta(days=3), 9), lon=120.014)
    for day in (1, 2, 5, 9):
        walk(worker, at(month + timedelta(days=day), 10))
    walk(worker, at(month + timedelta(days=2), 15))  # a second round that day: one grid-day
    walk(worker, at(month, 0) - timedelta(hours=2))  # the evening before: another month
    db.session.commit()
    points_scheme()
    fold()
    ranking = live_ranking(EvaluatedRole.GRID_WORKER, month, None)
    expected = recounted_day_coverage(worker.id, month)
    assert expected == pytest.approx(4 / monthrange(month.year, month.month)[1])
    line = {l.key: l for l in row_of(ranking, worker).score.lines}[measures.PATROL_DAY_COVERAGE]
    assert line.counted and line.value == pytest.approx(expected)
    assert line.contribution == pytest.approx(20 * expected)
    assert row_of(ranking, worker).score.total == pytest.approx(round(61 + 20 * expected, 2))
    # No round at all is 0 % (scored, not "no data").
    nothing = {l.key: l for l in row_of(ranking, idle).score.lines}[measures.PATROL_DAY_COVERAGE]
    assert nothing.counted and nothing.value == 0 and row_of(ranking, idle).score.total == 61
    # The same figure on the dashboards, grouped by grid worker.
    admin = world.users["admin"]
    last = date(month.year, month.month, monthrange(month.year, month.month)[1])
    by_worker = {r.key: r.values for r in indicators(admin, month, last, group_by="assignee")}
    assert by_worker[worker.id]["patrol_day_coverage"] == pytest.approx(expected)
    # The page says how the points are earned, beside the line.
    page = login_as("district").get(PAGE + f"?role=grid_worker&month={month:%Y-%m}")
    html = page.get_data(as_text=True)
    assert "巡查日覆盖率" in html and "每天把负责的每个网格都巡查一轮得满分值" in html
    assert f"{expected * 100:.1f}% × 20 = {20 * expected:.2f}".rstrip("0").rstrip(".") in html


def test_a_grid_worker_shown_only_for_an_overdue_case_covered_0_percent(world):
    """A grid worker whose row is there only because a case of theirs is overdue now (nothing
    of theirs happened in the range) walked no round in it: 0 %, not "no data"."""
    worker = world.users["gridworker"]
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id,
                                  description="垃圾桶满溢", lon=120.004, lat=30.005),
                           now=at(local_today() - timedelta(days=40), 9)).ticket
    assert ticket.assigned_user == worker
    db.session.commit()
    fold()
    today = local_today()
    rows = {r.key: r.values for r in indicators(world.users["admin"], today - timedelta(days=9),
                                                 today, group_by="assignee")}
    mine = rows[worker.id]
    assert mine["received"] == 0 and mine["overdue_now"] == 1
    assert (mine["patrol_rounds"], mine["patrol_coverage"], mine["patrol_day_coverage"]) == \
        (0, 0.0, 0.0)
    # "Overdue now" is counted at the moment asked for: a minute after the report, not yet.
    then = {r.key: r.values for r in indicators(world.users["admin"], today - timedelta(days=9),
                                                 today, group_by="assignee",
                                                 now=ticket.created_at + timedelta(minutes=1))}
    assert worker.id not in then


def community_scheme():
    save_scheme(EvaluatedRole.COMMUNITY, name="社区考核", kind="weighted", min_cases=1,
                lines=[{"indicator": measures.SATISFACTION_RATE, "weight": 100}])
    db.session.commit()


def test_publishing_street_a_does_not_freeze_street_b(world, login_as):
    month = last_month()
    add_user(world, "gridworker3", Role.GRID_WORKER, world.areas["grid3"])
    db.session.commit()
    community_scheme()
    day = month + timedelta(days=9)
    case(world, "gridworker", at(day, 9), rating=5)
    case(world, "gridworker3", at(day, 9), lon=120.024, reviewer="community2", rating=5)
    late_a = case(world, "gridworker", at(day, 11))
    late_b = case(world, "gridworker3", at(day, 11), lon=120.024, reviewer="community2")
    fold()
    street_a, street_b = world.areas["street1"], world.areas["street2"]
    a_page = PAGE + f"?role=community&month={month:%Y-%m}&area={street_a.code}"
    street = login_as("street")
    # A street centre publishes its own street, not another one.
    refused = street.post(PAGE + "publish", data={
        "csrf_token": session_csrf_token(street), "month": f"{month:%Y-%m}",
        "role": "community", "area": street_b.code}, follow_redirects=True)
    assert db.session.execute(sa.select(EvaluationMonth)).first() is None
    assert refused.status_code == 200
    html = street.post(PAGE + "publish", data={
        "csrf_token": session_csrf_token(street), "month": f"{month:%Y-%m}",
        "role": "community", "area": street_a.code}, follow_redirects=True
    ).get_data(as_text=True)
    assert "一号街道 " in html and "已发布并冻结" in html and "用户street" in html
    # Late ratings in both streets, at their moments inside the month.
    for ticket in (late_a, late_b):
        perform(ticket, "rate", Actor.reporter(), expected_version=ticket.version, rating=1,
                now=ticket.closed_at + timedelta(hours=1))
    fold()
    community_a, community_b = world.areas["community1"], world.areas["community2"]
    frozen_a = monthly_ranking(street_a, month, "community").ranked[0]
    live_b = monthly_ranking(street_b, month, "community").ranked[0]
    assert frozen_a.unit.id == community_a.id and frozen_a.score.total == 100
    assert live_b.unit.id == community_b.id and live_b.score.total == 50
    # The district sees street A as published and street B live, and may still publish.
    district = monthly_ranking(world.areas["district"], month, "community")
    assert [p.area_name for p in district.frozen_parts] == ["一号街道"]
    assert {r.unit.id: r.score.total for r in district.ranked} == {community_a.id: 100,
                                                                   community_b.id: 50}
    page = login_as("district").get(PAGE + f"?role=community&month={month:%Y-%m}")
    assert "一号街道：已于" in page.get_data(as_text=True)
    assert 'id="gd-eval-publish"' in page.get_data(as_text=True)
    # Street A's page says when and by whom it was frozen; street B can publish its own.
    a_html = street.get(a_page).get_data(as_text=True)
    assert 'id="gd-eval-frozen"' in a_html and "用户street" in a_html
    other = login_as("street2")
    b_html = other.get(PAGE + f"?role=community&month={month:%Y-%m}").get_data(as_text=True)
    assert 'id="gd-eval-publish"' in b_html
    publish_month(world.users["street2"], month, "community", street_b)
    db.session.commit()
    assert monthly_ranking(street_b, month, "community").published.published_by_name == \
        world.users["street2"].display_name
    # Other roles of street A are not frozen by the community ranking's publication.
    assert monthly_ranking(street_a, month, "grid_worker").published is None


def test_rating_coverage_counts_the_closures_of_the_period_rated_later(world):
    month = last_month()
    this_month = local_today().replace(day=1)
    # Closed on the last evening of last month, rated on the first morning of this month.
    evening = datetime.combine(this_month - timedelta(days=1), time(20), local_zone())
    early = case(world, "gridworker", evening - timedelta(hours=3))
    morning = datetime.combine(this_month, time(8), local_zone())
    # Before 08:00 on the 1st: a minute ago, but never before this month began.
    rated_at = max(datetime.combine(this_month, time(0), local_zone()),
                   min(morning, datetime.now(local_zone()) - timedelta(minutes=1)))
    perform(early, "rate", Actor.reporter(), expected_version=early.version, rating=5,
            now=rated_at)
    case(world, "gridworker", at(month + timedelta(days=3), 9))  # never rated
    fold()
    tickets, events = recount.load()
    rows = recount.facts(tickets, events, recount.Workdays())
    admin = world.users["admin"]
    last = this_month - timedelta(days=1)
    for first, final in ((month, last), (this_month, local_today()), (month, local_today())):
        expected = recount.figures([r for r in rows if first <= r["day"] <= final])
        [got] = indicators(admin, first, final)
        recount.compare(got.values, expected, f"{first}–{final}")
    [november] = indicators(admin, month, last)
    assert november.values["closed"] == 2 and november.values["rating_coverage"] == 0.5
    assert november.values["rated"] == 0  # the rating itself counts on its own day
    [december] = indicators(admin, this_month, local_today())
    assert december.values["rated"] == 1 and december.values["rating_coverage"] is None


def ledger(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["上报日期", "所属网格", "问题类型", "问题描述", "处理人", "办结日期"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_closed_cases_imported_from_a_ledger_count_as_closures_on_their_dates(world):
    data = ledger([
        # Tuesday 09:30, closed the next morning: within one working day.
        [datetime(2025, 3, 4, 9, 30), "甲一网格", "垃圾清运", "垃圾桶满溢", "用户gridworker",
         datetime(2025, 3, 5, 9, 0)],
        # Closed a week later: late.
        [datetime(2025, 3, 6, 14, 0), "甲一网格", "垃圾清运", "垃圾外溢", "用户gridworker",
         datetime(2025, 3, 13, 10, 0)],
        # Closed in April, no handler known.
        [datetime(2025, 3, 28, 16, 0), "甲二网格", "垃圾清运", "路边垃圾", None,
         datetime(2025, 4, 2, 11, 0)],
        [datetime(2025, 3, 30, 10, 0), "甲二网格", "垃圾清运", "垃圾未清", None, None],  # open
    ])
    book = read_ledger(data)
    report = import_ledger(book, guess_mapping(book.headers), dry_run=False,
                           actor=world.users["admin"], file_name="台账.xlsx")
    assert report.imported == 4
    fold()
    tickets, events = recount.load()
    rows = recount.facts(tickets, events, recount.Workdays())
    admin, worker = world.users["admin"], world.users["gridworker"]
    march, april = (date(2025, 3, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2025, 4, 30))
    for first, last in (march, april, (march[0], april[1])):
        expected = recount.figures([r for r in rows if first <= r["day"] <= last])
        [got] = indicators(admin, first, last)
        recount.compare(got.values, expected, f"{first}–{last}")
    [got] = indicators(admin, *march)
    assert (got.values["received"], got.values["closed"], got.values["closed_in_time"]) == \
        (4, 2, 1)
    assert got.values["avg_hours"] == pytest.approx(((23.5) + (7 * 24 - 4)) / 2)
    [got] = indicators(admin, *april)
    assert (got.values["received"], got.values["closed"]) == (0, 1)
    by_worker = {r.key: r.values for r in indicators(admin, *march, group_by="assignee")}
    assert by_worker[worker.id]["closed"] == 2
    # Imported again: nothing new, nothing counted twice.
    import_ledger(book, guess_mapping(book.headers), dry_run=False, actor=world.users["admin"],
                  file_name="台账.xlsx")
    fold()
    [again] = indicators(admin, march[0], april[1])
    assert again.values["closed"] == 3 and db.session.scalar(
        sa.select(sa.func.count()).select_from(Ticket)) == 4
