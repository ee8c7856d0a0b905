"""Categories configured in the admin panel: escalation policy, public listing on Open311 and
custom fields (checked before they are saved), and what Open311 then shows."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from models import Category, db
from models.people.tokens import create_api_client

from .conftest import csrf_token


def form_of(category: Category, **changes) -> dict:
    data = {"code": category.code, "name": category.name,
            "parent": str(category.parent_id or "__None"),
            "handling_level": category.handling_level.value,
            "accept_deadline": str(category.accept_deadline),
            "accept_deadline_unit": category.accept_deadline_unit.value,
            "handle_deadline": str(category.handle_deadline),
            "handle_deadline_unit": category.handle_deadline_unit.value,
            "duplicate_radius_m": str(category.duplicate_radius_m),
            "sort_order": str(category.sort_order), "active": "y",
            "escalate_when_overdue": "y", "listed_publicly": "y", "custom_fields_text": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def save(admin, category: Category, **changes):
    url = f"/admin/category/edit/?id={category.id}"
    data = form_of(category, **changes)
    data["csrf_token"] = csrf_token(admin, url)
    return admin.post(url, data=data, follow_redirects=True)


def stored(category_id: int) -> Category:
    db.session.expire_all()
    return db.session.get(Category, category_id)


FIELDS = [{"code": "bins", "label": "满溢桶数", "type": "number", "required": True},
          {"code": "kind", "label": "垃圾类型", "type": "singlevaluelist",
           "values": [{"key": "household", "name": "生活垃圾"}]}]


def test_policy_public_listing_and_custom_fields_are_edited_in_the_panel(world, login_as):
    garbage = world.categories["garbage"]
    admin = login_as("admin")
    page = admin.get(f"/admin/category/edit/?id={garbage.id}").get_data(as_text=True)
    for label in ("超期自动上报", "在 Open311 公开列出", "自定义字段（JSON）"):
        assert label in page
    response = save(admin, garbage, escalate_when_overdue=None, listed_publicly=None,
                    custom_fields_text=json.dumps(FIELDS, ensure_ascii=False))
    assert response.status_code == 200
    saved = stored(garbage.id)
    assert (saved.escalate_when_overdue, saved.listed_publicly) == (False, False)
    assert saved.custom_fields == FIELDS
    again = admin.get(f"/admin/category/edit/?id={garbage.id}").get_data(as_text=True)
    assert "满溢桶数" in again  # the fields are shown back for editing


@pytest.mark.parametrize("text, words", [
    ("{not json", "不是有效的 JSON（第 1 行第 2 列）"),
    ('{"code": "bins"}', "JSON 列表"),
    ('[{"code": "1bins", "label": "x"}]', "字母开头"),
    ('[{"code": "bins", "label": "x"}, {"code": "bins", "label": "y"}]', "用了两次"),
    ('[{"code": "bins"}]', "需要名称"),
    ('[{"code": "bins", "label": "x", "type": "colour"}]', "colour"),
    ('[{"code": "bins", "label": "x", "required": "yes"}]', "true 或 false"),
    ('[{"code": "kind", "label": "x", "type": "singlevaluelist"}]', "取值"),
])
def test_bad_custom_fields_are_refused_and_nothing_changes(world, login_as, text, words):
    garbage = world.categories["garbage"]
    admin = login_as("admin")
    html = save(admin, garbage, name="改了名字", custom_fields_text=text).get_data(as_text=True)
    assert words in html, html[html.find("alert"):][:600]
    saved = stored(garbage.id)
    assert saved.name == garbage.name and saved.custom_fields is None


def test_cases_of_a_category_off_the_public_list_are_not_shown_on_open311(world, client):
    _c, token = create_api_client("Open311 客户端")
    disputes = Category(code="0301", name="邻里纠纷", parent=Category(
        code="03", name="居民矛盾纠纷", listed_publicly=False))
    db.session.add(disputes)
    db.session.commit()
    numbers = {}
    for code in ("0101", "0301"):
        posted = client.post("/open311/v2/requests.json", data={
            "api_key": token, "service_code": code, "lat": "30.005", "long": "120.005",
            "description": "测试"})
        assert posted.status_code == 200, posted.get_data(as_text=True)
        numbers[code] = posted.get_json()[0]["service_request_id"]
    listed = [r["service_request_id"] for r in client.get("/open311/v2/requests.json").get_json()]
    assert listed == [numbers["0101"]]
    assert client.get(f"/open311/v2/requests/{numbers['0301']}.xml").status_code == 404
    assert client.get(f"/open311/v2/requests.json?service_request_id={numbers['0301']}"
                      ).get_json() == []
    # Still a service people can report to.
    codes = [s["service_code"] for s in client.get("/open311/v2/services.json").get_json()]
    assert "0301" in codes
    # Unticking only the sub-category hides it as well; ticking the parent again shows it.
    parent = db.session.execute(sa.select(Category).where(Category.code == "03")).scalar_one()
    parent.listed_publicly = True
    db.session.commit()
    assert client.get(f"/open311/v2/requests/{numbers['0301']}.json").status_code == 200


@pytest.mark.parametrize("field, value, words", [
    ("handle_deadline", "0", "请填写 1 到 9999 之间的整数"),  # WTForms' own said 必须大于 1
    ("accept_deadline", "99999999999999999999", "请填写 1 到 9999 之间的整数"),
    ("sort_order", "99999999999999999999", "不超过 2147483647 的整数"),  # was the database's error
    ("duplicate_radius_m", "-5", "请填写 0 到 5000 之间的整数"),
])
def test_numbers_out_of_range_are_refused_in_words(world, login_as, field, value, words):
    garbage = world.categories["garbage"]
    admin = login_as("admin")
    html = save(admin, garbage, name="改了名字", **{field: value}).get_data(as_text=True)
    assert words in html, html[html.find("invalid-feedback"):][:600]
    assert "Python int" not in html and "Failed" not in html
    if "9999 之间" in words:  # the field's own range says it: not a second message beside it
        assert "不超过 2147483647" not in html
    assert stored(garbage.id).name == garbage.name
