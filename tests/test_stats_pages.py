"""The statistics pages (dashboard, analysis, map) and the home page's figures, through the real
app on the demo: each page for each role, figures equal to the indicator function's values for
the user's scope, drill-down links to lists of the same count, bad filters refused in Chinese."""
from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import Area, AreaLevel, Category, User, db
from models.vocabulary import Role
from models.clock import local_today
from models.stats.definitions import BY_CODE
from models.stats.drilldown import LISTED_AT_MOST
from models.stats.indicators import indicators
from models.stats.rollups import fold_pending

from .stats_recount import local_day

ROLES = ("admin", "district", "street", "community", "gridworker", "handler", "leader")
PAGES = ("/admin/stats/", "/admin/stats/analysis/", "/admin/stats/map/",
         "/admin/stats/map/grids.geojson")


@pytest.fixture(scope="module")
def folded(demo, app):
    """The demo with its statistics folded, as the scheduler keeps them."""
    with app.app_context():
        while fold_pending():
            pass
    return demo


def figures(html: str) -> dict[str, tuple[str, str | None]]:
    """Key figures on a page: key → (text, drill-down URL)."""
    found = {}
    for block in re.finditer(r'id="gd-figure-(\w+)"(.*?)</div>\s*</div>\s*</div>', html, re.S):
        value = re.search(r'class="gd-figure-value[^"]*"(?: href="([^"]*)")?>([^<]*)<', block[2])
        found[block[1]] = (value[2].strip(), htmllib.unescape(value[1]) if value[1] else None)
    return found


def list_count(client, url: str) -> int:
    html = client.get(url).get_data(as_text=True)
    text = re.search(r'id="gd-list-count">(.*?)</span>', html, re.S)[1]
    return int(re.search(r"(\d+)", text)[1]) if re.search(r"\d", text) else 0


