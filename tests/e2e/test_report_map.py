"""The report page's grid map on a 375×812 phone: it asks only for the grids of the area it shows,
and keeps what it got, so the grids still show when their answers no longer come."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse


def test_the_map_asks_for_the_visible_area_only_and_keeps_it_for_offline(world, live_url, phone):
    asked = []
    phone.on("request", lambda r: asked.append(r.url) if "grids.geojson" in r.url else None)
    phone.goto(f"{live_url}/report")
    phone.wait_for_function("() => document.querySelectorAll('#p-map path.leaflet-interactive').length >= 3")
    assert asked
    for url in asked:
        west, south, east, north = map(float, parse_qs(urlparse(url).query)["bbox"][0].split(","))
        assert 0 < east - west <= 0.0501 and 0 < north - south <= 0.0501

    # The grids' answers no longer come (the network is gone): the page shows what it kept.
    phone.context.route("**/report/grids.geojson*", lambda route: route.abort())
    phone.reload()
    phone.wait_for_function("() => document.querySelectorAll('#p-map path.leaflet-interactive').length >= 3")
    names = phone.evaluate("Object.keys(localStorage).filter(k => k.startsWith('gd-grids:'))")
    assert "gd-grids:index" in names and len(names) >= 2
