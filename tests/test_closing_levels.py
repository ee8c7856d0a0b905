"""Issue 12, point 5: which level solves it (哪一级办结) — the matrix page's second view shows, per
category, at which level cases were closed over the last months beside the category's own level."""
from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest

from models import AttachmentKind, db, utcnow
from models.tickets.attachments import Upload
from models.tickets.closing_levels import closing_levels
from models.vocabulary import AreaLevel

from .test_overdue_and_deadlines import do, report
from .test_workflow import photo_bytes

# Where each case climbs before it is closed: (escalations, who handles, who approves)
PATHS = {AreaLevel.GRID: ((), "gridworker", "community"),
         AreaLevel.COMMUNITY: (("gridworker",), "community", "street"),
         AreaLevel.STREET: (("gridworker", "community"), "street", "community")}


def closed_at_level(world, level: AreaLevel, when):
    ticket = report(world, when)
    escalations, handler, approver = PATHS[level]
    step = timedelta(minutes=10)
    for who in escalations:
        when += step
        do(ticket, "escalate", world, who, when, note="需要上级协调")
    when += step
    do(ticket, "accept", world, handler, when)
    do(ticket, "submit", world, handler, when + step, note="已处理",
       attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    do(ticket, "approve", world, approver, when + 2 * step)
    return ticket


@pytest.fixture()
def history(world):
    start = utcnow() - timedelta(days=20)
    plan = [AreaLevel.GRID] * 3 + [AreaLevel.COMMUNITY] * 2 + [AreaLevel.STREET] * 2
    for i, level in enumerate(plan):
        closed_at_level(world, level, start + timedelta(hours=i))
    closed_at_level(world, AreaLevel.STREET, utcnow() - timedelta(days=300))  # long ago
    return plan


def test_cases_are_counted_at_the_level_they_were_closed(world, history):
    garbage = world.categories["garbage"]  # the category says: the community solves it
    [row] = closing_levels([garbage], months=6)
    assert dict(row.closed) == {level: history.count(level) for level in set(history)}
    assert row.expected == AreaLevel.COMMUNITY
    assert row.climbed == history.count(AreaLevel.STREET) == 2
    [year] = closing_levels([garbage], months=12)
    assert year.closed[AreaLevel.STREET] == 3  # the old case too


def test_the_level_view_shows_where_cases_climb(world, history, login_as):
    page = htmllib.unescape(login_as("district").get("/admin/matrix/levels?months=6")
                            .get_data(as_text=True))
    row = re.search(r'<tr data-category="0101">.*?</tr>', page, re.S).group(0)
    cells = dict(re.findall(r'data-level="(\w+)"[^>]*>\s*(\d+|<span class="text-muted">—)', row))
    assert cells["grid"] == "3" and cells["community"] == "2" and cells["street"] == "2"
    assert 'data-climbed="2"' in row and "2（29 %）" in row
    assert "应办结层级" in page and "哪一级办结" in page
    # the one street's staff see only their street's cases (all of these are in 一号街道)
    other = htmllib.unescape(login_as("street2").get("/admin/matrix/levels?months=6")
                             .get_data(as_text=True))
    assert 'data-climbed="0"' in re.search(r'<tr data-category="0101">.*?</tr>', other,
                                           re.S).group(0)
    # bad input: the default, never a 500
    assert login_as("district").get("/admin/matrix/levels?months=abc").status_code == 200
