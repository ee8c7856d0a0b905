"""Error pages people read: Chinese, inside the admin layout with its menu, fit for a phone —
or, on the residents' pages and in the field app, inside theirs."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

MACHINE_PREFIXES = ("/api/", "/open311/", "/m/api/")
MACHINE_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 500: "server_error"}
PAGES = {
    400: (_l("The request cannot be read"),
          _l("A value in the address or the form is not valid (for example a stale link or an "
             "expired form). Go back, reload the page and try again.")),
    403: (_l("You may not open this page"),
          _l("Your role does not include it. Ask your administrator if you need access.")),
    404: (_l("Page not found"),
          _l("The page or record does not exist, or it is outside your scope.")),
    405: (_l("This page cannot be opened that way"),
          _l("Open it from the menu or from a link in GridDesk.")),
    413: (_l("What you sent is too large"), ""),  # text: models.tickets.attachments
    500: (_l("Something went wrong on our side"),
          _l("Nothing was saved by the failed step. Try again in a moment; if it happens again, "
             "tell your administrator the time and what you did.")),
}


def error_response(error: HTTPException):
    code = getattr(error, "code", None) or 500
    if code not in PAGES:
        code = 500
    if code == 500:
        from models import db

        db.session.rollback()  # the menu reads the database; the failed transaction is over
    title, text = (str(part) for part in PAGES[code])
    if code == 413:
        from models.tickets.attachments import too_large_message

        text = too_large_message()
    if request.path.startswith(MACHINE_PREFIXES):
        return _machine_error(code, MACHINE_CODES[code], text if code == 413 else title)
    return _page(title, text), code


def refused_input_response(error):
    """Input refused at the edge (views/inputs.InputRefused): its own message, in the caller's
    format; on a page, the 400 page with that message."""
    from models import db

    db.session.rollback()
    if request.path.startswith(MACHINE_PREFIXES) or _wants_json():
        return _machine_error(error.status, error.code, error.message)
    return _page(str(PAGES[400][0]), error.message), 400


def _wants_json() -> bool:
    """A page's script asking for JSON (the report page's suggestions and grid map)."""
    return request.path.endswith((".json", ".geojson")) \
        or request.accept_mimetypes.best == "application/json"


def _machine_error(status: int, code: str, message: str):
    """JSON {"error": {code, message}}; under /open311/ the GeoReport v2 error list, in XML for
    a .xml resource."""
    if request.path.startswith("/open311/"):
        from views.open311 import error, requested_format

        return error(requested_format(), status, message)
    return jsonify({"error": {"code": code, "message": message}}), status


# Pages with a layout of their own: a resident or a phone user sees the error in it.
OWN_LAYOUTS = {"public": "errors/_public.html", "mobile": "errors/_mobile.html"}


def _page(title: str, text: str) -> str:
    own = OWN_LAYOUTS.get(request.blueprint or "")
    if own is not None:
        try:
            return render_template(own, error_title=title, error_text=text)
        except Exception:  # noqa: BLE001 — e.g. the database is down: the plain page below
            current_app.logger.exception("error page drawn without its layout")
            return render_template("errors/_plain.html", error_title=title, error_text=text)
    admins = current_app.extensions.get("admin") or []
    try:
        return admins[0].index_view.render("errors/_page.html", error_title=title, error_text=text)
    except Exception:  # the layout itself failed (e.g. the database is down): a plain page
        current_app.logger.exception("error page drawn without the admin layout")
        return render_template("errors/_plain.html", error_title=title, error_text=text)
