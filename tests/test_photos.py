"""The photo pipeline through the real app: only real photos within the limits are accepted
(through every caller), they are stored re-encoded without EXIF and upright, with a thumbnail,
and served only to those who may see the ticket — or, for after-photos of a closed ticket, to the
holder of its tracking code."""
from __future__ import annotations

import io
import socket
import zlib
import struct
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

from models import Attachment, AttachmentKind, Ticket, TicketEvent, TicketStatus, db
from models.tickets.attachments import Upload, public_photo, public_photos
from models.tickets.intake import Report, report_ticket

from .test_api import auth, token_for

GRID1 = {"lat": 30.006, "lon": 120.004}  # inside 甲一网格 (tests/factories.py)


# --- photos as phones make them -------------------------------------------------------------
def jpeg(size=(64, 48), colour="green", *, gps=None, orientation=None) -> bytes:
    """A JPEG; ``gps`` = (lat, lon) written into the EXIF like a phone camera does."""
    image = Image.new("RGB", size, colour)
    if orientation is not None:
        image.paste("red", (0, 0, size[0] // 2, size[1]))  # left half red: shows the rotation
    exif = Image.Exif()
    exif[Base.Make] = "TestPhone"
    if orientation is not None:
        exif[Base.Orientation] = orientation
    if gps is not None:
        lat, lon = gps
        exif.get_ifd(IFD.GPSInfo).update({
            GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: _dms(lat),
            GPS.GPSLongitudeRef: "E", GPS.GPSLongitude: _dms(lon)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (float(degrees), float(minutes), seconds)


def png_bomb(width=30000, height=30000) -> bytes:
    """A tiny PNG whose header claims 900 million pixels (it decompresses to almost 1 GB)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width // 8 + 1) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(
        b"IEND", b"")


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"

# case: (file name, content, expected status, words of the message)
HOSTILE = {
    "not an image": ("notes.jpg", b"just some text, not a photo at all", 422, "不是可识别的照片"),
    "decompression bomb": ("bomb.png", png_bomb(), 422, "像素过多"),
    # Past the request limit (MAX_CONTENT_LENGTH) the whole request is refused before reading
    "60 MB file": ("huge.jpg", b"\xff\xd8\xff" + b"\0" * (60 * 1024 * 1024), 413, "上传的内容过大"),
    "20 MB file": ("big.jpg", b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024), 422, "超过 15 MB"),
    "SVG with script": ("drawing.svg", SVG, 422, "不是照片文件"),
    "SVG with script renamed .png": ("drawing.png", SVG, 422, "不是可识别的照片"),
    "HTML renamed .jpg": ("page.jpg", HTML, 422, "不是可识别的照片"),
    "wrong extension": ("scene.exe", jpeg(), 422, "不是照片文件"),
    "GIF": ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", 422, "不是照片文件"),
}


def counts() -> tuple[int, int, int]:
    return tuple(db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()
                 for model in (Ticket, TicketEvent, Attachment))


def stored_files(app) -> set[Path]:
    return {p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()}


def served_image(response) -> Image.Image:
    assert response.status_code == 200, response.data[:200]
    image = Image.open(io.BytesIO(response.data))
    image.load()
    return image


def assert_no_exif(image: Image.Image) -> None:
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info and "xmp" not in image.info


def new_ticket(client, token, **extra) -> dict:
    body = {"category": "0101", "description": "垃圾桶满溢", **GRID1, **extra}
    response = client.post("/api/v1/tickets", json=body, headers=auth(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def upload(client, token, ticket_id, data, name="scene.jpg", kind="before"):
    return client.post(f"/api/v1/tickets/{ticket_id}/attachments", headers=auth(token),
                       data={"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def ticket_json(client, token, ticket_id) -> dict:
    response = client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))
    assert response.status_code == 200
    return response.get_json()


# --- hostile uploads, through every caller ------------------------------------------------
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_uploads_through_the_api_are_refused_with_a_message_and_nothing_stored(
        app, world, client, case):
    name, data, status, message = HOSTILE[case]
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    before, files = counts(), stored_files(app)
    response = client.post(f"/api/v1/tickets/{ticket['id']}/attachments",
                           headers=auth(worker),
                           data={"kind": "before", "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == status, (case, response.status_code)
    body = response.get_json()
    assert message in body["error"]["message"], body
    assert counts() == before and stored_files(app) == files
    assert ticket_json(client, worker, ticket["id"])["version"] == ticket["version"]


@pytest.mark.parametrize("case", ["decompression bomb", "HTML renamed .jpg", "60 MB file"])
def test_hostile_media_through_open311_take_no_ticket_number(app, world, client, case):
    from models.people.tokens import create_api_client

    _client, key = create_api_client("三方平台")
    db.session.commit()
    name, data, status, message = HOSTILE[case]
    before, files = counts(), stored_files(app)
    counter = db.session.execute(sa.text("SELECT count(*) FROM ticket_number_counters")).scalar()
    response = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "0101", "lat": GRID1["lat"], "long": GRID1["lon"],
        "description": "垃圾桶满溢", "media": (io.BytesIO(data), name)},
        content_type="multipart/form-data")
    assert response.status_code == (413 if status == 413 else 400), response.status_code
    assert message in response.get_json()[0]["description"]  # the GeoReport error list
    assert counts() == before and stored_files(app) == files
    assert db.session.execute(sa.text(
        "SELECT count(*) FROM ticket_number_counters")).scalar() == counter


def test_hostile_photos_on_an_admin_action_change_nothing(app, world, login_as):
    from .factories import make_ticket

    ticket = make_ticket(world, "grid1", assignee=world.users["gridworker"],
                         status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    before, files, version = counts(), stored_files(app), ticket.version
    browser = login_as("gridworker")
    from .conftest import session_csrf_token

    token = session_csrf_token(browser)
    response = browser.post(f"/admin/ticket/act/{ticket.id}/submit", data={
        "csrf_token": token, "version": version, "note": "已清运",
        "photos": (io.BytesIO(png_bomb()), "after.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code < 500
    assert "像素" in response.get_data(as_text=True)
    db.session.expire_all()
    assert counts() == before and stored_files(app) == files
    assert db.session.get(Ticket, ticket.id).status == TicketStatus.IN_PROGRESS
    # Past the request limit: a Chinese page (413), nothing changed
    response = browser.post(f"/admin/ticket/act/{ticket.id}/submit", data={
        "csrf_token": token, "version": version, "note": "已清运",
        "photos": (io.BytesIO(HOSTILE["60 MB file"][1]), "after.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 413 and "上传的内容过大" in response.get_data(as_text=True)
    assert counts() == before and stored_files(app) == files


def test_pillow_bomb_limits_are_turned_into_a_message(app, world, monkeypatch):
    """Pillow's own guard (Image.MAX_IMAGE_PIXELS: warning, then DecompressionBombError) is a
    refusal with a message too, even when our own pixel limit is set higher."""
    from models.errors import ActionInvalid
    from models.tickets.attachments import check_upload

    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS", 10**12)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    for size in ((40, 30), (64, 48)):  # above the limit (warning); above twice it (error)
        with pytest.raises(ActionInvalid, match="像素过多"):
            check_upload(Upload(AttachmentKind.BEFORE, "a.jpg", jpeg(size)))


def test_limits_come_from_the_settings(app, world, client, monkeypatch):
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS", 60 * 40)
    assert upload(client, worker, ticket["id"], jpeg((64, 48))).status_code == 422
    assert upload(client, worker, ticket["id"], jpeg((60, 40))).status_code == 201
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 100)
    refused = upload(client, worker, ticket["id"], jpeg((60, 40), "blue"))
    assert refused.status_code == 422 and "超过" in refused.get_json()["error"]["message"]


# --- what is stored and served ----------------------------------------------------------------
def test_served_photos_carry_no_exif_are_upright_and_have_a_thumbnail(app, world, client):
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    # Orientation 6: the camera was turned; the stored 64×48 pixels show upright as 48×64.
    original = jpeg((640, 480), gps=(30.006, 120.004), orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(IFD.GPSInfo)
    answer = upload(client, worker, ticket["id"], original, "IMG_0001.JPG")
    assert answer.status_code == 201
    item = answer.get_json()["attachments"][0]
    assert (item["width"], item["height"]) == (480, 640)
    for found in ticket_json(client, worker, ticket["id"])["attachments"]:
        photo = served_image(client.get(found["url"], headers=auth(worker)))
        assert_no_exif(photo)
        assert photo.size == (found["width"], found["height"])
        thumbnail = served_image(client.get(found["thumbnail_url"], headers=auth(worker)))
        assert_no_exif(thumbnail)
        assert thumbnail.format == "JPEG" and max(thumbnail.size) <= 320
    photo = served_image(client.get(item["url"], headers=auth(worker)))
    assert photo.size == (480, 640)
    # The red half was the left of the sensor image; turned upright it is the top half.
    assert photo.getpixel((240, 100))[0] > 200 and photo.getpixel((240, 540))[0] < 100
    assert served_image(client.get(item["thumbnail_url"], headers=auth(worker))).size == (240, 320)


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[Base.Make] = "TestPhone"
    exif.get_ifd(IFD.GPSInfo).update({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: _dms(30.006),
                                      GPS.GPSLongitudeRef: "E", GPS.GPSLongitude: _dms(120.004)})
    return exif


def encoded(fmt: str, mode: str = "RGB", **options) -> bytes:
    buffer = io.BytesIO()
    image = Image.new(mode, (200, 100), "green" if mode != "CMYK" else (0, 0, 255, 0))
    if fmt == "MPO":
        options.update(save_all=True, append_images=[Image.new("RGB", (200, 100), "blue")])
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>30,0.36N</exif:GPSLatitude></x:xmpmeta>'
FORMATS = {  # what phones and apps send: (name, content, format served)
    "JPEG with GPS": ("a.jpg", encoded("JPEG", exif=gps_exif()), "JPEG"),
    "MPO (multi-picture JPEG) with GPS": ("b.jpg", encoded("MPO", exif=gps_exif()), "JPEG"),
    "CMYK JPEG": ("c.jpeg", encoded("JPEG", "CMYK", exif=gps_exif()), "JPEG"),
    "PNG with eXIf": ("d.png", encoded("PNG", "RGBA", exif=gps_exif()), "PNG"),
    "WebP with EXIF and XMP": ("e.webp", encoded("WEBP", exif=gps_exif(), xmp=XMP), "WEBP"),
    "no extension": ("blob", encoded("JPEG", exif=gps_exif()), "JPEG"),
}


@pytest.mark.parametrize("case", list(FORMATS))
def test_every_accepted_format_is_served_without_exif_and_with_a_thumbnail(
        app, world, client, case):
    name, data, served_format = FORMATS[case]
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(IFD.GPSInfo)  # the phone's GPS
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    answer = upload(client, worker, ticket["id"], data, name)
    assert answer.status_code == 201, answer.get_json()
    item = answer.get_json()["attachments"][0]
    photo = served_image(client.get(item["url"], headers=auth(worker)))
    assert photo.format == served_format and photo.size == (200, 100)
    assert_no_exif(photo)
    assert b"xmpmeta" not in client.get(item["url"], headers=auth(worker)).data
    thumbnail = served_image(client.get(item["thumbnail_url"], headers=auth(worker)))
    assert thumbnail.format == "JPEG" and thumbnail.size == (200, 100)  # never enlarged
    assert_no_exif(thumbnail)


def polyglot() -> bytes:
    """A JPEG that is also a page: HTML in a comment segment and after the end-of-image marker
    (a browser that sniffed it would run the script)."""
    payload = b"<html><script>alert(document.cookie)</script></html>"
    data = jpeg((120, 90))
    comment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + comment + data[2:] + payload


def test_a_polyglot_is_re_encoded_and_every_photo_answer_says_nosniff(app, world, client):
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    data = polyglot()
    assert Image.open(io.BytesIO(data)).size == (120, 90)  # a valid JPEG …
    answer = upload(client, worker, ticket["id"], data, "scene.jpg")
    assert answer.status_code == 201, answer.get_json()
    item = answer.get_json()["attachments"][0]
    for url in (item["url"], item["thumbnail_url"]):
        served = client.get(url, headers=auth(worker))
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert b"<script" not in served.data and b"<html" not in served.data  # … re-encoded
    for path in stored_files(app):
        assert b"<script" not in path.read_bytes(), path


def test_a_144_megapixel_photo_is_refused(app, world, client):
    """The tester's 144-megapixel image (12,000 × 12,000) is over the 50-megapixel limit."""
    ticket = new_ticket(client, token_for(client, "community"))
    answer = upload(client, token_for(client, "gridworker"), ticket["id"],
                    png_bomb(12000, 12000), "big.png")
    assert answer.status_code == 422
    assert "像素过多" in answer.get_json()["error"]["message"]


def test_admin_serves_photo_and_thumbnail_without_exif(app, world, login_as):
    ticket = report_ticket(Report(
        category_id=world.categories["garbage"].id, description="垃圾桶满溢", **GRID1,
        photos=[Upload(AttachmentKind.BEFORE, "现场.jpg", jpeg((800, 600), gps=(30.0, 120.0)))]
    )).ticket
    db.session.commit()
    item = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalar_one()
    browser = login_as("community")
    assert_no_exif(served_image(browser.get(f"/admin/ticket/attachment/{item.id}")))
    thumb = served_image(browser.get(f"/admin/ticket/attachment/{item.id}/thumbnail"))
    assert thumb.size == (320, 240)
    page = browser.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert f"/admin/ticket/attachment/{item.id}/thumbnail" in page
    # Outside the scope: the same 404 as for a photo that does not exist
    other = login_as("community2")
    assert other.get(f"/admin/ticket/attachment/{item.id}").status_code == 404
    assert other.get(f"/admin/ticket/attachment/{item.id}/thumbnail").status_code == 404


def test_exif_gps_fills_a_missing_location_at_intake(app, world):
    photo = jpeg(gps=(30.006, 120.014))  # inside 甲二网格
    ticket = report_ticket(Report(
        category_id=world.categories["garbage"].id, description="井盖缺失",
        photos=[Upload(AttachmentKind.BEFORE, "scene.jpg", photo)])).ticket
    db.session.commit()
    assert ticket.grid_id == world.areas["grid2"].id
    assert (round(ticket.lat, 4), round(ticket.lon, 4)) == (30.006, 120.014)
    created = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "create")).scalar_one()
    assert created.details.get("location_from") == "photo"
    # Given coordinates win over the photo's
    given = report_ticket(Report(
        category_id=world.categories["garbage"].id, description="井盖缺失", **GRID1,
        photos=[Upload(AttachmentKind.BEFORE, "scene.jpg", photo)])).ticket
    assert given.grid_id == world.areas["grid1"].id
    # No coordinates, and a GPS outside every area or none at all: the usual message
    from models.errors import ActionInvalid

    for elsewhere in (jpeg(gps=(39.9, 116.4)), jpeg()):
        with pytest.raises(ActionInvalid, match="坐标"):
            report_ticket(Report(category_id=world.categories["garbage"].id, description="x",
                                 photos=[Upload(AttachmentKind.BEFORE, "a.jpg", elsewhere)]))


def test_same_photo_twice_is_stored_once(app, world, client):
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    data = jpeg(colour="purple")
    first = upload(client, worker, ticket["id"], data).get_json()["attachments"][0]
    files = stored_files(app)
    second = upload(client, worker, ticket["id"], data).get_json()["attachments"][0]
    assert first["sha256"] == second["sha256"] and stored_files(app) == files


# --- who may see and add photos ---------------------------------------------------------------
def test_photos_are_fetched_with_the_callers_own_token_and_scope(app, world, client):
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    item = upload(client, worker, ticket["id"], jpeg()).get_json()["attachments"][0]
    assert client.get(item["url"]).status_code == 401
    for outsider in ("gridworker2", "community2"):
        token = token_for(client, outsider)
        assert client.get(item["url"], headers=auth(token)).status_code == 404
        assert client.get(item["thumbnail_url"], headers=auth(token)).status_code == 404
    for insider in ("community", "street", "admin"):
        assert client.get(item["url"], headers=auth(token_for(client, insider))).status_code == 200
    # The photo of one ticket is not reachable through another ticket's URL
    mine = new_ticket(client, token_for(client, "community2"), lat=30.006, lon=120.024)
    wrong = item["url"].replace(f"/tickets/{ticket['id']}/", f"/tickets/{mine['id']}/")
    assert client.get(wrong, headers=auth(token_for(client, "community2"))).status_code == 404


def test_grid_worker_adds_photos_to_own_patrol_report(app, world, client):
    """A grid worker's patrol find in a neighbour's grid goes to that grid's worker; its author
    may still add photos to it (this answered 403 before)."""
    token = token_for(client, "gridworker")
    ticket = new_ticket(client, token, source="patrol", lat=30.006, lon=120.014)  # 甲二网格
    assert ticket["assigned_user"]["id"] == world.users["gridworker2"].id
    response = upload(client, token, ticket["id"], jpeg(), "patrol.jpg")
    assert response.status_code == 201, response.get_json()
    seen = ticket_json(client, token, ticket["id"])
    assert "note" in seen["allowed_actions"]
    assert client.get(seen["attachments"][0]["url"], headers=auth(token)).status_code == 200
    # Someone else's ticket out of scope stays closed to them
    other = token_for(client, "gridworker2")
    foreign = new_ticket(client, token_for(client, "community"))
    assert upload(client, other, foreign["id"], jpeg()).status_code == 404


def test_handler_adds_photos_to_a_ticket_of_their_queue(app, world, client):
    from .factories import make_ticket

    ticket = make_ticket(world, "grid1", department=world.departments["sanitation"])
    db.session.commit()
    response = upload(client, token_for(client, "handler"), ticket.id, jpeg(), "handler.jpg")
    assert response.status_code == 201, response.get_json()


def test_after_photos_of_closed_tickets_are_public_to_the_tracking_code(app, world):
    from .factories import make_ticket

    ticket = make_ticket(world, "grid1", assignee=world.users["gridworker"],
                         status=TicketStatus.IN_PROGRESS)
    from models.tickets.workflow import Actor, perform

    perform(ticket, "submit", Actor.staff(world.users["gridworker"]),
            expected_version=ticket.version, note="已清运",
            attachments=[Upload(AttachmentKind.AFTER, "after.jpg", jpeg())])
    db.session.flush()
    after = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalar_one()
    code = ticket.tracking_code
    assert not public_photo(after, code) and public_photos(ticket) == []  # not closed yet
    perform(ticket, "approve", Actor.staff(world.users["community"]),
            expected_version=ticket.version)
    db.session.flush()
    assert public_photo(after, code) and public_photos(ticket) == [after]
    assert not public_photo(after, code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert not public_photo(after, "") and not public_photo(None, code)
    after_id = after.id
    db.session.commit()
    db.session.expunge_all()  # as the tracking page loads it: the photo alone
    after = db.session.get(Attachment, after_id)
    assert public_photo(after, code)
    after.kind = AttachmentKind.BEFORE
    assert not public_photo(after, code)


# --- S3-compatible storage on loopback ------------------------------------------------------
@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture()
def s3_app(app, s3_server):
    """The same app built with GRIDDESK_PHOTO_STORAGE=s3 against the loopback server."""
    import boto3

    from admin_app import create_app

    from .conftest import IsolatedClient, test_config

    settings = {"GRIDDESK_S3_ENDPOINT_URL": s3_server, "GRIDDESK_S3_BUCKET": "griddesk-photos",
                "GRIDDESK_S3_REGION": "us-east-1", "GRIDDESK_S3_ACCESS_KEY_ID": "test-key",
                "GRIDDESK_S3_SECRET_ACCESS_KEY": "test-secret", "GRIDDESK_S3_PREFIX": "gd/"}
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                      aws_access_key_id="test-key", aws_secret_access_key="test-secret")
    if "griddesk-photos" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="griddesk-photos")
    application = create_app(test_config(GRIDDESK_PHOTO_STORAGE="s3", **settings))
    application.test_client_class = IsolatedClient
    application.s3 = s3
    return application


def test_s3_storage_round_trip_through_the_api(app, world, s3_app):
    from integrations.storage.s3 import S3Storage
    from models.tickets.attachments import photo_storage

    with s3_app.app_context():
        assert isinstance(photo_storage(), S3Storage)
    client = s3_app.test_client()
    ticket = new_ticket(client, token_for(client, "community"))
    worker = token_for(client, "gridworker")
    files = stored_files(app)
    answer = upload(client, worker, ticket["id"], jpeg((1000, 750), gps=(30.0, 120.0)))
    assert answer.status_code == 201, answer.get_json()
    assert stored_files(app) == files  # nothing went to the disk
    keys = {o["Key"] for o in s3_app.s3.list_objects_v2(
        Bucket="griddesk-photos", Prefix="gd/")["Contents"]}
    item = ticket_json(client, worker, ticket["id"])["attachments"][0]
    assert {f"gd/{item['sha256'][:2]}/{item['sha256']}.jpg",
            f"gd/{item['sha256'][:2]}/{item['sha256']}.thumb.jpg"} <= keys
    photo = served_image(client.get(item["url"], headers=auth(worker)))
    assert photo.size == (1000, 750)
    assert_no_exif(photo)
    assert served_image(client.get(item["thumbnail_url"], headers=auth(worker))).size == (320, 240)
    outsider = token_for(client, "community2")
    assert client.get(item["url"], headers=auth(outsider)).status_code == 404
    # A missing object is a 404, not a 500
    s3_app.s3.delete_object(Bucket="griddesk-photos",
                            Key=f"gd/{item['sha256'][:2]}/{item['sha256']}.jpg")
    assert client.get(item["url"], headers=auth(worker)).status_code == 404
