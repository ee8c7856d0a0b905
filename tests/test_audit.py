"""The configuration audit trail (变更记录): every configuration change is recorded with who, when,
what and each field before → after, through every path; administrators and command centres read
it on one page; nobody edits or deletes an entry."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import (Category, ConfigChange, DeadlineUnit, Department, DispatchRule,
                     NotificationTemplate, ResponsibleKind, User, db)
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
