"""The ticket list's type-ahead filters (issue 14): past TYPEAHEAD_OVER choices an area,
department or person filter carries no options in the page; its box asks
/admin/ticket/filter-options/<filter>?q=… for the user's choices whose name contains the text —
the same choices, in the same scope, the select offered."""
from __future__ import annotations

import html as htmllib
import json
import re

import pytest
import sqlalchemy as sa

from models import Area, AreaLevel, db
from models.areas.hierarchy import place_area
from views.admin import ticket_views

from .test_ticket_list import ListPage, filter_indexes, world  # noqa: F401 (the fixture)

CHOICE_FILTERS = {"district": "区", "street": "街道", "community": "社区", "grid": "网格",
                  "department": "承办部门", "assignee": "处理人", "co_handling": "协办（待办单位）"}
ROLES = ("admin", "district", "street", "street2", "community", "community2", "gridworker",
         "handler", "leader")


def filter_groups(html: str) -> dict:
    raw = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', html, re.S).group(1)
    return json.loads(htmllib.unescape(raw))


def group(html: str, label: str) -> dict:
    return filter_groups(html)[label][0]


def matches(client, key: str, text: str):
    response = client.get(f"/admin/ticket/filter-options/{key}", query_string={"q": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids(answer: dict) -> set[str]:
    return {row["id"] for row in answer["results"]}


def add_grids(parent: Area, count: int) -> list[Area]:
    grids = []
    for n in range(1, count + 1):
        grid = Area(code=f"{parent.code}9{n:03d}", name=f"甲社区第{n}号新网格", level=AreaLevel.GRID)
        place_area(grid, parent)
        grids.append(grid)
    db.session.commit()
    return grids


def test_a_filter_past_the_threshold_carries_no_options_and_small_ones_stay_selects(
        world, login_as):
    admin = ListPage(world, login_as("admin"))
    before = admin.get()
    assert group(before, "网格")["options"] is not None  # three grids: a select, as ever
    extra = ticket_views.TYPEAHEAD_OVER + 1 - 2  # community1 already has two grids
    add_grids(world.areas["community1"], extra)
    after = admin.get()
    grid = group(after, "网格")
    assert grid["options"] is None and grid["type"] == "gd-typeahead"
    assert grid["typeahead"]["url"] == "/admin/ticket/filter-options/grid"
    assert "甲社区第150号新网格" not in after
    # The page does not grow with the choices it no longer carries (a select of 201 names did).
    assert len(after) - len(before) < 1500, (len(before), len(after))
    assert group(after, "社区")["options"] is not None  # the other filters are unchanged
    # community1's staff see 201 grids: a type-ahead too; community2's see one: a select.
    assert group(ListPage(world, login_as("community")).get(), "网格")["options"] is None
    small = group(ListPage(world, login_as("community2")).get(), "网格")
    assert small["options"] == [[str(world.areas["grid3"].id), "乙一网格"]]
    assert "typeahead" not in small
    # The type-ahead finds the new grids by name.
    answer = matches(admin.client, "grid", "第150号")
    found = db.session.execute(sa.select(Area.id).where(Area.name == "甲社区第150号新网格")).scalar()
    assert answer == {"results": [{"id": str(found), "text": "甲社区第150号新网格"}],
                      "more": False}
    many = matches(admin.client, "grid", "新网格")
    assert len(many["results"]) == ticket_views.TYPEAHEAD_MATCHES and many["more"] is True


@pytest.mark.parametrize("username", ROLES)
def test_the_matches_are_the_select_choices_of_the_same_user(world, login_as, username):
    """Every name anyone could pick is typed by each role: the answer holds exactly the ids that
    role's own select offers (the small world keeps every filter a select to compare with)."""
    everyone = ListPage(world, login_as("admin")).get()
    client = login_as(username)
    own = client.get("/admin/ticket/").get_data(as_text=True)
    for key, label in CHOICE_FILTERS.items():
        offered = dict(group(own, label)["options"] or [])
        for value, text in group(everyone, label)["options"]:
            answer = matches(client, key, text)
            assert ids(answer) <= set(offered), (username, key, text)
            assert (value in ids(answer)) == (value in offered), (username, key, text)
            for row in answer["results"]:
                assert row["text"] == offered[row["id"]] and text in row["text"]


def test_a_street_user_never_gets_another_streets_grids_or_people(world, login_as):
    street = login_as("street")  # street1: grid1, grid2
    grids = matches(street, "grid", "网格")
    assert ids(grids) == {str(world.areas["grid1"].id), str(world.areas["grid2"].id)}
    assert matches(street, "grid", "乙一") == {"results": [], "more": False}
    assert matches(street, "community", "乙") == {"results": [], "more": False}
    assert matches(street, "department", "二号街道") == {"results": [], "more": False}
    people = ids(matches(street, "assignee", "用户"))
    assert str(world.users["gridworker"].id) in people
    assert str(world.users["community2"].id) not in people
    assert ids(matches(login_as("street2"), "grid", "网格")) == {str(world.areas["grid3"].id)}


def test_bad_requests_get_a_400_with_a_message_and_never_a_500(world, login_as, client):
    admin = login_as("admin")
    for query, message in ((" ", "请输入名称中的几个字进行查找。"),
                           ("", "请输入名称中的几个字进行查找。"),
                           ("甲" * 51, "最多输入 50 个字。")):
        response = admin.get("/admin/ticket/filter-options/grid", query_string={"q": query})
        assert response.status_code == 400 and response.get_json() == {"error": message}
    response = admin.get("/admin/ticket/filter-options/grid")  # no q at all
    assert response.status_code == 400
    for key in ("status", "category", "nope", "__init__"):
        response = admin.get(f"/admin/ticket/filter-options/{key}?q=a")
        assert response.status_code == 404 and response.get_json() == {"error": "没有这个筛选条件。"}
    for odd in ("%", "_", "'", "甲" * 50, "<script>", "\u202e", "1 OR 1=1"):
        assert matches(admin, "grid", odd) == {"results": [], "more": False}
    # A NUL is refused before any view reads it, as everywhere in the app.
    assert admin.get("/admin/ticket/filter-options/grid?q=%00").status_code == 400
    assert ids(matches(admin, "grid", "  甲一  ")) == {str(world.areas["grid1"].id)}
    assert admin.post("/admin/ticket/filter-options/grid?q=a").status_code in (400, 405)
    anonymous = client.get("/admin/ticket/filter-options/grid?q=%E7%BD%91")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_filtering_by_a_picked_id_lists_what_the_select_did_and_shows_its_name(
        world, login_as, monkeypatch):
    admin = ListPage(world, login_as("admin"))
    select_results = {key: admin.keys(admin.filtered(label, value)) for key, label, value in (
        ("grid", "网格", world.areas["grid1"].id),
        ("assignee", "处理人", world.users["gridworker"].id),
        ("department", "承办部门", world.departments["sanitation"].id))}
    monkeypatch.setattr(ticket_views, "TYPEAHEAD_OVER", 2)  # three grids: a type-ahead now
    for key, label, text in (("grid", "网格", "甲一"), ("assignee", "处理人", "gridworker（"),
                             ("department", "承办部门", "环卫")):
        answer = matches(admin.client, key, text)
        assert len(answer["results"]) == 1, (key, answer)
        picked = answer["results"][0]
        html = admin.filtered(label, picked["id"])
        assert admin.keys(html) == select_results[key]
        shown = group(html, label)
        assert shown["options"] is None
        # The active value's name comes with the page, so the box shows it after the reload.
        assert shown["typeahead"]["labels"] == {picked["id"]: picked["text"]}
    # The street user's two grids stay a select at this threshold.
    assert group(ListPage(world, login_as("street")).get(), "网格")["options"] is not None


def test_an_id_outside_the_choices_or_not_an_id_is_handled_as_before(world, login_as,
                                                                     monkeypatch):
    monkeypatch.setattr(ticket_views, "TYPEAHEAD_OVER", 2)
    page = ListPage(world, login_as("street"))  # street1: a, b, d, f; sees 2 of 3 grids
    page.indexes = filter_indexes(page.get())
    # grid3 is not the street user's: an empty list, and no name for it in the page.
    outside = page.filtered("网格", world.areas["grid3"].id)
    page.assert_shows(outside, set())
    assert "乙一网格" not in outside
    admin = ListPage(world, login_as("admin"))
    missing = admin.filtered("网格", 987654)
    admin.assert_shows(missing, set())
    assert group(missing, "网格")["typeahead"]["labels"] == {}
    garbage = admin.filtered("网格", "abc")  # not an id: the list without that filter, as before
    assert admin.keys(garbage) == set(world.tickets)
    assert "筛选条件“网格”没有“abc”这个取值" in garbage
