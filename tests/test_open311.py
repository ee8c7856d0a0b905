"""Open311 GeoReport v2 at /open311/v2/, checked field by field against the spec in JSON and XML.

Spec: http://wiki.open311.org/GeoReport_v2 and http://wiki.open311.org/Service_Discovery.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PIL import Image

from integrations.open311.mapping import MAX_REQUESTS
from models import Category, Source, Ticket, TicketStatus, db, utcnow
from models.areas.locate import invalidate_area_index
from models.people.tokens import create_api_client
from models.tickets.tables import Attachment, TicketEvent
from models.tickets.timeline import append_event
from models.vocabulary import AttachmentKind

from .factories import build_world, make_ticket

BASE = "/open311/v2"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords",
                  "group"]
ATTRIBUTE_FIELDS = ["variable", "code", "datatype", "required", "datatype_description", "order",
                    "description"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"]
GARBAGE_FIELDS = [
    {"code": "bins", "label": "满溢桶数", "type": "number", "required": True,
     "hint": "整数，如 3"},
    {"code": "kind", "label": "垃圾类型", "type": "singlevaluelist", "required": False,
     "values": [{"key": "household", "name": "生活垃圾"}, {"key": "construction", "name": "建筑垃圾"}]},
    {"code": "smell", "label": "异味来源", "type": "multivaluelist",
     "values": [{"key": "bin", "name": "垃圾桶"}, {"key": "drain", "name": "下水道"}]},
    {"code": "seen_at", "label": "发现时间", "type": "datetime"},
]
SHANGHAI = timedelta(hours=8)


@pytest.fixture()
def world(ctx):
    invalidate_area_index()
    w = build_world()
    w.categories["garbage"].custom_fields = GARBAGE_FIELDS
    road = Category(code="0102", name="道路保洁", parent=w.categories["top"], sort_order=200)
    closed = Category(code="0103", name="停用小类", parent=w.categories["top"], active=False)
    db.session.add_all([road, closed])
    w.categories.update(road=road, inactive=closed)
    _c, w.token = create_api_client("城市APP")
    _c, w.community_token = create_api_client("甲社区小程序", w.areas["community1"])
    _c, w.street_token = create_api_client("二号街道热线", w.areas["street2"])
    revoked, w.revoked_token = create_api_client("已停用客户端")
    revoked.active = False
    db.session.commit()
    return w


# --- helpers --------------------------------------------------------------------------------------
def as_json(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()


def as_xml(response, status=200) -> ET.Element:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.data.startswith(XML_DECLARATION)
    response.data.decode("utf-8")  # UTF-8 throughout
    return ET.fromstring(response.data)


def tags(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def text(element: ET.Element, name: str) -> str | None:
    found = element.find(name)
    assert found is not None, f"<{name}> missing in <{element.tag}>"
    return found.text


def local_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == SHANGHAI, value
    assert parsed.microsecond == 0
    return parsed


def post(client, fmt="json", **fields):
    return client.post(f"{BASE}/requests.{fmt}", data=fields)


def good_request(world, **overrides) -> dict:
    fields = {"api_key": world.token, "service_code": "0101", "lat": "30.005", "long": "120.005",
              "address_string": "测试路 1 号", "description": "垃圾桶满溢，\n已两天没有清运",
              "attribute[bins]": "3", "attribute[kind]": "household",
              "attribute[smell][]": ["bin", "drain"],
              "attribute[seen_at]": "2026-11-20T08:30:00+08:00",
              "first_name": "小明", "last_name": "王", "phone": "138-1234-5678",
              "email": "wang@example.com", "media_url": "https://img.example.com/a.jpg",
              "account_id": "u-42", "device_id": "dev-1"}
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def ticket_count() -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count(Ticket.id))).scalar_one()


def assert_error(response, fmt: str, status: int) -> str:
    """The spec's error format: a list of {code, description}, the code matching the status."""
    if fmt == "json":
        body = as_json(response, status)
        assert isinstance(body, list) and len(body) == 1
        assert list(body[0]) == ["code", "description"]
        assert body[0]["code"] == status and body[0]["description"]
        return body[0]["description"]
    root = as_xml(response, status)
    assert root.tag == "errors" and tags(root) == ["error"]
    assert tags(root[0]) == ["code", "description"]
    assert text(root[0], "code") == str(status) and text(root[0], "description")
    return text(root[0], "description")


