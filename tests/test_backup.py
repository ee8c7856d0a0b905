"""Backup and restore: a filled database and its photos come back whole in an empty database."""
from __future__ import annotations

import io
import json
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from integrations.backup import BackupError, backup, restore
from models import AttachmentKind, Channel, Notification, db
from models.notify.notices import write_notice
from models.tickets.attachments import Upload
from models.tickets.intake import Report, report_ticket

from .conftest import database_url
from .factories import make_ticket
from .test_photos import GRID1, jpeg

TABLES = ["tickets", "ticket_events", "attachments", "notifications"]


def fill(world) -> None:
    """Tickets with events, photos and outbox rows, made by the real operations."""
    worker = world.users["gridworker"]
    for n, colour in enumerate(["red", "green", "blue"]):
        ticket = report_ticket(Report(
            category_id=world.categories["garbage"].id, description=f"井盖缺失 {n}", **GRID1,
            reporter_phone="13812345678",
            photos=[Upload(AttachmentKind.BEFORE, f"现场{n}.jpg", jpeg((80 + n, 60), colour))])).ticket
        write_notice(cause=f"backup-test-{n}", channel=Channel.IN_APP, template="assigned",
                     payload={"number": ticket.number}, user_id=worker.id, ticket=ticket)
    make_ticket(world, "grid1", assignee=worker)
    db.session.commit()


def rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]
    finally:
        engine.dispose()


@contextmanager
def empty_database(tmp_path: Path):
    """A second database beside the test one: a fresh PostgreSQL database (dropped afterwards)
    or a new SQLite file."""
    url = sa.engine.make_url(database_url())
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"{url.database}_restore"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_restored_into_an_empty_database_has_every_row_and_photo(app, world, tmp_path):
    fill(world)
    source, uploads = database_url(), Path(app.config["UPLOAD_DIR"])
    assert db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() >= 3
    archive = backup(source, tmp_path / "nightly.tar.gz", upload_dir=str(uploads)).archive

    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["tickets"] == 4 and manifest["attachments"] == 3
    assert manifest["outbox"] == len(rows(source, "notifications"))
    assert manifest["alembic_revision"] and manifest["created_at"]

    restored_uploads = tmp_path / "restored-uploads"
    with empty_database(tmp_path) as target:
        outcome = restore(archive, target, upload_dir=str(restored_uploads))
        assert outcome.manifest["events"] == len(rows(source, "ticket_events"))
        for table in TABLES:
            assert rows(target, table) == rows(source, table), table
        engine = sa.create_engine(target)
        with engine.connect() as conn:
            stored = conn.execute(sa.text(
                "SELECT stored_path, thumbnail_path FROM attachments")).all()
        engine.dispose()
        assert len(stored) == 3
        for photo, thumbnail in stored:
            for key in (photo, thumbnail):
                assert (restored_uploads / key).read_bytes() == (uploads / key).read_bytes()

        # A second restore into the now filled database is refused unless forced
        with pytest.raises(BackupError, match="not empty"):
            restore(archive, target, upload_dir=str(restored_uploads))
        restore(archive, target, upload_dir=str(restored_uploads), force=True)
        assert rows(target, "tickets") == rows(source, "tickets")


def test_the_commands_back_up_and_refuse_to_restore_over_data(app, world, tmp_path):
    fill(world)
    runner = app.test_cli_runner()
    target = tmp_path / "griddesk.tar.gz"
    answer = runner.invoke(args=["backup", str(target)])
    assert answer.exit_code == 0, answer.output
    assert f"Backup written: {target}" in answer.output
    assert "tickets 4, events" in answer.output and "attachments 3" in answer.output
    assert target.is_file()

    answer = runner.invoke(args=["restore", str(target)])
    assert answer.exit_code != 0
    assert "not empty" in answer.output and "--force" in answer.output
    assert len(rows(database_url(), "tickets")) == 4


def hostile_archive(path: Path, name: str, *, link: bool = False) -> Path:
    """An archive whose one member would land outside the folder it is extracted into."""
    with tarfile.open(path, "w:gz") as tar:
        member = tarfile.TarInfo(name)
        if link:
            member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(member)
        else:
            data = b"not a backup"
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return path


@pytest.mark.parametrize("python_has_the_data_filter", [True, False])
@pytest.mark.parametrize("name,link", [("../escaped.txt", False), ("{tmp}/escaped.txt", False),
                                       ("manifest.json", True)])
def test_an_archive_with_members_outside_its_folder_is_refused_and_writes_nothing_there(
        app, tmp_path, monkeypatch, python_has_the_data_filter, name, link):
    if not python_has_the_data_filter:  # Debian 12's Python 3.11.2: tarfile has no filters
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python's tarfile has no data filter")
    (tmp_path / "work").mkdir()  # where the restore extracts: "../" would be tmp_path
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "work"))
    archive = hostile_archive(tmp_path / "hostile.tar.gz", name.format(tmp=tmp_path), link=link)
    with empty_database(tmp_path) as url, pytest.raises(BackupError, match="not a GridDesk backup"):
        restore(archive, url, upload_dir=str(tmp_path / "uploads"))
    assert not (tmp_path / "escaped.txt").exists()
    assert not any((tmp_path / "work").iterdir())  # nothing left of the attempt
