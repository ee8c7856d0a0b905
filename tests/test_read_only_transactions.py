"""A request that only read ends its transaction with COMMIT, so psycopg keeps the statements it
prepared (a ROLLBACK drops them all, and PostgreSQL then plans the 16-join read of a ticket on
every request); one that wrote anything it did not commit is still rolled back
(models/transactions.py)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Channel, Notification, Ticket, User, db
from models.base import empty_pools
from models.transactions import READS_POOL

from .conftest import TEST_DATABASE_URL
from .test_api import auth, new_ticket, token_for

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="prepared statements and how a transaction ends are PostgreSQL's (psycopg) matter")


def _prepared_reads(connection=None) -> list[tuple[str, int]]:
    """The ticket reads prepared on ``connection`` (by default the one this context's session
    gets), with their generic plans."""
    rows = (connection or db.session).execute(sa.text(
        "SELECT statement, generic_plans FROM pg_prepared_statements "
        "WHERE statement LIKE 'SELECT tickets.id, tickets.number%'")).all()
    return [(statement[:40], generic) for statement, generic in rows]


def test_reads_of_a_ticket_stay_prepared_and_planned_once(app, client, world):
    token = token_for(client, "district")
    ticket_id = new_ticket(client, token).get_json()["id"]
    with app.app_context():
        empty_pools()  # one connection per pool from here on: requests one after the other reuse it
    for _ in range(15):
        assert client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token)).status_code == 200
    with app.app_context(), db.engines[READS_POOL].connect() as reading:
        prepared = _prepared_reads(reading)
    assert prepared, "the read of a ticket was not kept prepared across requests"
    assert max(generic for _statement, generic in prepared) >= 1  # planned once, then reused


def _count_rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_write_left_uncommitted_is_still_rolled_back(app, world):
    notifications_before = _count_rows(app, Notification)
    worker_id, handler_id = world.users["gridworker"].id, world.users["handler"].id
    with app.app_context():  # a Core write, not committed
        db.session.execute(sa.insert(Notification).values(
            recipient_user_id=worker_id, channel=Channel.IN_APP,
            template="uncommitted", payload={}, dedupe_key="uncommitted-write"))
    with app.app_context():  # an ORM change flushed, not committed
        db.session.get(User, handler_id).display_name = "未提交的修改"
        db.session.flush()
    with app.app_context():  # a change never flushed: a COMMIT would have written it
        db.session.get(Notification, 1)  # a read first, so a transaction is open
        db.session.get(User, worker_id).display_name = "未提交"
    assert _count_rows(app, Notification) == notifications_before
    with app.app_context():
        assert db.session.get(User, handler_id).display_name == "用户handler"
        assert db.session.get(User, worker_id).display_name == "用户gridworker"


def _prepared_counts() -> list[int]:
    """How often the count of tickets below ran prepared on this context's connection."""
    return list(db.session.scalars(sa.text(
        "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
        "WHERE statement LIKE 'SELECT count(tickets.id) AS count_1%'")))


def test_a_context_that_only_read_keeps_them_and_one_that_wrote_drops_them(app, world):
    count_tickets = sa.select(sa.func.count(Ticket.id).label("count_1"))
    with app.app_context():
        db.engine.dispose()
        for _ in range(7):  # psycopg prepares a statement at its fifth run
            db.session.scalar(count_tickets)
    with app.app_context():
        assert _prepared_counts() == [2]  # runs 6 and 7 prepared, still there: the read-only context ended with COMMIT
        db.session.execute(sa.update(Ticket).where(Ticket.id == -1).values(title="x"))
    with app.app_context():
        assert _prepared_counts() == []  # that context wrote, ended with ROLLBACK, psycopg forgot


def test_objects_read_in_a_context_stay_readable_after_it(app, world):
    with app.app_context():
        user = db.session.get(User, world.users["gridworker"].id)
    assert user.display_name == "用户gridworker"  # loaded, detached, not expired by the COMMIT


def test_a_read_that_failed_and_was_handled_ends_quietly(app, world):
    """A SELECT that failed (a timeout, say) and was answered by the caller leaves the transaction
    aborted: the context still ends without an error, and the next one works."""
    with app.app_context():
        try:
            db.session.execute(sa.text("SELECT 1 / 0"))
        except sa.exc.DataError:
            pass  # handled, as a view turns it into a clear answer
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT 2")) == 2


