"""indexes for recently closed tickets (board, duplicate check) and the deadline sort

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
INDEXES = [
    ("ix_tickets_closed_district", ["district_id", "closed_at"], CLOSED),
    ("ix_tickets_closed_street", ["street_id", "closed_at"], CLOSED),
    ("ix_tickets_closed_community", ["community_id", "closed_at"], CLOSED),
    ("ix_tickets_closed_category", ["category_id", "closed_at"], CLOSED),
    ("ix_tickets_handle_deadline_id", ["handle_deadline", "id"], None),
]


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, columns, where in INDEXES:
        options = {"postgresql_where": where, "sqlite_where": where} if where is not None else {}
        if postgresql:
            with op.get_context().autocommit_block():
                op.create_index(name, "tickets", columns, postgresql_concurrently=True,
                                if_not_exists=True, **options)
        else:
            op.create_index(name, "tickets", columns, **options)


def downgrade():
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name="tickets")
