"""How a request's transaction ends on PostgreSQL: one that only read ends with COMMIT.

psycopg prepares a statement on a connection once it has run five times there, and drops all of
a connection's prepared statements when it sees a ROLLBACK (the transaction may have dropped an
object they refer to). Flask-SQLAlchemy ends every request with a rollback, so no statement
stayed prepared: PostgreSQL planned the read of one ticket (16 joins, 10–20 ms of planning
against 1–2 ms of execution) on every request. For a transaction that wrote nothing a COMMIT
does what the ROLLBACK did, and the prepared statements stay.

"Wrote nothing" is judged conservatively: any statement that does not begin with SELECT (an
INSERT, an UPDATE, a SAVEPOINT, a WITH …) marks the transaction, and so does any pending change
in the session; such a transaction is left to the rollback as before.
"""
from __future__ import annotations

import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.orm import Session

from models.base import db
from models.reference_cache import confirm_assumed_versions

_WROTE = "griddesk_wrote"
_CONNECTIONS = "griddesk_connections"


def track_writes(engine: sa.Engine) -> None:
    """Mark a connection's transaction as soon as it runs anything but a SELECT, and remember
    which connections a session's transaction uses."""

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if not statement.startswith("SELECT"):
            conn.info[_WROTE] = True

    if not event.contains(Session, "after_begin", _session_begun):
        event.listen(Session, "after_begin", _session_begun)


def _session_begun(session: Session, _transaction, connection: sa.Connection) -> None:
    connection.info.pop(_WROTE, None)
    earlier = [conn for conn in session.info.get(_CONNECTIONS, ()) if not conn.closed]
    session.info[_CONNECTIONS] = earlier + [connection]


def end_read_only_transaction(error: BaseException | None) -> None:
    """Commit the session's transaction when it only read (the app context's teardown, before
    Flask-SQLAlchemy's own, which then closes the session).

    The COMMIT is the driver's, under the session: the session's own commit would expire every
    object it loaded, and code that keeps using them after the context (detached) would find them
    empty. The session's rollback that follows finds the connection idle and sends nothing."""
    if error is not None or not db.session.registry.has():
        return
    session = db.session()
    connections = [conn for conn in session.info.pop(_CONNECTIONS, ()) if not conn.closed]
    if not connections or not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        return
    if any(conn.info.get(_WROTE) for conn in connections):
        return
    drivers = [conn.connection.dbapi_connection for conn in connections]
    if any(driver.info.transaction_status != TransactionStatus.INTRANS for driver in drivers):
        return  # a failed read (say, a timeout) left the transaction aborted: the rollback ends it
    for driver in drivers:
        driver.commit()


def read_without_transaction() -> None:
    """Let a request that only reads (the API's reads of tickets) send its statements without
    BEGIN and COMMIT, each on its own snapshot: two round trips fewer, ~0.13 ms of a read's CPU
    (docs/PERFORMANCE.md, 2026-12-06). Called before the request's first statement; a session
    already in a transaction is left as it is. The connection is back in its usual mode when it
    returns to the pool. PostgreSQL only (psycopg's autocommit); SQLite keeps its transaction."""
    session = db.session()
    if session.in_transaction() or db.engine.dialect.name != "postgresql":
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def commit_answered() -> None:
    """Commit a request's work once its answer is built: the reference versions it assumed
    confirmed first (models/reference_cache.py); the session's objects are not expired (nothing
    reads them again; expiring every object the request touched was ~3 % of an intake's CPU)."""
    confirm_assumed_versions()
    session = db.session()
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring
