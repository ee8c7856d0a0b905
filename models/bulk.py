"""Many rows in one short statement, for the writers of batches (the deadline sweep's events,
statistics marks and messages, and the steps it applies).

On PostgreSQL the rows go as one JSON document (``json_to_recordset``): the statement's text is
the same for any number of rows, so the driver converts it once and PostgreSQL plans it once,
and the document is written by orjson and read by PostgreSQL, both in C. A multi-row VALUES
list grows with the rows, and the driver parses such a statement again on every execution
(about 0.1 ms of CPU per row of a sweep's events); one short statement repeated per row costs
PostgreSQL a statement per row; arrays of text are quoted by the driver in Python, element by
element. SQLite takes the rows as the driver's executemany (or a VALUES list).
"""
from __future__ import annotations

import functools
from typing import Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from models.base import db
from models.driver import run


def _dialect():
    return db.session.get_bind().dialect


def one_of(column, ids) -> sa.ColumnElement[bool]:
    """``column IN ids`` for a list of any length: on PostgreSQL one array parameter
    (``= ANY``), so the statement's text stays the same (a city's 25,600 grid workers as
    separate parameters made a statement of some 300 KB, built and parsed again each time);
    elsewhere IN."""
    ids = list(ids)
    if _dialect().name == "postgresql":
        return column == sa.any_(sa.bindparam(None, ids, type_=postgresql.ARRAY(sa.BigInteger)))
    return column.in_(ids)


def insert_rows(table: sa.Table, rows: Sequence[dict], *, returning: Sequence[str] = (),
                skip_conflicts_on: str | None = None) -> list[sa.Row]:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in one statement; a row that
    conflicts on the unique column ``skip_conflicts_on`` is skipped. Returns the ``returning``
    columns of the rows written, in no particular order (return a key to match them by)."""
    if not rows:
        return []
    names = tuple(rows[0])
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        statement = _recordset_insert(table, names, tuple(returning), skip_conflicts_on)
        columns = [table.c[name] for name in names]
        return run(connection, statement,
                   {"rows": recordset_document(columns, rows, connection.dialect)},
                   keep_cursor=False)  # a sweep's thousands of rows are not kept
    statement = _values_insert(table, tuple(returning), skip_conflicts_on)
    result = connection.execute(statement, list(rows))
    return result.all() if returning else []


def rows_source(name: str, columns: Sequence[sa.Column], rows: Sequence[tuple]):
    """``rows`` (tuples in the order of ``columns``, which name and type them) as a table named
    ``name`` to select from or update from, and the parameters to execute the statement with."""
    dialect = _dialect()
    if dialect.name == "postgresql":
        by_name = [dict(zip((column.name for column in columns), row)) for row in rows]
        return recordset(name, columns), {name: recordset_document(columns, by_name, dialect)}
    values = sa.values(*(sa.column(column.name, column.type) for column in columns), name=name)
    return values.data(list(rows)).cte(name), {}  # a CTE: SQLite reads no VALUES with names in FROM


def recordset(name: str, columns: Sequence[sa.Column]):
    """``json_to_recordset(:name) AS name(a type, b type …)`` (PostgreSQL): rows to select
    from, given as the parameter ``name`` (``recordset_document``)."""
    document = sa.cast(sa.bindparam(name, type_=sa.Text), postgresql.JSON)
    return sa.func.json_to_recordset(document).table_valued(
        *(sa.column(column.name, column.type) for column in columns)).render_derived(
        name=name, with_types=True)


def recordset_document(columns: Sequence[sa.Column], rows: Sequence[dict], dialect) -> str:
    """The rows as JSON, each value as the column's type would bind it (a UTC column's
    datetime in UTC, and refused when naive); enums as their values, JSON columns as they are
    (a None there is SQL NULL, read back as None like the JSON null the ORM writes)."""
    own = {column.name: functools.partial(column.type.process_bind_param, dialect=dialect)
           for column in columns if isinstance(column.type, sa.types.TypeDecorator)}
    if own:
        rows = [{name: own[name](value) if name in own else value for name, value in row.items()}
                for row in rows]
    return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()  # keys as json.dumps


@functools.cache
def _recordset_insert(table: sa.Table, names: tuple[str, ...], returning: tuple[str, ...],
                      skip_conflicts_on: str | None):
    source = recordset("rows", [table.c[name] for name in names])
    statement = postgresql.insert(table).from_select(
        list(names), sa.select(*(source.c[name] for name in names)))
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=[table.c[skip_conflicts_on]])
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


@functools.cache
def _values_insert(table: sa.Table, returning: tuple[str, ...], skip_conflicts_on: str | None):
    statement = sqlite.insert(table)
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=[table.c[skip_conflicts_on]])
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement
