"""board, duplicate-check and deadline-sort indexes

Open tickets per district / street / community ordered by last activity (the board's columns;
replaces the street-only index led by status), recently closed tickets per scope and per
category (the board's last column, the duplicate check), and the list sorted by deadline.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:40:00

On PostgreSQL the indexes are built CONCURRENTLY, so a filled production table keeps taking
writes while they build (each one is its own transaction; a failed build leaves an INVALID index
that `DROP INDEX` removes before running the upgrade again).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

CLOSED = sa.text("status = 'closed'")
OPEN = sa.text("status IN ('pending', 'in_progress', 'pending_review', 'suspended')")
REPLACED = ("ix_tickets_open_street_status", ["street_id", "status", "last_activity_at"], OPEN)
INDEXES = [
    ("ix_tickets_open_district_activity", ["district_id", "last_activity_at", "status"], OPEN),
    ("ix_tickets_open_street_activity", ["street_id", "last_activity_at", "status"], OPEN),
    ("ix_tickets_open_community_activity", ["community_id", "last_activity_at", "status"], OPEN),
    ("ix_tickets_closed_district", ["district_id", "closed_at"], CLOSED),
    ("ix_tickets_closed_street", ["street_id", "closed_at"], CLOSED),
    ("ix_tickets_closed_community", ["community_id", "closed_at"], CLOSED),
    ("ix_tickets_closed_category", ["category_id", "closed_at"], CLOSED),
    ("ix_tickets_handle_deadline_id", ["handle_deadline", "id"], None),
]


def _create(name, columns, where):
    options = {"postgresql_where": where, "sqlite_where": where} if where is not None else {}
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(name, "tickets", columns, postgresql_concurrently=True,
                            if_not_exists=True, **options)
    else:
        op.create_index(name, "tickets", columns, **options)


def _drop(name):
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(name, table_name="tickets", postgresql_concurrently=True,
                          if_exists=True)
    else:
        op.drop_index(name, table_name="tickets")


def upgrade():
    for name, columns, where in INDEXES:
        _create(name, columns, where)
    _drop(REPLACED[0])


def downgrade():
    _create(*REPLACED)
    for name, _columns, _where in reversed(INDEXES):
        _drop(name)
