"""Photos and files attached to timeline events: what is accepted, and the attachment rows.

The files themselves go to a PhotoStorage (disk, S3…) that the app factory installs; they are
content-addressed (``ab/ab12….jpg`` by SHA-256), so the same photo is stored once.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from flask import Flask, current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from models.base import db
from models.errors import ActionInvalid
from models.people.user import User
from models.tickets.tables import Attachment, Ticket, TicketEvent
from models.vocabulary import AttachmentKind

MAX_BYTES = 15 * 1024 * 1024
IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
                 "WEBP": ("image/webp", "webp"), "GIF": ("image/gif", "gif")}


class PhotoStorage(Protocol):
    def save(self, content: bytes, name: str) -> str:
        """Store ``content`` under ``name``; returns the key to open it with."""

    def open(self, key: str) -> BinaryIO:
        """The stored file; FileNotFoundError when it is missing."""


_STORAGE = "griddesk.photo_storage"


def install_photo_storage(app: Flask, storage: PhotoStorage) -> None:
    app.extensions[_STORAGE] = storage


def photo_storage() -> PhotoStorage:
    try:
        return current_app.extensions[_STORAGE]
    except KeyError:
        raise RuntimeError("No photo storage is installed: build the app with create_app().") \
            from None


@dataclass
class Upload:
    kind: AttachmentKind
    filename: str
    data: bytes
    # Filled by check_upload:
    mime: str = ""
    extension: str = ""
    width: int | None = None
    height: int | None = None
    sha256: str = ""


def check_upload(upload: Upload) -> Upload:
    """Only real images of a sensible size are accepted (the content is checked, not the name)."""
    if not upload.data:
        raise ActionInvalid(_("The file %(name)s is empty.", name=upload.filename or "?"))
    if len(upload.data) > MAX_BYTES:
        raise ActionInvalid(_("The file %(name)s is larger than 15 MB.", name=upload.filename))
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            image.verify()
        with Image.open(io.BytesIO(upload.data)) as image:
            fmt, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ActionInvalid(_("%(name)s is not a photo (JPEG, PNG, WebP or GIF).",
                              name=upload.filename or "?")) from None
    if fmt not in IMAGE_FORMATS:
        raise ActionInvalid(_("%(name)s is not a photo (JPEG, PNG, WebP or GIF).",
                              name=upload.filename or "?"))
    upload.mime, upload.extension = IMAGE_FORMATS[fmt]
    upload.width, upload.height = width, height
    upload.sha256 = hashlib.sha256(upload.data).hexdigest()
    return upload


def save_attachment(ticket: Ticket, event: TicketEvent, upload: Upload,
                    uploaded_by: User | None) -> Attachment:
    if not upload.sha256:
        check_upload(upload)
    name = f"{upload.sha256[:2]}/{upload.sha256}.{upload.extension}"
    key = photo_storage().save(upload.data, name)
    attachment = Attachment(
        ticket_id=ticket.id, event_id=event.id, kind=upload.kind, stored_path=key,
        original_name=(upload.filename or "")[:255] or None, sha256=upload.sha256,
        mime=upload.mime, size=len(upload.data), width=upload.width, height=upload.height,
        uploaded_by_id=uploaded_by.id if uploaded_by else None)
    db.session.add(attachment)
    return attachment
