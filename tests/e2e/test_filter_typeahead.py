"""Choosing a grid through the ticket list's type-ahead filter in a real browser: typing asks the
server, the chosen grid filters the list, and after the reload the box shows its name."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from views.admin import ticket_views

from ..test_ticket_list import world  # noqa: F401 (the fixture: six tickets in three grids)
from .test_content_security_policy import log_in, watched  # noqa: F401 (the fixture)


def test_a_grid_is_chosen_by_typing_part_of_its_name(world, live_url, watched, monkeypatch):
    monkeypatch.setattr(ticket_views, "TYPEAHEAD_OVER", 2)  # the admin's three grids are "many"
    page = watched
    log_in(page, live_url, "admin")
    page.goto(f"{live_url}/admin/ticket/")
    page.click("text=添加筛选器")
    page.click(".field-filters a.filter:text-is('网格')")
    page.click("#filter_form .select2-container.gd-typeahead a.select2-choice")
    page.keyboard.type("甲")
    options = page.locator(".select2-drop-active .select2-result-selectable")
    options.first.wait_for()
    assert sorted(options.all_inner_texts()) == ["甲一网格", "甲二网格"]  # not 乙一网格
    page.keyboard.type("一")
    # the narrowed answer replaces the first one (retried until it does: a fixed wait of 400 ms
    # was too short once under the load of three test runs at once)
    expect(options).to_have_text(["甲一网格"], timeout=10_000)
    page.keyboard.press("Enter")
    page.click("#filter_form button[type=submit]")
    page.wait_for_load_state("load")
    grid1 = world.areas["grid1"].id
    position = list(ticket_views.LIST_FILTERS).index("grid")
    assert re.search(rf"flt\d+_{position}={grid1}\b", page.url)
    numbers = [n for n in page.locator("table.model-list a[href*='/admin/ticket/details/']")
               .all_inner_texts() if n.strip()]
    assert sorted(numbers) == sorted(world.tickets[k].number for k in ("a", "d"))
    chosen = page.locator("#filter_form .select2-container.gd-typeahead .select2-chosen")
    assert chosen.inner_text() == "甲一网格"  # its name, not its id
    assert page.problems + page.evaluate("window.__csp || []") == []