def shown(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit in ("hours", "stars"):
        return f"{value:.1f}"
    return str(value)


def user(name: str) -> User:
    return db.session.execute(sa.select(User).where(User.username == name)).scalar_one()


AREA_VIEWERS = ("admin", "district", "street", "community", "leader")


@pytest.mark.parametrize("role", ROLES)
def test_every_statistics_page_opens_for_every_role_that_reads_it(folded, login_as, role):
    """The dashboard is everyone's; the analysis and the map are area views, for those who
    manage areas (the others are not offered them, and told so in words when they open one)."""
    client = login_as(role)
    pages = PAGES if role in AREA_VIEWERS else PAGES[:1]
    for page in pages:
        answer = client.get(page)
        assert answer.status_code == 200, (role, page)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'id="gd-home-figures"' in home and "/admin/stats/" in home


@pytest.mark.parametrize("role", ["gridworker", "handler"])
def test_grid_workers_and_handlers_are_not_offered_the_area_views(folded, login_as, role):
    """On the demo a grid worker saw 0 hotspots and a map of their grid at 0, a handler 32
    grids all at 0: area counts are not counted for a person. No menu entry, no link; opened
    by its address, a page in Chinese that says what the views are for and links to the
    user's own dashboard; the map's data a JSON refusal in Chinese."""
    client = login_as(role)
    home = client.get("/admin/").get_data(as_text=True)
    assert "统计看板" in home
    assert "分析研判" not in home and "统计地图" not in home
    dashboard = client.get("/admin/stats/").get_data(as_text=True)
    assert "/admin/stats/analysis/" not in dashboard and "/admin/stats/map/" not in dashboard
    for page in ("/admin/stats/analysis/", "/admin/stats/map/?from=2026-01-01"):
        answer = client.get(page)
        html = htmllib.unescape(answer.get_data(as_text=True))
        assert answer.status_code == 403, page
        assert "这是区域视图" in html and "供指挥中心、社区和领导使用" in html
        assert 'id="gd-area-only-dashboard" href="/admin/stats/"' in html
        assert "gd-hotspot" not in html and "gd-map-config" not in html
    data = client.get("/admin/stats/map/grids.geojson")
    assert data.status_code == 403 and "features" not in data.get_json()
    assert "区域" in data.get_json()["error"]["message"]


def test_the_menu_groups_the_pages_under_statistics(folded, login_as):
    html = login_as("leader").get("/admin/").get_data(as_text=True)
    assert "统计分析" in html
    for name in ("统计看板", "分析研判", "统计地图"):
        assert name in html


def test_dashboard_figures_are_the_indicator_values_of_the_users_scope(folded, app, login_as):
    start, end = local_today() - timedelta(days=89), local_today()
    args = f"?from={start}&to={end}"
    for name in ("district", "community", "leader"):
        html = login_as(name).get("/admin/stats/" + args).get_data(as_text=True)
        shown_figures = figures(html)
        with app.app_context():
            person = user(name)
            expected = indicators(person, start, end, area=person.scope_area)[0].values
        assert len(shown_figures) >= 12
        for key, (text, _url) in shown_figures.items():
            assert text == shown(expected[key], BY_CODE[key].unit), (name, key)
        # Each figure carries its definition beside it.
        for key in shown_figures:
            assert BY_CODE[key].definition in htmllib.unescape(html)


def test_a_community_user_sees_only_their_community(folded, app, login_as):
    start, end = local_today() - timedelta(days=364), local_today()
    with app.app_context():
        community = user("community").scope_area
        other = db.session.execute(sa.select(Area).where(
            Area.level == AreaLevel.COMMUNITY, Area.id != community.id)).scalars().first()
        whole = indicators(user("admin"), start, end)[0].values
        own = indicators(user("community"), start, end, area=community)[0].values
        own_grids = {a.id for a in db.session.execute(sa.select(Area).where(
            Area.level == AreaLevel.GRID, Area.parent_id == community.id)).scalars()}
    assert own["received"] < whole["received"]
    client = login_as("community")
    html = client.get(f"/admin/stats/?from={start}&to={end}").get_data(as_text=True)
    assert figures(html)["received"][0] == str(own["received"])
    # Another community in the URL: refused in words, the user's own area shown instead.
    html = client.get(f"/admin/stats/?from={start}&to={end}&area={other.id}").get_data(as_text=True)
    assert "不在您的管辖范围内" in html
    assert figures(html)["received"][0] == str(own["received"])
    # The map's GeoJSON holds the community's own grids only, and points inside them.
    data = client.get(f"/admin/stats/map/grids.geojson?from={start}&to={end}").get_json()
    assert {f["properties"]["id"] for f in data["features"]} == own_grids
    assert sum(f["properties"]["count"] for f in data["features"]) == own["received"]
    assert data["markers"] and data["markers_total"] <= own["received"]
    district = login_as("district").get(
        f"/admin/stats/map/grids.geojson?from={start}&to={end}").get_json()
    assert len(district["features"]) > len(data["features"])


def figure_page(client, url: str) -> tuple[int, int, dict[int, int], str]:
    """The page behind a figure of events: (events, tickets, {ticket id: times}, its text)."""
    answer = client.get(url)
    assert answer.status_code == 200, url
    html = answer.get_data(as_text=True)
    summary = re.search(r'id="gd-figure-summary" data-events="(\d+)" data-tickets="(\d+)">'
                        r'\s*(.*?)</p>', html, re.S)
    rows = {int(t): int(n) for t, n in re.findall(
        r'class="gd-figure-ticket" data-ticket="(\d+)">.*?gd-figure-count">(\d+)<', html, re.S)}
    hidden = re.search(r'id="gd-figure-not-shown">\D*(\d+)', html)
    events, tickets = int(summary[1]), int(summary[2])
    listed = len(rows) + (int(hidden[1]) if hidden else 0)
    if len(rows) == LISTED_AT_MOST:  # the tickets with the most events; the page says so
        assert listed <= tickets, url
        return events, tickets, rows, htmllib.unescape(summary[3]).strip()
    # Every counted ticket is listed with its times (or said to be outside the user's list).
    assert listed == tickets, url
    if not hidden:
        assert sum(rows.values()) == events, url
    return events, tickets, rows, htmllib.unescape(summary[3]).strip()


def drill_down_count(client, url: str) -> int:
    """What the drill-down of a figure counts: the tickets of the ticket list for a figure of
    tickets, the events of the figure's page (listed ticket by ticket) for a figure of events."""
    if url.startswith("/admin/ticket/"):
        return list_count(client, url)
    assert url.startswith("/admin/stats/figure/"), url
    return figure_page(client, url)[0]


# The figure each card's link leads to: its own count, or the count its rate is made of.
LINKED = {"on_time_rate": "closed_in_time", "response_rate": "accepted_in_time",
          "overdue_rate": "closed", "rework_rate": "rework", "return_rate": "returned",
          "satisfaction_rate": "satisfied", "rating_coverage": "closed_rated", "avg_hours": "closed",
          "median_hours": "closed", "ever_overdue": "ever_overdue"}


def linked_value(values: dict, code: str) -> int:
    code = LINKED.get(code, code)
    if code == "satisfied":
        return round((values["satisfaction_rate"] or 0) * values["rated"])
    return values[code]


@pytest.mark.parametrize("name", ["street", "gridworker"])
def test_every_figures_drill_down_counts_what_the_figure_says(folded, app, login_as, name,
                                                               clock_held):
    """On the demo: a figure of tickets lists exactly that many tickets; a figure of events
    leads to its events, listed ticket by ticket with their counts, adding up to the figure."""
    start, end = local_today() - timedelta(days=59), local_today()
    client = login_as(name)
    html = client.get(f"/admin/stats/?from={start}&to={end}").get_data(as_text=True)
    with app.app_context():
        person = user(name)
        values = indicators(person, start, end, area=person.scope_area,
                            assignee=person if name == "gridworker" else None)[0].values
    shown_figures = figures(html)
    linked = [(key, url) for key, (_text, url) in shown_figures.items() if url]
    assert len(linked) >= 15
    for key, url in linked:
        assert drill_down_count(client, url) == linked_value(values, key), key
    details = re.findall(r'gd-figure-detail"><a class="text-muted" href="([^"]*)">([^<]*)<', html)
    assert len(details) >= 4
    for url, text in details:
        assert drill_down_count(client, htmllib.unescape(url)) == int(text.split()[-1]), text


def test_every_counted_measure_drills_down_to_its_figure(folded, app, login_as):
    """Every counted measure, over the demo's whole history, for the district centre."""
    from models.stats.drilldown import COUNTED, counts_tickets, figure_key
    from views.admin.ticket_views import list_filter_args

    start, end = local_today() - timedelta(days=3 * 366 - 1), local_today()
    client = login_as("district")
    with app.app_context():
        values = indicators(user("district"), start, end)[0].values
    names = {"overdue_marked": "ever_overdue"}
    several = []
    for measure in COUNTED:
        expected = linked_value(values, names.get(measure, measure))
        if counts_tickets(measure):
            url = "/admin/ticket/?" + "&".join(f"{k}={v}" for k, v in list_filter_args(
                figure=figure_key(measure, start, end)).items())
            assert list_count(client, url) == expected, measure
            continue
        events, tickets, rows, text = figure_page(
            client, f"/admin/stats/figure/?measure={measure}&from={start}&to={end}")
        assert events == expected, measure
        assert text.startswith(f"{events} 次") and text.endswith(f"涉及 {tickets} 件工单")
        if events > tickets:
            several.append(measure)
            assert max(rows.values()) > 1
    # The demo has tickets returned, escalated and dispatched more than once.
    assert {"dispatched", "returned"} <= set(several) or len(several) >= 2, several
    rework = client.get(f"/admin/stats/figure/?measure=rework&from={start}&to={end}")
    text = htmllib.unescape(rework.get_data(as_text=True))
    assert re.search(r"\d+ 次审核退回，涉及 \d+ 件工单", text)


def test_the_figure_page_refuses_what_is_not_a_figure_of_events(folded, login_as):
    client = login_as("district")
    for measure in ("received", "handling_seconds", "nonsense", ""):
        assert client.get(f"/admin/stats/figure/?measure={measure}").status_code == 404
    answer = client.get("/admin/stats/figure/?measure=rework&from=2026-13-01")
    assert answer.status_code == 200 and "不是有效日期" in answer.get_data(as_text=True)


def test_the_dashboard_links_every_figure_to_its_definition(folded, login_as):
    client = login_as("leader")
    html = client.get("/admin/stats/").get_data(as_text=True)
    assert 'href="/admin/stats/definitions/" id="gd-definitions-link"' in html
    sheet = client.get("/admin/stats/definitions/").get_data(as_text=True)
    for key in figures(html):
        assert f'href="/admin/stats/definitions/#def-{key}"' in html, key
    for indicator in BY_CODE.values():
        assert f'id="def-{indicator.code}"' in sheet
        assert indicator.definition in htmllib.unescape(sheet)
    assert "次数（一件工单可计多次）" in sheet and "工单数" in sheet


def test_grid_workers_count_time_and_satisfaction(folded, app, login_as):
    start, end = local_today() - timedelta(days=364), local_today()
    html = login_as("district").get(f"/admin/stats/?from={start}&to={end}").get_data(as_text=True)
    rows = re.findall(r'<tr class="gd-worker" data-user="(\d+)">(.*?)</tr>', html, re.S)
    assert len(rows) >= 8
    with app.app_context():
        district = user("district")
        expected = {r.key: r.values for r in indicators(district, start, end,
                                                        area=district.scope_area,
                                                        group_by="assignee")}
    for user_id, row in rows:
        values = expected[int(user_id)]
        closed = re.search(r'gd-worker-closed"[^>]*>(\d+)<', row)[1]
        hours = re.search(r'gd-worker-hours">([^<]*)<', row)[1]
        satisfaction = re.search(r'gd-worker-satisfaction">([^<]*)<', row)[1]
        assert int(closed) == values["closed"]
        assert hours == shown(values["avg_hours"], "hours")
        assert satisfaction == shown(values["satisfaction_rate"], "ratio")
        assert coverage_cells(row) == (shown(values["patrol_coverage"], "ratio"),
                                       shown(values["patrol_day_coverage"], "ratio"))
    assert any(coverage_cells(row) != ("—", "—") for _user_id, row in rows)


def coverage_cells(row: str) -> tuple[str, str]:
    return (re.search(r'gd-worker-patrol-coverage">([^<]*)<', row)[1],
            re.search(r'gd-worker-patrol-day-coverage">([^<]*)<', row)[1])


def test_past_the_shown_number_the_workers_with_most_closed_are_listed(folded, app, login_as,
                                                                      monkeypatch):
    """A whole city has ~25,000 grid workers: past WORKERS_SHOWN the table and chart list those
    with the most closed tickets, most first, and say how many there are."""
    from views.admin.statistics import dashboard as page

    start, end = local_today() - timedelta(days=364), local_today()
    url = f"/admin/stats/?from={start}&to={end}"
    client = login_as("district")
    every = re.findall(r'<tr class="gd-worker" data-user="(\d+)">(.*?)</tr>',
                       client.get(url).get_data(as_text=True), re.S)
    closed = {int(u): int(re.search(r'gd-worker-closed"[^>]*>(\d+)<', row)[1])
              for u, row in every}
    monkeypatch.setattr(page, "WORKERS_SHOWN", 3)
    html = client.get(url).get_data(as_text=True)
    listed = re.findall(r'<tr class="gd-worker" data-user="(\d+)">(.*?)</tr>', html, re.S)
    shown = [int(u) for u, _row in listed]
    assert len(shown) == 3 and len(every) > 3
    assert [closed[u] for u in shown] == sorted(closed.values(), reverse=True)[:3]
    whole_table = {int(u): row for u, row in every}
    for user_id, row in listed:  # the same cells as in the whole table, coverage included
        assert row == whole_table[int(user_id)]
    assert f"共 {len(every)} 名网格员，此处列出办结最多（其次派给本人最多）的 3 名" in html


def test_a_city_sized_filter_form_offers_whole_levels_and_the_chosen_areas_people(
        folded, login_as, monkeypatch):
    """A city's 29,136 areas and 25,600 grid workers made the statistics form 2.7 MB: past
    AREA_CHOICES_SHOWN it offers the areas of whole levels from the top and the grid workers of
    the chosen area (when few enough), as the board does; the filtered person stays offered."""
    from models.people import access

    def options(html, name):
        form = html.split(f'name="{name}"')[1].split("</select>")[0]
        return set(re.findall(r'<option value="(\d+)"', form))

    client = login_as("district")
    start, end = local_today() - timedelta(days=364), local_today()
    everything = client.get(f"/admin/stats/?from={start}&to={end}").get_data(as_text=True)
    all_areas, all_people = options(everything, "area"), options(everything, "assignee")
    assert len(all_people) > 2
    monkeypatch.setattr(access, "AREA_CHOICES_SHOWN", 10)
    few = client.get(f"/admin/stats/?from={start}&to={end}").get_data(as_text=True)
    assert options(few, "area") < all_areas and options(few, "assignee") == set()
    with client.application.app_context():
        street = db.session.execute(sa.select(Area).where(Area.level == AreaLevel.COMMUNITY)
                                    ).scalars().first()
        workers = {str(u.id) for u in db.session.execute(sa.select(User).where(
            User.role == Role.GRID_WORKER, User.active.is_(True))).scalars()
            if u.scope_area is not None and u.scope_area.path.startswith(street.path)}
    inside = client.get(f"/admin/stats/?from={start}&to={end}&area={street.id}"
                        ).get_data(as_text=True)
    assert 0 < len(workers) <= 10 and options(inside, "assignee") == workers
    one = sorted(all_people - workers)[0]
    kept = client.get(f"/admin/stats/?from={start}&to={end}&assignee={one}").get_data(as_text=True)
    assert options(kept, "assignee") == {one} and "gd-filter-error" not in kept


def test_the_seeds_questions_are_answered_on_the_dashboard(folded, app, login_as):
    start, end = local_today() - timedelta(days=364), local_today()
    html = login_as("district").get(f"/admin/stats/?from={start}&to={end}").get_data(as_text=True)
    text = htmllib.unescape(html)
    with app.app_context():
        district = user("district")
        parking = db.session.execute(sa.select(Category).where(Category.name == "乱停车")).scalar_one()
        by_grid = indicators(district, start, end, area=district.scope_area, category=parking,
                             group_by="grid")
        top = max((r for r in by_grid if r.key), key=lambda r: r.values["received"])
    assert f"“乱停车”投诉最多：{top.label}（{top.values['received']} 件）" in text
    assert "益乐第三网格" == top.label  # the demo's chronic parking grid
    peak = re.search(r"“下水道堵塞”高发月份：([^<]*)<", text)[1]
    first_month = int(re.match(r"(\d+)月", peak)[1])
    assert first_month in (5, 6, 7, 8, 9)  # the plum-rain season and the summer storms


def test_home_page_shows_this_months_figures(folded, app, login_as):
    today = local_today()
    html = login_as("leader").get("/admin/").get_data(as_text=True)
    shown_figures = figures(html)
    with app.app_context():
        leader = user("leader")
        expected = indicators(leader, today.replace(day=1), today, area=leader.scope_area)[0].values
    assert set(shown_figures) >= {"received", "closed", "on_time_rate", "overdue_now",
                                  "satisfaction_rate", "avg_hours"}
    for key, (text, url) in shown_figures.items():
        assert text == shown(expected[key], BY_CODE[key].unit)
        assert url and url.startswith(("/admin/ticket/", "/admin/stats/figure/"))


@pytest.mark.parametrize("query, message", [
    ("from=2026-13-01", "不是有效日期"),
    ("from=yesterday&to=31/12/2026", "不是有效日期"),
    ("from=2026-06-01&to=2026-01-01", "开始日期晚于结束日期"),
    ("from=2019-01-01&to=2026-11-30", "统计期间超过"),
    ("from=9999-12-01&to=9999-12-31", "日期须在 1900-01-01 至 2999-12-31 之间"),
    ("from=0001-01-01&to=0001-01-05", "日期须在 1900-01-01 至 2999-12-31 之间"),
    ("area=abc", "已忽略"),
    ("category=999999", "已忽略"),
    ("assignee=99999999999", "已忽略"),
])
def test_bad_filters_get_a_chinese_message_not_an_error(folded, login_as, query, message):
    client = login_as("district")
    for page in ("/admin/stats/", "/admin/stats/analysis/", "/admin/stats/map/"):
        answer = client.get(f"{page}?{query}")
        assert answer.status_code == 200, (page, query)
        assert message in answer.get_data(as_text=True), (page, query)
    assert client.get(f"/admin/stats/map/grids.geojson?{query}").status_code == 200


def test_a_bad_figure_in_a_list_url_is_named_and_dropped(folded, login_as):
    client = login_as("district")
    from views.admin.ticket_views import list_filter_args

    arg = list_filter_args(figure="received:2026-02-31:2026-03-01")
    answer = client.get("/admin/ticket/", query_string=arg)
    assert answer.status_code == 200
    assert "统计口径" in answer.get_data(as_text=True)


def test_map_tiles_are_configurable_and_optional(folded, app, login_as, monkeypatch):
    html = login_as("district").get("/admin/stats/map/").get_data(as_text=True)
    assert "未配置地图底图" in html and '"tile_url": ""' in html
    assert "vendor/leaflet-1.9.4/leaflet.js" in html and "leaflet.heat-0.2.0" in html
    monkeypatch.setitem(app.config, "MAP_TILE_URL",
                        "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&l={z}")
    html = login_as("district").get("/admin/stats/map/").get_data(as_text=True)
    assert "tianditu" in html and "未配置地图底图" not in html


def test_analysis_hotspots_recurrences_and_seasons_lead_to_their_tickets(folded, app, login_as):
    import json

    start, end = local_today() - timedelta(days=179), local_today()
    client = login_as("district")
    html = client.get(f"/admin/stats/analysis/?from={start}&to={end}&top=5&k=3").get_data(
        as_text=True)
    hotspots = re.findall(r'class="gd-hotspot-count" href="([^"]*)">(\d+)<', html)
    assert len(hotspots) == 5
    counts = [int(n) for _url, n in hotspots]
    assert counts == sorted(counts, reverse=True)
    for url, count in hotspots[:2]:
        assert list_count(client, htmllib.unescape(url)) == int(count)
    repeats = re.findall(r'class="gd-recurring-count" href="([^"]*)">(\d+)<', html)
    assert repeats, "the demo's chronic parking grid recurs"
    for url, count in repeats[:2]:
        assert int(count) >= 3
        assert list_count(client, htmllib.unescape(url)) == int(count)
    assert "益乐第三网格" in html.split('id="gd-recurring"')[1].split("</table>")[0]
    heat = json.loads(re.search(r'id="gd-data-seasonality">(.*?)</script>', html, re.S)[1])
    busiest = max(heat["cells"], key=lambda cell: cell[2])
    assert list_count(client, busiest[3]) == busiest[2]
    assert "下水道堵塞" in heat["categories"]
    with app.app_context():
        district = user("district")
        from models.stats.analysis import hotspots as find_hotspots

        expected = find_hotspots(district, start, end, area=district.scope_area, top=5)
    assert counts == [spot.count for spot in expected]


def test_a_community_users_analysis_stays_in_their_community(folded, app, login_as):
    start, end = local_today() - timedelta(days=364), local_today()
    with app.app_context():
        community = user("community").scope_area
        own = {a.name for a in db.session.execute(sa.select(Area).where(
            Area.level == AreaLevel.GRID, Area.parent_id == community.id)).scalars()}
    html = login_as("community").get(
        f"/admin/stats/analysis/?from={start}&to={end}&top=20&k=2").get_data(as_text=True)
    rows = re.findall(r'<tr class="gd-hotspot">\s*<td>\d+</td><td>([^<]*)</td>', html)
    assert rows and set(rows) <= own


@pytest.mark.parametrize("query", ["top=0", "top=abc", "k=1", "k=99"])
def test_bad_analysis_options_are_named(folded, login_as, query):
    answer = login_as("district").get(f"/admin/stats/analysis/?{query}")
    assert answer.status_code == 200
    assert "之间的整数" in answer.get_data(as_text=True)


def test_the_closed_between_filter_counts_local_days(folded, app, login_as):
    from datetime import datetime, time, timezone
    from zoneinfo import ZoneInfo

    from models import Ticket
    from views.admin.ticket_views import list_filter_args

    start, end = local_today() - timedelta(days=30), local_today() - timedelta(days=1)
    zone = ZoneInfo("Asia/Shanghai")
    since = datetime.combine(start, time.min, zone).astimezone(timezone.utc)
    until = datetime.combine(end, time.max, zone).astimezone(timezone.utc)
    with app.app_context():
        expected = db.session.execute(sa.select(sa.func.count()).select_from(Ticket).where(
            Ticket.closed_at >= since, Ticket.closed_at <= until)).scalar_one()
    assert expected > 0
    client = login_as("admin")
    url = "/admin/ticket/?" + "&".join(f"{k}={v}" for k, v in
                                       list_filter_args(closed=(start, end)).items())
    assert list_count(client, url) == expected


def test_the_analysis_offers_only_the_filters_it_reads(folded, login_as):
    """Hotspots and seasons read area and category: no department or person to pick there."""
    client = login_as("district")
    analysis = client.get("/admin/stats/analysis/").get_data(as_text=True)
    dashboard = client.get("/admin/stats/").get_data(as_text=True)
    assert 'name="department"' in dashboard and 'name="assignee"' in dashboard
    assert 'name="department"' not in analysis and 'name="assignee"' not in analysis
    assert 'name="area"' in analysis and 'name="category"' in analysis


def test_the_dashboard_shows_last_months_rankings_with_their_breakdown(folded, app, login_as):
    from models.evaluation.ranking import monthly_ranking

    html = login_as("district").get("/admin/stats/").get_data(as_text=True)
    card = html.split('id="gd-rankings"')[1].split('id="gd-figures"')[0]
    month = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert f"{month:%Y-%m} 考核排名" in card
    assert [htmllib.unescape(r) for r in re.findall(r'gd-ranking" data-role="\d">\s*'
                                                    r'<div[^>]*>([^<]*)<', card)] == \
        ["网格员", "职能部门", "社区"]
    with app.app_context():
        district = user("district")
        communities = monthly_ranking(district.scope_area, month, "community").ranked[:3]
    assert communities, "the demo's communities have enough cases to be ranked"
    shown = re.findall(r'gd-ranked-name">([^<]*)<.*?gd-ranked-breakdown">([^<]*)<.*?'
                       r'gd-ranked-score">([^<]*)<', card.split('data-role="3"')[1], re.S)
    assert [(name, score) for name, _b, score in shown] == [
        (row.unit.label, f"{row.score.total:.1f}") for row in communities]
    assert all("按期办结率 +" in htmllib.unescape(b) for _n, b, _s in shown)
    assert f"/admin/evaluation/?month={month:%Y-%m}&amp;role=community" in card
    # Who reads no rankings sees none.
    assert 'id="gd-rankings"' not in login_as("gridworker").get("/admin/stats/").get_data(
        as_text=True)


def test_every_counted_measure_has_a_name_for_its_events():
    """A measure added later (co-handling …) gets its words in "N 次…，涉及 M 件工单"."""
    from models.stats.drilldown import COUNTED, EVENT_NAMES, counts_tickets

    assert {m for m in COUNTED if not counts_tickets(m)} <= set(EVENT_NAMES)


def test_patrol_rounds_and_coverage_are_on_the_dashboard(folded, app, login_as):
    """Issue 11 § 1: for grid workers also patrol finds and coverage, with their definitions —
    on a grid worker's own dashboard and in the table of grid workers, recounted from the rounds."""
    start, end = local_today() - timedelta(days=13), local_today()
    args = f"?from={start}&to={end}"
    with app.app_context():
        rounds = db.session.execute(sa.text(
            "SELECT r.worker_id, r.grid_id, r.started_at, a.path FROM patrol_rounds r "
            "JOIN areas a ON a.id = r.grid_id")).all()
        rounds = [(w, g, local_day(at), path) for w, g, at, path in rounds
                  if start <= local_day(at) <= end]
        worker = user("gridworker")
        grids = {gid for gid, path in db.session.execute(sa.text(
            "SELECT id, path FROM areas WHERE level = 'grid' AND active")).all()
            if path.startswith(worker.scope_area.path)}
        own = [(g, d) for w, g, d, _p in rounds if w == worker.id and g in grids]
        district = user("district")
        by_worker = {r.key: r.values for r in indicators(district, start, end,
                                                         area=district.scope_area,
                                                         group_by="assignee")}
    html = login_as("gridworker").get("/admin/stats/" + args).get_data(as_text=True)
    shown_figures = figures(html)
    assert shown_figures["patrol_rounds"][0] == str(sum(1 for w, *_ in rounds if w == worker.id))
    assert shown_figures["patrol_coverage"][0] == shown(len({g for g, _d in own}) / len(grids),
                                                       "ratio")
    detail = re.search(r'id="gd-figure-patrol_coverage".*?gd-figure-detail">([^<]*)<', html, re.S)
    assert detail[1].strip() == f"巡查日覆盖率 {shown(len(set(own)) / (len(grids) * 14), 'ratio')}"
    for key in ("patrol_rounds", "patrol_coverage"):
        assert BY_CODE[key].definition in htmllib.unescape(html)
    # The district's table of grid workers: finds and both coverages per worker.
    html = login_as("district").get("/admin/stats/" + args).get_data(as_text=True)
    table = html.split('id="gd-workers"')[1].split("</table>")[0]
    assert "巡查发现" in table and "巡查覆盖率" in table and "巡查日覆盖率" in table
    rows = re.findall(r'<tr class="gd-worker" data-user="(\d+)">(.*?)</tr>', table, re.S)
    assert len(rows) >= 8
    walked = {w for w, *_ in rounds}
    for user_id, row in rows:
        values = by_worker[int(user_id)]
        found = re.search(r'gd-worker-patrol-found"[^>]*>(\d+)<', row)[1]
        coverage = re.search(r'gd-worker-patrol-coverage">([^<]*)<', row)[1]
        days = re.search(r'gd-worker-patrol-day-coverage">([^<]*)<', row)[1]
        assert int(found) == values["patrol_found"]
        assert coverage == shown(values["patrol_coverage"], "ratio") != "—"
        assert days == shown(values["patrol_day_coverage"], "ratio") != "—"
        if int(user_id) not in walked:
            assert coverage == days == "0.0%"


def test_a_handlers_dashboard_and_api_read_their_departments_figures(folded, app, login_as):
    """A department handler reads their department's figures (models/stats/scope.py): cases are
    dispatched to the department, so counting only the handler as a person showed 派单量 0.
    The dashboard's cards and /api/v1/stats equal the recount of the department's facts."""
    from . import stats_recount as recount
    from .test_api import auth, token_for

    start, end = local_today() - timedelta(days=89), local_today()
    with app.app_context():
        handler = user("handler")
        department = handler.department_id
        tickets, events = recount.load()
        facts = [f for f in recount.facts(tickets, events, recount.Workdays())
                 if f["department"] == department and start <= f["day"] <= end]
        expected = recount.figures(facts)
    assert expected["dispatched"] > 0 and expected["closed"] > 0
    client = login_as("handler")
    html = client.get(f"/admin/stats/?from={start}&to={end}").get_data(as_text=True)
    shown_figures = figures(html)
    for key in ("dispatched", "closed", "on_time_rate", "response_rate",
                "rework_rate", "return_rate", "satisfaction_rate", "avg_hours", "median_hours"):
        assert shown_figures[key][0] == shown(expected[key], BY_CODE[key].unit), key
    # Reports and patrol rounds are no department's: no cards of 0 and "—" for them.
    assert not {"received", "patrol_found", "patrol_coverage", "patrol_rounds"} & set(shown_figures)
    # The dispatched figure leads to those dispatches.
    assert drill_down_count(client, shown_figures["dispatched"][1]) == expected["dispatched"]
    # A department receives its cases by dispatch: its categories are charted by dispatches
    # (reports count for whom they were reported to: none for the department), and no table
    # of grid workers stands on its page.
    import json

    chart = json.loads(re.search(r'id="gd-data-category">(.*?)</script>', html, re.S)[1])
    per_category: dict = {}
    for fact in facts:
        if fact["kind"] == "dispatched":
            per_category[fact["category"]] = per_category.get(fact["category"], 0) + 1
    assert "按事件分类的派单量" in html and chart["series"][0]["name"] == "派单量"
    assert sorted((p["value"] for p in chart["series"][0]["data"]), reverse=True) == \
        sorted(per_category.values(), reverse=True)[:15]
    assert 'id="gd-workers"' not in html
    trend = json.loads(re.search(r'id="gd-data-trend">(.*?)</script>', html, re.S)[1])
    assert "每月派单量与办结量" in html and trend["series"][0]["name"] == "派单量"
    assert sum(p["value"] for p in trend["series"][0]["data"]) == expected["dispatched"]
    assert sum(p["value"] for p in trend["series"][1]["data"]) == expected["closed"]
    api = app.test_client()
    token = token_for(api, "handler")
    [row] = api.get(f"/api/v1/stats?from={start}&to={end}", headers=auth(token)).get_json()["rows"]
    recount.compare(row["values"], expected, "handler api")
