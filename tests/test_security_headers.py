"""Security headers on every answer — pages, JSON, XML, errors, static files, photos, exports: a
Content-Security-Policy with a fresh nonce per answer, no framing, nosniff, a referrer policy, and
HSTS in production only. (tests/e2e/test_content_security_policy.py proves the pages satisfy the
policy in a real browser.)"""
from __future__ import annotations

import re

import sqlalchemy as sa

from admin_app import create_app
from models import Attachment, AttachmentKind, db
from models.tickets.attachments import Upload
from models.tickets.intake import Report, report_ticket

from .conftest import test_config as settings_for_tests
from .test_exports import export_all
from .test_photos import GRID1, jpeg

EXPECTED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin"}


def assert_secured(response, what: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (what, name, response.headers.get(name))
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, what
    assert re.search(r"script-src 'self' 'nonce-[\w-]{16,}'", policy), (what, policy)
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0], what
    assert "Strict-Transport-Security" not in response.headers, what  # not in production


def test_every_kind_of_answer_carries_the_headers(world, client, login_as):
    ticket = report_ticket(Report(
        category_id=world.categories["garbage"].id, description="垃圾桶满溢", **GRID1,
        photos=[Upload(AttachmentKind.BEFORE, "现场.jpg", jpeg((80, 60)))])).ticket
    db.session.commit()
    photo = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalar_one()
    answers = {
        "login page": client.get("/login"),
        "resident report page": client.get("/report"),
        "static script": client.get("/static/js/admin_csp.js"),
        "health check": client.get("/healthz"),
        "API without a token (JSON)": client.get("/api/v1/tickets"),
        "Open311 services (XML)": client.get("/open311/v2/services.xml"),
        "no such page": client.get("/no/such/page"),
        "phone app service worker": client.get("/m/sw.js"),
    }
    staff = login_as("community")
    answers["admin list"] = staff.get("/admin/ticket/")
    answers["photo"] = staff.get(f"/admin/ticket/attachment/{photo.id}")
    answers["thumbnail"] = staff.get(f"/admin/ticket/attachment/{photo.id}/thumbnail")
    _page, status, _book = export_all(staff)
    answers["Excel export"] = staff.get(status["download_url"])
    for what, response in answers.items():
        assert response.status_code < 500, what
        assert_secured(response, what)
    assert answers["photo"].mimetype == "image/jpeg"


def test_the_nonce_is_new_for_every_answer_and_marks_the_inline_scripts(ctx, client):
    first, second = client.get("/report"), client.get("/report")
    nonces = [re.search(r"'nonce-([\w-]+)'", r.headers["Content-Security-Policy"]).group(1)
              for r in (first, second)]
    assert nonces[0] != nonces[1]
    html = first.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", html)
    assert inline and all(f'nonce="{nonces[0]}"' in attributes for attributes in inline)


def test_production_adds_hsts_and_the_map_tiles_are_allowed_images(ctx):
    production = create_app(settings_for_tests(
        GRIDDESK_ENV="production", SECRET_KEY="k" * 32,
        GRIDDESK_MAP_TILE_URL="https://t{s}.tianditu.gov.cn/img_w/wmts?tk=KEY"))
    response = production.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn" in policy
