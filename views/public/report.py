"""/report: the resident's report form, the nearby open cases, the grid map, and the receipt."""
from __future__ import annotations

import segno
from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from models import db
from models.areas.grid_map import (MAX_BOX_DEGREES, active_communities,
                                   grid_feature_collection, grids_extent, parse_box)
from models.categories import Category
from models.clock import format_local
from models.errors import ActionInvalid, PlaceMissing, WorkflowError
from models.notify.messages import tracking_url
from models.tickets.public_intake import PublicReport, submit_public_report
from models.tickets.public_limits import count_public_suggestion, max_photos
from models.tickets.public_view import nearby_open_cases, public_categories
from models.tickets.reporters import find_by_tracking_code
from models.vocabulary import AttachmentKind
from views.api import error_body
from views.inputs import whole_number
from views.uploads import photo_uploads

from . import bp, not_found


def _number(name: str) -> float | None:
    try:
        return float(request.values.get(name) or "")
    except ValueError:
        return None


def _integer(name: str) -> int | None:
    text = (request.values.get(name) or "").strip()
    return whole_number(text)


def _form_page(values: dict, error: str | None = None, status: int = 200):
    return render_template("public/report.html", values=values, error=error,
                           categories=public_categories(), communities=active_communities(),
                           max_photos=max_photos(), grids_extent=grids_extent(),
                           max_box=MAX_BOX_DEGREES), status


@bp.get("/report")
def report_form():
    return _form_page({})


@bp.post("/report")
def report_submit():
    photos = photo_uploads(AttachmentKind.BEFORE)
    report = PublicReport(
        category_id=_integer("category_id"), description=request.form.get("description", ""),
        lat=_number("lat"), lon=_number("lon"), address=request.form.get("address"),
        area_id=_integer("area_id"), name=request.form.get("name"),
        phone=request.form.get("phone"), photos=photos, honeypot=request.form.get("website"),
        join_id=_integer("join"), ip=request.remote_addr)
    try:
        _ticket, code = submit_public_report(report)
        db.session.commit()
    except PlaceMissing:
        db.session.rollback()
        return _refused(_("Tell us where it is: use your current location, tap the place on the "
                          "map, or choose your community."), 422, photos)
    except WorkflowError as exc:
        db.session.rollback()
        return _refused(exc.message, exc.http_status, photos)
    return redirect(url_for("public.report_sent", code=code))


def _refused(message: str, status: int, photos: list):
    """The form again with what was typed and why it was refused; a browser cannot be given the
    photos back, so the resident is told to add them again."""
    if photos:
        message = f"{message} {_('Please add your photos again.')}"
    return _form_page(request.form.to_dict(), message, status)


@bp.get("/report/nearby")
def report_nearby():
    """Open cases of the same kind close to the point: JSON for the form's "是这件事吗？"."""
    category_id = _integer("category_id")
    category = db.session.get(Category, category_id) if category_id else None
    cases = nearby_open_cases(category, _number("lon"), _number("lat"))
    return jsonify({"cases": [{"id": c.id, "category": c.category, "title": c.title,
                               "metres": c.metres, "status": c.status, "reporters": c.reporters,
                               "reported_at": format_local(c.reported_at)} for c in cases]})


@bp.get("/report/suggest")
def report_suggest():
    """Likely categories for what the resident typed (only categories listed publicly)."""
    from views.api import suggestion_json

    try:
        count_public_suggestion(request.remote_addr)
        db.session.commit()
    except WorkflowError as exc:
        db.session.rollback()
        return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.http_status
    return jsonify(suggestion_json(request.args.get("text", ""), public=True))


@bp.get("/report/grids.geojson")
def report_grids():
    """The grids in the map's visible area: ``?bbox=minlon,minlat,maxlon,maxlat``."""
    try:
        area = parse_box(request.args.get("bbox"))
    except ActionInvalid as exc:
        return jsonify(error_body("invalid", exc.message)), 400
    response = jsonify(grid_feature_collection(area))
    response.cache_control.public = True
    response.cache_control.max_age = 600
    return response


@bp.get("/report/sent/<code>")
def report_sent(code: str):
    found = find_by_tracking_code(code)
    if found is None:
        return not_found()
    ticket, contact = found
    link = tracking_url(contact.tracking_code) or url_for(
        "public.track", code=contact.tracking_code, _external=True)
    return render_template("public/sent.html", ticket=ticket, code=contact.tracking_code,
                           link=link, qr=qr_svg(link))


def qr_svg(text: str) -> Markup:
    """The QR code of the tracking link, as inline SVG (no image request, prints sharply)."""
    return Markup(segno.make(text, error="m").svg_inline(scale=5, border=2, dark="#111",
                                                         light="#fff"))
