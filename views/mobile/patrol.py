"""巡查 on the phone: start a round, record the route, check in, report a problem, end the round.

Input → one call of models.patrol.rounds → page or JSON. Refusals show their Chinese message and
change nothing (the session is rolled back).
"""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import PatrolRound, db
from models.errors import ActionInvalid, WorkflowError
from models.patrol import rounds
from models.patrol.queries import recent_rounds, report_categories, visible_check_in, visible_round
from models.patrol.route import MAX_POINTS_PER_REQUEST
from models.people.roles import PATROLLING_ROLES
from models.tickets.attachments import Upload
from models.vocabulary import AttachmentKind
from views.api import idempotent
from views.inputs import request_json, whole_number

from . import bp
from .sync import as_principal

SEND_EVERY_SECONDS = 15


def _worker():
    user = current_user._get_current_object()
    if user.role not in PATROLLING_ROLES:
        abort(403)
    return user


def _photo(field: str) -> Upload | None:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return None
    return Upload.from_file(AttachmentKind.OTHER, upload)


@bp.route("/patrol")
def patrol():
    worker = current_user._get_current_object()
    if worker.role not in PATROLLING_ROLES:
        return render_template("mobile/patrol_start.html", active_tab="patrol", recent=[],
                               may_patrol=False)
    current = rounds.open_round_of(worker)
    if current is None:
        return render_template("mobile/patrol_start.html", active_tab="patrol", may_patrol=True,
                               recent=recent_rounds(worker))
    return render_template("mobile/patrol_round.html", active_tab="patrol", round=current,
                           summary=rounds.round_summary(current), **_recorder(current))


def _recorder(current) -> dict:
    return {"points_url": url_for("mobile.patrol_points", round_id=current.id),
            "send_every": SEND_EVERY_SECONDS, "batch_max": MAX_POINTS_PER_REQUEST}


@bp.route("/patrol/start", methods=["POST"])
def patrol_start():
    try:
        rounds.start_round(_worker())
        db.session.commit()
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    return redirect(url_for("mobile.patrol"))


@bp.route("/patrol/<int:round_id>/points", methods=["POST"])
def patrol_points(round_id: int):
    """JSON: {"points": [[lon, lat, t (epoch ms), accuracy], …]} (or the same as objects), sent
    from the offline queue with an Idempotency-Key: a batch sent again is answered like the
    first time and records nothing twice."""
    as_principal()
    return _record_points(round_id)


@idempotent
def _record_points(round_id: int):
    payload = request_json()
    raw = payload.get("points") if isinstance(payload, dict) else None
    kept = rounds.add_route_points(_worker(), round_id, raw)
    current = db.session.get(PatrolRound, round_id)
    return jsonify({"kept": kept, "point_count": current.point_count,
                    "distance_m": int(current.distance_m),
                    "distance": patrol_distance(current.distance_m)}), 200


@bp.route("/patrol/<int:round_id>/check-in", methods=["GET", "POST"])
def patrol_check_in(round_id: int):
    worker = _worker()
    error = None
    if request.method == "POST" and _from_the_queue():
        as_principal()
        return _queued_check_in(round_id)
    if request.method == "POST":
        try:
            rounds.check_in(worker, round_id, photo=_photo("photo"), lon=request.form.get("lon"),
                            lat=request.form.get("lat"), note=request.form.get("note"),
                            place=request.form.get("place"))
            db.session.commit()
            flash(_("Checked in."), "success")
            return redirect(url_for("mobile.patrol"))
        except WorkflowError as exc:
            db.session.rollback()
            if not isinstance(exc, ActionInvalid):  # not this worker's open round any more
                flash(exc.message, "danger")
                return redirect(url_for("mobile.patrol")), 303
            error = exc.message
    current = _open_round_page(worker, round_id)
    return render_template("mobile/patrol_check_in.html", active_tab="patrol", round=current,
                           error=error, form=request.form, back_url=url_for("mobile.patrol"),
                           **_recorder(current)), 422 if error else 200


@bp.route("/patrol/<int:round_id>/report", methods=["GET", "POST"])
def patrol_report(round_id: int):
    worker = _worker()
    error = None
    if request.method == "POST" and _from_the_queue():
        as_principal()
        return _queued_report(round_id)
    if request.method == "POST":
        category = request.form.get("category_id", "")
        try:
            ticket = rounds.report_during_round(
                worker, round_id, category_id=whole_number(category),
                photo=_photo("photo"), lon=request.form.get("lon"), lat=request.form.get("lat"),
                note=request.form.get("note"))
            db.session.commit()
            flash(_("Reported: ticket %(number)s.", number=ticket.number), "success")
            return redirect(url_for("mobile.patrol"))
        except WorkflowError as exc:
            db.session.rollback()
            if not isinstance(exc, ActionInvalid):  # not this worker's open round any more
                flash(exc.message, "danger")
                return redirect(url_for("mobile.patrol")), 303
            error = exc.message
    current = _open_round_page(worker, round_id)
    return render_template("mobile/patrol_report.html", active_tab="patrol", round=current,
                           error=error, form=request.form, back_url=url_for("mobile.patrol"),
                           categories=report_categories(worker), **_recorder(current)), \
        422 if error else 200


