"""Real Open311 client libraries, unmodified, against GridDesk served over HTTP on 127.0.0.1.

- three (PyPI three 0.8.0, Code for America): the one published client that lists services,
  reads a definition, posts a request (with a photo, multipart `media`) and reads it back in both
  JSON and XML. It is Python 2 code, so it runs under Python 2.7 unpacked from Debian bullseye's
  packages (tests/clients/legacy_python.py); the test is skipped, saying why, where that cannot
  be provided.
- georeport (PyPI georeport 0.3.1, requests + xmltodict): services, service definitions, request
  lists and single requests, in JSON and in XML. It cannot create requests.
- civicbot (PyPI civicbot 0.4.0, stdlib urllib): its Open311Client lists services, reads the
  definition, validates and POSTs a request (form-encoded, attribute[CODE]) and reads it back;
  it speaks JSON only.
Discovery and the raw XML of a POST are also checked with a plain HTTP client and an XML parser.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from models import Source, Ticket, db
from models.areas.locate import invalidate_area_index
from models.people.tokens import create_api_client
from models.tickets.tables import Attachment
from models.vocabulary import AttachmentKind

from .conftest import served
from .factories import build_world
from .test_open311 import GARBAGE_FIELDS

georeport = pytest.importorskip(
    "georeport", reason="the Open311 client library georeport (PyPI georeport==0.3.1) is not "
    "installed; it is a dev requirement of this check")
civicbot_open311 = pytest.importorskip(
    "civicbot.open311", reason="the Open311 client library civicbot (PyPI civicbot==0.4.0) is not "
    "installed; it is a dev requirement of this check")
from civicbot.http import HttpTransport, RateLimiter  # noqa: E402
from civicbot.registry import Endpoint  # noqa: E402

SHANGHAI = timedelta(hours=8)
# Straight to the local server, whatever proxy the environment names.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture()
def world(ctx):
    invalidate_area_index()
    w = build_world()
    w.categories["garbage"].custom_fields = GARBAGE_FIELDS
    _c, w.token = create_api_client("Open311 客户端")
    db.session.commit()
    return w


@pytest.fixture()
def base_url(app, world, monkeypatch):
    """The real app behind werkzeug's server on a free port of 127.0.0.1, for this test only."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with served(app) as root:
        yield f"{root}/open311/v2"


def stored_ticket(number: str) -> Ticket:
    db.session.expire_all()
    return db.session.execute(sa.select(Ticket).where(Ticket.number == number)).scalar_one()


def local_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == SHANGHAI, value
    return parsed


# --- civicbot: list, define, post, read back (JSON) -----------------------------------------------
def test_civicbot_lists_posts_and_reads_back_in_json(world, base_url):
    client = civicbot_open311.Open311Client(
        Endpoint(id="griddesk", name="GridDesk", base_url=base_url, write=True),
        HttpTransport(rate_limiter=RateLimiter(min_interval=0)))
    services = client.list_services()
    assert [s["service_code"] for s in services] == ["0101"]
    assert services[0]["metadata"] is True and services[0]["group"] == "街面环境卫生"
    definition = client.get_service_definition("0101")
    assert [a["code"] for a in definition["attributes"]] == ["bins", "kind", "smell", "seen_at"]

    # The library validates against the live definition, then sends the form.
    with pytest.raises(civicbot_open311.ValidationError):
        client.create_request("0101", dry_run=False, confirm=civicbot_open311.CONFIRM_TOKEN,
                              api_key=world.token, validate_remote=True, lat=30.005, lng=120.005,
                              description="缺少必填属性")
    sent = client.create_request(
        "0101", dry_run=False, confirm=civicbot_open311.CONFIRM_TOKEN, api_key=world.token,
        validate_remote=True, lat=30.005, lng=120.005, address_string="测试路 8 号",
        description="垃圾桶满溢", attributes={"bins": 2, "kind": "household",
                                              "smell": ["bin", "drain"]},
        media_url="https://img.example.com/c.jpg", first_name="小红", last_name="李",
        phone="13900001111", email="li@example.com", account_id="acc-7")
    [answer] = sent.response
    number = answer["service_request_id"]
    assert answer["account_id"] == "acc-7" and answer["service_notice"]

    ticket = stored_ticket(number)
    assert ticket.source == Source.OPEN311 and ticket.grid_id == world.areas["grid1"].id
    assert ticket.attributes == {"bins": 2, "kind": "household", "smell": ["bin", "drain"],
                                 "media_url": "https://img.example.com/c.jpg"}
    assert ticket.reporter_name == "李小红" and ticket.reporter_phone == "13900001111"

    read = client.get_request(number)
    assert read["service_request_id"] == number and read["status"] == "open"
    assert read["service_code"] == "0101" and read["description"] == "垃圾桶满溢"
    assert read["address"] == "测试路 8 号" and (read["lat"], read["long"]) == (30.005, 120.005)
    assert read["media_url"] == "https://img.example.com/c.jpg"
    assert read["agency_responsible"] == "一号街道指挥中心"
    local_time(read["requested_datetime"])
    assert [r["service_request_id"] for r in client.list_requests(
        service_request_ids=[number])] == [number]
    assert [r["service_request_id"] for r in client.list_requests(status="open")] == [number]
    assert client.get_token(ticket.tracking_code) == [
        {"service_request_id": number, "token": ticket.tracking_code}]


# --- georeport: list, define and read, in JSON and in XML -----------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_lists_defines_and_reads_back(world, base_url, fmt):
    number = post_form(f"{base_url}/requests.json", {
        "api_key": world.token, "service_code": "0101", "lat": "30.005", "long": "120.015",
        "description": "满溢 & <紧急>", "attribute[bins]": "4"})[0]["service_request_id"]
    client = georeport.GeoReport(base_url, output_format=fmt)

    services = client.get_service_list()
    if isinstance(services, dict):  # xmltodict gives one <service> as a dict
        services = [services]
    assert [(s["service_code"], s["service_name"], s["group"]) for s in services] == [
        ("0101", "垃圾清运", "街面环境卫生")]
    assert str(services[0]["metadata"]).lower() == "true"

    definition = client.get_service_definition("0101")
    attributes = definition["attributes"]
    attributes = attributes["attribute"] if fmt == "xml" else attributes
    assert [a["code"] for a in attributes] == ["bins", "kind", "smell", "seen_at"]
    assert str(attributes[0]["required"]).lower() == "true"

    listed = client.get_service_requests(service_request_id=number)
    listed = [listed] if isinstance(listed, dict) else listed
    assert [r["service_request_id"] for r in listed] == [number]

    one = client.get_service_request(number)
    assert one["service_request_id"] == number and one["status"] == "open"
    assert one["description"] == "满溢 & <紧急>" and one["service_name"] == "垃圾清运"
    assert float(one["lat"]) == 30.005 and float(one["long"]) == 120.015
    assert one["agency_responsible"] == "一号街道指挥中心"
    local_time(one["requested_datetime"])
    local_time(one["updated_datetime"])


# --- discovery, and the raw XML of a POST, with a plain HTTP client -------------------------------
def post_form(url: str, fields: dict) -> object:
    data = urllib.parse.urlencode(fields, doseq=True).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    with DIRECT.open(request, timeout=20) as response:
        body = response.read()
        if url.endswith(".json"):
            return json.loads(body.decode("utf-8"))
        return ET.fromstring(body)


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with DIRECT.open(url, timeout=20) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_discovery_and_a_request_posted_and_read_in_xml_over_http(world, base_url):
    status, mime, body = fetch(f"{base_url}/discovery.xml")
    assert (status, mime) == (200, "text/xml; charset=utf-8")
    endpoint = ET.fromstring(body).find("endpoints/endpoint")
    assert endpoint.findtext("url") == base_url
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert json.loads(fetch(f"{base_url}/discovery.json")[2])["endpoints"][0]["url"] == base_url

    root = post_form(f"{base_url}/requests.xml", [
        ("api_key", world.token), ("service_code", "0101"), ("lat", "30.005"),
        ("long", "120.025"), ("description", "夜间垃圾满溢"), ("attribute[bins]", "1"),
        ("attribute[smell][]", "bin"), ("attribute[smell][]", "drain")])
    assert root.tag == "service_requests"
    number = root.findtext("request/service_request_id")
    assert number and root.findtext("request/service_notice")
    assert stored_ticket(number).attributes == {"bins": 1, "smell": ["bin", "drain"]}

    status, mime, body = fetch(f"{base_url}/requests/{number}.xml")
    assert (status, mime) == (200, "text/xml; charset=utf-8")
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    request = ET.fromstring(body).find("request")
    assert request.findtext("service_request_id") == number
    assert request.findtext("status") == "open" and request.findtext("description") == "夜间垃圾满溢"
    assert request.findtext("agency_responsible") == "二号街道指挥中心"
    local_time(request.findtext("requested_datetime"))

    status, mime, body = fetch(f"{base_url}/requests.xml?" + urllib.parse.urlencode(
        {"api_key": "wrong"}) + "&service_request_id=NOPE")
    assert status == 200 and ET.fromstring(body).findall("request") == []
    data = urllib.parse.urlencode({"service_code": "0101"}).encode()
    try:
        DIRECT.open(urllib.request.Request(f"{base_url}/requests.xml", data=data), timeout=20)
        raise AssertionError("a POST without api_key was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 403
        error = ET.fromstring(exc.read()).find("error")
        assert error.findtext("code") == "403" and error.findtext("description")


# --- three (Code for America), on Python 2.7: list, define, post, read back, in JSON and XML ------
@pytest.fixture(scope="session")
def python27():
    from .clients.legacy_python import Unavailable, provision
    try:
        return provision()
    except Unavailable as exc:
        pytest.skip(f"Python 2.7 for the Open311 client library three could not be provided: {exc}")


def one_or_many(value, tag: str) -> list[dict]:
    """JSON gives lists; relaxml (three's XML reader) gives {tag: dict} or {tag: [dicts]}."""
    if isinstance(value, list):
        return value
    value = value[tag]
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_three_lists_posts_and_reads_back(world, base_url, python27, fmt, tmp_path):
    photo = tmp_path / "现场.jpg"
    Image.new("RGB", (32, 24), "orange").save(photo, "JPEG")
    done = python27.run(Path(__file__).parent / "clients" / "three_walkthrough.py",
                        base_url, world.token, fmt, str(photo))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)

    [service] = one_or_many(out["services"], "service")
    assert (service["service_code"], service["service_name"], service["group"]) == (
        "0101", "垃圾清运", "街面环境卫生")
    attributes = one_or_many(out["definition"]["attributes"], "attribute")
    assert [a["code"] for a in attributes] == ["bins", "kind", "smell", "seen_at"]

    assert out["post_status"] == 200
    [posted] = one_or_many(out["posted"], "request")
    number = posted["service_request_id"]
    assert "一号街道指挥中心" in posted["service_notice"]
    ticket = stored_ticket(number)
    assert ticket.source == Source.OPEN311 and ticket.grid_id == world.areas["grid1"].id
    assert ticket.attributes == {"bins": 3, "kind": "household"}
    assert ticket.reporter_name == "王小明" and ticket.reporter_phone == "13900002222"
    [kept] = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalars().all()
    assert (kept.kind, kept.mime, kept.width) == (AttachmentKind.BEFORE, "image/jpeg", 32)

    for answer in (out["read"], out["listed"]):
        [read] = one_or_many(answer, "request")
        assert read["service_request_id"] == number and read["status"] == "open"
        assert read["description"] == "三号楼垃圾满溢 & <紧急>" and read["service_code"] == "0101"
        assert read["address"] == "测试路 9 号"
        assert (float(read["lat"]), float(read["long"])) == (30.005, 120.005)
        assert read["agency_responsible"] == "一号街道指挥中心"
        local_time(read["requested_datetime"])

    # Without an api_key the library gets the spec's 403 error, and nothing was created.
    assert out["refused_status"] == 403
    [refusal] = one_or_many(out["refused"], "error")
    assert str(refusal["code"]) == "403" and refusal["description"]
    assert db.session.execute(sa.select(sa.func.count(Ticket.id))).scalar_one() == 1
