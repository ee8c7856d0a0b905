"""Photos sent with a form, each with the place the browser read from it (field ``photo_gps``,
"lat,lon", one per photo in the same order): the browser makes photos smaller before sending
them, which drops their EXIF, so it reads the place first (admin_app/static/js/photo_shrink.js)."""
from __future__ import annotations

from flask import request

from models.tickets.attachments import Upload
from models.vocabulary import AttachmentKind


def photo_uploads(kind: AttachmentKind, field: str = "photos") -> list[Upload]:
    places = request.form.getlist("photo_gps")
    files = [f for f in request.files.getlist(field) if f and f.filename]
    return [Upload.from_file(kind, f, "photo", place=places[i] if i < len(places) else None)
            for i, f in enumerate(files)]
