"""The working-day calendar past chinese-calendar's last year (issue 9 § 5): the law's holidays
filled provisionally, re-filling, the State Council's arrangement entered by an administrator."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import sqlalchemy as sa

from jobs.sweeps import calendar_check
from models import ConfigChange, DeadlineUnit, Notification, TicketEvent, WorkCalendarDay, db
from models.calendar import provisional_years
from models.clock import local_today
from models.statutory_holidays import statutory_holidays
from models.tickets.deadlines import deadline_after, invalidate_calendar, work_calendar
from models.tickets.intake import Report, report_ticket

from .conftest import csrf_token, fill_test_calendar
from .test_migrations import run_py, separate_database_url  # noqa: F401  (fixture)

SH = ZoneInfo("Asia/Shanghai")
WD, WH = DeadlineUnit.WORKING_DAYS, DeadlineUnit.WORKING_HOURS
ARRANGEMENT_URL = "/admin/calendar/arrangement"

# An arrangement as the State Council might publish it for 2027 (调休 included).
PUBLISHED_2027 = "\n".join([
    "2027-01-01 至 2027-01-03 元旦",
    "2027-02-05 至 2027-02-13 春节",
    "2027-04-03 至 2027-04-05 清明节",
    "2027-05-01 至 2027-05-05 劳动节",
    "2027-06-09 端午节",
    "2027-09-15 中秋节",
    "2027-10-01 至 2027-10-07 国庆节",
])
WORKED_2027 = "2027-01-30, 2027-02-20 2027-09-26，2027-10-09"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def due(start: datetime, amount: int, unit: DeadlineUnit) -> datetime:
    return deadline_after(start, amount, unit).astimezone(SH)


def years_filled_by_law() -> list[int]:
    """chinese-calendar stops at 2026: every year from 2027 to next year is filled by the law
    (the session's calendar is filled from the day the tests run)."""
    return list(range(2027, local_today().year + 2))


def day_row(d: date) -> WorkCalendarDay:
    return db.session.execute(sa.select(WorkCalendarDay).where(WorkCalendarDay.day == d)
                              ).scalar_one()


def year_rows(year: int) -> list[tuple]:
    return db.session.execute(
        sa.select(WorkCalendarDay.day, WorkCalendarDay.is_workday, WorkCalendarDay.note,
                  WorkCalendarDay.provisional)
        .where(WorkCalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(WorkCalendarDay.day)).all()


@pytest.fixture()
def calendar_2027(ctx):
    """The session's calendar, with 2027 put back as the law gives it after the test."""
    invalidate_calendar()
    yield
    db.session.rollback()
    db.session.execute(sa.delete(WorkCalendarDay).where(WorkCalendarDay.day >= date(2027, 1, 1)))
    fill_test_calendar()  # as the session began
    db.session.commit()
    invalidate_calendar()


# --- the rule -----------------------------------------------------------------------------------

def test_the_law_gives_these_days_off_in_2027():
    assert statutory_holidays(2027) == {
        date(2027, 1, 1): "元旦",
        # 除夕 is Friday 5 February; Saturday and Sunday are made up on Tuesday and Wednesday.
        date(2027, 2, 5): "春节", date(2027, 2, 6): "春节", date(2027, 2, 7): "春节",
        date(2027, 2, 8): "春节", date(2027, 2, 9): "春节补假", date(2027, 2, 10): "春节补假",
        date(2027, 4, 5): "清明节",
        date(2027, 5, 1): "劳动节", date(2027, 5, 2): "劳动节",
        date(2027, 5, 3): "劳动节补假", date(2027, 5, 4): "劳动节补假",
        date(2027, 6, 9): "端午节",
        date(2027, 9, 15): "中秋节",
        date(2027, 10, 1): "国庆节", date(2027, 10, 2): "国庆节", date(2027, 10, 3): "国庆节",
        date(2027, 10, 4): "国庆节补假", date(2027, 10, 5): "国庆节补假",
    }


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_rule_stays_inside_the_published_holidays_of_known_years(year):
    computed = statutory_holidays(year)
    assert len(computed) >= 14
    assert set(computed) <= set(chinese_calendar.holidays)


def test_a_festival_on_another_festivals_day_is_made_up():
    # 中秋 2028 is 3 October: that day is made up like a weekend one.
    days = statutory_holidays(2028)
    assert days[date(2028, 10, 3)] == "中秋节、国庆节"
    # Two days made up: one for Sunday 1 October, one for the day the two festivals share.
    assert days[date(2028, 10, 4)] == days[date(2028, 10, 5)] == "国庆节补假"
    assert date(2028, 10, 6) not in days


# --- filling --------------------------------------------------------------------------------------

def test_the_database_holds_2027_as_the_law_gives_it_provisionally(ctx):
    for d in (date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 10)):
        row = day_row(d)
        assert (row.is_workday, row.provisional) == (False, True), d
    assert day_row(date(2027, 2, 8)).note == "春节"
    assert day_row(date(2027, 2, 10)).note == "春节补假"
    assert day_row(date(2027, 2, 11)).is_workday
    assert len(year_rows(2027)) == 365
    assert provisional_years() == years_filled_by_law()
    assert day_row(date(2026, 2, 16)).note == "春节" and not day_row(date(2026, 2, 16)).provisional


def test_init_db_fills_next_year_and_refills_a_year_filled_as_weekdays(separate_database_url):
    """An older database: 2027 filled Monday to Friday, one day corrected by an administrator.
    init-db marks the weekday days provisional (migration 0009) and fills the law's holidays."""
    url = separate_database_url
    assert run_py("db", "upgrade", "0008", url=url).returncode == 0
    engine = sa.create_engine(url)
    days = sa.table("work_calendar_days", sa.column("day", sa.Date()),
                    sa.column("is_workday", sa.Boolean()), sa.column("note", sa.String()))
    try:
        with engine.begin() as connection:
            connection.execute(days.insert(), [
                {"day": d, "is_workday": d.weekday() < 5, "note": None}
                for d in (date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 11))]
                + [{"day": date(2027, 2, 8), "is_workday": True, "note": "值班日"}])
        # From 2028 on 2027 is no longer this or next year: name it (init-db's option).
        named = [] if local_today().year <= 2027 else ["--calendar-year", "2027"]
        result = run_py("init-db", *named, url=url)
        assert result.returncode == 0, result.stderr
        assert "2027 is provisional" in result.stdout
        with engine.connect() as connection:
            rows = {d: (w, n, p) for d, w, n, p in connection.execute(sa.text(
                "SELECT day, is_workday, note, provisional FROM work_calendar_days "
                "WHERE day BETWEEN '2027-01-01' AND '2027-12-31'"))}
    finally:
        engine.dispose()
    as_date = {(d if isinstance(d, date) else date.fromisoformat(d)): v for d, v in rows.items()}
    assert len(as_date) == 365
    assert as_date[date(2027, 1, 1)] == (False, "元旦", True)
    assert as_date[date(2027, 2, 5)] == (False, "春节", True)
    assert as_date[date(2027, 2, 11)] == (True, None, True)
    assert as_date[date(2027, 2, 8)] == (True, "值班日", False)  # the administrator's day is kept


