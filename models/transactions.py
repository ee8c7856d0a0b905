"""How a transaction that only read ends on PostgreSQL: with COMMIT, also when rolled back.

psycopg prepares a statement on a connection once it has run five times there, and drops all of
a connection's prepared statements when it sends a ROLLBACK (the transaction may have dropped an
object they refer to). Flask-SQLAlchemy ends every request with a rollback, so no statement
stayed prepared: PostgreSQL planned the read of one ticket (16 joins, 10–20 ms of planning
against 1–2 ms of execution) on every request. A refusal rolls back too: an intake refused after
a read (a malformed phone number, say) made the next five intakes on that connection plan their
statements again (~1 ms each at city scale). For a transaction that wrote nothing
a COMMIT does what the ROLLBACK did, and the prepared statements stay.

"Wrote nothing" is judged conservatively: any statement that does not begin with SELECT (an
INSERT, an UPDATE, a SAVEPOINT, a WITH …) marks the transaction, which is then rolled back as
before. Changes the session never flushed were never sent: its rollback forgets them as ever.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
from flask import has_app_context
from psycopg.pq import TransactionStatus
from sqlalchemy import event

from models.base import db
from models.reference_cache import confirm_assumed_versions, versions_confirmed

logger = logging.getLogger(__name__)

_WROTE = "griddesk_wrote"
_READS_ONLY = "griddesk_reads_only"
READS_POOL = "reads"  # PostgreSQL's second pool, in autocommit mode (config.reading_pool_options)


def track_writes(engine: sa.Engine) -> None:
    """Mark a connection's transaction as soon as it runs anything but a SELECT; end one that
    was not marked with COMMIT where it is rolled back."""

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if not statement.startswith("SELECT"):
            conn.info[_WROTE] = True
            if has_app_context():
                _check_one_statement(conn)

    @event.listens_for(engine, "rollback")
    def _commit_if_only_read(conn: sa.Connection) -> None:
        if conn.dialect.name != "postgresql" or conn.invalidated or conn.info.get(_WROTE):
            return
        driver = conn.connection.dbapi_connection
        # An aborted transaction (a failed read) is left to the ROLLBACK that follows; after the
        # COMMIT the driver finds the connection idle and sends nothing.
        if driver is not None and driver.info.transaction_status == TransactionStatus.INTRANS:
            try:
                driver.commit()
            except psycopg.Error:  # e.g. the connection lost: the ROLLBACK reports it, as ever
                pass

    @event.listens_for(engine, "begin")
    def _transaction_begun(conn: sa.Connection) -> None:
        # The connection's own BEGIN, not a session joining a transaction already under way (a
        # second session reading on the request's connection): that one keeps its mark.
        conn.info.pop(_WROTE, None)


def read_without_transaction() -> None:
    """Mark a request that only reads (the API's read of one ticket): its reads run outside the
    session's transaction, each on a connection of the second pool, which stays in autocommit
    mode (``reading_connection``) — no BEGIN and COMMIT, none of the session's transaction
    set-up and removal, no switching of the connection's mode. Called before the request's
    first statement and undone by ``end_read_without_transaction`` after it; a session already
    in a transaction is left as it is. PostgreSQL only; SQLite keeps its transaction."""
    session = db.session()
    if session.in_transaction() or READS_POOL not in db.engines:
        return
    session.info[_READS_ONLY] = True


def end_read_without_transaction() -> None:
    db.session().info.pop(_READS_ONLY, None)


@contextlib.contextmanager
def reading_connection() -> Iterator[sa.Connection]:
    """The connection a read runs on: the session's, inside its transaction — or, in a request
    marked by ``read_without_transaction`` (whose session writes nothing), one of the second
    pool's, in autocommit mode, for this read alone. A connection of the main pool is never in
    autocommit mode but for a day's first ticket number (``committing_at_once``) when the second
    pool is busy: a writer's statements are one transaction."""
    session = db.session()
    # The session may have begun a transaction of its own meanwhile (attaching the signed-in
    # user does, a cache miss reads): it wrote nothing, so the read need not join it.
    conn = None
    if session.info.get(_READS_ONLY) and not (session.new or session.dirty or session.deleted):
        try:
            conn = db.engines[READS_POOL].connect()
        except sa.exc.TimeoutError:  # all of them busy (more threads than the pool has)
            conn = None
    if conn is None:
        yield session.connection()
        return
    with conn:
        yield conn


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


# --- a request whose one write is one statement ---------------------------------------------------
#
# An API intake writes its ticket, events, statistics mark and messages in one statement
# (models/tickets/reported.py). A single statement is a transaction of its own: run in autocommit
# mode, it needs no BEGIN and no COMMIT, two of the intake's five round trips. Such a request is
# marked (``one_statement_request``); its statements run on one connection of the second pool
# (``statement_connection``) as long as the session has written nothing else; once the statement
# has written, any further write in the request is refused (it could no longer be undone with
# it). A request that writes more (an answer stored for its Idempotency-Key, photos) keeps its
# transaction.

_ONE_STATEMENT = "griddesk_one_statement"


@dataclass
class _OneStatement:
    connection: sa.Connection | None = None
    spoiled: bool = False  # something else was written: the request is one transaction again
    written: str | None = None  # what the one statement stored (it has committed)


class SecondWriteRefused(RuntimeError):
    """A write after a request's one statement had written (and committed) its work."""


@contextlib.contextmanager
def one_statement_request() -> Iterator[None]:
    """Mark the request (PostgreSQL; no transaction begun yet) for the time of the block."""
    session = db.session()
    if READS_POOL not in db.engines or _ONE_STATEMENT in session.info or _has_written(session):
        yield
        return
    marked = session.info[_ONE_STATEMENT] = _OneStatement()
    try:
        yield
    except BaseException:
        if marked.written:  # the client is told of a failure: a retry would report it again
            logger.error("the request failed after its one statement had stored %s",
                         marked.written)
        raise
    finally:
        session.info.pop(_ONE_STATEMENT, None)
        if marked.connection is not None:
            marked.connection.close()


def _has_written(session) -> bool:
    """Whether the session's transaction holds a connection that wrote (its ``_connections``:
    the pinned SQLAlchemy's; ``one_statement_request`` is tested with a write before it)."""
    transaction = session.get_transaction()
    return transaction is not None and any(
        held[0].info.get(_WROTE) for held in transaction._connections.values())


def statement_connection(writing: Collection[object] = ()) -> sa.Connection:
    """The connection for a statement of the intake: the session's, or — in a request marked by
    ``one_statement_request`` whose session has nothing to write but ``writing`` (the objects
    this statement writes) and has written nothing yet — the request's autocommit connection."""
    session = db.session()
    marked = session.info.get(_ONE_STATEMENT)
    if marked is None or marked.spoiled or marked.written or session.dirty or session.deleted \
            or any(obj not in writing for obj in session.new):
        return session.connection()
    if marked.connection is None:
        try:
            marked.connection = db.engines[READS_POOL].connect()
        except sa.exc.TimeoutError:  # all of them busy: the session's transaction
            marked.spoiled = True
            return session.connection()
    return marked.connection


def written_alone(conn: sa.Connection, what: str) -> bool:
    """After the statement that wrote ``what`` (e.g. a ticket's number): whether it ran on the
    autocommit connection. It has then committed: nothing else may be written in the request,
    and the reference versions it assumed are confirmed (its WHERE wrote only while they held),
    so the request is never done again — that would write it twice."""
    session = db.session()
    marked = session.info.get(_ONE_STATEMENT)
    if marked is None or conn is not marked.connection:
        return False
    marked.written = what
    versions_confirmed(session)
    return True


@contextlib.contextmanager
def committing_at_once(conn: sa.Connection) -> Iterator[sa.Connection]:
    """A connection whose statements commit at once, whatever becomes of ``conn``'s transaction
    (PostgreSQL): ``conn`` itself when it is in autocommit mode, else one of the second pool's,
    or — all of those busy — one of the main pool's switched to autocommit mode for the while."""
    if conn.connection.driver_connection.autocommit:
        yield conn
        return
    try:
        other = db.engines[READS_POOL].connect() if READS_POOL in db.engines else None
    except sa.exc.TimeoutError:
        other = None
    if other is None:
        other = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with other:
        yield other


def _check_one_statement(conn: sa.Connection) -> None:
    marked = db.session().info.get(_ONE_STATEMENT)
    if marked is None:
        return
    if marked.written:
        raise SecondWriteRefused("the request's one statement has committed its work; "
                                 "a second write would not be undone with it")
    if conn is not marked.connection:
        marked.spoiled = True
