"""Photos are kept by the storage the app factory installs (disk under UPLOAD_DIR by default);
models/ only decides what is accepted and under which content-addressed name."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from models import Attachment, AttachmentKind, db
from models.tickets.attachments import Upload, install_photo_storage, photo_storage
from models.tickets.intake import Report, report_ticket


def photo_bytes(colour="green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


class MemoryStorage:
    """Another storage behind the same interface (as an S3 bucket would be)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}

    def save(self, content: bytes, name: str) -> str:
        self.files[name] = content
        return name

    def open(self, key: str):
        if key not in self.files:
            raise FileNotFoundError(key)
        return io.BytesIO(self.files[key])


@pytest.fixture()
def memory_storage(app):
    disk = photo_storage()
    memory = MemoryStorage()
    install_photo_storage(app, memory)
    yield memory
    install_photo_storage(app, disk)


def report_with_photo(world, data: bytes):
    ticket = report_ticket(Report(
        category_id=world.categories["garbage"].id, description="垃圾桶满溢", lon=120.004,
        lat=30.006, photos=[Upload(AttachmentKind.BEFORE, "现场.jpg", data)])).ticket
    db.session.commit()
    return db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id)).scalar_one()


def files_under(folder: str) -> set[Path]:
    return {p for p in Path(folder).rglob("*") if p.is_file()}


def test_the_app_stores_and_serves_a_photo_through_the_configured_storage(
        app, world, login_as, memory_storage):
    before = files_under(app.config["UPLOAD_DIR"])
    data = photo_bytes("red")
    attachment = report_with_photo(world, data)
    # Stored re-encoded (issue 10: no EXIF, orientation applied), named by the stored bytes
    stored = memory_storage.files[attachment.stored_path]
    digest = hashlib.sha256(stored).hexdigest()
    assert attachment.stored_path == f"{digest[:2]}/{digest}.jpg" and attachment.sha256 == digest
    assert set(memory_storage.files) == {attachment.stored_path, attachment.thumbnail_path}
    assert Image.open(io.BytesIO(stored)).size == (64, 48)
    assert files_under(app.config["UPLOAD_DIR"]) == before  # nothing went to the disk

    response = login_as("community").get(f"/admin/ticket/attachment/{attachment.id}")
    assert response.status_code == 200 and response.data == stored
    assert response.mimetype == "image/jpeg"
    memory_storage.files.clear()
    assert login_as("community").get(
        f"/admin/ticket/attachment/{attachment.id}").status_code == 404


def test_by_default_photos_go_to_upload_dir_once_per_content(app, world, login_as):
    data = photo_bytes("purple")
    first = report_with_photo(world, data)
    second = report_with_photo(world, data)
    assert first.stored_path == second.stored_path
    stored = Path(app.config["UPLOAD_DIR"]) / first.stored_path
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == first.sha256
    assert not stored.with_suffix(".part").exists()
    assert (Path(app.config["UPLOAD_DIR"]) / first.thumbnail_path).exists()
    response = login_as("community").get(f"/admin/ticket/attachment/{second.id}")
    assert response.status_code == 200 and response.data == stored.read_bytes()
    # Outside the scope of the viewer: not served.
    assert login_as("community2").get(
        f"/admin/ticket/attachment/{first.id}").status_code == 404
