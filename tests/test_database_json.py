"""JSON the database hands back — a ticket's timeline, details, custom-field answers — is read by
orjson, and what orjson refuses but Python's json wrote (an integer beyond 64 bits, NaN) still
reads, on both databases."""
from __future__ import annotations

import math

import sqlalchemy as sa

from models import db
from models.base import json_from_database


def read_back(text: str):
    """A JSON column's value as the app reads it (SQLite has no JSON type to cast to: its JSON
    columns are text that SQLAlchemy parses)."""
    value = sa.literal(text)
    value = sa.cast(value, sa.JSON) if db.engine.dialect.name == "postgresql" \
        else sa.type_coerce(sa.func.json(value), sa.JSON)
    return db.session.execute(sa.select(value)).scalar_one()


def test_json_from_the_database_is_read_whatever_python_wrote(ctx):
    assert db.engine.dialect._json_deserializer is json_from_database
    assert read_back('{"note": "已清运", "seq": [1, 2.5, null], "by": {"id": 7}}') == \
        {"note": "已清运", "seq": [1, 2.5, None], "by": {"id": 7}}
    assert read_back('{"n": 18446744073709551616}') == {"n": 2 ** 64}
    assert math.isnan(json_from_database(b'{"x": NaN}')["x"])  # PostgreSQL's json refuses NaN