def test_filling_again_replaces_provisional_days_and_keeps_the_administrators(
        calendar_2027, login_as):
    from .factories import build_world

    build_world()
    guessed = day_row(date(2027, 2, 5))
    guessed.is_workday, guessed.note = True, None  # as a Monday–Friday fill left it
    db.session.commit()
    client = login_as("admin")
    edit = "/admin/calendar/edit/?id=2027-02-08&url=/admin/calendar/"
    response = client.post(edit, data={"csrf_token": csrf_token(client, edit),
                                       "day": "2027-02-08", "is_workday": "y", "note": "值班日"})
    assert response.status_code == 302
    db.session.expire_all()
    assert not day_row(date(2027, 2, 8)).provisional

    response = client.post("/admin/calendar/fill", data={
        "csrf_token": csrf_token(client, "/admin/calendar/"), "year": "2027"},
        follow_redirects=True)
    assert "2027 年的 1 天" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (day_row(date(2027, 2, 5)).is_workday, day_row(date(2027, 2, 5)).note) == (False, "春节")
    assert (day_row(date(2027, 2, 8)).is_workday, day_row(date(2027, 2, 8)).note) == (True, "值班日")
    [entry] = calendar_year_entries()
    assert (entry.object_label, entry.actor_name, entry.changes[0]["field"]) == (
        "2027 年工作日历", "admin", "filled_days")
    assert (entry.changes[0]["before"], entry.changes[0]["after"]) == (0, 1)


def test_filling_a_published_year_is_in_the_configuration_history(calendar_2027, login_as):
    """A day missing from a year chinese-calendar knows, written back by 生成该年日历: the
    history names the administrator and the days, as written from the published arrangement."""
    from .factories import build_world

    build_world()
    year = max(chinese_calendar.constants.holidays).year
    db.session.execute(sa.delete(WorkCalendarDay).where(WorkCalendarDay.day == date(year, 3, 2)))
    db.session.commit()
    client = login_as("admin")
    client.post("/admin/calendar/fill", data={
        "csrf_token": csrf_token(client, "/admin/calendar/"), "year": str(year)})
    db.session.expire_all()
    assert day_row(date(year, 3, 2)) is not None and not day_row(date(year, 3, 2)).provisional
    [entry] = calendar_year_entries()
    assert (entry.object_id, entry.actor_name, entry.changes[0]["field"]) == (
        str(year), "admin", "published_days")
    history = client.get("/admin/configchange/").get_data(as_text=True)
    assert f"{year} 年工作日历" in history and "按已发布的放假安排写入的天数" in history
    client.post("/admin/calendar/fill", data={
        "csrf_token": csrf_token(client, "/admin/calendar/"), "year": str(year)})
    assert len(calendar_year_entries()) == 1  # nothing written, nothing recorded


def calendar_year_entries() -> list[ConfigChange]:
    return list(db.session.execute(sa.select(ConfigChange).where(
        ConfigChange.object_type == "work_calendar_year").order_by(ConfigChange.id)).scalars())


# --- deadlines --------------------------------------------------------------------------------

def test_deadlines_skip_the_2027_spring_festival(calendar_2027):
    assert due(local(2027, 2, 4, 10, 0), 1, WD) == local(2027, 2, 11, 10, 0)
    assert due(local(2027, 2, 4, 17, 0), 1, WH) == local(2027, 2, 11, 9, 30)
    assert due(local(2026, 12, 31, 10, 0), 1, WD) == local(2027, 1, 4, 10, 0)


# --- pages ------------------------------------------------------------------------------------

def test_the_calendar_page_shows_2027_provisional(ctx, login_as):
    from .factories import build_world

    build_world()
    db.session.commit()
    html = login_as("admin").get("/admin/calendar/").get_data(as_text=True)
    assert "gd-calendar-provisional-2027" in html
    assert "2027 年放假安排为暂定（国务院调休安排尚未公布）" in html
    form = login_as("admin").get(ARRANGEMENT_URL + "?year=2027").get_data(as_text=True)
    assert "2027-02-05 至 2027-02-10 春节" in form and "2027-10-01 至 2027-10-05 国庆节" in form
    assert "在办工单已有的期限保持不变" in form


@pytest.mark.parametrize("username, sees", [("admin", True), ("district", True), ("street", True),
                                            ("community", False), ("gridworker", False)])
def test_the_home_page_tells_managers_that_2027_is_provisional(ctx, login_as, username, sees):
    from .factories import build_world

    build_world()
    db.session.commit()
    html = login_as(username).get("/admin/").get_data(as_text=True)
    assert ("国务院调休安排尚未公布" in html) is sees


def test_only_administrators_enter_an_arrangement(ctx, login_as):
    from .factories import build_world

    build_world()
    db.session.commit()
    client = login_as("district")
    assert client.get(ARRANGEMENT_URL).status_code in (302, 403)
    response = client.post(ARRANGEMENT_URL, data={"year": "2027", "holidays": "2027-01-01 元旦"})
    assert response.status_code in (302, 400, 403)
    assert provisional_years() == years_filled_by_law()


# --- the published arrangement ------------------------------------------------------------

