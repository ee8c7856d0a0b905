"""tickets_fillfactor: room on each page of tickets for a row's next version

The deadline sweep's warning and overdue marks change no indexed column of a ticket (they are
not activity: ``models.tickets.timeline.moves_activity``), so PostgreSQL can write the new row
version on the same page and leave the ticket's 23 indexes alone (a HOT update) — when the page
has room. Pages written from now on are filled to 90 %; existing pages keep their rows until
they are rewritten (VACUUM FULL, or as rows move). SQLite has no such setting.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 04:10:00

"""
from alembic import op


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE tickets SET (fillfactor = 90)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE tickets RESET (fillfactor)")
