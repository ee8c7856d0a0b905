"""The bare-Flask ceiling: one ticket read with one psycopg statement and no ORM, no session,
no auth, served by the same Gunicorn settings as the app (``gunicorn bench.bare:app``).

The difference between ``read_one`` and ``bare_read_one`` in the same run is what GridDesk's
own layers (token check, ORM, labels, JSON of the timeline) cost on top of Flask + PostgreSQL.
"""
from __future__ import annotations

import os

import threading

import psycopg
from flask import Flask, jsonify

app = Flask(__name__)
_local = threading.local()


def connection() -> psycopg.Connection:
    """One autocommit connection per server thread, opened in the worker (after the fork)."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
        conn = _local.conn = psycopg.connect(url, autocommit=True)
    return conn


@app.get("/healthz")
def healthz():
    return "ok"


@app.get("/t/<int:ticket_id>")
def read_one(ticket_id: int):
    row = connection().execute("""SELECT id, number, title, description, status, category_id, lat, lon,
        address, grid_id, assigned_department_id, assigned_user_id, handle_deadline,
        created_at, last_activity_at FROM tickets WHERE id = %s""", (ticket_id,)).fetchone()
    if row is None:
        return jsonify({"error": "not_found"}), 404
    keys = ("id", "number", "title", "description", "status", "category_id", "lat", "lon",
            "address", "grid_id", "department_id", "user_id", "handle_deadline", "created_at",
            "last_activity_at")
    return jsonify({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in zip(keys, row)})
