"""Staff corrections of a ticket: one timeline event per save, version checks, refused input."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from models import Priority, Ticket, TicketEvent, db

from .factories import build_world, make_ticket

CHANGED_MEANWHILE = "该工单已被他人修改，请刷新后重试。"
TITLE_REQUIRED = "请填写标题。"
FIELD_REQUIRED = "该字段是必填字段。"
PHONE_DIGITS_ONLY = "电话号码只能包含数字。"
CORRECTED = "已更正"  # the timeline label of an "edit" event


@pytest.fixture()
def world(ctx):
    w = build_world()
    w.ticket = make_ticket(w, "grid1", title="垃圾桶满溢", department=w.departments["office1"])
    db.session.commit()
    return w


def edit_url(ticket) -> str:
    return f"/admin/ticket/edit/?id={ticket.id}"


def form_values(html: str) -> dict[str, str]:
    """What a browser would submit from the edit form, unchanged."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and not name.group(1).startswith("_") and 'type="submit"' not in tag:
            values[name.group(1)] = value.group(1) if value else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        values[name] = text.strip()
    select = re.search(r'<select[^>]*name="priority".*?</select>', html, re.S).group(0)
    values["priority"] = re.search(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected',
                                   select).group(1) or ""
    return {k: v.replace("&#34;", '"').replace("&amp;", "&") for k, v in values.items()}


def load_form(client, ticket) -> dict[str, str]:
    response = client.get(edit_url(ticket))
    assert response.status_code == 200
    return form_values(response.get_data(as_text=True))


def snapshot(ticket_id: int) -> dict:
    db.session.expire_all()
    t = db.session.get(Ticket, ticket_id)
    events = db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent)
                                .where(TicketEvent.ticket_id == ticket_id)).scalar_one()
    return {"title": t.title, "description": t.description, "address": t.address,
            "priority": t.priority, "reporter_name": t.reporter_name,
            "reporter_phone": t.reporter_phone, "reporter_email": t.reporter_email,
            "version": t.version, "event_seq": t.event_seq, "events": events}


def messages(html: str) -> str:
    found = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
    found += re.findall(r'class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>|&times;", " ", text) for text in found)


def test_the_edit_form_carries_the_version_and_the_editable_fields(world, login_as):
    values = load_form(login_as("community"), world.ticket)
    assert values["expected_version"] == str(world.ticket.version)
    assert values["title"] == "垃圾桶满溢" and values["reporter_phone"] == "13812345678"
    assert values["priority"] == "normal"
    assert {"csrf_token", "description", "address", "reporter_name", "reporter_email"} <= set(values)


def test_a_valid_correction_changes_the_ticket_and_adds_one_edit_event(world, login_as):
    ticket = world.ticket
    client = login_as("community")
    before = snapshot(ticket.id)
    values = load_form(client, ticket)
    values.update(title="垃圾桶满溢（已核实）", address="测试路3号", priority="urgent",
                  reporter_phone="139 0000 2222")
    response = client.post(edit_url(ticket), data=values)
    assert response.status_code == 302

    after = snapshot(ticket.id)
    assert after["title"] == "垃圾桶满溢（已核实）" and after["address"] == "测试路3号"
    assert after["priority"] == Priority.URGENT and after["reporter_phone"] == "13900002222"
    assert after["description"] == before["description"]
    assert after["reporter_name"] == before["reporter_name"]
    assert after["version"] == before["version"] + 1
    assert after["events"] == before["events"] + 1 and after["event_seq"] == before["event_seq"] + 1

    event = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                               .order_by(TicketEvent.seq.desc()).limit(1)).scalar_one()
    assert event.action == "edit"
    assert event.actor_user_id == world.users["community"].id
    changes = dict(event.details["changes"])
    # Issue 9: a priority change recomputes the deadlines; they are part of the same correction.
    assert set(changes.pop("accept_deadline")) and set(changes.pop("handle_deadline"))
    assert changes == {
        "title": ["垃圾桶满溢", "垃圾桶满溢（已核实）"],
        "address": ["测试路1号", "测试路3号"],
        "priority": ["normal", "urgent"],
        "reporter_phone": ["13812345678", "13900002222"],
    }

    page = client.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    timeline = re.search(r'<ol[^>]*id="gd-timeline".*?</ol>', page, re.S).group(0)
    assert CORRECTED in timeline
    assert "标题：垃圾桶满溢 → 垃圾桶满溢（已核实）" in timeline
    assert "地址：测试路1号 → 测试路3号" in timeline
    assert "垃圾桶满溢（已核实）" in page


