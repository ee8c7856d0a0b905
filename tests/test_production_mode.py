"""Production mode refuses what is only safe in a demo: a short SECRET_KEY, demo data in a filled or
production database; the built-in server listens on this computer only unless told otherwise."""
from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from admin_app import create_app
from config import Config, ConfigError
from models import User, db

from .conftest import test_config as settings_for_tests
from .processes import free_port, lines_within, run_py, stop, wait_for_http

LONG_KEY = "k" * 32


def finished(process, seconds: float = 90) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=seconds)
    finally:
        stop(process)
    return process.returncode, output


def test_production_refuses_a_secret_key_shorter_than_32_bytes(tmp_path):
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        Config({"GRIDDESK_ENV": "production", "SECRET_KEY": "s3cret-from-the-vault"})
    Config({"GRIDDESK_ENV": "production", "SECRET_KEY": LONG_KEY})  # 32 bytes will do
    Config({"GRIDDESK_ENV": "demo", "SECRET_KEY": "short"})  # a demo may have any key
    code, output = finished(run_py(tmp_path, "init-db", GRIDDESK_ENV="production",
                                   SECRET_KEY="s3cret-from-the-vault"))
    assert code == 2, output
    assert "GridDesk cannot start: SECRET_KEY must be at least 32 bytes" in output
    assert "secrets.token_hex(32)" in output and "Traceback" not in output


def users() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(User)).scalar_one()


def test_seed_demo_refuses_a_database_that_is_not_empty(world, app):
    before = users()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed-demo", "--tickets", "500"])
    assert result.exit_code != 0
    assert "nothing seeded" in result.output
    db.session.expire_all()
    assert users() == before


def test_seed_demo_refuses_a_production_database_even_empty(ctx):
    production = create_app(settings_for_tests(GRIDDESK_ENV="production", SECRET_KEY=LONG_KEY))
    with production.app_context():  # a command runs in the app context it finds
        result = production.test_cli_runner().invoke(args=["seed-demo", "--tickets", "500"])
        db.session.remove()
    assert result.exit_code != 0
    assert "GRIDDESK_ENV=production: demo data" in result.output
    assert "create-admin" in result.output
    db.session.expire_all()
    assert users() == 0


def test_the_demo_command_does_not_seed_or_serve_in_production(ctx, tmp_path):
    code, output = finished(run_py(tmp_path, "demo", GRIDDESK_ENV="production",
                                   SECRET_KEY=LONG_KEY, PORT=str(free_port()),
                                   GRIDDESK_SCHEDULER_IN_PROCESS="0"), seconds=60)
    assert code != 0 and "is never seeded" in output, output
    db.session.expire_all()
    assert users() == 0


def this_machines_network_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing address
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_built_in_server_listens_on_this_computer_only_and_says_how_to_open_it(ctx, tmp_path):
    port = free_port()
    server = run_py(tmp_path, "serve", "--port", str(port), GRIDDESK_SCHEDULER_IN_PROCESS="0")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
        said = "".join(lines_within(server, 1))
        address = this_machines_network_address()
        if address:
            with pytest.raises(OSError):  # not reachable from the network
                socket.create_connection((address, port), timeout=3).close()
    finally:
        stop(server)
    said += server.stdout.read()
    assert "Only this computer can open it" in said, said
    assert "python run.py demo --host 0.0.0.0" in said
    assert "Running on all addresses" not in said


def test_the_seeded_demo_opens_with_this_months_figures_counted(ctx, clock_held, login_as):
    """seed-demo (and demo) fold the statistics before the demo opens: its home page shows this
    month's reports as recounted from the tickets, not the zeros of figures still waiting for
    the scheduler."""
    from models.clock import local_today
    from models.stats.tables import StatsPending

    from . import stats_recount as recount
    from .test_stats_pages import figures

    result = ctx.test_cli_runner().invoke(args=["seed-demo", "--tickets", "500"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.count()).select_from(StatsPending)).scalar() == 0
    tickets, events = recount.load()
    facts = recount.facts(tickets, events, recount.Workdays())
    first = local_today().replace(day=1)
    expected = recount.figures([f for f in facts if first <= f["day"] <= local_today()])
    if local_today().day > 1:  # (the month's first hours may have none yet)
        assert expected["received"] > 0  # the demo reports cases every day
    html = login_as("admin").get("/admin/").get_data(as_text=True)
    assert figures(html)["received"][0] == str(expected["received"])
