"""Integrations seen from the office: a report from the hotline's API client and one from an
Open311 client with a photo, opened in the admin panel by the district command centre.

Starts the demo on a scratch database, creates an integration client with
`python run.py create-api-client`, sends one JSON API report (with custom-field answers) and one
Open311 POST in XML with a multipart photo, then screenshots both tickets' pages and the raw
Open311 XML. Pictures go to docs/screenshots/integration-*.png.
Run from docs/: python integration_screenshots.py (needs chromium + chromium-driver).
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import requests
from PIL import Image, ImageDraw
from selenium.webdriver.common.by import By
from take_screenshots import BASE, OUT, ROOT, chromium, demo_server, log_in

HTTP = requests.Session()
HTTP.trust_env = False


def create_client(workdir: Path, name: str) -> str:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{workdir / 'shots.db'}",
               GRIDDESK_INSTANCE=str(workdir))
    out = subprocess.run([sys.executable, "run.py", "create-api-client", name], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    return re.search(r"gdc_[\w-]+", out).group(0)


def street_photo() -> bytes:
    image = Image.new("RGB", (480, 320), (205, 215, 222))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 120, 200, 300), fill=(46, 125, 50))
    draw.rectangle((230, 150, 330, 300), fill=(46, 125, 50))
    draw.ellipse((150, 220, 300, 310), fill=(120, 98, 70))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def a_point(token: str) -> tuple[float, float]:
    tickets = HTTP.get(f"{BASE}/api/v1/tickets?limit=20",
                       headers={"Authorization": f"Bearer {token}"}).json()["items"]
    ticket = next(t for t in tickets if t["lat"] is not None)
    return ticket["lat"], ticket["lon"]


def main() -> None:
    with demo_server("griddesk-integration-") as workdir:
        hotline = create_client(workdir, "12345市民热线")
        lat, lon = a_point(hotline)
        api = HTTP.post(f"{BASE}/api/v1/tickets", headers={"Authorization": f"Bearer {hotline}"},
                        json={"category": "0101", "description": "市民来电：小区门口垃圾桶满溢两天未清运",
                              "lat": lat + 0.0003, "lon": lon + 0.0003, "source": "phone",
                              "reporter_name": "陈先生", "reporter_phone": "13812340000"})
        api.raise_for_status()
        api_id = api.json()["id"]

        wechat = create_client(workdir, "微信小程序")
        posted = HTTP.post(f"{BASE}/open311/v2/requests.xml", data={
            "api_key": wechat, "service_code": "0101", "lat": str(lat - 0.0003),
            "long": str(lon - 0.0003), "description": "路边垃圾堆放，有异味",
            "first_name": "小红", "last_name": "李", "phone": "13900001111"},
            files={"media": ("现场照片.jpg", street_photo(), "image/jpeg")})
        posted.raise_for_status()
        number = re.search(r"<service_request_id>(\w+)</service_request_id>", posted.text).group(1)
        xml = HTTP.get(f"{BASE}/open311/v2/requests/{number}.xml").text

        with chromium() as driver:
            log_in(driver, "district")
            driver.get(f"{BASE}/admin/ticket/details/?id={api_id}")
            driver.save_screenshot(str(OUT / "integration-api-ticket.png"))
            driver.get(f"{BASE}/admin/ticket/?search={number}")
            driver.find_element(By.LINK_TEXT, number).click()
            driver.save_screenshot(str(OUT / "integration-open311-ticket.png"))
            page = workdir / "request.xml"
            page.write_text(xml, encoding="utf-8")
            driver.get(page.as_uri())
            driver.save_screenshot(str(OUT / "integration-open311-xml.png"))
        print("screenshots: integration-api-ticket.png, integration-open311-ticket.png, "
              "integration-open311-xml.png")


if __name__ == "__main__":
    main()
