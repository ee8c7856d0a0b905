"""The configuration audit trail (变更记录): every configuration change is recorded with who, when,
what and each field before → after, through every path; administrators and command centres read
it on one page; nobody edits or deletes an entry."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import (Area, AreaLevel, Category, ConfigChange, Department, DispatchRule,
                     NotificationTemplate, ResponsibleKind, User, db)
from models.areas.hierarchy import place_area
from models.clock import local_today

from .conftest import csrf_token, session_csrf_token

LOG = "/admin/configchange/"


def entries(**where) -> list[ConfigChange]:
    db.session.expire_all()
    query = sa.select(ConfigChange).order_by(ConfigChange.id.desc())
    for key, value in where.items():
        query = query.where(getattr(ConfigChange, key) == value)
    return list(db.session.execute(query).scalars())


def text_of(html: str) -> str:
    """The page as a reader sees it: tags dropped, whitespace folded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&gt;", ">")


def changes_of(entry: ConfigChange) -> dict[str, tuple]:
    return {row["field"]: (row["before"], row["after"]) for row in entry.changes}


def garbage_rule(world) -> DispatchRule:
    return db.session.execute(sa.select(DispatchRule).where(
        DispatchRule.category_id == world.categories["garbage"].id)).scalar_one()


def rule_form(client, rule: DispatchRule, **changes) -> dict:
    data = {"csrf_token": csrf_token(client, f"/admin/dispatchrule/edit/?id={rule.id}"),
            "category": str(rule.category_id), "area": str(rule.area_id),
            "responsible_kind": rule.responsible_kind.value,
            "department": str(rule.department_id or "__None"),
            "accept_deadline": str(rule.accept_deadline or ""),
            "accept_deadline_unit": rule.accept_deadline_unit.value if rule.accept_deadline_unit
            else "",
            "handle_deadline": str(rule.handle_deadline or ""),
            "handle_deadline_unit": rule.handle_deadline_unit.value if rule.handle_deadline_unit
            else "",
            "sort_order": str(rule.sort_order), "active": "y", "note": rule.note or ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def edit_rule_to_sanitation(world, admin) -> DispatchRule:
    rule = garbage_rule(world)
    sanitation = world.departments["sanitation"]
    response = admin.post(f"/admin/dispatchrule/edit/?id={rule.id}", data=rule_form(
        admin, rule, responsible_kind="department", department=str(sanitation.id),
        handle_deadline="2", handle_deadline_unit="working_days"))
    assert response.status_code == 302, text_of(response.get_data(as_text=True))[:2000]
    return rule


# --- the done-when: a dispatch-rule edit with before → after --------------------------------

def test_a_dispatch_rule_edit_in_the_admin_panel_shows_before_and_after(world, login_as):
    admin = login_as("admin")
    rule = edit_rule_to_sanitation(world, admin)
    sanitation = world.departments["sanitation"]

    entry = entries(object_type="dispatch_rule")[0]
    assert entry.operation == "update" and entry.object_id == str(rule.id)
    assert entry.actor_id == world.users["admin"].id and entry.actor_name == "admin"
    assert entry.object_label == "垃圾清运（0101） · 测试区（T01）"
    assert changes_of(entry) == {
        "responsible_kind": ("grid_worker", "department"),
        "department": (None, "区环卫中心"),
        "handle_deadline": (None, 2),
        "handle_deadline_unit": (None, "working_days"),
    }
    assert [r.get("after_id") for r in entry.changes if r["field"] == "department"] == \
        [sanitation.id]

    page = text_of(admin.get(LOG).get_data(as_text=True))
    assert "变更记录" in page
    assert "派单规则 垃圾清运（0101） · 测试区（T01）" in page
    assert "修改" in page and "用户admin（admin）" in page
    # Chinese field labels, enum labels, names beside ids.
    assert "责任主体 : 本网格网格员 → 部门" in page
    assert f"部门 : — → 区环卫中心 #{sanitation.id}" in page
    assert "处置时限（覆盖） : — → 2" in page and "处置时限单位 : — → 工作日" in page


def test_a_refused_change_leaves_no_entry(world, login_as):
    """Recorded in the change's own transaction: a change refused is not in the log either."""
    admin = login_as("admin")
    rule = garbage_rule(world)
    before = len(entries())
    response = admin.post(f"/admin/dispatchrule/edit/?id={rule.id}", data=rule_form(
        admin, rule, responsible_kind="department", department="__None"))
    assert response.status_code == 200  # the form again, with the reason
    assert garbage_rule(world).responsible_kind == ResponsibleKind.GRID_WORKER
    assert len(entries()) == before


# --- create, delete, deactivate -----------------------------------------------------------------

def test_creation_deletion_and_deactivation_are_recorded(world, login_as):
    admin = login_as("admin")
    district = world.areas["district"]
    response = admin.post("/admin/department/new/", data={
        "csrf_token": csrf_token(admin, "/admin/department/new/"), "name": "区城管执法局",
        "kind": "functional", "area": str(district.id), "phone": "0571-1234", "active": "y"})
    assert response.status_code == 302
    department = db.session.execute(sa.select(Department).where(
        Department.name == "区城管执法局")).scalar_one()
    created = entries(object_type="department", object_id=str(department.id))
    assert [e.operation for e in created] == ["create"]
    assert changes_of(created[0]) == {"name": (None, "区城管执法局"), "kind": (None, "functional"),
                                      "area": (None, "测试区（T01）"), "phone": (None, "0571-1234"),
                                      "active": (None, True)}

    # Dispatch rules are deactivated, not deleted (issue 9 § 1); an area nothing refers to still is.
    spare = Area(code="T01020199", name="乙备用网格", level=AreaLevel.GRID)
    place_area(spare, world.areas["community2"])
    db.session.commit()
    spare_id = spare.id
    response = admin.post("/admin/area/delete/", data={
        "csrf_token": session_csrf_token(admin), "id": str(spare_id), "url": "/admin/area/"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Area, spare_id) is None
    deleted = entries(object_type="area", object_id=str(spare_id))[0]
    assert deleted.operation == "delete" and deleted.actor_name == "admin"
    assert changes_of(deleted)["code"] == ("T01020199", None)

    category = world.categories["garbage"]
    form = {"csrf_token": csrf_token(admin, f"/admin/category/edit/?id={category.id}"),
            "code": category.code, "name": category.name, "parent": str(category.parent_id),
            "handling_level": category.handling_level.value,
            "accept_deadline": str(category.accept_deadline),
            "accept_deadline_unit": category.accept_deadline_unit.value,
            "handle_deadline": str(category.handle_deadline),
            "handle_deadline_unit": category.handle_deadline_unit.value,
            "requires_after_photo": "y", "escalate_when_overdue": "y", "listed_publicly": "y",
            "duplicate_radius_m": str(category.duplicate_radius_m),
            "sort_order": str(category.sort_order)}  # "active" left unticked
    assert admin.post(f"/admin/category/edit/?id={category.id}", data=form).status_code == 302
    deactivated = entries(object_type="category", object_id=str(category.id))[0]
    assert deactivated.operation == "deactivate"
    assert changes_of(deactivated) == {"active": (True, False)}

    page = text_of(admin.get(LOG).get_data(as_text=True))
    assert "停用 启用 : 是 → 否" in page
    assert "删除" in page and "已不存在" in page  # the deleted area links nowhere
    assert "新建 名称 : 区城管执法局 类型 : 职能部门 服务区域 : 测试区（T01）" in page


def test_the_log_links_each_object_to_its_edit_page_and_its_history(world, login_as):
    admin = login_as("admin")
    rule = edit_rule_to_sanitation(world, admin)
    html = admin.get(LOG).get_data(as_text=True)
    assert f'href="/admin/dispatchrule/edit/?id={rule.id}"' in html


# --- users and secrets --------------------------------------------------------------------------

def test_a_password_change_is_recorded_without_the_hash(world, login_as):
    admin = login_as("admin")
    user = world.users["handler"]
    old_hash = user.password_hash
    url = f"/admin/user/edit/?id={user.id}"
    response = admin.post(url, data={
        "csrf_token": csrf_token(admin, url), "username": "handler", "display_name": "王师傅",
        "role": "handler", "scope_area": str(user.scope_area_id),
        "department": str(user.department_id), "active": "y", "new_password": "new-secret-42"})
    assert response.status_code == 302
    db.session.expire_all()
    new_hash = db.session.get(User, user.id).password_hash
    assert new_hash != old_hash
    entry = entries(object_type="user", object_id=str(user.id))[0]
    assert changes_of(entry) == {"display_name": ("用户handler", "王师傅"),
                                 "password": ("***", "***")}
    stored = json.dumps(entry.changes, ensure_ascii=False)
    assert old_hash not in stored and new_hash not in stored and "new-secret-42" not in stored
    assert "password_hash" not in stored
    html = admin.get(LOG).get_data(as_text=True)
    assert new_hash not in html and old_hash not in html and "pbkdf2" not in html
    assert "密码 : 已更改" in text_of(html)
    # The login bookkeeping of a user is no configuration change.
    before = len(entries())
    login_as("handler", "new-secret-42")
    assert len(entries()) == before


def test_channel_secrets_are_masked_in_the_log(world, login_as):
    admin = login_as("admin")
    secret = "sign-me-Zq81-very-secret"
    response = admin.post("/admin/notifychannels/save", data={
        "csrf_token": csrf_token(admin, "/admin/notifychannels/"), "webhook_enabled": "y",
        "webhook_url": "https://hooks.example.cn/griddesk", "webhook_secret": secret,
        "email_security": "none"})
    assert response.status_code == 302
    entry = entries(object_type="channel", object_id="webhook")[0]
    assert entry.actor_name == "admin" and entry.operation == "update"
    assert changes_of(entry) == {"enabled": (False, True),
                                 "url": (None, "https://hooks.example.cn/griddesk"),
                                 "secret": (None, "***")}
    assert secret not in json.dumps(entry.changes)
    html = admin.get(LOG).get_data(as_text=True)
    assert secret not in html
    page = text_of(html)
    assert "通知渠道 Webhook" in page or "通知渠道" in page
    assert "Webhook 地址 : — → https://hooks.example.cn/griddesk" in page
    assert "签名密钥 : 已设置" in page


# --- who reads it -------------------------------------------------------------------------------

@pytest.mark.parametrize("username, allowed", [
    ("admin", True), ("district", True), ("street", True), ("community", False),
    ("gridworker", False), ("handler", False), ("leader", False)])
def test_administrators_and_command_centres_read_the_log(world, login_as, username, allowed):
    client = login_as(username)
    response = client.get(LOG)
    assert response.status_code == (200 if allowed else 403)
    home = client.get("/admin/").get_data(as_text=True)
    assert (LOG in home) == allowed


def test_a_command_centre_sees_the_log_but_no_edit_links_it_may_not_follow(world, login_as):
    edit_rule_to_sanitation(world, login_as("admin"))
    page = text_of(login_as("district").get(LOG).get_data(as_text=True))
    assert "责任主体 : 本网格网格员 → 部门" in page


# --- insert-only --------------------------------------------------------------------------------

def test_nobody_edits_or_deletes_an_entry(world, login_as):
    admin = login_as("admin")
    edit_rule_to_sanitation(world, admin)
    entry = entries()[0]
    token = session_csrf_token(admin)
    refused = [
        admin.get(f"{LOG}new/"),
        admin.post(f"{LOG}new/", data={"csrf_token": token, "object_label": "x"}),
        admin.get(f"{LOG}edit/?id={entry.id}"),
        admin.post(f"{LOG}edit/?id={entry.id}", data={"csrf_token": token,
                                                      "object_label": "forged"}),
        admin.post(f"{LOG}delete/", data={"csrf_token": token, "id": str(entry.id)}),
        admin.post(f"{LOG}action/", data={"csrf_token": token, "action": "delete",
                                          "rowid": str(entry.id)}),
        admin.post(f"{LOG}ajax/update/", data={"csrf_token": token, "list_form_pk": str(entry.id),
                                               "object_label": "forged"}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    again = entries()[0]
    assert (again.id, again.object_label, again.changes) == \
        (entry.id, entry.object_label, entry.changes)
    html = admin.get(LOG).get_data(as_text=True)
    assert f"{LOG}new/" not in html and f"{LOG}edit/" not in html and f"{LOG}delete/" not in html
    details = admin.get(f"{LOG}details/?id={entry.id}")
    assert details.status_code == 200 and "区环卫中心" in details.get_data(as_text=True)


# --- filters and the history link ---------------------------------------------------------------

def filter_index(html: str, label: str) -> int:
    groups = json.loads(re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', html, re.S)
                        .group(1).replace("&#34;", '"').replace("&quot;", '"'))
    return groups[label][0]["index"]


def listed_types(html: str) -> list[str]:
    return re.findall(r'<td class="col-object_type">\s*(.*?)\s*</td>', html, re.S)


def test_filters_by_type_person_date_and_object(world, login_as):
    admin = login_as("admin")
    rule = edit_rule_to_sanitation(world, admin)
    html = admin.get(LOG).get_data(as_text=True)
    by_type, by_person = filter_index(html, "对象类型"), filter_index(html, "操作人")
    by_date = filter_index(html, "日期")

    only_rules = admin.get(f"{LOG}?flt0_{by_type}=dispatch_rule").get_data(as_text=True)
    assert set(listed_types(only_rules)) == {"派单规则"} and len(listed_types(only_rules)) == 2

    by_admin = admin.get(f"{LOG}?flt0_{by_person}=admin").get_data(as_text=True)
    assert listed_types(by_admin) == ["派单规则"]
    by_system = admin.get(f"{LOG}?flt0_{by_person}=system").get_data(as_text=True)
    assert "区环卫中心 #" not in by_system

    today = local_today()
    span = f"{today.isoformat()} to {today.isoformat()}"
    assert len(listed_types(admin.get(f"{LOG}?flt0_{by_date}={span}").get_data(as_text=True))) > 1
    past = today - timedelta(days=30)
    old = admin.get(f"{LOG}?flt0_{by_date}={past.isoformat()} to {past.isoformat()}")
    assert listed_types(old.get_data(as_text=True)) == []

    # The edit page links to the history of exactly that rule.
    edit = admin.get(f"/admin/dispatchrule/edit/?id={rule.id}").get_data(as_text=True)
    link = re.search(r'id="gd-config-history" href="([^"]+)"', edit).group(1).replace("&amp;", "&")
    history = admin.get(link).get_data(as_text=True)
    assert len(listed_types(history)) == 2  # created by the factories, then edited here
    other = Category(code="0199", name="其他环境问题", parent_id=world.categories["garbage"].parent_id)
    db.session.add(other)
    db.session.add(DispatchRule(category=other, area=world.areas["district"],
                                responsible_kind=ResponsibleKind.COMMUNITY_OFFICE))
    db.session.commit()
    assert len(listed_types(admin.get(link).get_data(as_text=True))) == 2


def test_bad_filter_values_give_a_page_not_an_error(world, login_as):
    admin = login_as("admin")
    html = admin.get(LOG).get_data(as_text=True)
    by_date = filter_index(html, "日期")
    assert admin.get(f"{LOG}?flt0_{by_date}=yesterday").status_code == 200


@pytest.mark.parametrize("path, object_type", [
    ("/admin/area/edit/?id={area}", "area"), ("/admin/department/edit/?id={department}", "department"),
    ("/admin/user/edit/?id={user}", "user"), ("/admin/category/edit/?id={category}", "category"),
])
def test_each_config_edit_page_links_to_its_history(world, login_as, path, object_type):
    ids = {"area": world.areas["grid1"].id, "department": world.departments["sanitation"].id,
           "user": world.users["handler"].id, "category": world.categories["garbage"].id}
    url = path.format(**ids)
    html = login_as("admin").get(url).get_data(as_text=True)
    link = re.search(r'id="gd-config-history" href="([^"]+)"', html)
    assert link and "变更记录" in html
    assert f"={object_type}" in link.group(1) and f"={url.rsplit('=', 1)[1]}" in link.group(1)


# --- the other paths ----------------------------------------------------------------------------

def test_import_areas_on_the_command_line_is_recorded(world, app, login_as, tmp_path):
    from .factories import square

    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(120.0, 30.01),
         "properties": {"code": "T01010103", "name": "甲三网格", "level": "grid",
                        "parent_code": "T010101"}},
        {"type": "Feature", "geometry": None,
         "properties": {"code": "T0101", "name": "一号街道（新名）", "level": "street",
                        "parent_code": "T01"}}]}, ensure_ascii=False), encoding="utf-8")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["import-areas", str(path)])
    assert result.exit_code == 0, result.output
    recorded = entries(object_type="area")[:2]
    assert {e.operation for e in recorded} == {"create", "update"}
    assert all(e.actor_name.startswith("cli:import-areas") and e.actor_id is None
               for e in recorded)
    renamed = next(e for e in recorded if e.operation == "update")
    assert changes_of(renamed) == {"name": ("一号街道", "一号街道（新名）")}
    page = text_of(login_as("admin").get(LOG).get_data(as_text=True))
    assert "命令行 import-areas" in page
    assert "名称 : 一号街道 → 一号街道（新名）" in page


def test_an_api_client_created_on_the_command_line_is_recorded_without_its_token(world, app):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["create-api-client", "热线系统"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    entry = entries(object_type="api_client")[0]
    assert entry.operation == "create" and entry.actor_name.startswith("cli:create-api-client")
    assert changes_of(entry)["token_hash"] == (None, "***")
    assert token not in json.dumps(entry.changes)


def test_message_templates_edited_in_the_panel_are_recorded(world, login_as):
    admin = login_as("admin")
    response = admin.post("/admin/notifytemplate/new/", data={
        "csrf_token": csrf_token(admin, "/admin/notifytemplate/new/"), "event_kind": "dispatch",
        "channel": "in_app", "subject": "新工单", "body": "工单 {{ number }} 已派给你", "active": "y"})
    assert response.status_code == 302
    template = db.session.execute(sa.select(NotificationTemplate)).scalar_one()
    entry = entries(object_type="notification_template")[0]
    assert entry.operation == "create" and changes_of(entry)["body"][1] == "工单 {{ number }} 已派给你"
    edit = admin.get(f"/admin/notifytemplate/edit/?id={template.id}").get_data(as_text=True)
    assert 'id="gd-config-history"' in edit


@pytest.fixture()
def kept_calendar_day(ctx):
    """The calendar survives between tests: the day a test edits is put back afterwards."""
    from datetime import date

    from models import WorkCalendarDay
    from models.tickets.deadlines import invalidate_calendar

    day = date(2026, 12, 31)
    row = db.session.get(WorkCalendarDay, day)
    saved = {c.key: getattr(row, c.key) for c in sa.inspect(WorkCalendarDay).column_attrs}
    yield day.isoformat()
    db.session.rollback()
    db.session.execute(sa.update(WorkCalendarDay).where(WorkCalendarDay.day == day).values(saved))
    db.session.commit()
    invalidate_calendar()


def test_a_calendar_day_edited_in_the_panel_is_recorded(world, kept_calendar_day, login_as):
    """The calendar is filled a year at a time (one entry for the year, by the calendar module);
    a day corrected by hand is an entry of its own."""
    admin = login_as("admin")
    day = kept_calendar_day
    url = f"/admin/calendar/edit/?id={day}"
    response = admin.post(url, data={"csrf_token": csrf_token(admin, url), "day": day,
                                     "note": "年终盘点"})  # no longer a working day
    assert response.status_code == 302
    entry = entries(object_type="work_calendar_day")[0]
    assert entry.object_id == day and entry.actor_name == "admin"
    changes = changes_of(entry)
    assert changes["is_workday"] == (True, False) and changes["note"] == (None, "年终盘点")
    edit = admin.get(url).get_data(as_text=True)
    assert 'id="gd-config-history"' in edit


def test_the_channel_settings_page_links_to_the_channels_history(world, login_as):
    html = login_as("admin").get("/admin/notifychannels/").get_data(as_text=True)
    link = re.search(r'id="gd-config-history" href="([^"]+)"', html)
    assert link and "=channel" in link.group(1)


def test_an_entry_recorded_by_a_domain_operation_reads_as_plain_text(world, login_as):
    """record_change is the entry point for changes told as one entry (a calendar year)."""
    from models.audit import record_change

    record_change(world.users["admin"], "work_calendar_year", 2027, "2027 年放假安排", "update",
                  {"holidays": (["2027-01-01 元旦"],
                                ["2027-01-01 元旦", "2027-02-05 至 2027-02-11 春节"]),
                   "unchanged": (1, 1)})
    db.session.commit()
    entry = entries(object_type="work_calendar_year")[0]
    assert [row["field"] for row in entry.changes] == ["holidays"]
    page = text_of(login_as("district").get(LOG).get_data(as_text=True))
    assert "工作日历（年） 2027 年放假安排" in page
    assert "2027-01-01 元旦 → 2027-01-01 元旦；2027-02-05 至 2027-02-11 春节" in page


def test_an_administrator_created_on_the_command_line_is_recorded_without_the_password(world, app):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["create-admin", "ops", "--password",
                                                "cli-secret-123"])
    assert result.exit_code == 0, result.output
    entry = entries(object_type="user")[0]
    assert entry.operation == "create" and entry.actor_name.startswith("cli:create-admin")
    assert entry.object_label == "ops（ops）"
    assert changes_of(entry)["password"] == (None, "***")
    assert changes_of(entry)["role"] == (None, "admin")
    assert "cli-secret-123" not in json.dumps(entry.changes) and "pbkdf2" not in json.dumps(entry.changes)
