"""The migrations build exactly the schema of the models, and go down and up again cleanly."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import db

from .conftest import TEST_DATABASE_URL, database_url

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_py(*args: str, url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url, GRIDDESK_ENV="test", SECRET_KEY="x")
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run([sys.executable, "run.py", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def schema_diff(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True})
    return compare_metadata(context, db.metadata)


def test_the_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        assert schema_diff(connection) == []


def test_db_check_finds_nothing_to_generate(app):
    result = run_py("db", "check", url=database_url())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "No new upgrade operations detected" in output


@pytest.fixture()
def separate_database_url(tmp_path):
    """A database of its own: a fresh SQLite file, or a new database on the PostgreSQL server."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    import psycopg

    url = sa.engine.make_url(TEST_DATABASE_URL)
    # Named after the test database, so that two suites on one server do not collide.
    MIGRATION_TEST_DB = f"{url.database}_migrations"
    admin = psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432,
                            user=url.username, password=url.password, dbname="postgres",
                            autocommit=True)
    quoted = '"' + MIGRATION_TEST_DB.replace('"', '""') + '"'  # names like gd_stats-pages
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {quoted}")
        yield url.set(database=MIGRATION_TEST_DB).render_as_string(hide_password=False)
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        admin.close()


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(separate_database_url):
    url = separate_database_url
    model_tables = set(db.metadata.tables)

    result = run_py("db", "upgrade", url=url)
    assert result.returncode == 0, result.stderr
    assert model_tables <= table_names(url)

    result = run_py("db", "downgrade", "base", url=url)
    assert result.returncode == 0, result.stderr
    assert table_names(url) <= {"alembic_version"}  # every table of the schema is gone

    result = run_py("db", "upgrade", url=url)
    assert result.returncode == 0, result.stderr
    assert model_tables | {"alembic_version"} == table_names(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            assert schema_diff(connection) == []
    finally:
        engine.dispose()


def test_ratings_given_before_0011_are_told_apart_by_their_events(separate_database_url):
    """A rating recorded by staff before the follow-up action existed was a phone follow-up by
    that person; any other was the reporter's own."""
    from datetime import datetime, timezone

    url = separate_database_url
    result = run_py("db", "upgrade", "0010", url=url)
    assert result.returncode == 0, result.stderr
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=["users", "categories", "tickets", "ticket_events"])
        users, categories, tickets, events = (meta.tables[name] for name in (
            "users", "categories", "tickets", "ticket_events"))
        with engine.begin() as connection:
            connection.execute(users.insert().values(
                id=1, username="community", display_name="社区专干", password_hash="x",
                role="community_staff", active=True, failed_logins=0, created_at=now))
            connection.execute(categories.insert().values(
                id=1, code="01", name="垃圾清运", handling_level="community", accept_deadline=2,
                accept_deadline_unit="working_hours", handle_deadline=1,
                handle_deadline_unit="working_days", requires_after_photo=False,
                duplicate_radius_m=50, sort_order=0, active=True))
            for ident, rating, staff in ((1, 5, None), (2, 3, 1), (3, None, None)):
                connection.execute(tickets.insert().values(
                    id=ident, number=f"GD20261101000{ident}", title="满溢", description="满溢",
                    category_id=1, priority="normal", source="phone", status="closed",
                    location_flagged=False, tracking_code=f"CODE{ident}", current_level="grid",
                    rework_count=0, event_seq=1, version=1, created_at=now, updated_at=now,
                    last_activity_at=now, rating=rating))
                if rating is not None:
                    connection.execute(events.insert().values(
                        id=ident, ticket_id=ident, seq=1, action="rate",
                        actor_kind="user" if staff else "reporter", actor_user_id=staff,
                        created_at=now, details={"rating": rating}))
        result = run_py("db", "upgrade", url=url)
        assert result.returncode == 0, result.stderr
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT id, rating_source, rated_by_id FROM tickets ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "reporter", None), (2, "follow_up", 1),
                                            (3, None, None)]
    finally:
        engine.dispose()
