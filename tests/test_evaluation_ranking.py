"""Monthly scores and rankings (绩效考核) through the real app: the breakdown equals a recount
from the tickets and events written here, the minimum-case rule, scoping, and a published month
that keeps its ranking while a late event changes the live figures."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from models import AreaLevel, Role, Ticket, TicketEvent, User, db
from models.clock import local_today, local_zone
from models.evaluation import measures
from models.evaluation.publishing import published_month
from models.evaluation.ranking import live_ranking, monthly_ranking, next_month
from models.evaluation.schemes import EvaluatedRole, save_scheme
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import Actor, perform

from .conftest import csrf_token, session_csrf_token
from .factories import add_user
from .test_admin_pages import after_photo

PAGE = "/admin/evaluation/"


def last_month() -> date:
    first = local_today().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), local_zone())


def fold():
    from models.stats.rollups import fold_pending

    db.session.commit()
    fold_pending()


def case(world, worker: str, start: datetime, *, late=False, rework=False, rating=None,
         reviewer="community", lon=120.004, lat=30.005) -> Ticket:
    """One garbage case in the worker's grid, from report to closure, at its own moments."""
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id,
                                  description="垃圾桶满溢", lon=lon, lat=lat), now=start).ticket
    assert ticket.assigned_user == world.users[worker]
    hand, staff = Actor.staff(world.users[worker]), Actor.staff(world.users[reviewer])
    moment = start + timedelta(minutes=20)
    perform(ticket, "accept", hand, expected_version=ticket.version, now=moment)
    if rework:
        moment += timedelta(minutes=30)
        perform(ticket, "submit", hand, expected_version=ticket.version, note="好了",
                attachments=after_photo(), now=moment)
        perform(ticket, "reject", staff, expected_version=ticket.version, note="没清干净",
                now=moment + timedelta(minutes=5))
    moment = start + (timedelta(days=12) if late else timedelta(hours=2))
    perform(ticket, "submit", hand, expected_version=ticket.version, note="已清运",
            attachments=after_photo(), now=moment)
    perform(ticket, "approve", staff, expected_version=ticket.version,
            now=moment + timedelta(minutes=10))
    if rating is not None:
        perform(ticket, "rate", Actor.reporter(), expected_version=ticket.version, rating=rating,
                now=moment + timedelta(hours=1))
    db.session.commit()
    return ticket


def recount(user: User, month: date) -> dict:
    """The worker's month from the timeline rows themselves: closures, closures whose result was
    submitted before the handling deadline, rework, ratings ≥ 4 of ratings."""
    start, end = at(month, 0), at(next_month(month), 0)
    events = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.created_at >= start, TicketEvent.created_at < end)
        .order_by(TicketEvent.ticket_id, TicketEvent.seq)).scalars().all()
    closed = in_time = rework = reviews = rated = satisfied = 0
    handled = set()
    last_submit = {}
    for event in events:
        ticket = db.session.get(Ticket, event.ticket_id)
        if event.action == "submit":
            last_submit[ticket.id] = event.created_at
        if event.action == "approve" and event.from_user_id == user.id:
            closed += 1
            reviews += 1
            handled.add(ticket.id)
            in_time += last_submit[ticket.id] <= ticket.handle_deadline
        if event.action == "reject" and event.from_user_id == user.id:
            rework += 1
            reviews += 1
        if event.action == "rate" and ticket.assigned_user_id == user.id:
            rated += 1
            satisfied += ticket.rating >= 4
    return {"closed": closed, "closed_in_time": in_time, "rework": rework,
            "on_time_rate": in_time / closed, "rework_rate": rework / reviews,
            "satisfaction_rate": satisfied / rated if rated else None}


