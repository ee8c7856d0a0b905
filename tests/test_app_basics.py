"""The basics around the admin: health check, language, configuration, the create-admin command."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

import config
from config import Config, ConfigError
from models import Role, User, db
from models.transactions import READS_POOL

from .conftest import login
from .factories import build_world


@pytest.fixture()
def clean_env(monkeypatch):
    """Config reads only the mapping it is given; keep the process environment out of the way."""
    for name in ("WTF_CSRF_ENABLED", "SESSION_COOKIE_SECURE", "SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


# --- health and language -------------------------------------------------------------------

def test_healthz_answers_ok_without_login(ctx, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"
    assert response.get_json()["database"] == "ok"


def test_the_root_leads_to_the_admin(ctx, client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")


def test_the_admin_is_chinese_by_default_and_switches_to_english_and_back(ctx, login_as):
    build_world()
    db.session.commit()
    client = login_as("admin")
    home = client.get("/admin/").get_data(as_text=True)
    assert "工单列表" in home and "Ticket list" not in home
    assert "<html" in home

    response = client.get("/lang/en")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    home = client.get("/admin/").get_data(as_text=True)
    assert "Ticket list" in home and "工单列表" not in home
    tickets = client.get("/admin/ticket/").get_data(as_text=True)
    assert "No tickets match" in tickets

    # An unknown language changes nothing; the switch goes back to the page it came from.
    client.get("/lang/xx")
    assert "Ticket list" in client.get("/admin/").get_data(as_text=True)
    response = client.get("/lang/zh_Hans_CN", headers={"Referer": "/admin/ticket/"})
    assert response.headers["Location"].endswith("/admin/ticket/")
    home = client.get("/admin/").get_data(as_text=True)
    assert "工单列表" in home and "Ticket list" not in home


def test_the_language_switch_does_not_redirect_off_site(ctx, client):
    response = client.get("/lang/en", headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_the_login_page_follows_the_language(ctx, client):
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.get("/lang/en")
    assert "Log in" in client.get("/login").get_data(as_text=True)


# --- configuration -------------------------------------------------------------------------

def test_production_without_a_secret_key_refuses_to_start(clean_env):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config({"GRIDDESK_ENV": "production"})
    with pytest.raises(ConfigError):
        Config({"GRIDDESK_ENV": "production", "SECRET_KEY": ""})


def test_production_with_a_secret_key_works(clean_env):
    vault = "s3cret-from-the-vault-" + "0" * 16
    settings = Config({"GRIDDESK_ENV": "production", "SECRET_KEY": vault,
                       "DATABASE_URL": "postgresql://gd@db/griddesk"})
    assert settings.SECRET_KEY == vault
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.PASSWORD_HASH_METHOD == "scrypt"
    assert not getattr(settings, "TESTING", False)
    assert settings.as_dict()["SQLALCHEMY_DATABASE_URI"] == "postgresql://gd@db/griddesk"


def test_the_demo_generates_a_key_in_the_instance_dir_and_reuses_it(clean_env, monkeypatch, tmp_path):
    instance = tmp_path / "instance"
    monkeypatch.setattr(config, "INSTANCE_DIR", instance)
    first = Config({})
    key_file = instance / "secret_key"
    assert key_file.is_file()
    assert first.SECRET_KEY == key_file.read_text().strip()
    assert len(first.SECRET_KEY) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Config({}).SECRET_KEY == first.SECRET_KEY  # a restart keeps the sessions valid
    assert first.SQLALCHEMY_DATABASE_URI == f"sqlite:///{instance / 'griddesk.db'}"
    # A different instance gets a different key.
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "other")
    assert Config({}).SECRET_KEY != first.SECRET_KEY


def test_a_heroku_style_postgres_url_is_normalised(clean_env):
    settings = Config({"DATABASE_URL": "postgres://gd:pw@db.example:5432/griddesk",
                       "SECRET_KEY": "x", "GRIDDESK_ENV": "test"})
    assert settings.SQLALCHEMY_DATABASE_URI == "postgresql://gd:pw@db.example:5432/griddesk"
    other = Config({"DATABASE_URL": "postgresql+psycopg://gd@db/griddesk", "SECRET_KEY": "x"})
    assert other.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://gd@db/griddesk"


def test_boolean_settings_come_from_the_given_mapping(clean_env):
    settings = Config({"GRIDDESK_ENV": "production", "SECRET_KEY": "x" * 32,
                       "WTF_CSRF_ENABLED": "0", "SESSION_COOKIE_SECURE": "0"})
    assert settings.WTF_CSRF_ENABLED is False
    assert settings.SESSION_COOKIE_SECURE is False


def test_the_pool_is_sized_per_thread_and_recycled_instead_of_pinged(clean_env):
    """No round trip per request to ping a connection; every worker's pool fits in
    max_connections: one connection per Gunicorn thread plus an overflow for bursts."""
    settings = Config({"DATABASE_URL": "postgresql+psycopg://gd@db/griddesk", "SECRET_KEY": "x",
                       "GRIDDESK_THREADS": "8"})
    assert settings.SQLALCHEMY_ENGINE_OPTIONS == {"pool_recycle": 1800, "pool_size": 8,
                                                  "max_overflow": 8}
    tuned = Config({"DATABASE_URL": "postgresql://gd@db/griddesk", "SECRET_KEY": "x",
                    "GRIDDESK_DB_POOL_SIZE": "3", "GRIDDESK_DB_MAX_OVERFLOW": "0",
                    "GRIDDESK_DB_POOL_RECYCLE": "600"})
    assert tuned.SQLALCHEMY_ENGINE_OPTIONS == {"pool_recycle": 600, "pool_size": 3,
                                               "max_overflow": 0}
    assert Config({"SECRET_KEY": "x"}).SQLALCHEMY_ENGINE_OPTIONS == {"pool_recycle": 1800}


def test_postgresql_reads_outside_a_transaction_on_a_pool_of_their_own(app):
    """PostgreSQL: the reads that run without a transaction have a second pool, as large as the
    main one, each connection in autocommit mode for good; SQLite has one pool."""
    with app.app_context():
        engines = dict(db.engines)
        if db.engine.dialect.name != "postgresql":
            assert READS_POOL not in engines
            return
        reads, main = engines[READS_POOL], engines[None]
        assert reads.url == main.url and reads.pool.size() == main.pool.size()
        with reads.connect() as conn:
            assert conn.connection.driver_connection.autocommit is True
        with main.connect() as conn:
            assert conn.connection.driver_connection.autocommit is False


# --- create-admin ----------------------------------------------------------------------------

def run_cli(app, *args):
    db.session.commit()  # the command shares the app context: leave no open transaction
    result = app.test_cli_runner().invoke(args=list(args))
    db.session.expire_all()
    return result


def users_named(username: str) -> list[User]:
    return db.session.execute(sa.select(User).where(User.username == username)).scalars().all()


def test_create_admin_makes_a_working_administrator(ctx, app):
    result = run_cli(app, "create-admin", "chief", "--password", "correct-horse-1",
                     "--display-name", "总管理员")
    assert result.exit_code == 0, result.output
    assert "Administrator chief created." in result.output
    [user] = users_named("chief")
    assert user.role == Role.ADMIN and user.active and user.display_name == "总管理员"
    assert user.password_hash != "correct-horse-1"

    client = app.test_client()
    response = login(client, "chief", "correct-horse-1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/user/").status_code == 200  # configuration is for administrators
    assert "总管理员" in client.get("/admin/").get_data(as_text=True)
    assert login(app.test_client(), "chief", "wrong-horse-1").status_code == 401


def test_create_admin_refuses_a_duplicate_username(ctx, app):
    assert run_cli(app, "create-admin", "chief", "--password", "correct-horse-1").exit_code == 0
    result = run_cli(app, "create-admin", "chief", "--password", "another-horse-2")
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert len(users_named("chief")) == 1
    assert login(app.test_client(), "chief", "correct-horse-1").status_code == 302
    assert login(app.test_client(), "chief", "another-horse-2").status_code == 401


def test_create_admin_refuses_a_short_password(ctx, app):
    result = run_cli(app, "create-admin", "chief", "--password", "short7!")
    assert result.exit_code == 1
    assert "密码至少需要 8 个字符" in result.output  # the one account rule, in Chinese
    assert users_named("chief") == []


# --- what a web worker loads ------------------------------------------------------------------

def test_a_web_worker_loads_neither_migrations_nor_the_word_cutter(tmp_path):
    """The app a web worker serves (wsgi.py) does not import Alembic (the migrations) or jieba
    (the category suggestion) until a command or a suggestion needs them: ~18 MB of each
    worker's memory. `python run.py db …` still has every Flask-Migrate command."""
    from .processes import run_py

    probe = ("import sys, wsgi; print(sorted(m for m in ('alembic', 'flask_migrate', 'jieba', "
             "'mako') if m in sys.modules))")
    loaded = run_py(tmp_path, "-c", probe, command=())
    output = loaded.communicate(timeout=120)[0]
    assert loaded.returncode == 0, output
    assert output.strip().splitlines()[-1] == "[]", output
    commands = run_py(tmp_path, "db", "--help")
    output = commands.communicate(timeout=120)[0]
    assert commands.returncode == 0, output
    for name in ("upgrade", "downgrade", "check", "current", "heads"):
        assert f"  {name} " in output, output


