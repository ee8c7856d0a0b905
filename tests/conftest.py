"""Fixtures: one migrated database per run (SQLite file, or TEST_DATABASE_URL), wiped between tests."""
from __future__ import annotations

import os
import re
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

_INSTANCE = tempfile.mkdtemp(prefix="griddesk-test-")
os.environ["GRIDDESK_INSTANCE"] = _INSTANCE  # before config is imported

from admin_app import create_app  # noqa: E402
from config import Config  # noqa: E402
from models import db  # noqa: E402
from models.base import empty_pools  # noqa: E402

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
KEEP_TABLES = {"work_calendar_days", "alembic_version", "reference_versions"}
PASSWORD = "demo12345"


def database_url() -> str:
    return TEST_DATABASE_URL or f"sqlite:///{Path(_INSTANCE) / 'test.db'}"


def test_config(**overrides) -> Config:
    env = {"DATABASE_URL": database_url(), "SECRET_KEY": "test-secret", "GRIDDESK_ENV": "test",
           "GRIDDESK_UPLOAD_DIR": str(Path(_INSTANCE) / "uploads"),
           # Fast hashing keeps the suite quick; production keeps scrypt.
           "GRIDDESK_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    env.update(overrides)
    return Config(env)


def reset_schema(url: str) -> None:
    """Start from an empty database so the migrations are tested from scratch."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, as in a real server: a fresh ``g`` (Flask-Login's
    user) and its own database session, even while the test holds an app context open."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def fill_test_calendar() -> None:
    """The work calendar as a fresh database has it (the package's years, this year and the
    next), and 2027 whatever year the tests run in: the calendar tests are about 2027, the
    first year chinese-calendar 1.11.0 does not know."""
    from models.calendar import fill_calendar, fill_year

    fill_calendar()
    fill_year(2027)


@pytest.fixture(scope="session")
def app():
    from admin_app.migrations import upgrade

    reset_schema(database_url())
    application = create_app(test_config())
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()
        fill_test_calendar()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        empty_pools()


def wipe() -> None:
    """Delete every row except the calendar (the same on both databases)."""
    # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table took 0.3–0.9 s per test
    # (it replaces each table's files), a DELETE of the few rows a test wrote about 10 ms.
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in KEEP_TABLES:
            db.session.execute(table.delete())
    # New versions (but the kept calendar's) and an empty cache: the rows went behind the ORM's back.
    from models.reference_cache import ReferenceVersion, forget, seed_versions
    from models.tickets.numbering import forget_number_blocks

    db.session.execute(ReferenceVersion.__table__.delete()
                       .where(ReferenceVersion.__table__.c.name != "calendar"))
    seed_versions(db.session.connection())
    db.session.commit()
    forget()
    forget_number_blocks()  # the day's counters are gone: a block held would number from them


@pytest.fixture()
def limits_at_one_moment(monkeypatch):
    """The public limits' clock held still: a test's requests fall in one window even when a
    minute, an hour or a day ends while it runs (models/tickets/public_limits.py)."""
    import models.tickets.public_intake as intake
    import models.tickets.public_limits as limits

    moment = limits.utcnow()
    for module in (intake, limits):  # the report's intake reads the clock and hands it on
        monkeypatch.setattr(module, "utcnow", lambda: moment)
    return moment


@pytest.fixture()
def clock_held(monkeypatch):
    """The app's clock held at one moment: ``utcnow`` wherever a module of the app took it by
    name (not a column's ``default=utcnow``, which keeps the function itself): a test that
    compares two renderings of the same figures, made a moment apart, cannot see a deadline, an
    hour or a day pass between them."""
    import sys

    import models.base

    real = models.base.utcnow
    moment = real()
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("models", "views", "admin_app", "jobs", "integrations", "demo") \
                and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", lambda: moment)
    return moment


@pytest.fixture()
def ctx(app):
    """An app context on a wiped database."""
    with app.app_context():
        wipe()
        yield app
        db.session.rollback()


_DEMO_SNAPSHOT: dict = {}


def snapshot_rows() -> dict:
    """Every row of every table (and, on PostgreSQL, every sequence's position), in key order."""
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name not in KEEP_TABLES:
            query = table.select().order_by(*table.primary_key.columns)
            rows[table.name] = [dict(row._mapping) for row in db.session.execute(query)]
    sequences = {}
    if db.engine.dialect.name == "postgresql":
        names = db.session.execute(sa.text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).scalars().all()
        for name in names:
            sequences[name] = db.session.execute(sa.text(
                f'SELECT last_value, is_called FROM "{name}"')).one()
    return {"rows": rows, "sequences": sequences}


def restore_rows(snapshot: dict) -> None:
    """Put the database back exactly as snapshotted (foreign keys checked only at commit)."""
    from models.areas.locate import invalidate_area_index

    wipe()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:
        db.session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
    for table in db.metadata.sorted_tables:
        if snapshot["rows"].get(table.name):
            db.session.execute(table.insert(), snapshot["rows"][table.name])
    for name, (last_value, is_called) in snapshot["sequences"].items():
        db.session.execute(sa.text("SELECT setval(:name, :value, :called)"),
                           {"name": f'"{name}"', "value": last_value, "called": is_called})
    db.session.commit()
    invalidate_area_index()


@pytest.fixture(scope="module")
def demo(app):
    """The demo district for the module's tests (which must not change it). It is seeded once per
    run (45 s) and then restored from a snapshot of its rows for each module (a second or two)."""
    from demo.seed import seed_demo

    with app.app_context():
        if not _DEMO_SNAPSHOT:
            wipe()
            summary = seed_demo(ticket_count=500)
            db.session.commit()
            _DEMO_SNAPSHOT.update(summary=summary, data=snapshot_rows())
        else:
            restore_rows(_DEMO_SNAPSHOT["data"])
    return _DEMO_SNAPSHOT["summary"]


@pytest.fixture()
def world(ctx):
    """The factories' world (tests/factories.py) where garbage in the whole district goes to the
    grid's own worker and the community office reviews. Modules that need a different world
    define their own ``world`` fixture, which overrides this one."""
    from models import DispatchRule, ResponsibleKind
    from models.areas.locate import invalidate_area_index

    from .factories import build_world

    invalidate_area_index()
    w = build_world()
    db.session.add(DispatchRule(category=w.categories["garbage"], area=w.areas["district"],
                                responsible_kind=ResponsibleKind.GRID_WORKER))
    db.session.commit()
    return w


@contextmanager
def served(app):
    """The real app behind werkzeug's threaded server on a free port of 127.0.0.1; yields the
    base URL, for clients that speak real HTTP."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture()
def client(app):
    return app.test_client()


CSRF_PATTERN = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    """The CSRF token from a form page, as a browser would read it."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_PATTERN.search(html) or re.search(r'id="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no csrf_token on {url}"
    return match.group(1)


def session_csrf_token(client) -> str:
    """The token any form of this session would carry (Flask-WTF's own signing)."""
    import secrets

    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", secrets.token_hex(20))
    serializer = URLSafeTimedSerializer(client.application.secret_key, salt="wtf-csrf-token")
    return serializer.dumps(raw)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.fixture()
def login_as(app):
    """login_as("community") → a test client logged in as that user."""
    def _login(username: str, password: str = PASSWORD):
        client = app.test_client()
        response = login(client, username, password)
        assert response.status_code == 302, f"{username} could not log in"
        return client
    return _login


@contextmanager
def statements_sent(*engines, with_mode: bool = False):
    """The SQL statements (whitespace collapsed) sent to the database while the block runs:
    ``with statements_sent() as sent: ...`` (by default on every pool of the app — PostgreSQL's
    pool for reads too: in an app context). ``with_mode``: (autocommit?, statement) pairs, the
    mode of the connection each ran on (psycopg)."""
    engines = engines or tuple(db.engines.values())
    sent: list = []

    def listen(conn, _cursor, statement, *_args):
        statement = " ".join(statement.split())
        sent.append((conn.connection.driver_connection.autocommit, statement) if with_mode
                    else statement)

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield sent
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", listen)


def statements_of(app, fn) -> list[str]:
    """The SQL statements (whitespace collapsed) SQLAlchemy sends while ``fn()`` runs."""
    with app.app_context():
        engines = tuple(db.engines.values())
    with statements_sent(*engines) as sent:
        fn()
    return sent


# --- seconds per test file, for tests/run_suite.py's split (GRIDDESK_DURATIONS_OUT=file) -------
_FILE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_sessionfinish(session):
    out = os.environ.get("GRIDDESK_DURATIONS_OUT")
    if out:
        import json

        Path(out).write_text(json.dumps({k: round(v, 2) for k, v in _FILE_SECONDS.items()}))