@pytest.fixture()
def month_of_cases(world):
    month = last_month()
    add_user(world, "gridworker3", Role.GRID_WORKER, world.areas["grid3"])
    db.session.commit()
    day = month + timedelta(days=9)
    case(world, "gridworker", at(day, 9), rating=5)
    case(world, "gridworker", at(day, 10), rework=True, rating=3)
    case(world, "gridworker", at(day, 11), late=True)
    case(world, "gridworker", at(day + timedelta(days=1), 9))  # rated late, after publishing
    case(world, "gridworker2", at(day, 9), lon=120.014, rating=5)  # the one fast case
    case(world, "gridworker3", at(day, 9), lon=120.024, reviewer="community2", rating=4)
    case(world, "gridworker3", at(day, 10), lon=120.024, reviewer="community2", rating=2)
    fold()
    return month


def weighted_grid_scheme(min_cases=2):
    save_scheme(EvaluatedRole.GRID_WORKER, name="网格员加权", kind="weighted", min_cases=min_cases,
                lines=[{"indicator": measures.CLOSED_IN_TIME_RATE, "weight": 40},
                       {"indicator": measures.SATISFACTION_RATE, "weight": 30},
                       {"indicator": measures.REWORK_RATE, "weight": 30}])
    db.session.commit()


def row_of(ranking, user: User):
    return next(r for r in ranking.ranked + ranking.insufficient if r.unit.id == user.id)


def test_a_weighted_breakdown_equals_the_recount(world, month_of_cases):
    weighted_grid_scheme()
    worker = world.users["gridworker"]
    expected = recount(worker, month_of_cases)
    assert expected["closed"] == 4 and expected["closed_in_time"] == 3
    row = row_of(live_ranking(EvaluatedRole.GRID_WORKER, month_of_cases, None), worker)
    lines = {line.key: line for line in row.score.lines}
    assert row.cases == expected["closed"]
    assert lines[measures.CLOSED_IN_TIME_RATE].value == pytest.approx(expected["on_time_rate"])
    assert lines[measures.SATISFACTION_RATE].value == pytest.approx(expected["satisfaction_rate"])
    assert lines[measures.REWORK_RATE].value == pytest.approx(expected["rework_rate"])
    total = (expected["on_time_rate"] * 40 + expected["satisfaction_rate"] * 30
             + (1 - expected["rework_rate"]) * 30)
    assert row.score.total == pytest.approx(round(total, 2))


def test_a_points_breakdown_equals_the_recount(world, month_of_cases):
    save_scheme(EvaluatedRole.GRID_WORKER, name="积分", kind="points", base_points=60,
                min_cases=1, lines=[{"item": measures.CLOSED_IN_TIME, "points": 2},
                                    {"item": measures.REWORK, "points": -3}])
    db.session.commit()
    worker = world.users["gridworker"]
    expected = recount(worker, month_of_cases)
    row = row_of(live_ranking(EvaluatedRole.GRID_WORKER, month_of_cases, None), worker)
    assert [(line.key, line.value, line.contribution) for line in row.score.lines] == [
        (measures.CLOSED_IN_TIME, expected["closed_in_time"], expected["closed_in_time"] * 2),
        (measures.REWORK, expected["rework"], expected["rework"] * -3)]
    assert row.score.total == 60 + expected["closed_in_time"] * 2 - expected["rework"] * 3


def test_one_fast_case_does_not_top_the_table(world, month_of_cases, login_as):
    weighted_grid_scheme(min_cases=2)
    ranking = live_ranking(EvaluatedRole.GRID_WORKER, month_of_cases, None)
    fast = row_of(ranking, world.users["gridworker2"])
    assert fast.score.total == 100 and not fast.eligible and fast.rank is None
    assert [r.unit.id for r in ranking.ranked][0] != world.users["gridworker2"].id
    page = login_as("district").get(PAGE + f"?role=grid_worker&month={month_of_cases:%Y-%m}")
    html = page.get_data(as_text=True)
    ranked = html[html.index('id="gd-eval-ranked"'):html.index('id="gd-eval-insufficient"')]
    short = html[html.index('id="gd-eval-insufficient"'):]
    assert "用户gridworker2" not in ranked and "用户gridworker2" in short
    assert "样本不足" in html and "<td>用户gridworker</td>" not in short


