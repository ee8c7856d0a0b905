"""The ticket list: every filter, the search, the order, paging, the empty state and the count."""
from __future__ import annotations

import html as htmllib
import json
import re
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from models import Category, DeadlineUnit, Priority, Source, TicketStatus, db, utcnow

from .conftest import statements_sent
from .factories import build_world, make_ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
EMPTY_STATE = "没有符合条件的工单，请调整筛选条件或搜索内容。"
# The filters in the order of TicketView.column_filters, by their Chinese label.
DOCUMENTED_FILTERS = ["状态", "事件分类", "紧急程度", "来源", "区", "街道", "社区", "网格",
                      "承办部门", "处理人", "超期", "创建时间",
                      # the statistics' drill-down (issue 11): closed on days, a figure's tickets
                      "办结时间", "统计口径",
                      # co-handling (issue 12): the departments owing a 协办 task on it
                      "协办（待办单位）",
                      # supervision (issue 12): under 督办 now, at any or one level
                      "督办"]

def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture()
def world(ctx):
    """Six tickets spread over grids, streets, statuses, priorities, sources and days."""
    w = build_world()
    w.categories["order"] = Category(code="02", name="市容秩序", handle_deadline=3,
                                     handle_deadline_unit=DeadlineUnit.WORKING_DAYS)
    db.session.add(w.categories["order"])
    past, future = utcnow() - timedelta(days=1), utcnow() + timedelta(days=10)
    d, u = w.departments, w.users
    t = w.tickets = {}
    # 23:30 local on 1 March is 15:30 UTC the same day.
    t["a"] = make_ticket(w, "grid1", title="甲一垃圾桶满溢", assignee=u["gridworker"],
                         department=d["office1"], created_at=local(2026, 3, 1, 23, 30),
                         handle_deadline=future)
    # 00:30 local on 2 March is still 1 March in UTC.
    t["b"] = make_ticket(w, "grid2", title="甲二井盖缺失", department=d["office1"],
                         status=TicketStatus.IN_PROGRESS, priority=Priority.URGENT,
                         source=Source.WECHAT, created_at=local(2026, 3, 2, 0, 30),
                         handle_deadline=past)
    t["c"] = make_ticket(w, "grid3", title="乙一占道经营", assignee=u["handler"],
                         department=d["sanitation"], priority=Priority.EMERGENCY,
                         source=Source.PATROL, created_at=local(2026, 3, 5, 10, 0),
                         handle_deadline=future)
    t["d"] = make_ticket(w, "grid1", title="甲一垃圾清运不及时", department=d["office1"],
                         status=TicketStatus.CLOSED, reporter_phone="139-0000-1111",
                         created_at=local(2026, 3, 10, 9, 0), handle_deadline=past)
    t["e"] = make_ticket(w, "grid3", title="乙一乱堆放", department=d["sanitation"],
                         source=Source.WEB, created_at=local(2026, 3, 12, 9, 0),
                         handle_deadline=future)
    t["f"] = make_ticket(w, "grid2", title="甲二垃圾散落", department=d["office1"],
                         status=TicketStatus.IN_PROGRESS, created_at=local(2026, 3, 15, 9, 0),
                         handle_deadline=future)
    t["a"].address = "幸福路12号"
    t["c"].address = "和平街8号"
    t["e"].category = w.categories["order"]
    t["f"].category = w.categories["top"]
    db.session.commit()
    return w


def listed(html: str) -> list[str]:
    """Ticket numbers in the order the list shows them."""
    return re.findall(r'/admin/ticket/details/\?id=\d+[^>]*>(GD\d+)</a>', html)


def filter_indexes(html: str) -> dict[str, int]:
    raw = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', html, re.S).group(1)
    groups = json.loads(htmllib.unescape(raw))
    return {label: entries[0]["index"] for label, entries in groups.items()}


def filter_options(html: str, label: str) -> dict[str, str]:
    raw = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', html, re.S).group(1)
    return {value: text for value, text in json.loads(htmllib.unescape(raw))[label][0]["options"]}


def count_text(html: str) -> str:
    block = re.search(r'id="gd-list-count">(.*?)</span>', html, re.S).group(1)
    return " ".join(block.split())


class ListPage:
    def __init__(self, world, client):
        self.world, self.client = world, client
        self.indexes = filter_indexes(client.get("/admin/ticket/").get_data(as_text=True))

    def get(self, query: str = "") -> str:
        response = self.client.get("/admin/ticket/" + (f"?{query}" if query else ""))
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def filtered(self, label: str, value) -> str:
        return self.get(f"flt0_{self.indexes[label]}={quote(str(value))}")

    def keys(self, html: str) -> set[str]:
        by_number = {t.number: key for key, t in self.world.tickets.items()}
        shown = listed(html)
        assert len(shown) == len(set(shown))
        return {by_number[n] for n in shown}

    def assert_shows(self, html: str, keys: set[str], case=None) -> None:
        assert self.keys(html) == keys, case
        assert count_text(html) == f"共 {len(keys)} 条工单", case  # the count agrees, also at 0
        if not keys:
            assert EMPTY_STATE in html, case


@pytest.fixture()
def admin_list(world, login_as):
    return ListPage(world, login_as("admin"))


def test_the_filters_are_the_documented_ones(admin_list):
    assert admin_list.indexes == {label: i for i, label in enumerate(DOCUMENTED_FILTERS)}


def test_the_unfiltered_list_shows_every_ticket_newest_first(world, admin_list):
    html = admin_list.get()
    admin_list.assert_shows(html, set(world.tickets))
    newest_first = sorted(world.tickets.values(), key=lambda t: t.created_at, reverse=True)
    assert listed(html) == [t.number for t in newest_first]


AREA_CASES = [
    ("区", "district", {"a", "b", "c", "d", "e", "f"}),
    ("街道", "street1", {"a", "b", "d", "f"}),
    ("街道", "street2", {"c", "e"}),
    ("社区", "community1", {"a", "b", "d", "f"}),
    ("社区", "community2", {"c", "e"}),
    ("网格", "grid1", {"a", "d"}),
    ("网格", "grid2", {"b", "f"}),
    ("网格", "grid3", {"c", "e"}),
]


def test_filter_by_each_area_level(world, admin_list):
    for label, area, expected in AREA_CASES:
        html = admin_list.filtered(label, world.areas[area].id)
        admin_list.assert_shows(html, expected, case=(label, area))


VALUE_CASES = [
    ("状态", "pending", {"a", "c", "e"}),
    ("状态", "in_progress", {"b", "f"}),
    ("状态", "closed", {"d"}),
    ("紧急程度", "normal", {"a", "d", "e", "f"}),
    ("紧急程度", "urgent", {"b"}),
    ("紧急程度", "emergency", {"c"}),
    ("来源", "phone", {"a", "d", "f"}),
    ("来源", "wechat", {"b"}),
    ("来源", "patrol", {"c"}),
    ("来源", "web", {"e"}),
    ("超期", "1", {"b"}),  # d is past its deadline too, but closed
    ("超期", "0", {"a", "c", "d", "e", "f"}),
]


def test_filter_by_status_priority_source_and_overdue(admin_list):
    for label, value, expected in VALUE_CASES:
        admin_list.assert_shows(admin_list.filtered(label, value), expected, case=(label, value))


def test_filter_by_category_includes_sub_categories(world, admin_list):
    cats = world.categories
    admin_list.assert_shows(admin_list.filtered("事件分类", cats["top"].id), {"a", "b", "c", "d", "f"})
    admin_list.assert_shows(admin_list.filtered("事件分类", cats["garbage"].id), {"a", "b", "c", "d"})
    admin_list.assert_shows(admin_list.filtered("事件分类", cats["order"].id), {"e"})


