"""/track/<code>: the resident's case — status, public timeline, after-photos, notices, rating
and "没有解决" (reopen)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from models import db
from models.errors import ActionInvalid, WorkflowError
from models.settings import setting
from models.tickets.actions import Actor
from models.tickets.attachments import open_photo
from models.tickets.public_limits import RESIDENT_NOTE_MAX, check_resident_note
from models.tickets.public_view import (after_photos, notices_for, photo_for_tracking_code,
                                        public_timeline)
from models.tickets.ratings import own_rating, rating_refusal
from models.tickets.reporters import find_by_tracking_code
from models.tickets.workflow import allowed_actions, perform
from views.inputs import whole_number

from . import bp, not_found


@bp.get("/track")
def track_lookup():
    code = (request.args.get("code") or "").strip().upper()
    if not code:
        return render_template("public/lookup.html")
    return redirect(url_for("public.track", code=code))


@bp.get("/track/<code>")
def track(code: str):
    found = find_by_tracking_code(code)
    if found is None:
        return not_found()
    ticket, contact = found
    actor = Actor.reporter(contact.reporter_id)
    actions = allowed_actions(actor, ticket)
    return render_template(
        "public/track.html", ticket=ticket, contact=contact, code=contact.tracking_code,
        rating=own_rating(ticket, actor),
        steps=public_timeline(ticket, contact), photos=after_photos(ticket),
        notices=notices_for(ticket, contact), can_rate="rate" in actions,
        can_reopen="reopen" in actions, reopen_days=setting("REOPEN_WINDOW_DAYS", 7),
        note_max=RESIDENT_NOTE_MAX)


@bp.post("/track/<code>/<any(rate, reopen):action>")
def track_act(code: str, action: str):
    """The reporter's own steps (the first reporter's or a joined one's): rate the closed case,
    or reopen it ("没有解决")."""
    found = find_by_tracking_code(code)
    if found is None:
        return not_found()
    ticket, contact = found
    actor = Actor.reporter(contact.reporter_id)
    try:
        check_resident_note(request.form.get("note"))
        # A second tap, or a second tab: "already rated", not "changed meanwhile".
        refusal = rating_refusal(ticket, actor=actor) if action == "rate" else None
        if refusal is not None:
            raise ActionInvalid(str(refusal))
        perform(ticket, action, actor, expected_version=_version(),
                rating=request.form.get("rating"), note=request.form.get("note"))
        db.session.commit()
        flash(_("Thank you for your rating.") if action == "rate"
              else _("The case has been reopened and will be handled again."), "success")
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("public.track", code=contact.tracking_code))


def _version() -> int | None:
    text = (request.form.get("version") or "").strip()
    return whole_number(text)


@bp.get("/track/<code>/photo/<int:attachment_id>")
@bp.get("/track/<code>/photo/<int:attachment_id>/<any(thumbnail):size>")
def track_photo(code: str, attachment_id: int, size: str | None = None):
    item = photo_for_tracking_code(code, attachment_id)
    if item is None:
        return not_found()
    try:
        stored, mime = open_photo(item, thumbnail=size == "thumbnail")
    except FileNotFoundError:
        return not_found()
    return send_file(stored, mimetype=mime, etag=f"{item.sha256}-{size or 'full'}", max_age=3600)