def test_saving_an_unchanged_form_adds_no_event(world, login_as):
    ticket = world.ticket
    client = login_as("community")
    before = snapshot(ticket.id)
    response = client.post(edit_url(ticket), data=load_form(client, ticket))
    assert response.status_code == 302
    assert snapshot(ticket.id) == before


def test_a_stale_form_is_refused_and_changes_nothing(world, login_as):
    ticket = world.ticket
    client = login_as("community")
    stale = load_form(client, ticket)  # the user opens the form ...
    # ... meanwhile someone else corrects the ticket ...
    ticket.address = "测试路2号"
    db.session.commit()
    before = snapshot(ticket.id)
    assert before["version"] == int(stale["expected_version"]) + 1
    # ... and the user submits the old form.
    stale.update(title="被覆盖的标题", address="测试路9号")
    response = client.post(edit_url(ticket), data=stale)
    assert response.status_code == 200
    assert CHANGED_MEANWHILE in messages(response.get_data(as_text=True))
    assert snapshot(ticket.id) == before


@pytest.mark.parametrize("title,message", [("", FIELD_REQUIRED), ("   ", TITLE_REQUIRED)])
def test_an_empty_title_is_refused_and_changes_nothing(world, login_as, title, message):
    ticket = world.ticket
    client = login_as("community")
    before = snapshot(ticket.id)
    values = load_form(client, ticket)
    values.update(title=title, address="测试路5号")
    response = client.post(edit_url(ticket), data=values)
    assert response.status_code == 200
    shown = messages(response.get_data(as_text=True))
    assert message in shown
    if not title:  # the form's own refusal: Flask-Admin's words, in Chinese too (its .mo lacked them)
        assert "保存记录失败" in shown, shown
    assert "Failed to save record" not in response.get_data(as_text=True)
    assert snapshot(ticket.id) == before


def test_an_invalid_phone_is_refused_and_changes_nothing(world, login_as):
    ticket = world.ticket
    client = login_as("community")
    before = snapshot(ticket.id)
    values = load_form(client, ticket)
    values.update(reporter_phone="abc", title="换个标题")
    response = client.post(edit_url(ticket), data=values)
    assert response.status_code == 200
    assert PHONE_DIGITS_ONLY in messages(response.get_data(as_text=True))
    assert snapshot(ticket.id) == before


def test_the_details_page_shows_timeline_location_and_no_photos(world, login_as):
    ticket = world.ticket
    client = login_as("community")
    values = load_form(client, ticket)
    values.update(title="垃圾桶满溢（复核）")
    assert client.post(edit_url(ticket), data=values).status_code == 302

    page = client.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    timeline = re.search(r'<ol[^>]*id="gd-timeline".*?</ol>', page, re.S).group(0)
    seqs = [int(n) for n in re.findall(r"#(\d+) ·", timeline)]
    assert seqs == [1, 2, 3]
    labels = re.findall(r"<strong>(.*?)</strong>", timeline)
    assert labels == ["已登记", "已派单", CORRECTED]
    # The location: a map with the grid and the point, and the coordinates.
    assert "位置" in page
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert "<polygon" in svg and "<circle" in svg and "甲一网格" in svg
    assert f"{ticket.lat:.6f}, {ticket.lon:.6f}" in page
    assert "暂无照片。" in page


def test_a_ticket_without_coordinates_says_so(world, login_as):
    ticket = world.ticket
    ticket.lat = ticket.lon = None
    ticket.grid_id = None
    db.session.commit()
    page = login_as("community").get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert "<svg" not in page
    assert "未记录坐标。" in page
