"""pending tickets by acceptance deadline

The one definition of overdue (models/tickets/deadlines.py) measures a pending ticket against
its acceptance deadline and a ticket being handled against its handling deadline. The home
counts, the list filter, the API and the acceptance sweep read the first half through this
partial index (the second half already has ix_tickets_open_handle_deadline).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:15:00

On PostgreSQL the index is built CONCURRENTLY, so a filled table keeps taking writes.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

NAME = "ix_tickets_pending_accept_deadline"
PENDING = sa.text("status = 'pending'")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(NAME, "tickets", ["accept_deadline"], postgresql_concurrently=True,
                            if_not_exists=True, postgresql_where=PENDING)
    else:
        op.create_index(NAME, "tickets", ["accept_deadline"], sqlite_where=PENDING)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(NAME, table_name="tickets", postgresql_concurrently=True,
                          if_exists=True)
    else:
        op.drop_index(NAME, table_name="tickets")