# --- discovery ------------------------------------------------------------------------------------
def test_discovery_in_json_and_xml(world, client):
    body = as_json(client.get(f"{BASE}/discovery.json"))
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    assert body["changeset"] and body["contact"] and body["key_service"]
    assert body["endpoints"] == [{
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://localhost/open311/v2", "changeset": body["changeset"],
        "type": "production", "formats": ["application/json", "text/xml"]}]

    root = as_xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert tags(root) == ["changeset", "contact", "key_service", "endpoints"]
    assert text(root, "changeset") == body["changeset"] and text(root, "contact") == body["contact"]
    endpoint = root.find("endpoints/endpoint")
    assert tags(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert text(endpoint, "specification") == "http://wiki.open311.org/GeoReport_v2"
    assert text(endpoint, "url") == "http://localhost/open311/v2"
    assert text(endpoint, "type") == "production"
    assert [f.text for f in endpoint.findall("formats/format")] == ["application/json", "text/xml"]


# --- services -------------------------------------------------------------------------------------
def test_services_are_the_active_sub_categories(world, client):
    body = as_json(client.get(f"{BASE}/services.json"))
    assert [s["service_code"] for s in body] == ["0101", "0102"]  # not the top one, not inactive
    garbage, road = body
    assert list(garbage) == SERVICE_FIELDS
    assert garbage["service_name"] == "垃圾清运" and garbage["group"] == "街面环境卫生"
    assert garbage["metadata"] is True and road["metadata"] is False
    assert garbage["type"] == road["type"] == "realtime"
    assert "垃圾清运" in garbage["keywords"] and "街面环境卫生" in garbage["keywords"]
    assert "垃圾清运" in garbage["description"]

    root = as_xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and tags(root) == ["service", "service"]
    for element, expected in zip(root, body):
        assert tags(element) == SERVICE_FIELDS
        assert text(element, "service_code") == expected["service_code"]
        assert text(element, "service_name") == expected["service_name"]
        assert text(element, "description") == expected["description"]
        assert text(element, "metadata") == ("true" if expected["metadata"] else "false")
        assert text(element, "type") == "realtime"
        assert text(element, "keywords") == expected["keywords"]
        assert text(element, "group") == expected["group"]


def test_service_definition_publishes_the_custom_fields(world, client):
    body = as_json(client.get(f"{BASE}/services/0101.json"))
    assert list(body) == ["service_code", "attributes"] and body["service_code"] == "0101"
    bins, kind, smell, seen = body["attributes"]
    assert bins == {"variable": True, "code": "bins", "datatype": "number", "required": True,
                    "datatype_description": "整数，如 3", "order": 1, "description": "满溢桶数"}
    assert list(kind) == ATTRIBUTE_FIELDS + ["values"]
    assert kind["datatype"] == "singlevaluelist" and kind["required"] is False
    assert kind["order"] == 2 and kind["datatype_description"] is None
    assert kind["values"] == [{"key": "household", "name": "生活垃圾"},
                              {"key": "construction", "name": "建筑垃圾"}]
    assert smell["datatype"] == "multivaluelist" and smell["order"] == 3
    assert seen["datatype"] == "datetime" and "values" not in seen

    root = as_xml(client.get(f"{BASE}/services/0101.xml"))
    assert root.tag == "service_definition" and tags(root) == ["service_code", "attributes"]
    attributes = root.findall("attributes/attribute")
    assert len(attributes) == 4
    assert tags(attributes[0]) == ATTRIBUTE_FIELDS
    assert [text(attributes[0], f) for f in ATTRIBUTE_FIELDS] == [
        "true", "bins", "number", "true", "整数，如 3", "1", "满溢桶数"]
    assert tags(attributes[1]) == ATTRIBUTE_FIELDS + ["values"]
    assert text(attributes[1], "datatype_description") is None  # <datatype_description/>
    assert [(text(v, "key"), text(v, "name")) for v in attributes[1].findall("values/value")] == [
        ("household", "生活垃圾"), ("construction", "建筑垃圾")]

    empty = as_json(client.get(f"{BASE}/services/0102.json"))
    assert empty == {"service_code": "0102", "attributes": []}
    assert tags(as_xml(client.get(f"{BASE}/services/0102.xml")).find("attributes")) == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("code", ["9999", "01", "0103"])  # unknown, top category, inactive
def test_unknown_service_definition_is_404(world, client, fmt, code):
    description = assert_error(client.get(f"{BASE}/services/{code}.{fmt}"), fmt, 404)
    assert code in description


# --- POST requests --------------------------------------------------------------------------------
def test_post_request_in_json_creates_a_dispatched_ticket(world, client):
    body = as_json(post(client, **good_request(world)))
    assert isinstance(body, list) and len(body) == 1
    assert list(body[0]) == ["service_request_id", "service_notice", "account_id"]
    assert body[0]["account_id"] == "u-42"
    db.session.expire_all()
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    assert body[0]["service_request_id"] == ticket.number
    assert ticket.assigned_department.name in body[0]["service_notice"]
    assert ticket.source == Source.OPEN311 and ticket.status == TicketStatus.PENDING
    assert ticket.grid_id == world.areas["grid1"].id
    assert (ticket.lat, ticket.lon) == (30.005, 120.005)
    assert ticket.address == "测试路 1 号"
    assert ticket.description == "垃圾桶满溢，\n已两天没有清运"
    assert ticket.reporter_name == "王小明"  # family name first, as written in Chinese
    assert ticket.reporter_phone == "13812345678" and ticket.reporter_email == "wang@example.com"
    assert ticket.attributes == {"bins": 3, "kind": "household", "smell": ["bin", "drain"],
                                 "seen_at": "2026-11-20T08:30:00+08:00",
                                 "media_url": "https://img.example.com/a.jpg"}
    assert ticket.assigned_department_id == world.departments["street1_centre"].id
    assert ticket.handle_deadline is not None


def test_post_request_in_xml(world, client):
    root = as_xml(post(client, "xml", **good_request(world, account_id=None, first_name="John",
                                                          last_name="Smith")))
    assert root.tag == "service_requests" and tags(root) == ["request"]
    assert tags(root[0]) == ["service_request_id", "service_notice", "account_id"]
    assert text(root[0], "account_id") is None  # <account_id/>
    db.session.expire_all()
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    assert text(root[0], "service_request_id") == ticket.number
    assert text(root[0], "service_notice")
    assert ticket.reporter_name == "John Smith"


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_with_a_photo_keeps_it_on_the_report(world, client, fmt):
    fields = good_request(world)
    fields["media"] = (io.BytesIO(jpeg_bytes()), "现场.jpg")
    response = client.post(f"{BASE}/requests.{fmt}", data=fields,
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    [photo] = db.session.execute(sa.select(Attachment)).scalars().all()
    created = db.session.get(TicketEvent, photo.event_id)
    assert (photo.ticket_id, created.action, created.seq) == (ticket.id, "create", 1)
    assert (photo.kind, photo.mime, photo.original_name) == (
        AttachmentKind.BEFORE, "image/jpeg", "现场.jpg")
    assert (photo.width, photo.height) == (40, 30)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_with_a_file_that_is_not_a_photo_is_400_and_creates_nothing(world, client, fmt):
    fields = good_request(world)
    fields["media"] = (io.BytesIO(b"%PDF-1.4 not a photo"), "scan.pdf")
    response = client.post(f"{BASE}/requests.{fmt}", data=fields,
                           content_type="multipart/form-data")
    assert "scan.pdf" in assert_error(response, fmt, 400)
    assert ticket_count() == 0
    assert db.session.execute(sa.select(sa.func.count(Attachment.id))).scalar_one() == 0


def test_post_without_description_uses_the_service_name(world, client):
    as_json(post(client, **good_request(world, description=None)))
    db.session.expire_all()
    assert db.session.execute(sa.select(Ticket.description)).scalar_one() == "垃圾清运"


def test_post_with_an_address_only_needs_a_client_of_one_grid_or_community(world, client):
    fields = good_request(world, lat=None, long=None, address_string="甲社区 3 栋")
    description = assert_error(post(client, **fields), "json", 400)
    assert "lat" in description and "long" in description
    fields["api_key"] = world.community_token
    body = as_json(post(client, **fields))
    db.session.expire_all()
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    assert body[0]["service_request_id"] == ticket.number
    assert ticket.community_id == world.areas["community1"].id and ticket.grid_id is None
    assert ticket.address == "甲社区 3 栋" and ticket.lat is None


def test_post_offers_nearby_duplicates_in_the_notice(world, client):
    first = as_json(post(client, **good_request(world)))[0]["service_request_id"]
    second = as_json(post(client, **good_request(world, lat="30.0051")))[0]
    assert first in second["service_notice"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_without_api_key_is_403(world, client, fmt):
    description = assert_error(post(client, fmt, **good_request(world, api_key=None)), fmt, 403)
    assert "api_key" in description
    assert ticket_count() == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_with_a_wrong_or_revoked_api_key_is_403(world, client, fmt):
    for key in ("gdc_not-a-real-token", world.revoked_token):
        assert_error(post(client, fmt, **good_request(world, api_key=key)), fmt, 403)
    assert ticket_count() == 0


def test_api_key_in_the_query_string_is_accepted(world, client):
    fields = good_request(world)
    key = fields.pop("api_key")
    response = client.post(f"{BASE}/requests.json?api_key={key}", data=fields)
    assert as_json(response)[0]["service_request_id"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("overrides, status", [
    ({"service_code": None}, 400),                       # not provided
    ({"service_code": "9999"}, 404),                     # not found
    ({"service_code": "01"}, 404),                       # a group, not a service
    ({"lat": None, "long": None, "address_string": None}, 400),  # no location
    ({"long": None}, 400),                               # lat without long
    ({"lat": "abc"}, 400),                               # not a number
    ({"lat": "40.7", "long": "-74.0"}, 400),             # outside China
    ({"attribute[bins]": None}, 400),                    # required attribute missing
    ({"attribute[bins]": "很多"}, 400),                   # number expected
    ({"attribute[kind]": "toxic"}, 400),                 # not an option of the list
    ({"attribute[smell][]": ["bin", "sky"]}, 400),       # not an option of the list
    ({"attribute[seen_at]": "yesterday"}, 400),          # not ISO 8601
    ({"attribute[colour]": "red"}, 400),                 # not an attribute of the service
    ({"media_url": "javascript:alert(1)"}, 400),         # only http(s) media
    ({"email": "not an address"}, 400),
    ({"phone": "call me"}, 400),
    ({"description": "长" * 4001}, 400),                 # the spec's 4,000 characters
])
def test_post_refusals(world, client, fmt, overrides, status):
    assert_error(post(client, fmt, **good_request(world, **overrides)), fmt, status)
    assert ticket_count() == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_outside_the_clients_area_is_403(world, client, fmt):
    # Street 2's hotline reports a point in street 1.
    fields = good_request(world, api_key=world.street_token)
    description = assert_error(post(client, fmt, **fields), fmt, 403)
    assert "二号街道" in description
    assert ticket_count() == 0
    fields.update(lat="30.005", long="120.025")  # inside street 2: accepted
    assert post(client, fmt, **fields).status_code == 200
    assert ticket_count() == 1


# --- GET requests ---------------------------------------------------------------------------------
@pytest.fixture()
def tickets(world):
    now = utcnow()
    sanitation = world.departments["sanitation"]
    for loaded in (sanitation, world.users["gridworker2"]):
        db.session.refresh(loaded)  # loaded now, not by an autoflush inside append_event
    open_one = make_ticket(world, "grid1", title="垃圾桶满溢", department=sanitation,
                           created_at=now - timedelta(days=1),
                           handle_deadline=now + timedelta(days=1))
    open_one.attributes = {"bins": 2, "media_url": "https://img.example.com/b.jpg"}
    in_progress = make_ticket(world, "grid2", title="路面脏污", status=TicketStatus.IN_PROGRESS,
                              assignee=world.users["gridworker2"],
                              created_at=now - timedelta(days=2))
    in_progress.category = world.categories["road"]
    in_progress.address = None
    closed = make_ticket(world, "grid3", title="垃圾堆放", department=sanitation,
                         status=TicketStatus.IN_PROGRESS, created_at=now - timedelta(days=3))
    append_event(closed, "submit", to_status=TicketStatus.PENDING_REVIEW, note="已清运完毕",
                 at=now - timedelta(days=2, hours=20))
    closed.closed_at = now - timedelta(days=2, hours=12)
    append_event(closed, "approve", to_status=TicketStatus.CLOSED, at=closed.closed_at)
    append_event(closed, "rate", note="很满意", at=now - timedelta(days=1))  # a resident's words
    merged = make_ticket(world, "grid1", title="又满了", created_at=now - timedelta(days=4))
    append_event(merged, "merge", to_status=TicketStatus.INVALID,
                 details={"master_id": open_one.id, "master_number": open_one.number},
                 at=now - timedelta(days=3))
    old = make_ticket(world, "grid1", title="很早以前", created_at=now - timedelta(days=100))
    db.session.commit()
    return {"open": open_one, "in_progress": in_progress, "closed": closed, "merged": merged,
            "old": old}


def numbers(body) -> list[str]:
    return [r["service_request_id"] for r in body]


def test_requests_in_json_field_by_field(world, client, tickets):
    body = as_json(client.get(f"{BASE}/requests.json"))
    t = tickets
    assert numbers(body) == [t["open"].number, t["in_progress"].number, t["closed"].number,
                             t["merged"].number]  # newest first; the 100-day-old one is out
    for request in body:
        assert list(request) == REQUEST_FIELDS
    first, second, third, fourth = body
    assert first["status"] == "open" and first["status_notes"] is None
    assert first["service_code"] == "0101" and first["service_name"] == "垃圾清运"
    assert first["description"] == "垃圾桶满溢"
    assert first["agency_responsible"] == "区环卫中心"
    assert "区环卫中心" in first["service_notice"]
    assert local_time(first["requested_datetime"]) == t["open"].created_at.replace(microsecond=0)
    assert local_time(first["updated_datetime"])
    assert local_time(first["expected_datetime"]) == \
        t["open"].handle_deadline.replace(microsecond=0)
    assert first["address"] == "测试路1号"
    assert first["address_id"] is None and first["zipcode"] is None
    grid1 = world.areas["grid1"]
    assert (first["lat"], first["long"]) == (grid1.centroid_lat, grid1.centroid_lon)
    assert first["media_url"] == "https://img.example.com/b.jpg"

    assert second["status"] == "open" and second["service_code"] == "0102"
    assert "甲二网格" in second["agency_responsible"]  # the grid's own worker, not the person
    assert "用户gridworker2" not in second["agency_responsible"]
    assert "甲二网格" in second["service_notice"] and second["expected_datetime"] is None
    assert second["address"] == "甲二网格, 甲社区, 一号街道"  # no address: the areas
    assert second["media_url"] is None

    assert third["status"] == "closed" and third["status_notes"] == "已清运完毕"
    assert third["service_notice"] is None
    assert local_time(third["updated_datetime"]) == \
        t["closed"].closed_at.replace(microsecond=0)  # closed: the closing time

    assert fourth["status"] == "closed"  # invalid (merged duplicate) reads as closed
    assert t["open"].number in fourth["status_notes"]


def test_requests_in_xml_field_by_field(world, client, tickets):
    root = as_xml(client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests" and tags(root) == ["request"] * 4
    json_body = as_json(client.get(f"{BASE}/requests.json"))
    for element, expected in zip(root, json_body):
        assert tags(element) == REQUEST_FIELDS
        for name in REQUEST_FIELDS:
            value = expected[name]
            assert text(element, name) == (None if value is None else str(value)), name
    assert local_time(text(root[0], "requested_datetime"))


def test_requests_never_show_the_reporter(world, client, tickets):
    for fmt in ("json", "xml"):
        data = client.get(f"{BASE}/requests.{fmt}").get_data(as_text=True)
        for secret in ("张三", "13812345678", "很满意", tickets["open"].tracking_code):
            assert secret not in data


def test_requests_filters(world, client, tickets):
    t = tickets

    def listed(query: str = "", **params) -> list[str]:
        return numbers(as_json(client.get(f"{BASE}/requests.json?{query}", query_string=params
                                          or None)))

    assert listed("status=open") == [t["open"].number, t["in_progress"].number]
    assert listed("status=closed") == [t["closed"].number, t["merged"].number]
    assert listed("status=open,closed") == listed("") == listed("status=")
    assert listed("service_code=0102") == [t["in_progress"].number]
    assert listed("service_code=0101,0102&status=closed") == [t["closed"].number,
                                                                t["merged"].number]
    assert listed("service_code=9999") == []
    assert listed("status=closed&status=open") == listed("")  # declared twice
    # service_request_id (comma separated) overrides every other argument
    assert listed(f"service_request_id={t['old'].number},{t['closed'].number}&status=open") == [
        t["closed"].number, t["old"].number]
    # dates: w3 format with Z or an offset, or a date alone
    old_day = t["old"].created_at
    start = (old_day - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (old_day + timedelta(days=1)).astimezone(timezone(SHANGHAI)).isoformat()
    assert listed(start_date=start, end_date=end) == [t["old"].number]
    assert listed(f"start_date={start}&end_date={end}") == [t["old"].number]  # "+" not encoded
    assert listed(end_date=end) == [t["old"].number]  # the 90 days before end_date
    assert listed(start_date=start) == [t["old"].number]  # the 90 days after start_date
    recent = (utcnow() - timedelta(days=2, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed(start_date=recent) == [t["open"].number, t["in_progress"].number]
    day = old_day.astimezone(timezone(SHANGHAI)).date().isoformat()  # a date alone: that local day
    assert listed(start_date=day, end_date=day) == [t["old"].number]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("query", [
    "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",  # more than 90 days
    "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",  # end before start
    "start_date=last-week",
    "status=pending",
])
def test_requests_bad_arguments_are_400(world, client, fmt, query):
    assert_error(client.get(f"{BASE}/requests.{fmt}?{query}"), fmt, 400)


def test_requests_answer_at_most_1000(world, client):
    assert MAX_REQUESTS == 1000
    category = world.categories["garbage"]
    now = utcnow()
    db.session.execute(sa.insert(Ticket), [
        {"number": f"GD2026{i:08d}", "tracking_code": f"T{i:09d}", "title": "批量", "description": "",
         "category_id": category.id, "source": Source.IMPORT, "status": TicketStatus.PENDING,
         "created_at": now - timedelta(minutes=i), "updated_at": now, "last_activity_at": now}
        for i in range(MAX_REQUESTS + 5)])
    db.session.commit()
    body = as_json(client.get(f"{BASE}/requests.json"))
    assert len(body) == MAX_REQUESTS
    assert body[0]["service_request_id"] == "GD202600000000"  # the newest first
    assert body[-1]["service_request_id"] == f"GD2026{MAX_REQUESTS - 1:08d}"
    assert len(as_xml(client.get(f"{BASE}/requests.xml"))) == MAX_REQUESTS


# --- one request, tokens --------------------------------------------------------------------------
def test_one_request_in_json_and_xml(world, client, tickets):
    number = tickets["closed"].number
    body = as_json(client.get(f"{BASE}/requests/{number}.json"))
    assert len(body) == 1 and list(body[0]) == REQUEST_FIELDS
    assert body[0]["service_request_id"] == number and body[0]["status"] == "closed"
    assert body[0]["status_notes"] == "已清运完毕"
    root = as_xml(client.get(f"{BASE}/requests/{number}.xml"))
    assert root.tag == "service_requests" and tags(root) == ["request"]
    assert tags(root[0]) == REQUEST_FIELDS
    assert text(root[0], "service_request_id") == number
    assert text(root[0], "status") == "closed"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_request_and_token_are_404(world, client, fmt):
    assert "GD000" in assert_error(client.get(f"{BASE}/requests/GD000.{fmt}"), fmt, 404)
    assert_error(client.get(f"{BASE}/tokens/NOSUCHCODE.{fmt}"), fmt, 404)


def test_a_posted_request_reads_back_and_its_token_finds_it(world, client):
    number = as_json(post(client, **good_request(world)))[0]["service_request_id"]
    body = as_json(client.get(f"{BASE}/requests/{number}.json"))[0]
    assert body["status"] == "open" and body["service_code"] == "0101"
    assert body["description"] == "垃圾桶满溢，\n已两天没有清运"
    assert body["address"] == "测试路 1 号" and (body["lat"], body["long"]) == (30.005, 120.005)
    assert body["media_url"] == "https://img.example.com/a.jpg"
    assert body["agency_responsible"] == "一号街道指挥中心"
    created = local_time(body["requested_datetime"])
    assert abs(created - datetime.now(timezone.utc)) < timedelta(minutes=5)
    db.session.expire_all()
    token = db.session.execute(sa.select(Ticket.tracking_code)).scalar_one()
    assert as_json(client.get(f"{BASE}/tokens/{token}.json")) == [
        {"service_request_id": number, "token": token}]
    root = as_xml(client.get(f"{BASE}/tokens/{token}.xml"))
    assert root.tag == "service_requests" and tags(root[0]) == ["service_request_id", "token"]
    assert text(root[0], "service_request_id") == number and text(root[0], "token") == token


# --- XML safety and other paths -------------------------------------------------------------------
def test_xml_escapes_markup_and_keeps_chinese(world, client):
    description = '<script>alert("x")</script> & 垃圾 ]]>\x0b完'
    number = as_json(post(client, **good_request(world, description=description)))[0][
        "service_request_id"]
    root = as_xml(client.get(f"{BASE}/requests/{number}.xml"))
    assert text(root[0], "description") == '<script>alert("x")</script> & 垃圾 ]]>完'
    assert b"<script>" not in client.get(f"{BASE}/requests/{number}.xml").data


def test_other_paths_answer_in_the_spec_format(world, client):
    assert_error(client.get(f"{BASE}/nothing.json"), "json", 404)
    assert_error(client.get(f"{BASE}/services.csv.xml"), "xml", 404)
    assert_error(client.put(f"{BASE}/services.json"), "json", 405)
    assert_error(client.delete(f"{BASE}/requests.xml"), "xml", 405)
