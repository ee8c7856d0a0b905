"""What makes /m/ an installable app: the manifest, the service worker and the queue page."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, jsonify, render_template, send_file, url_for
from flask_babel import gettext as _

from . import bp

STATIC = Path(__file__).resolve().parents[2] / "admin_app" / "static" / "mobile"


@bp.route("/manifest.webmanifest")
def manifest():
    response = jsonify({
        "name": _("GridDesk field app"), "short_name": _("GridDesk field app"),
        "lang": "zh-CN", "start_url": url_for("mobile.inbox"), "scope": url_for("mobile.inbox"),
        "display": "standalone", "background_color": "#f2f4f7", "theme_color": "#1f6feb",
        "icons": [{"src": url_for("static", filename=f"mobile/icons/icon-{size}.png"),
                   "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any maskable"}
                  for size in (192, 512)]})
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/sw.js")
def service_worker():
    """Served under /m/ so that its scope is /m/ (a file under /static/ could not control it)."""
    response = send_file(STATIC / "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/queue")
def queue():
    """What waits in this phone's offline queue and what the server refused (drawn by app.js
    from IndexedDB: the queue never leaves the phone until it is sent)."""
    return render_template("mobile/queue.html", active_tab="me",
                           back_url=url_for("mobile.me"), debug=current_app.debug)
