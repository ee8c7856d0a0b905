"""Statements handed to psycopg as SQLAlchemy compiled them: the hot paths on PostgreSQL.

SQLAlchemy's execution of a statement costs about 0.1 ms of CPU beyond the driver's own work
(the cache key, an execution context, the result's set-up): on an intake of seven statements a
fifth of its CPU. A ``DriverStatement`` is compiled once per process and statement object; each
run applies SQLAlchemy's own bind processors to the values given (enums, JSON, UTC datetimes) and
its result processors to the rows returned, on the session's connection inside its transaction.
SQLAlchemy's ``before_cursor_execute`` listeners are told of it as of any statement (the tests
count statements that way). SQLite, and statements whose SQL depends on their values (expanding
IN lists), keep SQLAlchemy's own path: ``run`` picks. The compiled form is read through
attributes of the pinned SQLAlchemy (``_bind_processors``, ``_result_columns``,
``_handle_dbapi_exception``): an upgrade that changes them fails the intake and read tests.
"""
from __future__ import annotations

import weakref
from collections import namedtuple
from typing import Any

import sqlalchemy as sa


class DriverStatement:
    def __init__(self, statement: sa.Executable, dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.usable = not compiled.post_compile_params and not compiled.literal_execute_params
        self.sql = compiled.string
        self.binders = binders = compiled._bind_processors
        # every parameter with the value written into the statement (None where a run gives it),
        # as the driver takes it
        self.defaults = {key: (binders[key](value) if key in binders else value)
                         for key, value in compiled.construct_params({}, _check=False).items()}
        self.columns = compiled._result_columns
        self.names = [column.keyname for column in self.columns]
        self.row = namedtuple("Row", self.names, rename=True) if self.columns else None
        self.dialect = dialect
        self.processors: list | None = None  # from the first answer's column types

    def params(self, values: dict) -> dict:
        binders = self.binders
        return {**self.defaults, **{key: (binders[key](value) if key in binders else value)
                                    for key, value in values.items()}}

    def first_mapping(self, conn: sa.Connection, values: dict) -> dict | None:
        """The first row as {column name: value}, or None."""
        rows = self.rows(conn, values)
        return dict(zip(self.names, rows[0])) if rows else None

    def rows(self, conn: sa.Connection, values: dict, *, keep_cursor: bool = True) -> list[tuple]:
        """The rows the statement returns (none when it returns nothing), processed. A statement
        whose values or answer can be large (thousands of rows) takes a cursor of its own and
        closes it, keeping nothing of them."""
        if not keep_cursor:
            with conn.connection.driver_connection.cursor() as cursor:
                return self._run(conn, cursor, values)
        return self._run(conn, self._cursor(conn.connection), values)

    def _run(self, conn: sa.Connection, cursor, values: dict) -> list[tuple]:
        params = self.params(values)
        if conn._has_events or conn.engine._has_events:
            conn.dispatch.before_cursor_execute(conn, cursor, self.sql, params, None, False)
        try:
            cursor.execute(self.sql, params)
        except self.dialect.loaded_dbapi.Error as error:
            # Raised as SQLAlchemy raises it (IntegrityError …; a lost connection is
            # invalidated): callers catch SQLAlchemy's exceptions.
            conn._handle_dbapi_exception(error, self.sql, params, cursor, None)
        if not cursor.pgresult.nfields:  # (``description`` builds its columns anew each time)
            return []
        if self.processors is None:  # (position, processor) of the columns that have one
            self.processors = [(position, process) for position, process in enumerate(
                column.type._cached_result_processor(self.dialect, d.type_code)
                for column, d in zip(self.columns, cursor.description)) if process is not None]
        fetched = cursor.fetchall()
        processors = self.processors
        if not processors:
            return fetched
        processed = []
        for row in fetched:
            row = list(row)
            for position, process in processors:
                row[position] = process(row[position])
            processed.append(tuple(row))
        return processed

    def _cursor(self, pooled) -> Any:
        """This statement's cursor on the pooled connection, kept for its next run there: psycopg
        keeps a cursor's adapters for its columns and parameters while it runs the same statement
        again, and builds them anew for every new cursor (the read of one ticket has ~60
        columns). A pooled connection serves one thread at a time; its cursors are kept in its
        ``info``, which the pool empties when it replaces the connection. Each cursor keeps its
        last answer (a few rows) until its next run."""
        kept = pooled.info.get(_CURSORS)
        if kept is None:
            kept = pooled.info[_CURSORS] = {}
        cursor = kept.get(self)
        if cursor is None or cursor.closed:
            cursor = kept[self] = pooled.driver_connection.cursor()
        return cursor


_CURSORS = "griddesk_statement_cursors"
_KEPT: "weakref.WeakKeyDictionary[sa.Executable, DriverStatement]" = weakref.WeakKeyDictionary()


def driver_statement(statement: sa.Executable, conn: sa.Connection) -> DriverStatement | None:
    """The statement's driver form on PostgreSQL (kept with the statement object), else None."""
    if conn.dialect.name != "postgresql":
        return None
    sent = _KEPT.get(statement)
    if sent is None:  # setdefault: threads that build it at once all keep one
        sent = _KEPT.setdefault(statement, DriverStatement(statement, conn.dialect))
    return sent if sent.usable else None


def insert_statement(table: sa.Table, names, returning=()) -> sa.Insert:
    """An INSERT of the columns ``names`` (each value a parameter named as its column), returning
    ``returning``: its SQL is the same for every run (an INSERT compiled without values names
    every column of the table)."""
    statement = table.insert().values(
        {name: sa.bindparam(name, type_=table.c[name].type) for name in names})
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def run(conn: sa.Connection, statement: sa.Executable, values: dict[str, Any], *,
        keep_cursor: bool = True) -> list:
    """Execute ``statement`` (built once and kept by the caller) with ``values`` on ``conn``;
    its rows as tuples with the columns' names as attributes. ``keep_cursor=False`` for a
    statement whose values or answer can be large (``DriverStatement.rows``)."""
    sent = driver_statement(statement, conn)
    if sent is None:
        result = conn.execute(statement, values)
        return result.all() if result.returns_rows else []
    rows = sent.rows(conn, values, keep_cursor=keep_cursor)
    return [sent.row._make(row) for row in rows] if sent.row is not None else rows