def test_filter_by_assigned_department_and_user(world, admin_list):
    d, u = world.departments, world.users
    admin_list.assert_shows(admin_list.filtered("承办部门", d["office1"].id), {"a", "b", "d", "f"})
    admin_list.assert_shows(admin_list.filtered("承办部门", d["sanitation"].id), {"c", "e"})
    admin_list.assert_shows(admin_list.filtered("承办部门", d["office2"].id), set())
    admin_list.assert_shows(admin_list.filtered("处理人", u["gridworker"].id), {"a"})
    admin_list.assert_shows(admin_list.filtered("处理人", u["handler"].id), {"c"})
    admin_list.assert_shows(admin_list.filtered("处理人", u["gridworker2"].id), set())


DATE_CASES = [
    ("2026-03-01 to 2026-03-01", {"a"}),  # 23:30 local belongs to 1 March
    ("2026-03-02 to 2026-03-02", {"b"}),  # 00:30 local on 2 March, though 1 March in UTC
    ("2026-03-01 to 2026-03-05", {"a", "b", "c"}),
    ("2026-03-06 to 2026-03-15", {"d", "e", "f"}),
    ("2026-04-01 to 2026-04-30", set()),
]


def test_filter_by_created_local_days(admin_list):
    for days, expected in DATE_CASES:
        admin_list.assert_shows(admin_list.filtered("创建时间", days), expected, case=days)


def test_filters_combine(world, admin_list):
    i = admin_list.indexes
    html = admin_list.get(f"flt0_{i['街道']}={world.areas['street1'].id}&flt1_{i['状态']}=in_progress")
    admin_list.assert_shows(html, {"b", "f"})


def test_an_open_ticket_without_a_deadline_is_not_overdue(world, admin_list):
    t = world.tickets["a"]
    t.handle_deadline = None
    db.session.commit()
    assert not t.is_overdue()
    assert "a" not in admin_list.keys(admin_list.filtered("超期", "1"))
    assert "a" in admin_list.keys(admin_list.filtered("超期", "0"))


def test_search_by_number_phone_title_and_address(world, admin_list):
    t = world.tickets
    cases = [
        (t["a"].number, {"a"}),           # the exact number
        (t["c"].number.lower(), {"c"}),   # typed in lower case
        ("13900001111", {"d"}),           # the reporter's phone
        ("139-0000-1111", {"d"}),         # ... as people write it
        ("井盖", {"b"}),                   # a word of the title
        ("垃圾", {"a", "d", "f"}),
        ("和平", {"c"}),                   # a word of the address
        ("幸福路", {"a"}),
        ("不存在的词", set()),
    ]
    for term, expected in cases:
        admin_list.assert_shows(admin_list.get(f"search={quote(term)}"), expected, case=term)


def test_the_empty_state_is_shown_when_nothing_matches(admin_list):
    html = admin_list.filtered("状态", "invalid")
    assert listed(html) == []
    assert EMPTY_STATE in html


def test_page_size_choices_and_paging(world, admin_list):
    for i in range(16):  # 22 tickets in all
        make_ticket(world, "grid1", title=f"批量工单{i}", created_at=local(2026, 2, 1, 8, i))
    db.session.commit()
    html = admin_list.get()
    for size in (20, 50, 100):
        assert f"page_size={size}" in html
    assert len(listed(html)) == 20 and count_text(html) == "共 22 条工单"
    assert len(listed(admin_list.get("page=1"))) == 2
    assert len(listed(admin_list.get("page_size=50"))) == 22
    assert len(listed(admin_list.get("page_size=100"))) == 22


def test_a_scoped_user_gets_filter_choices_and_search_inside_the_scope_only(world, login_as):
    page = ListPage(world, login_as("street"))  # street1: a, b, d, f
    first = page.get()
    page.assert_shows(first, {"a", "b", "d", "f"})
    areas = world.areas
    assert set(filter_options(first, "网格")) == {str(areas["grid1"].id), str(areas["grid2"].id)}
    assert set(filter_options(first, "社区")) == {str(areas["community1"].id)}
    assert set(filter_options(first, "街道")) == {str(areas["street1"].id)}
    page.assert_shows(page.get(f"search={world.tickets['c'].number}"), set())
    page.assert_shows(page.get("search=%E4%B9%99%E4%B8%80"), set())  # "乙一": only street2 titles
    page.assert_shows(page.filtered("来源", "patrol"), set())  # only c, outside the scope
    page.assert_shows(page.filtered("状态", "in_progress"), {"b", "f"})