@bp.route("/patrol/<int:round_id>/end", methods=["GET", "POST"])
def patrol_end(round_id: int):
    worker = _worker()
    error = None
    if request.method == "POST" and _from_the_queue():
        as_principal()
        return _queued_end(round_id)
    if request.method == "POST":
        try:
            rounds.end_round(worker, round_id, summary=request.form.get("summary"))
            db.session.commit()
            return redirect(url_for("mobile.patrol_summary", round_id=round_id))
        except WorkflowError as exc:
            db.session.rollback()
            if not isinstance(exc, ActionInvalid):  # not this worker's open round any more
                flash(exc.message, "danger")
                return redirect(url_for("mobile.patrol")), 303
            error = exc.message
    current = _open_round_page(worker, round_id)
    return render_template("mobile/patrol_end.html", active_tab="patrol", round=current,
                           summary=rounds.round_summary(current), error=error,
                           back_url=url_for("mobile.patrol"), **_recorder(current)), \
        422 if error else 200


@bp.route("/patrol/<int:round_id>")
def patrol_summary(round_id: int):
    current = visible_round(_worker(), round_id)
    if current is None:
        abort(404)
    return render_template("mobile/patrol_summary.html", active_tab="patrol", round=current,
                           summary=rounds.round_summary(current),
                           back_url=url_for("mobile.patrol"))


@bp.route("/patrol/check-in/<int:check_in_id>/photo")
@bp.route("/patrol/check-in/<int:check_in_id>/photo/<any(thumbnail):size>")
def patrol_check_in_photo(check_in_id: int, size: str | None = None):
    visit = visible_check_in(current_user._get_current_object(), check_in_id)
    if visit is None:
        abort(404)
    return check_in_photo_response(visit, thumbnail=size == "thumbnail")


def check_in_photo_response(visit, *, thumbnail: bool):
    """A check-in's photo or thumbnail, cached by the browser (also used by the admin page)."""
    try:
        stored, mime = rounds.open_check_in_photo(visit, thumbnail=thumbnail)
    except FileNotFoundError:
        abort(404)
    return send_file(stored, mimetype=mime, max_age=3600, conditional=True,
                     etag=f"{visit.photo_sha256}-t" if thumbnail else visit.photo_sha256)


# --- the same forms sent from the offline queue (patrol.js, when the phone is offline) ---------
# The queue posts the form's fields with an Idempotency-Key and wants JSON: a step sent again
# after a lost answer gets the first answer and stores nothing twice.
def _from_the_queue() -> bool:
    return bool(request.headers.get("Idempotency-Key"))


def _round_answer(current, **extra):
    return jsonify({"ok": True, "round": {"id": current.id, "url": url_for("mobile.patrol")},
                    **extra}), 200


@idempotent
def _queued_check_in(round_id: int):
    visit = rounds.check_in(_worker(), round_id, photo=_photo("photo"),
                            lon=request.form.get("lon"), lat=request.form.get("lat"),
                            note=request.form.get("note"), place=request.form.get("place"))
    db.session.flush()
    return _round_answer(visit.round, check_in={"id": visit.id})


@idempotent
def _queued_report(round_id: int):
    worker = _worker()
    ticket = rounds.report_during_round(
        worker, round_id, category_id=whole_number(request.form.get("category_id", "")),
        photo=_photo("photo"), lon=request.form.get("lon"), lat=request.form.get("lat"),
        note=request.form.get("note"))
    db.session.flush()
    return jsonify({"ok": True, "ticket": {
        "id": ticket.id, "number": ticket.number, "status": ticket.status.value,
        "url": url_for("mobile.ticket", ticket_id=ticket.id)}}), 201


@idempotent
def _queued_end(round_id: int):
    rounds.end_round(_worker(), round_id, summary=request.form.get("summary"))
    db.session.flush()
    return _round_answer(db.session.get(PatrolRound, round_id),
                         summary_url=url_for("mobile.patrol_summary", round_id=round_id))


def _open_round_page(worker, round_id: int):
    """The worker's own open round for a form page; elsewhere back to the patrol tab."""
    current = visible_round(worker, round_id)
    if current is None or current.worker_id != worker.id:
        abort(404)
    if not current.is_open:
        abort(redirect(url_for("mobile.patrol_summary", round_id=round_id)))
    return current


@bp.app_template_filter("patrol_duration")
def patrol_duration(value) -> str:
    minutes = int(value.total_seconds() // 60)
    return _("%(h)s h %(m)s min", h=minutes // 60, m=minutes % 60) if minutes >= 60 \
        else _("%(m)s min", m=minutes)


@bp.app_template_filter("patrol_distance")
def patrol_distance(metres: float) -> str:
    return _("%(km).2f km", km=metres / 1000) if metres >= 1000 else _("%(m)s m", m=int(metres))