def test_a_worker_gives_back_freed_memory_after_a_long_request_only(monkeypatch):
    """gunicorn.conf.py: after a request of a second or more (a city's statistics year) the
    worker hands back the heap it freed; after a quick one it does not spend the time."""
    import runpy
    from types import SimpleNamespace

    import models.process_memory

    calls = []
    monkeypatch.setattr(models.process_memory, "give_back_freed_memory",
                        lambda: calls.append("trimmed"))
    hooks = runpy.run_path(str(Path(config.__file__).with_name("gunicorn.conf.py")))
    quick, slow = SimpleNamespace(), SimpleNamespace()
    hooks["pre_request"](None, quick)
    hooks["pre_request"](None, slow)
    slow.griddesk_started -= 1.5
    hooks["post_request"](None, quick, {}, None)
    assert calls == []
    hooks["post_request"](None, slow, {}, None)
    assert calls == ["trimmed"]


def test_a_worker_larger_than_its_limit_after_a_long_request_is_replaced(monkeypatch):
    """gunicorn.conf.py: after a long request a worker still above GRIDDESK_WORKER_MAX_RSS_MB
    (freed memory given back) stops taking requests and says so; one under it, one after a quick
    request, and one that started above the limit (a fresh one would be as large) go on."""
    import runpy
    from types import SimpleNamespace

    import admin_app.worker_memory
    import models.process_memory

    monkeypatch.delenv("GRIDDESK_WORKER_MAX_RSS_MB", raising=False)  # the default: 200 MB
    monkeypatch.setattr(models.process_memory, "give_back_freed_memory", lambda: None)
    size = {"mb": 240.0}
    monkeypatch.setattr(admin_app.worker_memory, "resident_mb", lambda: size["mb"])
    hooks = runpy.run_path(str(Path(config.__file__).with_name("gunicorn.conf.py")))
    said = []
    log = SimpleNamespace(info=lambda *args: said.append(args[0] % args[1:]), warning=print)

    def served(started_mb: float, seconds: float, now_mb: float) -> bool:
        worker = SimpleNamespace(alive=True, pid=7, log=log, griddesk_started_mb=started_mb)
        request = SimpleNamespace()
        hooks["pre_request"](worker, request)
        request.griddesk_started -= seconds
        size["mb"] = now_mb
        hooks["post_request"](worker, request, {}, None)
        return worker.alive

    assert served(180, 0.1, 240) is True  # a quick request: not even measured
    assert served(180, 2.0, 195) is True  # back under the limit
    assert served(210, 2.0, 240) is True  # started above it
    assert said == []
    assert served(180, 2.0, 240) is False
    assert said == ["Worker 7 at 240 MB after a 2.0 s request, above "
                    "GRIDDESK_WORKER_MAX_RSS_MB=200: replaced once its requests are answered"]


