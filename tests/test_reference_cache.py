"""Reference data cached per process (models/reference_cache.py): a change committed anywhere
takes effect at once in every other process, and the cache is really used."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from models import DeadlineUnit, ResponsibleKind, Ticket, db
from models.people.accounts import deactivate_user, revoke_user_tokens
from models.people.user import User
from models.reference_cache import category_rows, forget
from models.tickets.deadlines import deadline_after, work_calendar
from models.tickets.dispatch import resolve_owner
from models.tickets.dispatch_rules import DispatchRule

from .conftest import statements_of, statements_sent
from .processes import free_port, run_py, stop, wait_for_http
from .test_api import auth, token_for


def call(base: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path, headers={**auth(token), "Content-Type": "application/json"},
        data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def report(base: str, token: str) -> dict:
    status, body = call(base, "/api/v1/tickets", token, {
        "category": "0101", "description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004,
        "reporter_phone": "13900001111"})
    assert status == 201, body
    return body


def the_rule() -> DispatchRule:
    return db.session.execute(sa.select(DispatchRule)).scalar_one()


def user(username: str) -> User:
    return db.session.execute(sa.select(User).where(User.username == username)).scalar_one()


def test_changes_take_effect_at_once_in_another_process(world, client, tmp_path):
    community, street = token_for(client, "community"), token_for(client, "street")
    port = free_port()
    server = run_py(tmp_path, "serve", "--port", str(port), GRIDDESK_SCHEDULER_IN_PROCESS="0")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/healthz", server)
        # The other process caches the tokens and the matrix …
        assert call(base, "/api/v1/categories", street)[0] == 200
        assert report(base, community)["assigned_user"]["display_name"] == "用户gridworker"

        # … an administrator gives the rule to the sanitation department here …
        rule = the_rule()
        rule.responsible_kind = ResponsibleKind.DEPARTMENT
        rule.department = world.departments["sanitation"]
        db.session.commit()
        ticket = report(base, community)  # … and the very next report there goes to it
        assert ticket["assigned_department"]["name"] == "区环卫中心"
        assert ticket["assigned_user"] is None

        # … a category gets a new code, then is switched off: the API intake (which takes the
        # category from the process's copy) follows at once.
        garbage = world.categories["garbage"]
        garbage.code = "0199"
        db.session.commit()
        body = {"description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004}
        assert call(base, "/api/v1/tickets", community, {"category": "0101", **body})[0] == 422
        assert call(base, "/api/v1/tickets", community, {"category": "0199", **body})[0] == 201
        garbage.active = False
        db.session.commit()
        status, answer = call(base, "/api/v1/tickets", community, {"category": "0199", **body})
        assert (status, answer["error"]["message"]) == (422, "请选择已启用的事件分类。"), answer
        garbage.active = True
        db.session.commit()
        assert call(base, "/api/v1/tickets", community, {"category": "0199", **body})[0] == 201

        # The read of one ticket checks the versions in its own statement: the same at once.
        read = f"/api/v1/tickets/{ticket['id']}"
        assert call(base, read, community)[0] == 200
        tickets = db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar()
        revoke_user_tokens(user("community"))
        db.session.commit()
        # The intake too takes the versions unread and confirms them before its COMMIT: the
        # first request after the change, refused, nothing written (with the versions it took
        # the token was still valid).
        assert call(base, "/api/v1/tickets", community, {"category": "0199", **body})[0] == 401
        assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar() \
            == tickets
        assert call(base, read, community)[0] == 401
        assert call(base, "/api/v1/categories", community)[0] == 401

        assert call(base, "/api/v1/categories", street)[0] == 200
        assert call(base, read, street)[0] == 200
        deactivate_user(user("street"))
        db.session.commit()
        assert call(base, read, street)[0] == 401
        assert call(base, "/api/v1/categories", street)[0] == 401
    finally:
        stop(server)


PRIMARY_KEY_LOOKUP = re.compile(r"WHERE \w+\.id = (\?|%\(pk_1\)s(::INTEGER)?)\s*$")


def reads_of(table: str, sent: list[str]) -> list[str]:
    """Queries of the table, except rows fetched by primary key (those come from the session's
    identity map where it holds them)."""
    return [s for s in sent if f"FROM {table}" in s and not PRIMARY_KEY_LOOKUP.search(s)]


START = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def test_a_deadline_is_computed_without_reading_the_calendar_again(ctx):
    forget()
    db.session.commit()
    with statements_sent() as first:
        due = deadline_after(START, 3, DeadlineUnit.WORKING_DAYS)
    db.session.commit()  # a new transaction, as the next request
    with statements_sent() as second:
        assert deadline_after(START, 3, DeadlineUnit.WORKING_DAYS) == due
    assert reads_of("work_calendar_days", first) and not reads_of("work_calendar_days", second)
    # The versions only, once per transaction (on PostgreSQL read through psycopg, below the
    # SQLAlchemy events counted here).
    versions_read = [] if db.engine.dialect.name == "postgresql" else ["reference_versions"]
    assert [s.split("FROM ")[-1].split()[0] for s in second] == versions_read
    with statements_sent() as third:  # the same transaction: nothing at all
        deadline_after(START, 5, DeadlineUnit.WORKING_HOURS)
    assert third == []


def test_a_dispatch_decision_is_made_in_memory(world):
    category, grid = world.categories["garbage"], world.areas["grid1"]
    forget()
    db.session.commit()
    with statements_sent() as first:
        assert resolve_owner(category, grid).user.username == "gridworker"
    db.session.commit()
    with statements_sent() as second:
        assert resolve_owner(category, grid).user.username == "gridworker"
    for table in ("dispatch_rules", "areas", "departments", "users"):  # the rules and the staff
        assert reads_of(table, first) and not reads_of(table, second), table
    assert len(second) < len(first)


def test_an_uncommitted_change_is_seen_by_its_own_transaction_only(world):
    category, grid = world.categories["garbage"], world.areas["grid1"]
    assert resolve_owner(category, grid).user is not None
    db.session.commit()
    rule = the_rule()
    rule.responsible_kind = ResponsibleKind.DEPARTMENT
    rule.department = world.departments["sanitation"]
    db.session.flush()
    assert resolve_owner(category, grid).department.name == "区环卫中心"
    db.session.rollback()  # never committed: the cache must not have kept it
    assert resolve_owner(category, grid).user.username == "gridworker"


def test_what_the_cache_hands_out_cannot_be_changed_by_a_request(world):
    rows = category_rows()
    with pytest.raises(TypeError):
        rows[0] = None
    with pytest.raises(AttributeError):
        rows[world.categories["garbage"].id].name = "别的"
    calendar_days = work_calendar()._days
    with pytest.raises(TypeError):
        calendar_days[START.date()] = False
    assert category_rows()[world.categories["garbage"].id].label == "街面环境卫生 / 垃圾清运"


def test_reporting_and_handling_tickets_change_no_reference_version(world, client):
    """Work on tickets is not a configuration change: the caches stay warm under load."""
    from models.reference_cache import current_versions

    from .test_api import new_ticket

    token = token_for(client, "community")
    db.session.commit()
    before = dict(current_versions())
    created = new_ticket(client, token)
    assert created.status_code == 201, created.get_json()
    assert client.get(f"/api/v1/tickets/{created.get_json()['id']}",
                      headers=auth(token)).status_code == 200
    db.session.commit()
    assert dict(current_versions()) == before


def test_a_warmed_process_draws_its_first_board_without_reading_whole_reference_tables(
        world, app, login_as):
    """gunicorn.conf.py warms the preloaded master (admin_app/warmup.py): a worker's first page
    then reads no whole table of areas, people, departments or categories, and its first API
    intake places and dispatches the report from the same copies."""
    from admin_app.warmup import warm_up

    admin = login_as("admin")
    forget()
    warm_up(app)
    token = token_for(admin, "community")
    answers = []
    sent = statements_of(app, lambda: answers.extend([
        admin.get("/admin/board/"),
        admin.post("/api/v1/tickets", json={"category": "0101", "description": "垃圾桶满溢",
                                            "lat": 30.006, "lon": 120.004},
                   headers=auth(token))]))
    board, made = answers
    assert board.status_code == 200
    assert made.status_code == 201, made.get_json()
    whole = [s for s in sent
             if re.search(r"\bFROM (areas|users|departments|categories|dispatch_rules)\b", s)
             and " WHERE " not in s]
    assert not whole, whole
