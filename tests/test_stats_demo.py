"""Statistics on the demo district: every indicator the rollups give equals an independent
recount from the tickets and events (tests/stats_recount.py), in total, per group, per area,
per category and per scope; the incremental rollups equal a full rebuild."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from models import Area, Category, Role, User, db, utcnow
from models.clock import local_today
from models.stats.indicators import indicators, largest_groups
from models.stats.rollups import fold_pending, rebuild
from models.stats.tables import DIMENSIONS

from . import stats_recount as recount

FAR_PAST, FAR_FUTURE = date(2000, 1, 1), date(2100, 1, 1)


@pytest.fixture(scope="module")
def folded(app, demo):
    with app.app_context():
        fold_pending(limit=10 ** 6)
    return demo


@pytest.fixture()
def data(app, folded):
    with app.app_context():
        tickets, events = recount.load()
        yield tickets, events, recount.facts(tickets, events, recount.Workdays())


def _user(role: Role) -> User:
    return db.session.scalars(sa.select(User).where(User.role == role, User.active.is_(True))
                              .order_by(User.id)).first()


def test_every_indicator_in_total_equals_the_recount(data):
    tickets, _events, facts = data
    now = utcnow()  # one moment for both: the demo's deadlines keep passing
    [row] = indicators(_user(Role.ADMIN), FAR_PAST, FAR_FUTURE, now=now)
    assert row.values["received"] == len(tickets) > 100
    recount.compare(row.values, recount.figures(facts), "total")
    assert row.values["overdue_now"] == recount.overdue_now(tickets, now)
    # The demo exercises every kind of fact.
    for code in ("closed", "rework", "returned", "reopened", "escalated", "merged",
                 "invalidated", "ever_overdue", "follow_ups", "patrol_found"):
        assert row.values[code] > 0, code


@pytest.mark.parametrize("group_by, field", [
    ("grid", "grid"), ("community", "community"), ("street", "street"),
    ("department", "department"), ("assignee", "assignee"), ("category", "category"),
    ("month", "month")])
def test_each_group_equals_its_recount(data, group_by, field):
    _tickets, _events, facts = data
    rows = indicators(_user(Role.ADMIN), FAR_PAST, FAR_FUTURE, group_by=group_by)
    groups = {}
    for fact in facts:
        key = fact["day"].strftime("%Y-%m") if field == "month" else (fact[field] or 0)
        groups.setdefault(key, []).append(fact)
    assert {row.key for row in rows} == set(groups)
    for row in rows:
        recount.compare(row.values, recount.figures(groups[row.key]), f"{group_by} {row.key}")
        assert row.label


@pytest.mark.parametrize("group_by", [None, "grid", "assignee", "category", "month", "day"])
@pytest.mark.parametrize("codes", [
    ("received",), ("dispatched", "closed"), ("median_hours", "avg_work_hours"),
    ("dispatched", "closed", "avg_hours", "satisfaction_rate", "rated", "patrol_found",
     "patrol_coverage", "patrol_day_coverage"),
    ("overdue_now", "rework_rate", "return_rate", "rating_coverage")])
def test_asking_for_some_indicators_gives_the_same_rows_and_values(folded, app, group_by, codes):
    """The dashboard's charts ask for the few indicators they show (read with only their
    measures): the same groups, each with exactly the values the full read gives."""
    with app.app_context():
        user, start, now = _user(Role.ADMIN), local_today() - timedelta(days=364), utcnow()
        full = indicators(user, start, local_today(), group_by=group_by, now=now)
        some = indicators(user, start, local_today(), group_by=group_by, codes=codes, now=now)
    assert len(some) == len(full) > 0
    for one, every in zip(some, full):
        assert (one.key, one.label) == (every.key, every.label)
        assert one.values == {code: every.values[code] for code in codes}


def test_a_date_range_counts_the_facts_of_its_local_days(data):
    _tickets, _events, facts = data
    last = local_today()
    first = last - timedelta(days=45)
    [row] = indicators(_user(Role.ADMIN), first, last)
    recount.compare(row.values, recount.figures(
        [f for f in facts if first <= f["day"] <= last]), "range")


def _month_start(day: date, months_back: int = 0) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months_back, 12)
    return date(year, month + 1, 1)


def _ranges() -> list[tuple[date, date]]:
    """Ranges of whole months, of months with days around them, within one month, over a
    new year (the monthly rows answer whole months, the daily rows the days around them)."""
    today = local_today()
    this_month = _month_start(today)
    return [(_month_start(today, 3), this_month - timedelta(days=1)),
            (_month_start(today, 5) + timedelta(days=14), this_month - timedelta(days=20)),
            (_month_start(today, 2) + timedelta(days=3), _month_start(today, 1)),
            (this_month, today), (_month_start(today, 1) + timedelta(days=9),
                                  _month_start(today, 1) + timedelta(days=20)),
            (date(today.year - 1, 12, 20), date(today.year, 2, 3)),
            (_month_start(today, 11), today)]


def test_any_range_counts_each_of_its_days_once(data):
    _tickets, _events, facts = data
    admin = _user(Role.ADMIN)
    for first, last in _ranges():
        inside = [f for f in facts if first <= f["day"] <= last]
        [row] = indicators(admin, first, last)
        recount.compare(row.values, recount.figures(inside), f"{first}..{last}")
        for group_by, key in (("month", lambda f: f["day"].strftime("%Y-%m")),
                              ("category", lambda f: f["category"] or 0)):
            groups = {}
            for fact in inside:
                groups.setdefault(key(fact), []).append(fact)
            rows = indicators(admin, first, last, group_by=group_by)
            assert {r.key for r in rows if r.values["received"] or r.values["closed"]} <= \
                set(groups), (first, last, group_by)
            for r in rows:
                recount.compare(r.values, recount.figures(groups.get(r.key, [])),
                                f"{first}..{last} {group_by} {r.key}")


@pytest.mark.parametrize("group_by, model", [("grid", Area), ("category", Category),
                                              ("assignee", User)])
@pytest.mark.parametrize("code", ["received", "dispatched"])
def test_the_largest_groups_are_the_recounts_most_counted(data, group_by, model, code):
    """The dashboard's bars (the first few of a city's 25,600 grids): the groups with the most
    of a count, most first, ties by name, equal the recount's, over ranges the monthly and
    daily rows answer together."""
    _tickets, _events, facts = data
    admin = _user(Role.ADMIN)
    names = {row.id: getattr(row, "display_name", None) or row.name
             for row in db.session.scalars(sa.select(model))}
    for first, last in _ranges()[:3] + [(FAR_PAST, FAR_FUTURE)]:
        counted = recount.figures  # per group, from the facts of the range
        groups: dict = {}
        for fact in facts:
            if first <= fact["day"] <= last and fact[group_by]:
                groups.setdefault(fact[group_by], []).append(fact)
        expected = sorted(((key, counted(found)[code]) for key, found in groups.items()
                           if counted(found)[code]),
                          key=lambda pair: (-pair[1], names[pair[0]], pair[0]))
        for limit in (1, 5, 1000):
            found = largest_groups(admin, first, last, group_by=group_by, code=code,
                                   limit=limit)
            assert [(r.key, r.values[code]) for r in found] == expected[:limit], \
                (first, last, limit)
            assert [r.label for r in found] == [names[key] for key, _n in expected[:limit]]
    with pytest.raises(ValueError):  # a rate is not summed: it has no "largest" this way
        largest_groups(admin, FAR_PAST, FAR_FUTURE, group_by=group_by, code="on_time_rate",
                       limit=3)


def test_monthly_rows_are_the_daily_rows_summed_per_month(app, folded):
    """Recounted here from the daily rows (a month's key: the first seven characters of a day)."""
    def keyed(table, period):
        found = {}
        for row in db.session.execute(sa.text(f"SELECT * FROM {table}")).mappings():
            key = (str(row[period])[:7],) + tuple(row[name] for name in DIMENSIONS)
            sums = found.setdefault(key, {})
            for name, value in row.items():
                if name not in ("id", period, *DIMENSIONS):
                    sums[name] = sums.get(name, 0) + value
        return found

    with app.app_context():
        monthly = keyed("stats_monthly", "month")
        assert len(monthly) > 50
        assert monthly == keyed("stats_daily", "day")
        # Folding again after a change moves both: a rebuild of some days leaves them equal.
        rebuild(local_today() - timedelta(days=40), local_today())
        assert keyed("stats_monthly", "month") == monthly


def test_a_community_user_reads_only_their_community(data):
    tickets, _events, facts = data
    staff = _user(Role.COMMUNITY_STAFF)
    community = staff.scope_area
    now = utcnow()
    rows = indicators(staff, FAR_PAST, FAR_FUTURE, group_by="community", now=now)
    assert [row.key for row in rows] == [community.id]
    mine = [f for f in facts if f["community"] == community.id]
    recount.compare(rows[0].values, recount.figures(mine), "community")
    assert rows[0].values["received"] < len(tickets)
    assert rows[0].values["overdue_now"] == recount.overdue_now(
        tickets, now, lambda t: t.community_id == community.id)
    # Asking for an area outside the scope is refused, not answered with other figures.
    other = db.session.scalars(sa.select(Area).where(
        Area.level == community.level, Area.id != community.id)).first()
    from models.stats.scope import StatsQueryError

    with pytest.raises(StatsQueryError):
        indicators(staff, FAR_PAST, FAR_FUTURE, area=other.code)


def test_a_grid_worker_reads_their_own_figures(data):
    _tickets, _events, facts = data
    finders = {f["assignee"] for f in facts if f["kind"] == "patrol_found"}
    worker = db.session.scalars(sa.select(User).where(User.role == Role.GRID_WORKER,
                                                      User.id.in_(finders))).first()
    [row] = indicators(worker, FAR_PAST, FAR_FUTURE)
    recount.compare(row.values, recount.figures([f for f in facts if f["assignee"] == worker.id]),
                    "worker")
    assert row.values["patrol_found"] > 0


def test_an_area_and_a_category_subtree_filter_the_figures(data):
    _tickets, _events, facts = data
    street = db.session.scalars(sa.select(Area).where(Area.level == "street")
                                .order_by(Area.id)).first()
    top = db.session.scalars(sa.select(Category).where(Category.parent_id.is_(None),
                                                       Category.children.any())
                             .order_by(Category.id)).first()
    subtree = {top.id} | {child.id for child in top.children}
    [row] = indicators(_user(Role.ADMIN), FAR_PAST, FAR_FUTURE, area=street.code,
                       category=top.code)
    recount.compare(row.values, recount.figures(
        [f for f in facts if f["street"] == street.id and f["category"] in subtree]), "filtered")


def test_one_department_or_one_person_as_the_scope_equals_the_recount(data):
    """The dashboard's department and grid-worker selectors: indicators(department=,
    assignee=) count the facts of that unit, and "overdue now" its open tickets."""
    from models import Department

    tickets, _events, facts = data
    admin = _user(Role.ADMIN)
    counts: dict = {}
    for fact in facts:
        if fact["kind"] == "closed" and fact["department"]:
            counts[fact["department"]] = counts.get(fact["department"], 0) + 1
    department = db.session.get(Department, max(counts, key=counts.get))
    now = utcnow()
    [row] = indicators(admin, FAR_PAST, FAR_FUTURE, department=department, now=now)
    recount.compare(row.values, recount.figures(
        [f for f in facts if f["department"] == department.id]), "department")
    assert row.values["closed"] > 0 and row.values["patrol_rounds"] is None
    assert row.values["overdue_now"] == recount.overdue_now(
        tickets, now, lambda t: t.assigned_department_id == department.id)
    worker = _user(Role.GRID_WORKER)
    [row] = indicators(admin, FAR_PAST, FAR_FUTURE, assignee=worker, now=now)
    recount.compare(row.values, recount.figures(
        [f for f in facts if f["assignee"] == worker.id]), "person")
    assert row.values["overdue_now"] == recount.overdue_now(
        tickets, now, lambda t: t.assigned_user_id == worker.id)


def test_incremental_rollups_equal_a_full_rebuild(app, folded):
    def snapshot():
        daily, monthly, fact_rows = (
            db.session.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
            for table in ("stats_daily", "stats_monthly", "stats_facts"))
        return ({tuple(v for k, v in r.items() if k != "id") for r in daily},
                {tuple(v for k, v in r.items() if k != "id") for r in monthly},
                sorted(tuple(v for k, v in r.items() if k != "id") for r in fact_rows))

    with app.app_context():
        incremental = snapshot()
        assert incremental[1] and incremental[2]
        rebuild(FAR_PAST, FAR_FUTURE)
        assert snapshot() == incremental
        # A partial rebuild leaves the same rows too.
        rebuild(local_today() - timedelta(days=20), local_today())
        assert snapshot() == incremental


def test_patrol_rounds_and_coverage_equal_the_recount(data):

    last = local_today()
    first = last - timedelta(days=13)
    rounds = [(worker, grid, recount.local_day(started)) for worker, grid, started in
              db.session.execute(sa.text(
                  "SELECT worker_id, grid_id, started_at FROM patrol_rounds"))]
    rounds = [r for r in rounds if first <= r[2] <= last]
    assert rounds, "the demo walks patrol rounds"
    grids = {gid: path for gid, path in db.session.execute(sa.text(
        "SELECT id, path FROM areas WHERE level = 'grid' AND active"))}
    admin = _user(Role.ADMIN)
    [total] = indicators(admin, first, last)
    assert total.values["patrol_rounds"] == len(rounds)
    assert total.values["patrol_coverage"] == pytest.approx(
        len({g for _w, g, _d in rounds}) / len(grids))
    by_community = {row.key: row.values for row in indicators(admin, first, last,
                                                              group_by="community")}
    for community_id, values in by_community.items():
        inside = {g for g, path in grids.items() if f"/{community_id}/" in path}
        if not inside:
            continue
        walked = [r for r in rounds if r[1] in inside]
        assert values["patrol_rounds"] == len(walked)
        assert values["patrol_coverage"] == pytest.approx(
            len({g for _w, g, _d in walked}) / len(inside))
    by_worker = {row.key: row.values for row in indicators(admin, first, last,
                                                           group_by="assignee")}
    for worker_id in {w for w, _g, _d in rounds}:
        assert by_worker[worker_id]["patrol_rounds"] == sum(1 for w, *_ in rounds
                                                            if w == worker_id)
    # A grid worker who walked no round in a range covered 0 %, not "no data": the demo's
    # rounds are of its last three weeks, its tickets older too.
    quiet_from, quiet_to = last - timedelta(days=90), last - timedelta(days=60)
    assert not [r for r in db.session.execute(sa.text("SELECT started_at FROM patrol_rounds"))
                if quiet_from <= recount.local_day(r[0]) <= quiet_to]
    workers = {u.id for u in db.session.scalars(sa.select(User).where(
        User.role == Role.GRID_WORKER))}
    quiet = [row for row in indicators(admin, quiet_from, quiet_to, group_by="assignee")
             if row.key in workers]
    assert quiet, "grid workers handled tickets then"
    for row in quiet:
        assert (row.values["patrol_rounds"], row.values["patrol_coverage"],
                row.values["patrol_day_coverage"]) == (0, 0.0, 0.0), row.label
    # A grid worker reads their own rounds (also as the person chosen: the dashboard's own
    # figures); a category filter has no patrol figures.
    worker = db.session.get(User, rounds[0][0])
    own_rounds = sum(1 for w, *_ in rounds if w == worker.id)
    for asked in (indicators(worker, first, last),
                  indicators(worker, first, last, assignee=worker),
                  indicators(admin, first, last, assignee=worker)):
        [mine] = asked
        assert mine.values["patrol_rounds"] == own_rounds
        assert mine.values["patrol_coverage"] == 1.0
        own_grids = {g for g, path in grids.items() if path.startswith(worker.scope_area.path)}
        walked_days = {(g, d) for w, g, d in rounds if w == worker.id and g in own_grids}
        assert mine.values["patrol_day_coverage"] == pytest.approx(
            len(walked_days) / (len(own_grids) * 14))
    top = db.session.scalars(sa.select(Category).where(Category.parent_id.is_(None))).first()
    [filtered] = indicators(admin, first, last, category=top.code)
    assert filtered.values["patrol_rounds"] is None
