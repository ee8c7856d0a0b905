"""Photos and files attached to timeline events: what is accepted, and the attachment rows.

The files themselves go to a PhotoStorage (disk, S3…) that the app factory installs; they are
content-addressed (``ab/ab12….jpg`` by SHA-256), so the same photo is stored once.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import gettext as _

from models.base import db
from models.errors import ActionInvalid
from models.people.user import User
from models.settings import setting
from models.tickets.photos import (FORMATS, PHOTO_EXTENSIONS, NotAPhoto, TooManyPixels,
                                   process_photo, thumbnail_of)
from models.tickets.tables import Attachment, Ticket, TicketEvent
from models.vocabulary import AttachmentKind, TicketStatus

MAX_BYTES = 15 * 1024 * 1024  # settings PHOTO_MAX_BYTES / PHOTO_MAX_PIXELS override these
MAX_PIXELS = 50_000_000
THUMBNAIL_SIZE = 320


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


def max_bytes() -> int:
    return int(setting("PHOTO_MAX_BYTES", MAX_BYTES))


def too_large_message() -> str:
    """What a request past MAX_CONTENT_LENGTH is told (refused before any photo is read)."""
    return _(
        "What you sent is too large. Send fewer or smaller photos at once: each photo may be at "
        "most %(photo)s MB, and everything sent together at most %(total)s MB.",
        photo=f"{max_bytes() / 1024 / 1024:g}",
        total=f"{(setting('MAX_CONTENT_LENGTH', 0) or 0) / 1024 / 1024:g}")


@dataclass
class Upload:
    kind: AttachmentKind
    filename: str
    data: bytes
    # Filled by check_upload: the re-encoded photo (no EXIF, orientation applied) and its facts
    mime: str = ""
    extension: str = ""
    width: int | None = None
    height: int | None = None
    sha256: str = ""
    thumbnail: bytes = b""
    gps: tuple[float, float] | None = None  # (lat, lon) the EXIF carried, before it was dropped

    @classmethod
    def from_file(cls, kind: AttachmentKind, file, name: str = "",
                  place: str | None = None) -> "Upload":
        """From an uploaded file (werkzeug FileStorage): never more than one byte past the
        limit is read, so check_upload refuses a 60 MB file without holding it in memory.
        ``place``: where the photo was taken, as the browser read it (photo_place)."""
        return cls(kind, file.filename or name, file.read(max_bytes() + 1),
                   gps=photo_place(place))


def photo_place(text: str | None) -> tuple[float, float] | None:
    """"lat,lon" that the browser read from a photo's EXIF before it made the photo smaller (the
    smaller copy has no EXIF): used like the EXIF's own GPS. None when absent or no place."""
    try:
        lat, lon = (float(part) for part in (text or "").split(","))
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90
                                                               and -180 <= lon <= 180):
        return None
    return None if lat == 0 and lon == 0 else (lat, lon)


def check_upload(upload: Upload) -> Upload:
    """Only real photos are accepted: Pillow must decode the content as JPEG, PNG or WebP within
    the byte and pixel limits, and the file's name must not claim another type. The accepted
    photo is re-encoded (what is stored and served), with its thumbnail."""
    name = upload.filename or "?"
    if upload.sha256:
        return upload  # checked already
    if not upload.data:
        raise ActionInvalid(_("The file %(name)s is empty.", name=name))
    limit = max_bytes()
    if len(upload.data) > limit:
        raise ActionInvalid(_("The file %(name)s is larger than %(mb)s MB; send a smaller photo.",
                              name=name, mb=f"{limit / 1024 / 1024:g}"))
    base = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    extension = base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""
    if extension and extension not in PHOTO_EXTENSIONS:
        raise ActionInvalid(_("%(name)s is not a photo file: only .jpg, .png and .webp files "
                              "(JPEG, PNG or WebP photos) are accepted.", name=name))
    max_pixels = int(setting("PHOTO_MAX_PIXELS", MAX_PIXELS))
    try:
        photo = process_photo(upload.data, max_pixels=max_pixels,
                              thumbnail_size=int(setting("PHOTO_THUMBNAIL_SIZE", THUMBNAIL_SIZE)))
    except TooManyPixels:
        raise ActionInvalid(_("%(name)s has too many pixels (at most %(mp)s million); send a "
                              "smaller photo.", name=name, mp=f"{max_pixels / 1e6:g}")) from None
    except NotAPhoto:
        raise ActionInvalid(_("%(name)s is not a readable photo: only JPEG, PNG or WebP photos "
                              "are accepted.",
                              name=name)) from None
    upload.mime, upload.extension = FORMATS[photo.format]
    upload.width, upload.height = photo.width, photo.height
    upload.data, upload.thumbnail = photo.content, photo.thumbnail
    if photo.gps is not None:  # else the place the browser read before making it smaller
        upload.gps = photo.gps
    upload.sha256 = hashlib.sha256(photo.content).hexdigest()
    return upload