def post_arrangement(client, holidays: str, workdays: str, year: str = "2027"):
    return client.post(ARRANGEMENT_URL, data={
        "csrf_token": csrf_token(client, ARRANGEMENT_URL), "year": year,
        "holidays": holidays, "make_up_workdays": workdays}, follow_redirects=True)


def test_entering_the_published_arrangement_replaces_the_provisional_days(calendar_2027, world,
                                                                            login_as):
    assert due(local(2027, 2, 4, 10, 0), 1, WD) == local(2027, 2, 11, 10, 0)
    response = post_arrangement(login_as("admin"), PUBLISHED_2027, WORKED_2027)
    assert "2027 年放假安排已保存" in response.get_data(as_text=True)
    db.session.expire_all()
    assert provisional_years() == [y for y in years_filled_by_law() if y != 2027]
    assert not any(provisional for *_, provisional in year_rows(2027))
    assert (day_row(date(2027, 2, 11)).is_workday, day_row(date(2027, 2, 11)).note) == (False, "春节")
    assert (day_row(date(2027, 2, 20)).is_workday, day_row(date(2027, 2, 20)).note) == (True, "调休上班")
    assert day_row(date(2027, 2, 21)).is_workday is False  # a plain Sunday
    assert day_row(date(2027, 6, 10)).is_workday  # no longer anything special
    # The cached calendar was dropped: the next deadline counts the published days at once.
    assert due(local(2027, 2, 4, 10, 0), 1, WD) == local(2027, 2, 15, 10, 0)
    assert due(local(2027, 2, 19, 10, 0), 1, WD) == local(2027, 2, 20, 10, 0)

    change = db.session.execute(sa.select(ConfigChange).where(
        ConfigChange.object_type == "work_calendar_year")).scalar_one()
    assert (change.object_type, change.object_id, change.object_label, change.actor_name) == (
        "work_calendar_year", "2027", "2027 年放假安排", "admin")
    fields = {c["field"]: c for c in change.changes}
    assert "2027-02-05 至 2027-02-10 春节" in fields["holidays"]["before"]
    assert "2027-02-05 至 2027-02-13 春节" in fields["holidays"]["after"]
    assert fields["make_up_workdays"]["before"] == "[]"
    assert "2027-10-09" in fields["make_up_workdays"]["after"]
    # The form shows the published arrangement back, the page no longer says provisional.
    client = login_as("admin")
    form = client.get(ARRANGEMENT_URL + "?year=2027").get_data(as_text=True)
    assert "2027-02-05 至 2027-02-13 春节" in form and "2027-01-30 2027-02-20" in form
    assert "gd-calendar-provisional-2027" not in client.get("/admin/calendar/").get_data(
        as_text=True)


@pytest.mark.parametrize("holidays, workdays, message", [
    ("2027-02-05 至 2027-02-31 春节", "", "2027-02-31 不是有效日期"),
    ("2027-02-13 至 2027-02-05 春节", "", "开始日期 2027-02-13 晚于结束日期 2027-02-05"),
    ("2026-12-31 至 2027-01-02 元旦", "", "日期必须在 2027 年之内"),
    ("2027-02-05 至 2027-02-13", "", "第 1 行格式不对"),
    ("春节 2027-02-05", "", "第 1 行格式不对"),
    ("2027-02-05 至 2027-02-13 春节", "2027-02-06", "2027-02-06 不能既是放假日期又是调休上班日期"),
    ("2027-02-05 至 2027-02-13 春节", "2028-01-08", "调休上班日期 2028-01-08 不在 2027 年之内"),
    ("2027-02-05 至 2027-02-13 春节", "2月20日", "2月20日 不是有效日期"),
    ("2027-02-05 至 2027-02-13 春节", "2027-02-22", "2027-02-22 是周一至周五"),
    ("2027-02-05 至 2027-02-13 春节\n2027-02-10 至 2027-02-17 春节", "", "第 2 行与第 1 行在 2027-02-10 重叠"),
    ("", "2027-02-20", "请至少填写一段放假日期"),
])
def test_a_wrong_arrangement_is_refused_in_chinese_and_changes_nothing(
        calendar_2027, world, login_as, holidays, workdays, message):
    before = year_rows(2027)
    response = post_arrangement(login_as("admin"), holidays, workdays)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "未保存任何内容" in html and message in html
    assert holidays.split("\n")[0] in html  # what was typed is still in the form
    db.session.expire_all()
    assert year_rows(2027) == before
    assert db.session.execute(sa.select(sa.func.count()).select_from(ConfigChange).where(
        ConfigChange.object_type.like("work_calendar%"))).scalar_one() == 0