def test_a_replaced_worker_answers_its_requests_and_a_fresh_one_takes_over(app, tmp_path):
    """Gunicorn with a limit between a worker's size before its first request and after the
    test's pages: workers grow past it, the master forks new ones, and every request is answered
    meanwhile."""
    import re
    import time
    import urllib.request

    from .processes import free_port, lines_within, run_py, stop, wait_for_http

    def serve(limit_mb: float, *, ready: bool = True):
        port = free_port()
        server = run_py(tmp_path, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                        "--workers", "1", "--threads", "2", "--access-logfile", "/dev/null",
                        "wsgi:app", command=("-m", "gunicorn"), GRIDDESK_SCHEDULER_IN_PROCESS="0",
                        GRIDDESK_TRIM_AFTER_SECONDS="0.000001",
                        GRIDDESK_WORKER_MAX_RSS_MB=str(limit_mb))
        if ready:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
        return server, f"http://127.0.0.1:{port}"

    def workers(server) -> list[str]:
        return Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()

    def size_mb(pid: str) -> float:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024

    pages = ["/login", "/report", "/m/", "/login", "/report", "/m/"] * 2
    # No limit: how large a worker is before its first request (as when it starts) and after
    # these pages (by 0.6–3 MB, depending on the machine's load and the database).
    server, base = serve(0, ready=False)
    try:
        deadline = time.monotonic() + 60
        while not workers(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        worker = workers(server)[0]
        idle = size_mb(worker)
        wait_for_http(f"{base}/healthz", server)
        for path in pages:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                response.read()
        grown = size_mb(worker)
    finally:
        stop(server)
    assert grown - idle >= 0.5, (idle, grown)  # room for a limit between the two
    server, base = serve((idle + grown) / 2)
    try:
        first = workers(server)
        answers, seen = [], set(first)
        for path in pages:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                answers.append(response.status)
            time.sleep(0.2)
            seen.update(workers(server))
        deadline = time.monotonic() + 20  # the fork of the last replacement
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            seen.update(workers(server))
        said = "".join(lines_within(server, 3))
    finally:
        stop(server)
    assert answers == [200] * 12
    assert "GRIDDESK_WORKER_MAX_RSS_MB" in said and "replaced once its requests are answered" \
        in said, said[-3000:]
    assert len(seen) > 1, said[-3000:]  # a fresh worker took over