def test_rankings_are_scoped_to_the_user(world, month_of_cases, login_as):
    month = f"{month_of_cases:%Y-%m}"

    def names(username, role="grid_worker"):
        page = login_as(username).get(PAGE + f"?role={role}&month={month}")
        assert page.status_code == 200
        return set(re.findall(r"<td>(用户gridworker\d?|[甲乙]社区)</td>", page.get_data(as_text=True)))

    assert names("community") == {"用户gridworker", "用户gridworker2"}
    assert names("street2") == {"用户gridworker3"}
    assert names("district") == {"用户gridworker", "用户gridworker2", "用户gridworker3"}
    assert names("leader") == names("district")
    assert names("community", "community") == {"甲社区"}
    for username in ("gridworker", "handler"):
        assert login_as(username).get(PAGE).status_code == 403


def test_a_published_month_keeps_its_ranking_after_a_late_event(world, month_of_cases, login_as):
    weighted_grid_scheme()
    worker = world.users["gridworker"]
    month = f"{month_of_cases:%Y-%m}"
    url = PAGE + f"?role=grid_worker&month={month}"
    leader = login_as("leader")
    assert 'id="gd-eval-publish"' not in leader.get(url).get_data(as_text=True)
    refused = leader.post(PAGE + "publish", data={"csrf_token": session_csrf_token(leader),
                                                  "month": month}, follow_redirects=True)
    assert "只有指挥中心可以发布本辖区的排名" in refused.get_data(as_text=True)
    assert published_month(month_of_cases) is None
    district = login_as("district")
    before = row_of(live_ranking(EvaluatedRole.GRID_WORKER, month_of_cases, None), worker)
    response = district.post(PAGE + "publish", data={
        "csrf_token": csrf_token(district, url), "month": month, "role": "grid_worker"},
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已发布并冻结" in html and "用户district" in html
    # A late event: the unrated case is rated now, at its moment inside the published month.
    unrated = db.session.execute(sa.select(Ticket).where(
        Ticket.assigned_user_id == worker.id, Ticket.rating.is_(None),
        Ticket.submitted_at < at(month_of_cases + timedelta(days=11), 0))).scalars().one()
    perform(unrated, "rate", Actor.reporter(), expected_version=unrated.version, rating=1,
            now=unrated.closed_at + timedelta(hours=3))
    fold()
    live = row_of(live_ranking(EvaluatedRole.GRID_WORKER, month_of_cases, None), worker)
    assert live.score.total != before.score.total
    frozen = row_of(monthly_ranking(None, month_of_cases, "grid_worker"), worker)
    assert frozen.score.total == before.score.total
    assert [line.value for line in frozen.score.lines] == [l.value for l in before.score.lines]
    page = district.get(url).get_data(as_text=True)
    assert f"{before.score.total:.2f}" in page and f"{live.score.total:.2f}" not in page
    assert "用户district" in page and 'id="gd-eval-publish"' not in page
    again = district.post(PAGE + "publish", data={"csrf_token": session_csrf_token(district),
                                                  "month": month}, follow_redirects=True)
    assert "已经发布" in again.get_data(as_text=True)
    live_page = district.get(url + "&live=1").get_data(as_text=True)
    assert f"{live.score.total:.2f}" in live_page


def test_the_current_month_cannot_be_published(world, login_as):
    district = login_as("district")
    month = f"{local_today():%Y-%m}"
    url = PAGE + f"?month={month}"
    answer = district.post(PAGE + "publish", data={"csrf_token": session_csrf_token(district),
                                                   "month": month}, follow_redirects=True)
    assert "只能发布已经结束的月份" in answer.get_data(as_text=True)
