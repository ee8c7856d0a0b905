"""The API list's statement is planned with its joins in the order written (PostgreSQL searched
the order of its 13 joins for 45–70 ms on every page, models/tickets/reading.py), and only that
statement: the setting is back to the database's own afterwards."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import db
from models.tickets.reading import read_ticket_rows

from .conftest import TEST_DATABASE_URL
from .test_api import auth, new_ticket, token_for

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="planner settings are PostgreSQL's")


def test_the_list_is_planned_as_written_and_the_setting_restored(app, client, world):
    token = token_for(client, "district")
    ids = [new_ticket(client, token).get_json()["id"] for _ in range(3)]
    seen = []
    with app.app_context():
        engine = db.engine

    def setting_at_list(conn, _cursor, statement, *_args):
        if statement.startswith("SELECT tickets.id"):
            seen.append(conn.exec_driver_sql("SHOW join_collapse_limit").scalar())

    with app.app_context():
        before = db.session.scalar(sa.text("SHOW join_collapse_limit"))
        sa.event.listen(engine, "before_cursor_execute", setting_at_list)
        try:
            rows = read_ticket_rows(None, limit=10)
        finally:
            sa.event.remove(engine, "before_cursor_execute", setting_at_list)
        after = db.session.scalar(sa.text("SHOW join_collapse_limit"))
    assert [row.id for row in rows] == sorted(ids, reverse=True)
    assert seen == ["1"] and before == after == "8"
    listed = client.get("/api/v1/tickets?limit=2", headers=auth(token)).get_json()
    assert [t["id"] for t in listed["items"]] == sorted(ids, reverse=True)[:2]
