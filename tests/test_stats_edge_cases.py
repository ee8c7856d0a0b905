"""Statistics on a generated timeline with the edge cases: tickets crossing midnight and a month
end in Asia/Shanghai, suspended periods, a holiday week and its 调休 working days, rework, a
reopened case closed twice, a merged duplicate, returns, escalations, overdue marks, both kinds
of rating — each figure equals the independent recount, and is folded incrementally as the
events happen (the scheduler's job), equal to a rebuild."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from jobs.sweeps import JOBS
from models import db, utcnow
from models.stats.indicators import indicators
from models.stats.rollups import rebuild
from models.tickets.actions import Actor
from models.tickets.intake import Report, report_ticket
from models.tickets.workflow import perform
from models.vocabulary import Source

from . import stats_recount as recount

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def fold() -> None:
    assert JOBS["fold_statistics"]()["tickets"] >= 0


class Life:
    def __init__(self, world):
        self.w = world

    def report(self, when, grid="grid1", source=Source.PHONE, by=None):
        grid_area = self.w.areas[grid]
        result = report_ticket(Report(
            category_id=self.w.categories["garbage"].id, description="垃圾堆放",
            lat=grid_area.centroid_lat, lon=grid_area.centroid_lon, source=source,
            reporter_phone="13800000000"), actor=self.w.users[by] if by else None, now=at(when))
        db.session.commit()
        fold()
        return result.ticket

    def do(self, ticket, action, who, when, **params):
        actor = (Actor.reporter() if who == "reporter" else Actor.system() if who == "system"
                 else Actor.staff(self.w.users[who]))
        params.setdefault("note", "说明")
        perform(ticket, action, actor, expected_version=None, now=at(when), **params)
        db.session.commit()
        fold()


@pytest.fixture()
def life(world):
    world.categories["garbage"].requires_after_photo = False
    db.session.commit()
    return Life(world)


def _calendar_edges():
    """A holiday on a weekday and a 调休 weekend working day of 2025 (from the calendar table)."""
    days = dict(db.session.execute(sa.text(
        "SELECT day, is_workday FROM work_calendar_days WHERE day BETWEEN '2025-09-25' "
        "AND '2025-10-12'")).all())
    days = {(d if isinstance(d, date) else date.fromisoformat(str(d)[:10])): bool(w)
            for d, w in days.items()}
    assert days[date(2025, 10, 1)] is False and days[date(2025, 9, 28)] is True, \
        "the 2025 National Day arrangement is in the work calendar"
    return days


def test_edge_cases_equal_the_recount_and_a_rebuild(life, world):
    _calendar_edges()
    # 1. Reported before midnight on the last day of January, closed after it in February.
    t1 = life.report("2025-01-31 23:50")
    life.do(t1, "accept", "gridworker", "2025-01-31 23:55")
    life.do(t1, "submit", "gridworker", "2025-02-01 00:10")
    life.do(t1, "approve", "community", "2025-02-01 00:20")
    life.do(t1, "rate", "reporter", "2025-02-01 08:00", rating=5)
    # 2. Suspended over a weekend, handled across the National Day holiday, closed on the
    #    调休 Saturday; rated badly on a phone follow-up.
    t2 = life.report("2025-09-26 16:00")
    life.do(t2, "accept", "gridworker", "2025-09-26 16:30")
    life.do(t2, "suspend", "community", "2025-09-27 10:00")
    life.do(t2, "resume", "community", "2025-09-29 10:00")
    life.do(t2, "submit", "gridworker", "2025-10-09 10:00")
    life.do(t2, "approve", "community", "2025-10-11 09:30")
    life.do(t2, "follow_up", "community", "2025-10-11 15:00", rating=2)
    # 3. Rework, then closed, reopened by the reporter and closed again.
    t3 = life.report("2025-03-03 10:00")
    life.do(t3, "accept", "gridworker", "2025-03-03 10:05")
    life.do(t3, "submit", "gridworker", "2025-03-03 15:00")
    life.do(t3, "reject", "community", "2025-03-04 09:00")
    life.do(t3, "submit", "gridworker", "2025-03-04 11:00")
    life.do(t3, "approve", "community", "2025-03-05 09:00")
    life.do(t3, "reopen", "reporter", "2025-03-06 20:00")
    life.do(t3, "submit", "gridworker", "2025-03-07 10:00")
    life.do(t3, "approve", "community", "2025-03-07 10:30")
    # 4. A duplicate of 3, merged into it.
    t4 = life.report("2025-03-03 11:00")
    life.do(t4, "merge", "community", "2025-03-03 12:00", master_id=t3.id)
    # 5. Found on patrol in the second grid, returned as not ours, escalated by the community,
    #    never accepted: overdue now.
    t5 = life.report("2025-05-31 23:59", grid="grid2", source=Source.PATROL, by="gridworker2")
    life.do(t5, "return", "gridworker2", "2025-06-01 00:30")
    life.do(t5, "escalate", "community", "2025-06-02 09:00")
    # 6. Late: the scheduler marks it overdue (and escalates it), then it is marked invalid.
    t6 = life.report("2025-07-01 09:00")
    life.do(t6, "accept", "gridworker", "2025-07-04 09:00")
    JOBS["deadline_sweep"](now=at("2025-07-20 09:00"))
    fold()
    life.do(t6, "invalidate", "community", "2025-07-22 09:00")

    tickets, events = recount.load()
    facts = recount.facts(tickets, events, recount.Workdays())
    kinds = {f["kind"] for f in facts}
    assert {"overdue_marked", "escalated", "returned", "rework", "reopened", "merged",
            "invalidated", "follow_ups", "rated_by_reporter", "patrol_found"} <= kinds
    admin = world.users["admin"]
    first, last = date(2025, 1, 1), date(2025, 12, 31)
    [total] = indicators(admin, first, last)
    recount.compare(total.values, recount.figures(facts), "total")
    # "Overdue now" is a state of the open tickets: ticket 5, never accepted, is past its
    # acceptance deadline (the merged, invalid and closed ones are not open).
    assert total.values["overdue_now"] == recount.overdue_now(tickets, utcnow()) == 1
    # Days and months are local: ticket 1 is received in January and closed in February.
    months = {row.key: row.values for row in indicators(admin, first, last, group_by="month")}
    assert months["2025-01"]["received"] == 1 and months["2025-01"]["closed"] == 0
    assert months["2025-02"]["closed"] == 1 and months["2025-02"]["received"] == 0
    for key, values in months.items():
        recount.compare(values, recount.figures(
            [f for f in facts if f["day"].strftime("%Y-%m") == key]), key)
    [jan31] = indicators(admin, date(2025, 1, 31), date(2025, 1, 31))
    assert jan31.values["received"] == 1 and jan31.values["accepted"] == 1
    # Handling time: the suspended weekend does not count, the holiday week counts in natural
    # hours only, the 调休 Saturday counts as working time.
    t2_facts = [f for f in facts if f["kind"] == "closed" and f["day"] == date(2025, 10, 11)]
    [closure] = t2_facts
    assert closure["natural"] == (at("2025-10-11 09:30") - at("2025-09-26 16:00")).total_seconds() \
        - (at("2025-09-29 10:00") - at("2025-09-27 10:00")).total_seconds()
    # Working time (9:00–12:00, 13:30–17:30): Fri 26th 16:00–17:30 1.5 h; Sat 27th and the 调休
    # Sunday 28th lie in the suspension; Mon 29th from 10:00 6 h; Tue 30th 7 h; 1–8 October are
    # holidays; Thu 9th and Fri 10th 7 h each (waiting for review counts); the 调休 Saturday
    # 11th 9:00–9:30 0.5 h: 29 h.
    [october] = indicators(admin, date(2025, 10, 11), date(2025, 10, 11))
    assert october.values["median_work_hours"] == pytest.approx(closure["working"] / 3600,
                                                                abs=1 / 3600)
    assert closure["working"] == (1.5 + 6 + 7 + 7 + 7 + 0.5) * 3600
    for group_by in ("grid", "assignee", "department"):
        field = {"assignee": "assignee"}.get(group_by, group_by)
        for row in indicators(admin, first, last, group_by=group_by):
            recount.compare(row.values, recount.figures(
                [f for f in facts if (f[field] or 0) == row.key]), f"{group_by} {row.key}")
    # Incremental folding (after every event) equals a rebuild from nothing.
    def rows(table, period):
        return sorted(tuple(r) for r in db.session.execute(sa.text(
            f"SELECT {period}, grid_id, category_id, department_id, user_id, received, closed, "
            f"handling_seconds, handling_work_seconds, rework, escalated FROM {table}")))

    before = rows("stats_daily", "day"), rows("stats_monthly", "month")
    rebuild(date(2024, 1, 1), date(2026, 1, 1))
    assert (rows("stats_daily", "day"), rows("stats_monthly", "month")) == before


def test_a_ticket_that_cannot_be_folded_holds_up_no_other(life, world):
    from models.stats.tables import StatsPending
    from models.tickets.timeline import append_event

    good = life.report("2025-04-01 10:00")
    bad = life.report("2025-04-01 11:00")
    append_event(bad, "rate", details={"rating": "five"}, at=at("2025-04-02 10:00"))
    other = life.report("2025-04-02 09:00")  # folds: the bad one fails alone
    db.session.commit()
    assert JOBS["fold_statistics"]()["tickets"] == 0  # only the bad one is left, still failing
    pending = set(db.session.scalars(sa.select(StatsPending.ticket_id)))
    assert pending == {bad.id}
    [row] = indicators(world.users["admin"], date(2025, 4, 1), date(2025, 4, 2))
    # All three reports count (the bad one's was folded before its bad event); the bad event
    # waits, the later ticket was not held up.
    assert row.values["received"] == 3 and row.values["rated"] == 0
    assert good.id != other.id


def test_the_dashboard_says_how_many_changes_are_not_yet_in_its_figures(world, login_as):
    """Reports the scheduler has not folded yet are named on the dashboard (a stopped scheduler
    shows as a number that does not go down); once folded, the line is gone."""
    fold()
    browser = login_as("district")
    assert 'id="gd-stats-waiting"' not in browser.get("/admin/stats/").get_data(as_text=True)
    for grid in ("grid1", "grid2", "grid3"):
        area = world.areas[grid]
        report_ticket(Report(category_id=world.categories["garbage"].id, description="垃圾堆放",
                             lat=area.centroid_lat, lon=area.centroid_lon))
    db.session.commit()
    html = browser.get("/admin/stats/").get_data(as_text=True)
    assert "另有 3 条工单的最新变化尚未计入以上数据：统计每 30 秒汇总一次。" in html
    assert "调度进程" not in html  # the scheduler is the administrator's business
    # Each reader counts the changes of the tickets they see: community 1 has grids 1 and 2.
    html = login_as("community").get("/admin/stats/").get_data(as_text=True)
    assert "另有 2 条工单的最新变化尚未计入" in html
    html = login_as("admin").get("/admin/stats/").get_data(as_text=True)
    assert "另有 3 条工单的最新变化尚未计入" in html and "请检查调度进程及其日志" in html
    fold()
    assert 'id="gd-stats-waiting"' not in browser.get("/admin/stats/").get_data(as_text=True)