def test_a_year_outside_the_range_is_refused(calendar_2027, world, login_as):
    response = post_arrangement(login_as("admin"), "1999-01-01 元旦", "", year="1999")
    html = response.get_data(as_text=True)
    assert "未保存任何内容" in html and "请填写 2000 至 2100 之间的年份" in html
    assert provisional_years() == years_filled_by_law()


def test_open_tickets_keep_their_deadlines_when_the_arrangement_is_entered(calendar_2027, world,
                                                                            login_as):
    report = Report(category_id=world.categories["garbage"].id, description="满溢",
                    lon=120.004, lat=30.006)
    before = report_ticket(report, now=local(2027, 2, 4, 10, 0)).ticket
    db.session.commit()
    assert before.handle_deadline.astimezone(SH) == local(2027, 2, 11, 10, 0)
    events = db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent)).scalar_one()

    post_arrangement(login_as("admin"), PUBLISHED_2027, WORKED_2027)
    db.session.expire_all()
    assert before.handle_deadline.astimezone(SH) == local(2027, 2, 11, 10, 0)  # kept
    assert db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent)).scalar_one() \
        == events  # no timeline entry: nothing was recomputed
    after = report_ticket(report, now=local(2027, 2, 4, 10, 0)).ticket
    db.session.commit()
    assert after.handle_deadline.astimezone(SH) == local(2027, 2, 15, 10, 0)  # the published days


# --- the scheduler ------------------------------------------------------------------------

def test_the_calendar_check_warns_about_a_provisional_year_until_it_is_published(
        calendar_2027, world, login_as):
    now = local(2026, 12, 2, 10, 0)
    assert calendar_check(now) == {"warned": 1, "days_filled": 0}
    notice = db.session.execute(sa.select(Notification)).scalar_one()
    assert (notice.template, notice.payload) == ("calendar_provisional", {"year": 2027})
    assert calendar_check(now) == {"warned": 0, "days_filled": 0}
    post_arrangement(login_as("admin"), PUBLISHED_2027, WORKED_2027)
    db.session.execute(sa.delete(Notification))
    db.session.commit()
    assert calendar_check(now) == {"warned": 0, "days_filled": 0}  # 2027 is published now


def test_the_calendar_check_fills_the_new_next_year_on_new_years_day(calendar_2027, world,
                                                                     login_as):
    """On 1 January 2027 the next year is 2028, which nobody filled: the daily check fills it
    by the law, provisionally, as init-db would, so no deadline counts it Monday to Friday."""
    db.session.execute(sa.delete(WorkCalendarDay).where(WorkCalendarDay.day >= date(2028, 1, 1)))
    db.session.commit()  # (a run in 2027 or later began with 2028 filled)
    assert work_calendar().is_workday(date(2028, 10, 3))  # a Tuesday, counted Monday–Friday
    new_year = local(2027, 1, 1, 0, 5)
    assert calendar_check(new_year)["days_filled"] == 366  # 2028 is a leap year
    rows = year_rows(2028)
    assert len(rows) == 366 and all(provisional for *_, provisional in rows)
    festival = day_row(date(2028, 10, 3))
    assert (festival.note, festival.is_workday) == ("中秋节、国庆节", False)
    # The copy this process had read is renewed (the fill raised the calendar's version).
    assert not work_calendar().is_workday(date(2028, 10, 3))
    entry = db.session.execute(sa.select(ConfigChange).where(
        ConfigChange.object_type == "work_calendar_year")).scalar_one()
    assert (entry.object_id, entry.actor_name) == ("2028", "system")
    history = login_as("admin").get("/admin/configchange/").get_data(as_text=True)
    assert "2028 年工作日历" in history and "按法定节假日补齐的天数（暂定）" in history
    assert calendar_check(new_year)["days_filled"] == 0  # once
