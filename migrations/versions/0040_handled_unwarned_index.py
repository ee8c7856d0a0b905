"""handled_unwarned_index: the deadline sweep's warning reads a small index, not every open ticket

Every run of the deadline sweep (each minute) looked for tickets being handled that had used the
warning share of their time and were not warned yet through ``ix_tickets_open_handle_deadline``:
it read the row of every open ticket whose handling deadline lay ahead (at city scale ~67,000
rows, ~70 ms, ~60,000 pages each run). ``ix_tickets_handled_unwarned`` holds only the tickets
being handled and not warned, with the columns the condition needs, so the sweep answers it
from the index (~14 ms at city scale) and reads the rows of the few tickets due.

On PostgreSQL the index is built CONCURRENTLY, so a filled tickets table keeps taking reports
meanwhile (a failed build leaves an INVALID index that `DROP INDEX` removes before running the
upgrade again).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 00:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

NAME = "ix_tickets_handled_unwarned"
HANDLED_UNWARNED = sa.text("status IN ('in_progress', 'pending_review') AND warned_at IS NULL")


def upgrade():
    options = {"postgresql_where": HANDLED_UNWARNED, "sqlite_where": HANDLED_UNWARNED}
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(NAME, "tickets", ["handle_deadline"],
                            postgresql_include=["deadlines_from", "created_at", "id"],
                            postgresql_concurrently=True, if_not_exists=True, **options)
    else:
        op.create_index(NAME, "tickets", ["handle_deadline"], **options)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(NAME, table_name="tickets", postgresql_concurrently=True,
                          if_exists=True)
    else:
        op.drop_index(NAME, table_name="tickets")
