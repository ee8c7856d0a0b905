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
MIGRATION_TEST_DB = "griddesk_migr_test"


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
    admin = psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432,
                            user=url.username, password=url.password, dbname="postgres",
                            autocommit=True)
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {MIGRATION_TEST_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {MIGRATION_TEST_DB}")
        yield url.set(database=MIGRATION_TEST_DB).render_as_string(hide_password=False)
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {MIGRATION_TEST_DB} WITH (FORCE)")
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