def thumbnail_name(sha256: str) -> str:
    """Where the thumbnail of the photo with this content hash is stored."""
    return f"{sha256[:2]}/{sha256}.thumb.jpg"


def store_photo(upload: Upload) -> tuple[str, str]:
    """Check and store the photo and its thumbnail; returns both keys."""
    check_upload(upload)
    storage = photo_storage()
    key = storage.save(upload.data, f"{upload.sha256[:2]}/{upload.sha256}.{upload.extension}")
    return key, storage.save(upload.thumbnail, thumbnail_name(upload.sha256))


def open_thumbnail(photo_key: str, sha256: str) -> BinaryIO:
    """The stored thumbnail of a stored photo; made (and kept) from the photo when it was stored
    without one. FileNotFoundError when the photo itself is missing."""
    storage = photo_storage()
    try:
        return storage.open(thumbnail_name(sha256))
    except FileNotFoundError:
        with storage.open(photo_key) as stored:
            small = thumbnail_of(stored.read(),
                                 int(setting("PHOTO_THUMBNAIL_SIZE", THUMBNAIL_SIZE)))
        return storage.open(storage.save(small, thumbnail_name(sha256)))


def save_attachment(ticket: Ticket, event: TicketEvent, upload: Upload,
                    uploaded_by: User | None) -> Attachment:
    key, thumbnail_key = store_photo(upload)
    attachment = Attachment(
        ticket_id=ticket.id, event_id=event.id, kind=upload.kind, stored_path=key,
        thumbnail_path=thumbnail_key,
        original_name=(upload.filename or "")[:255] or None, sha256=upload.sha256,
        mime=upload.mime, size=len(upload.data), width=upload.width, height=upload.height,
        uploaded_by_id=uploaded_by.id if uploaded_by else None)
    db.session.add(attachment)
    return attachment


def open_photo(attachment: Attachment, *, thumbnail: bool = False) -> tuple[BinaryIO, str]:
    """The stored photo (or its thumbnail) and its MIME type; FileNotFoundError when missing.
    Who may see it is the caller's check (can_see_ticket, or public_photo)."""
    if thumbnail and attachment.thumbnail_path:
        return photo_storage().open(attachment.thumbnail_path), "image/jpeg"
    return photo_storage().open(attachment.stored_path), attachment.mime


def public_photo(attachment: Attachment | None, tracking_code: str | None) -> bool:
    """Whether the tracking page of ``tracking_code`` may show this photo to anyone holding the
    code: only the after-photos (the result) of that ticket once it is closed."""
    if attachment is None or not tracking_code:
        return False
    ticket = db.session.get(Ticket, attachment.ticket_id)
    return (ticket is not None and ticket.status == TicketStatus.CLOSED
            and attachment.kind == AttachmentKind.AFTER and bool(ticket.tracking_code)
            and hmac.compare_digest(str(ticket.tracking_code), str(tracking_code)))


def public_photos(ticket: Ticket) -> list[Attachment]:
    """The photos the tracking page of this ticket shows: its after-photos once it is closed."""
    if ticket.status != TicketStatus.CLOSED:
        return []
    return list(db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id, Attachment.kind == AttachmentKind.AFTER)
        .order_by(Attachment.id)).scalars())


def check_uploads(uploads) -> list:
    """Validate every upload of an action before the ticket changes at all."""
    uploads = list(uploads or [])
    if len(uploads) > MAX_PHOTOS_PER_STEP:
        raise ActionInvalid(_("At most %(count)s photos can be added in one step.",
                              count=MAX_PHOTOS_PER_STEP))
    return [check_upload(item) for item in uploads]


MAX_PHOTOS_PER_STEP = 9  # what a phone's share sheet sends at once


def save_attachments(ticket: Ticket, event: TicketEvent, uploads, *, uploaded_by: User | None) -> None:
    for item in uploads or []:
        save_attachment(ticket, event, item, uploaded_by=uploaded_by)