def test_a_scoped_user_filtering_an_area_outside_the_scope_sees_nothing(world, login_as):
    page = ListPage(world, login_as("street"))  # street1: a, b, d, f
    page.assert_shows(page.filtered("街道", world.areas["street2"].id), set())
    page.assert_shows(page.filtered("网格", world.areas["grid3"].id), set())
    page.assert_shows(page.filtered("区", world.areas["district"].id), {"a", "b", "d", "f"})
    page.assert_shows(page.filtered("承办部门", world.departments["sanitation"].id), set())
    community = ListPage(world, login_as("community2"))  # c, e
    community.assert_shows(community.filtered("社区", world.areas["community1"].id), set())
    community.assert_shows(community.filtered("网格", world.areas["grid3"].id), {"c", "e"})


def test_the_count_is_capped_and_says_so(world, admin_list, app, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 3)
    html = admin_list.get()
    assert len(listed(html)) == 6  # every row is still listed
    assert count_text(html) == "超过 3 条工单（为保证列表速度，不再继续计数）"
    assert "共 6 条工单" not in html
    four = admin_list.filtered("紧急程度", "normal")  # the cap applies to filtered lists too
    assert admin_list.keys(four) == {"a", "d", "e", "f"}
    assert count_text(four) == "超过 3 条工单（为保证列表速度，不再继续计数）"
    # At or below the cap the count stays exact.
    admin_list.assert_shows(admin_list.filtered("状态", "in_progress"), {"b", "f"})
    three = admin_list.filtered("状态", "pending")  # exactly the cap
    assert count_text(three) == "共 3 条工单"


# --- speed without a second definition (issue 14) ------------------------------------------
def sent_statements(client, path: str) -> tuple[str, list[str]]:
    with statements_sent() as sent:
        html = client.get(path).get_data(as_text=True)
    return html, sent


def reference_reads(sent: list[str]) -> list[str]:
    """Reads of areas, categories, departments and users other than one row by primary key."""
    return [s for s in sent if re.search(r"FROM (areas|categories|departments|users)\b", s)
            and not re.search(r"WHERE \w+\.id = (\?|%\(pk_1\)s(::INTEGER)?)$", s)]


def test_the_list_labels_and_filter_choices_come_from_the_reference_caches(world, admin_list):
    admin_list.get()  # the caches are warm after the first page
    html, sent = sent_statements(admin_list.client, "/admin/ticket/")
    assert reference_reads(sent) == []
    assert len(sent) <= 8  # count, page, supervision badges, co-handling badges, versions, ...
    row = re.search(r"甲一垃圾桶满溢.*?</tr>", html, re.S).group(0)
    assert "甲社区 · 甲一网格" in row and "垃圾清运" in row
    assert "甲社区居委会" in row and "用户gridworker" in row
    assert filter_options(html, "处理人")[str(world.users["gridworker"].id)] == \
        "用户gridworker（—）"
    assert filter_options(html, "事件分类")[str(world.categories["garbage"].id)] == \
        str(world.categories["garbage"])


def test_a_renamed_area_or_person_shows_at_once_in_the_list_and_its_choices(world, admin_list):
    admin_list.get()
    world.areas["grid1"].name = "甲一新网格"
    world.users["gridworker"].display_name = "新网格员"
    db.session.commit()
    html = admin_list.get()
    assert filter_options(html, "网格")[str(world.areas["grid1"].id)] == "甲一新网格"
    assert filter_options(html, "处理人")[str(world.users["gridworker"].id)] == "新网格员（—）"
    row = re.search(r"甲一垃圾桶满溢.*?</tr>", html, re.S).group(0)
    assert "甲社区 · 甲一新网格" in row and "新网格员" in row
