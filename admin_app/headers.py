"""Security headers on every answer: a Content-Security-Policy the pages satisfy, no framing,
no MIME sniffing (photos, exports and every other file included), a referrer policy, and HSTS in
production.

Scripts: only files from this site, and inline scripts carrying this answer's nonce
(``csp_nonce()`` in templates; Flask-Admin's own inline scripts get it through the Admin's
``csp_nonce_generator``). No inline event handlers (``onclick=``) and no ``javascript:`` URLs:
admin_app/static/js/admin_csp.js gives the few Flask-Admin ones their behaviour from data-*
attributes (see templates/admin/model/*.html).

Styles: files from this site and inline styles ('unsafe-inline'). The templates carry ``style=``
attributes for one-off widths, ECharts writes its tooltips as HTML with style attributes, and
Leaflet positions its panes by style; a style cannot run script, and pages print user text
escaped, so the gain of forbidding them (CSS-only exfiltration after an HTML injection) is not
worth rewriting those libraries. A nonce in style-src would switch 'unsafe-inline' off, so
<style> blocks need none.

Images: this site, data: (Bootstrap's icons), blob: (photo previews before upload) and the map
tile server of GRIDDESK_MAP_TILE_URL.
"""
from __future__ import annotations

import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app, g

HSTS = "max-age=31536000"


def csp_nonce() -> str:
    """This answer's nonce for inline <script> elements (one per request)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def tile_source(template: str) -> str | None:
    """https://t{s}.tianditu.gov.cn/… → https://*.tianditu.gov.cn (a CSP source expression)."""
    if not template:
        return None
    parts = urlsplit(template)
    host = parts.netloc
    if "{" in host:
        host = "*." + host.split(".", 1)[1] if "." in host else "*"
    return f"{parts.scheme or 'https'}://{host}"


def content_security_policy(nonce: str) -> str:
    return _policy_template(current_app.config.get("MAP_TILE_URL", "")).replace("{nonce}", nonce)


@lru_cache(maxsize=8)
def _policy_template(tile_url: str) -> str:
    """The policy with ``{nonce}`` in place of the nonce, built once per map tile server."""
    images = ["'self'", "data:", "blob:"]
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": "'self'",
        "script-src": "'self' 'nonce-{nonce}'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": " ".join(images),
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "worker-src": "'self'",
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


_FIXED = (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
          ("Referrer-Policy", "strict-origin-when-cross-origin"))


def add_security_headers(response):
    """Each header the view did not set itself (one look at the headers there are: the API's
    reads answer hundreds of times a second)."""
    headers = response.headers
    present = set(headers.keys(lower=True))
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", content_security_policy(csp_nonce()))
    for name, value in _FIXED:
        if name.lower() not in present:
            headers.add(name, value)
    if current_app.config.get("GRIDDESK_ENV") == "production" \
            and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", HSTS)
    return response


def install_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
