"""No 500 on any input (issue 13, point 4): what an attacker or a careless client sends is
refused at the edge with a clear message in the caller's language and format — JSON under /api/,
the GeoReport error list (JSON or XML) under /open311/, a page for people — and changes nothing.
Each case here was a 500 (or silently stored) before the edge checks."""
from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from models import Ticket, db
from models.people.tokens import create_api_client

from .conftest import csrf_token, session_csrf_token
from .test_api import auth, new_ticket, token_for
from .test_public_pages import send_report

NUL_TEXT = "空字符"  # in the Chinese refusal of a NUL character
PAST_BIGINT = str(2 ** 64)


def ticket_count() -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one()


def api_error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    return response.get_json()["error"]["message"]


def open311_error(response, status: int) -> str:
    """The GeoReport v2 error list, in the format the resource's extension asks for."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if response.mimetype == "text/xml":
        root = ET.fromstring(response.data)
        assert root.tag == "errors" and root.find("error/code").text == str(status)
        return root.find("error/description").text
    assert response.mimetype == "application/json"
    [error] = response.get_json()
    assert error["code"] == status
    return error["description"]


@pytest.fixture()
def api(world, client):
    return auth(token_for(client, "community"))


# --- NUL characters ------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "/open311/v2/requests.json?service_request_id=GD%00",
    "/open311/v2/requests.xml?service_code=0101%00",
    "/open311/v2/requests/%00.json",
    "/open311/v2/services/0101%00.xml",
    "/open311/v2/tokens/a%00.json",
])
def test_a_nul_in_the_public_open311_reads_is_400_in_the_spec_format(world, client, url):
    response = client.get(url)
    assert NUL_TEXT in open311_error(response, 400)
    assert response.mimetype == ("text/xml" if ".xml" in url else "application/json")


def test_a_nul_anywhere_in_an_api_request_is_400_json_and_creates_nothing(world, client, api):
    for url in ("/api/v1/tickets?category=%00", "/api/v1/tickets?area=01%00",
                "/api/v1/stats?area=%00", "/api/v1/stats/hotspots?category=%00"):
        assert NUL_TEXT in api_error(client.get(url, headers=api), 400), url
    token = api["Authorization"][7:]
    assert NUL_TEXT in api_error(new_ticket(client, token, description="垃圾桶\x00满溢"), 400)
    assert NUL_TEXT in api_error(new_ticket(client, token, address="东门\x00"), 400)
    keyed = client.post("/api/v1/tickets", headers={**api, "Idempotency-Key": "k\x00"}, json={
        "category": "0101", "description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004})
    assert NUL_TEXT in api_error(keyed, 400)
    signed = client.post("/api/v1/auth/token", json={"username": "community\x00", "password": "x"})
    assert NUL_TEXT in api_error(signed, 400)
    assert ticket_count() == 0


def test_a_nul_in_an_open311_post_is_400_and_creates_nothing(world, client):
    _c, key = create_api_client("城市APP")
    db.session.commit()
    for fmt in ("json", "xml"):
        response = client.post(f"/open311/v2/requests.{fmt}", data={
            "api_key": key, "service_code": "0101", "lat": "30.005", "long": "120.005",
            "description": "垃圾桶满溢\x00"})
        assert NUL_TEXT in open311_error(response, 400)
    assert ticket_count() == 0


def test_a_nul_in_the_resident_form_and_the_phone_report_is_refused(world, client, login_as):
    sent = client.post("/report", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/report"),
        "category_id": str(world.categories["garbage"].id), "description": "垃圾桶满了\x00",
        "lat": "30.005", "lon": "120.005", "phone": "13611112222", "website": ""})
    assert sent.status_code == 400 and NUL_TEXT in sent.get_data(as_text=True)
    assert sent.mimetype == "text/html"
    # in the residents' own layout, not the staff panel's (its menu, 登录, a link to /admin/)
    assert 'class="p-body"' in sent.get_data(as_text=True)
    assert "/admin/" not in sent.get_data(as_text=True)
    phone = login_as("gridworker")
    reported = phone.post("/m/api/reports", headers={
        "X-CSRFToken": session_csrf_token(phone), "Accept": "application/json"}, data={
        "category_id": str(world.categories["garbage"].id), "description": "路边垃圾堆\x00",
        "lat": "30.005", "lon": "120.005"})
    assert NUL_TEXT in api_error(reported, 400)
    assert ticket_count() == 0
    suggested = client.get("/report/suggest?text=%00", headers={"Accept": "application/json"})
    assert suggested.status_code == 400 and suggested.mimetype == "application/json"


# --- types and lengths of JSON bodies ----------------------------------------------------------
@pytest.mark.parametrize("field, value, words", [
    ("title", 123, "须为文本"), ("coord_system", 5, "须为文本"), ("reporter_phone", 13900001111, "须为文本"),
    ("lat", "北纬三十度", "须为数字"), ("attributes", "bins=3", "须为对象"),
])
def test_a_json_field_of_the_wrong_type_is_422_naming_the_field(world, client, api, field, value,
                                                                words):
    message = api_error(new_ticket(client, api["Authorization"][7:], **{field: value}), 422)
    assert message.startswith(field) and words in message
    assert ticket_count() == 0


def test_over_long_texts_are_refused_before_a_ticket_number_is_taken(world, client, api):
    token = api["Authorization"][7:]
    for field, limit in (("address", 255), ("reporter_name", 64), ("reporter_email", 255),
                         ("title", 200)):
        message = api_error(new_ticket(client, token, **{field: "长" * (limit + 1)}), 422)
        assert field in message and f"{limit} 个字符" in message
    # The resident's form has no body schema: the domain refuses before numbering.
    refused = send_report(client, world, address="路" * 256)
    assert refused.status_code == 422 and "地址 超过 255 个字符" in refused.get_data(as_text=True)
    assert ticket_count() == 0
    assert send_report(client, world, address="路" * 255).status_code == 302
    first = new_ticket(client, token, address="长" * 255)
    assert first.status_code == 201, first.get_json()
    numbers = db.session.execute(sa.select(Ticket.number).order_by(Ticket.id)).scalars().all()
    assert [n[-4:] for n in numbers] == ["0001", "0002"]  # no number used up by a refusal


def test_numbers_in_action_bodies_are_checked(world, client, api):
    ticket = new_ticket(client, api["Authorization"][7:]).get_json()
    url = f"/api/v1/tickets/{ticket['id']}/actions/assign"
    for body, field in (({"version": True}, "version"), ({"version": 1, "user_id": 2 ** 40}, "user_id"),
                        ({"version": 1, "department_ids": "3"}, "department_ids"),
                        ({"version": 1, "master_number": 7}, "master_number")):
        assert api_error(client.post(url, json=body, headers=api), 422).startswith(field)


# --- numbers, filters, cursors and dates in list URLs ------------------------------------------
def test_out_of_range_and_unknown_list_filters_are_refused(world, client, api):
    assert "assignee" in api_error(client.get(f"/api/v1/tickets?assignee={PAST_BIGINT}",
                                              headers=api), 422)
    assert "assignee" in api_error(client.get("/api/v1/tickets?assignee=-1", headers=api), 422)
    assert "overdue" in api_error(client.get("/api/v1/tickets?overdue=maybe", headers=api), 422)


def test_a_forged_cursor_is_400(world, client, api):
    def cursor(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    for forged in ("garbage!", cursor(b"2026-01-01T00:00:00+00:00|" + PAST_BIGINT.encode()),
                   cursor(b"2026-01-01T00:00:00|1"), cursor(b"0001-01-01T00:00:00+00:00|1"),
                   cursor(b"\xff\xfe")):
        response = client.get(f"/api/v1/tickets?cursor={forged}", headers=api)
        assert response.get_json()["error"]["code"] == "bad_request"
        api_error(response, 400)


@pytest.mark.parametrize("url", [
    "/api/v1/tickets?created_from=0001-01-01", "/api/v1/tickets?created_to=9999-12-31",
    "/api/v1/tickets?created_from=9999-12-31T23:59:59-12:00",
    "/api/v1/stats?from=0001-01-01", "/api/v1/stats?to=9999-12-31",
    "/api/v1/stats/hotspots?from=0001-01-01", "/api/v1/stats/seasonality?to=9999-12-31",
])
def test_extreme_dates_in_the_api_are_422(world, client, api, url):
    assert "1900-01-01" in api_error(client.get(url, headers=api), 422)


@pytest.mark.parametrize("query", ["start_date=0001-01-01", "end_date=9999-12-31T00:00:00Z",
                                   "start_date=0001-01-01T00:00:00Z&end_date=0001-01-02"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_extreme_open311_dates_are_400(world, client, query, fmt):
    assert "1900-01-01" in open311_error(client.get(f"/open311/v2/requests.{fmt}?{query}"), 400)


def test_a_huge_inbox_page_is_the_first_page(world, login_as):
    assert login_as("community").get(f"/admin/inbox/?page={PAST_BIGINT}").status_code == 200


# --- JSON clients get JSON (or the spec's XML) ---------------------------------------------------
def test_open311_errors_outside_v2_follow_the_extension(world, client):
    assert open311_error(client.get("/open311/v1/services.xml"), 404)
    assert open311_error(client.get("/open311/v1/services.json"), 404)
    assert open311_error(client.post("/open311/v2/requests.xml", data=b"x" * (33 << 20),
                                     content_type="application/x-www-form-urlencoded"), 413)


def test_api_refusals_are_json(world, client, api):
    assert api_error(client.get("/api/v1/no-such-thing", headers=api), 404)
    assert api_error(client.delete("/api/v1/tickets", headers=api), 405)
    assert api_error(client.post("/api/v1/tickets", headers=api, data=io.BytesIO(b"x" * (33 << 20)),
                                 content_type="application/json"), 413)


def test_a_multipart_part_without_a_name_is_refused_not_a_500(world, client, api):
    """Found by tests/test_api_fuzz.py: the Idempotency-Key digest sorted a part named None."""
    ticket = new_ticket(client, api["Authorization"][7:]).get_json()
    body = (b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nx\r\n'
            b'--b\r\nContent-Disposition: form-data\r\n\r\ny\r\n--b--\r\n')
    response = client.post(f"/api/v1/tickets/{ticket['id']}/attachments", data=body,
                           content_type="multipart/form-data; boundary=b",
                           headers={**api, "Idempotency-Key": "photo-1"})
    assert "file" in api_error(response, 422)


# --- digits of other scripts, huge numbers, surrogates, deep nesting (each a 500 before) -------
def test_only_the_digits_0_to_9_make_a_number(world, client, api):
    """"²" passed str.isdigit and failed int(): a 500 wherever a number was read; "١" (Arabic
    one) was read as 1. Both are no number now: a 422 naming the field, or no such page."""
    ticket = new_ticket(client, api["Authorization"][7:]).get_json()
    url = f"/api/v1/tickets/{ticket['id']}/actions"
    for digit in ("²", "١"):
        assert api_error(client.post(f"{url}/note", json={"version": digit, "note": "x"},
                                     headers=api), 422).startswith("version")
        assert api_error(client.post(f"{url}/assign", json={
            "version": ticket["version"], "department_id": digit}, headers=api),
            422).startswith("department_id")
        assert "assignee" in api_error(client.get(f"/api/v1/tickets?assignee={digit}",
                                                  headers=api), 422)
    assert client.get("/api/v1/tickets/%D9%A1", headers=api).status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=api).status_code == 200


def test_whole_number_takes_ascii_digits_within_range():
    from models.fields import BIGINT_MAX, whole_number

    assert [whole_number(v) for v in ("12", " 7 ", "²", "١", "1²", "-1", "", None, "3.0")] == \
        [12, 7, None, None, None, None, None, None, None]
    assert whole_number(str(2 ** 31)) is None and whole_number(str(2 ** 31), BIGINT_MAX) == 2 ** 31


def test_a_number_too_large_for_a_double_is_refused(world, client, api):
    body = ('{"category": "0101", "description": "垃圾桶满溢", "lat": ' + "9" * 400
            + ', "lon": 120.004}')
    response = client.post("/api/v1/tickets", data=body, headers={
        **api, "Content-Type": "application/json"})
    assert api_error(response, 422).startswith("lat")
    assert ticket_count() == 0


def test_a_huge_whole_number_attribute_is_kept_as_a_number_not_a_500(world, client, api):
    """2 ** 70 in a number field: the ticket is created and its attribute read back (orjson
    refused an integer past 64 bits after the ticket was written)."""
    from .test_open311 import GARBAGE_FIELDS

    world.categories["garbage"].custom_fields = GARBAGE_FIELDS
    db.session.commit()
    token = api["Authorization"][7:]
    response = new_ticket(client, token, attributes={
        "bins": 2 ** 70, "kind": "household"})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.get_json()["attributes"]["bins"] == float(2 ** 70)
    exact = new_ticket(client, token, attributes={"bins": 3}).get_json()
    assert exact["attributes"]["bins"] == 3 and isinstance(exact["attributes"]["bins"], int)


def test_half_a_surrogate_pair_in_json_is_400_and_changes_nothing(world, client, api):
    """"\\ud800" parses to a string no database stores (a 500 at the INSERT); a whole pair, an
    emoji escaped as two halves, is a character like any other."""
    token = api["Authorization"][7:]
    body = '{"category": "0101", "description": "垃圾\\ud800桶满溢", "lat": 30.006, "lon": 120.004}'
    response = client.post("/api/v1/tickets", data=body, headers={
        **api, "Content-Type": "application/json"})
    assert "代理码" in api_error(response, 400)
    assert ticket_count() == 0
    ticket = new_ticket(client, token).get_json()
    note = client.post(f"/api/v1/tickets/{ticket['id']}/actions/note", data=(
        '{"version": %d, "note": "\\udfff"}' % ticket["version"]), headers={
        **api, "Content-Type": "application/json"})
    assert "代理码" in api_error(note, 400)
    emoji = client.post("/api/v1/tickets", data=body.replace("\\ud800", "\\ud83d\\ude00"),
                        headers={**api, "Content-Type": "application/json"})
    assert emoji.status_code == 201 and "\U0001F600" in emoji.get_json()["description"]


def test_a_body_nested_too_deeply_is_400(world, client, api):
    body = '{"category": "0101", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post("/api/v1/tickets", data=body, headers={
        **api, "Content-Type": "application/json"})
    assert "嵌套" in api_error(response, 400)
    assert ticket_count() == 0


def test_descriptions_notes_and_photos_have_a_limit(world, client, api):
    """A description or note of more than 10,000 characters (a document pasted by mistake) and
    more than nine photos in one step are refused, in every channel that reaches the model."""
    from models.tickets.attachments import MAX_PHOTOS_PER_STEP
    from .test_public_pages import photo

    token = api["Authorization"][7:]
    message = api_error(new_ticket(client, token, description="长" * 10_001), 422)
    assert message.startswith("description") and "10000 个字符" in message
    assert ticket_count() == 0
    assert new_ticket(client, token, description="长" * 10_000).status_code == 201
    ticket = new_ticket(client, token).get_json()
    url = f"/api/v1/tickets/{ticket['id']}"
    assert api_error(client.post(f"{url}/actions/note", json={
        "version": ticket["version"], "note": "记" * 10_001}, headers=api),
        422).startswith("note")
    photos = client.post(f"{url}/attachments", headers=api, data={
        "version": str(ticket["version"]), "note": "现场照片",
        "file": [(io.BytesIO(photo()), f"p{i}.jpg") for i in range(MAX_PHOTOS_PER_STEP + 1)]},
        content_type="multipart/form-data")
    assert "最多添加 9 张照片" in api_error(photos, 422)
    assert client.get(url, headers=api).get_json()["version"] == ticket["version"]
    # The model refuses too, whatever the caller (the ticket page, the phone pages, jobs).
    from models.errors import ActionInvalid
    from models.tickets.actions import Actor
    from models.tickets.workflow import perform

    row = db.session.get(Ticket, ticket["id"])
    with pytest.raises(ActionInvalid, match="10000"):
        perform(row, "note", Actor.staff(world.users["community"]),
                expected_version=row.version, note="记" * 10_001)
    db.session.rollback()


def test_a_page_size_outside_1_to_200_is_refused(world, client, api):
    """limit=0 and -1 answered one item, 10**9 two hundred: the document says 1 to 200."""
    for value in ("0", "-1", "201", "1000000000", "²"):
        assert "limit" in api_error(client.get(f"/api/v1/tickets?limit={value}", headers=api),
                                    422), value
    assert client.get("/api/v1/tickets?limit=200", headers=api).status_code == 200
    assert client.get("/api/v1/tickets?limit=", headers=api).status_code == 200


def test_an_error_in_the_field_app_keeps_its_layout(world, client, login_as):
    """A ticket outside the grid worker's own, opened from an old link: the field app's 404,
    back to their tasks, not the desktop panel's page."""
    from .factories import make_ticket

    other = make_ticket(world, "grid3")
    db.session.commit()
    page = login_as("gridworker").get(f"/m/tickets/{other.id}")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert 'class="m-body"' in html and 'id="m-error"' in html and 'href="/m/"' in html
    assert "/admin/" not in html


def test_one_email_rule_for_the_api_and_open311(world, client, api):
    """The API stored "notanemail" where Open311 refused it; Open311 cut a long name to 64."""
    token = api["Authorization"][7:]
    for bad in ("notanemail", "a@b", "@example.com", "张三 @example.com"):
        assert "电子邮件地址无效" in api_error(new_ticket(client, token, reporter_email=bad), 422)
    assert ticket_count() == 0
    made = new_ticket(client, token, reporter_email=" zhang@example.com ")
    assert made.status_code == 201
    assert db.session.get(Ticket, made.get_json()["id"]).reporter_email == "zhang@example.com"
    _c, key = create_api_client("城市APP")
    db.session.commit()
    form = {"api_key": key, "service_code": "0101", "lat": "30.005", "long": "120.005",
            "description": "垃圾桶满溢"}
    assert "电子邮件地址无效" in open311_error(client.post("/open311/v2/requests.json", data={
        **form, "email": "notanemail"}), 400)
    named = client.post("/open311/v2/requests.json", data={**form, "first_name": "长" * 65})
    assert "64" in open311_error(named, 400)
    assert ticket_count() == 1


def test_a_list_filter_given_twice_is_refused_not_half_read(world, client, api):
    message = api_error(client.get("/api/v1/tickets?status=pending&status=closed", headers=api),
                        422)
    assert message.startswith("status") and "逗号" in message
    assert client.get("/api/v1/tickets?status=pending,closed", headers=api).status_code == 200
