"""Backup and restore: one tar.gz archive holding the database (pg_dump custom format, or a
consistent SQLite copy made with the online backup API), the photo store when it is the local
disk, and a manifest with the counts a restore checks."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
PHOTOS = "uploads"
# What the manifest counts, by the names an operator knows them.
COUNTED = {"tickets": "tickets", "events": "ticket_events", "attachments": "attachments",
           "outbox": "notifications"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass
class Outcome:
    archive: Path
    manifest: dict
    notes: list[str] = field(default_factory=list)


def default_archive(instance_dir: Path, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return Path(instance_dir) / "backups" / f"griddesk-{stamp}.tar.gz"


def backup(database_url: str, archive: Path, *, upload_dir: str | None,
           photo_storage: str = "disk") -> Outcome:
    """Write the archive; ``upload_dir`` is copied when the photos are on the local disk."""
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    notes = []
    with tempfile.TemporaryDirectory(prefix="griddesk-backup-") as work:
        work_dir = Path(work)
        if is_postgres(database_url):
            manifest = dump_postgres(database_url, work_dir / PG_DUMP)
        else:
            copy_sqlite(sqlite_path(database_url), work_dir / SQLITE_COPY)
            manifest = describe(f"sqlite:///{work_dir / SQLITE_COPY}")  # counted in the copy
        manifest["photos"] = photo_storage
        if photo_storage == "disk":
            manifest["photo_files"] = count_files(upload_dir)
        else:
            notes.append("Photos are in the S3 bucket: they are kept by the object store's own "
                         "versioning and replication and are not copied into this archive.")
        (work_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                         encoding="utf-8")
        partial = archive.with_name(archive.name + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work_dir / MANIFEST, arcname=MANIFEST)
            name = PG_DUMP if is_postgres(database_url) else SQLITE_COPY
            tar.add(work_dir / name, arcname=name)
            if photo_storage == "disk" and upload_dir and Path(upload_dir).is_dir():
                tar.add(upload_dir, arcname=PHOTOS)
        partial.replace(archive)  # a half-written archive never carries the final name
    return Outcome(archive, manifest, notes)


def extract_safely(tar: tarfile.TarFile, target: Path) -> None:
    """Extract only plain files and folders inside ``target``: tarfile's "data" filter where the
    Python has it (3.11.4 and later); Debian 12's Python 3.11.2 has not, so the same refusals are
    made here (absolute names, names leaving the folder, links, devices)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
        return
    root = target.resolve()
    members = tar.getmembers()
    for member in members:
        if not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"{member.name}: not a plain file or folder")
        if Path(member.name).is_absolute() or not (root / member.name).resolve().is_relative_to(root):
            raise tarfile.TarError(f"{member.name}: outside the archive's folder")
        member.mode &= 0o755  # as the "data" filter: no set-user-id or group-writable bits
    tar.extractall(target, members=members)


def restore(archive: Path, database_url: str, *, upload_dir: str | None,
            photo_storage: str = "disk", force: bool = False) -> Outcome:
    """Restore the archive into ``database_url`` (and the photos into ``upload_dir``), then
    check the counts against the manifest. A database with tickets or users is refused unless
    ``force``."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive}: no such archive")
    if not force and holds_data(database_url):
        raise BackupError("The target database is not empty (it has tickets or users); nothing "
                          "restored. Use --force to replace its contents.")
    notes = []
    with tempfile.TemporaryDirectory(prefix="griddesk-restore-") as work:
        work_dir = Path(work)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                extract_safely(tar, work_dir)
            manifest = json.loads((work_dir / MANIFEST).read_text(encoding="utf-8"))
        except (tarfile.TarError, OSError, ValueError) as exc:
            raise BackupError(f"{archive} is not a GridDesk backup: {exc}") from None
        if (work_dir / PG_DUMP).exists():
            if not is_postgres(database_url):
                raise BackupError("This archive holds a PostgreSQL database; restore it into a "
                                  "PostgreSQL DATABASE_URL.")
            run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 f"--dbname={libpq_url(database_url)}", str(work_dir / PG_DUMP)], "pg_restore")
        elif (work_dir / SQLITE_COPY).exists():
            if is_postgres(database_url):
                raise BackupError("This archive holds a SQLite database; restore it into a "
                                  "SQLite DATABASE_URL.")
            copy_sqlite(work_dir / SQLITE_COPY, sqlite_path(database_url))
        else:
            raise BackupError(f"{archive} holds no database")
        if (work_dir / PHOTOS).is_dir():
            if photo_storage == "disk" and upload_dir:
                shutil.copytree(work_dir / PHOTOS, upload_dir, dirs_exist_ok=True)
            else:
                notes.append("The archive holds photos but this installation keeps them in S3: "
                             f"they were not restored (copy them from {PHOTOS}/ by hand).")
        elif manifest.get("photos") == "s3":
            notes.append("Photos were in the S3 bucket when backed up; they come back from the "
                         "object store's versioning, not from this archive.")
    found = describe(database_url)
    wrong = [f"{name}: {found[name]} restored, {manifest[name]} backed up"
             for name in COUNTED if found.get(name) != manifest.get(name)]
    if wrong:
        raise BackupError("The restored database does not match the backup: " + "; ".join(wrong))
    return Outcome(archive, manifest, notes)


def dump_postgres(database_url: str, target: Path) -> dict:
    """pg_dump of the snapshot the manifest is counted in, so the counts match the dump even
    while the app keeps writing."""
    engine = sa.create_engine(database_url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            manifest = manifest_of(conn, "postgresql")
            run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                 f"--dbname={libpq_url(database_url)}"], "pg_dump")
            conn.rollback()
    finally:
        engine.dispose()
    return manifest


def describe(database_url: str) -> dict:
    """The manifest of a database as it is now."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return manifest_of(conn, "postgresql" if is_postgres(database_url) else "sqlite")
    finally:
        engine.dispose()


def manifest_of(conn: sa.Connection, database: str) -> dict:
    """What was backed up, from which version, and the counts a restore checks."""
    counts = {name: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
              for name, table in COUNTED.items()}
    revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return {"app_commit": app_commit(), "alembic_revision": revision, "database": database,
            **counts, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def holds_data(database_url: str) -> bool:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            return any(conn.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first()
                       for table in ("tickets", "users") if table in tables)
    finally:
        engine.dispose()


def app_commit() -> str:
    try:
        answer = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10, cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return answer.stdout.strip() if answer.returncode == 0 else "unknown"


def run(command: list[str], what: str) -> None:
    try:
        answer = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{what} is not installed (it comes with the PostgreSQL client)") from None
    if answer.returncode != 0:
        raise BackupError(f"{what} failed: {answer.stderr.strip()}")


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy even while the app writes (SQLite's online backup API)."""
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def count_files(folder: str | None) -> int:
    if not folder or not Path(folder).is_dir():
        return 0
    return sum(1 for path in Path(folder).rglob("*") if path.is_file())


def is_postgres(database_url: str) -> bool:
    return sa.engine.make_url(database_url).get_backend_name() == "postgresql"


def libpq_url(database_url: str) -> str:
    """The URL pg_dump/pg_restore understand: without SQLAlchemy's driver suffix."""
    url = sa.engine.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def sqlite_path(database_url: str) -> Path:
    name = sa.engine.make_url(database_url).database
    if not name or name == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(name)