def _write_runs(app, pool: str | None = None) -> int | None:
    """How often the intake's write (ticket, events, messages and the duplicate check in one
    statement) ran prepared on the one connection of ``pool`` (None: the main pool's; an API
    intake without Idempotency-Key runs in autocommit mode on the second pool's,
    models/transactions.py ``one_statement_request``)."""
    with app.app_context(), (db.engines[pool] if pool else db.engine).connect() as conn:
        return conn.scalar(sa.text(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH reported_ticket AS%(INSERT INTO tickets%'"))


def _keyed_intake(client, token, key: str, **extra):
    """An intake whose answer is stored for its Idempotency-Key: one transaction, main pool."""
    body = {"category": "0101", "description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004,
            "reporter_phone": "13900001111", **extra}
    return client.post("/api/v1/tickets", json=body,
                       headers={**auth(token), "Idempotency-Key": key})


@pytest.mark.parametrize("pool", [READS_POOL, None])
def test_a_refused_intake_keeps_the_statements_prepared_and_a_rolled_back_write_is_undone(
        app, client, world, pool):
    token = token_for(client, "community")
    keys = iter(range(100))

    def intake(**extra):
        if pool:
            return new_ticket(client, token, **extra)
        return _keyed_intake(client, token, f"k{next(keys)}", **extra)

    assert intake().status_code == 201  # the token's first use: its own write
    with app.app_context():
        db.engine.dispose()  # one connection each from here on
        db.engines[READS_POOL].dispose()
    for _ in range(7):  # psycopg prepares a statement at its fifth run
        assert intake().status_code == 201
    runs = _write_runs(app, pool)
    assert runs is not None
    tickets = _count_rows(app, Ticket)
    # refused after a statement had run (the lookup of the community's code, in the session's
    # transaction on the main pool) and before its write: the view rolls back what the request
    # did, and the write stays prepared on its connection (of the second pool, or the main one)
    assert intake(reporter_phone="12ab", area_code="T010101",  # 甲社区
                  lat=None, lon=None).status_code == 422
    assert _count_rows(app, Ticket) == tickets
    assert intake().status_code == 201
    assert _write_runs(app, pool) == runs + 1  # still prepared, and run once more
    with app.app_context():  # an explicit rollback of a write still undoes it
        db.session.execute(sa.update(User).where(User.id == world.users["handler"].id)
                           .values(display_name="回滚的修改"))
        db.session.rollback()
        assert db.session.get(User, world.users["handler"].id).display_name == "用户handler"
        if pool is None:
            assert _write_runs(app) is None  # that rollback was a ROLLBACK


def test_a_write_stays_marked_when_another_session_joins_its_transaction(app, world):
    """The process's reference copies are read by a second session on the request's own
    connection (models/reference_cache.py ``_detached``): joining the transaction must not make
    a write look like a read, which a rollback would then commit."""
    handler_id = world.users["handler"].id
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == handler_id)
                           .values(display_name="回滚的修改"))
        with sa.orm.Session(bind=db.session.connection()) as reader:
            reader.get(Ticket, -1)
        db.session.rollback()
    with app.app_context():
        assert db.session.get(User, handler_id).display_name == "用户handler"


def test_the_read_of_one_ticket_runs_in_autocommit_on_its_own_pool_and_no_writer_ever_does(
        app, client, world, monkeypatch):
    """GET /tickets/{id} reads on a connection of the second pool, in autocommit mode, outside the
    session's transaction (no BEGIN, no COMMIT) — after an answer, a 404 and a read that failed
    alike; the main pool's connections, which writers get, are never in autocommit mode (the
    next writer's statements are one transaction). With every reading connection busy, the
    read runs in the session's transaction."""
    from sqlalchemy import event

    from models.tickets import reading

    token = token_for(client, "district")
    ticket_id = new_ticket(client, token).get_json()["id"]
    on_reads_pool, on_main_pool, returned = [], [], []
    with app.app_context():
        main, reads = db.engine, db.engines[READS_POOL]

    def noting(seen):
        def before(conn, _cursor, statement, _params, _context, _many):
            if statement.startswith("SELECT tickets.id, tickets.number"):
                driver = conn.connection.driver_connection
                seen.append((driver.autocommit, driver.info.transaction_status.name))
        return before

    def checkin(dbapi_connection, _record):
        if dbapi_connection is not None:
            returned.append(dbapi_connection.autocommit)

    listeners = [(reads, "before_cursor_execute", noting(on_reads_pool)),
                 (main, "before_cursor_execute", noting(on_main_pool)),
                 (main.pool, "checkin", checkin)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        assert client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token)).status_code == 200
        assert client.get(f"/api/v1/tickets/{ticket_id + 10 ** 6}",
                          headers=auth(token)).status_code == 404
        assert on_reads_pool == [(True, "IDLE"), (True, "IDLE")]  # autocommit, no transaction
        assert on_main_pool == []
        with monkeypatch.context() as patched:  # the statement fails in the database
            patched.setattr(reading, "_statement_by_id", lambda *a, **k: sa.select(
                sa.literal(1) / sa.bindparam("ticket_id", type_=sa.Integer) - sa.literal(1) / 0))
            with pytest.raises(sa.exc.DBAPIError, match="division by zero"):
                client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))
        busy = [reads.connect() for _ in range(reads.pool.size())]  # every reading connection
        try:
            assert client.get(f"/api/v1/tickets/{ticket_id}",
                              headers=auth(token)).status_code == 200
        finally:
            for conn in busy:
                conn.close()
        # not in autocommit: psycopg begins the session's transaction with the statement
        assert on_main_pool == [(False, "IDLE")]
        body = client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token)).get_json()
        assert body["id"] == ticket_id and len(on_reads_pool) == 3  # its own pool again
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
    assert returned and not any(returned), returned
