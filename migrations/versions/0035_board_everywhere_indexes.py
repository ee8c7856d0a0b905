"""board_everywhere_indexes: the board of those who see every area reads its columns in order

The board's columns read open tickets by last activity and the week's closures by closing
time, per scope (the district / street / community indexes of 0005). A user who sees every area
(administrators, the whole city) filters on no scope column, so PostgreSQL read every open ticket,
and every closure of the week, to sort them for 30 cards: ``ix_tickets_open_activity`` and
``ix_tickets_closed_at`` give them in order.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('pending', 'in_progress', 'pending_review', 'suspended')")
CLOSED = sa.text("status = 'closed'")


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_open_activity', ['last_activity_at', 'status'],
                              unique=False, postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_tickets_closed_at', ['closed_at'], unique=False,
                              postgresql_where=CLOSED, sqlite_where=CLOSED)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_closed_at', postgresql_where=CLOSED, sqlite_where=CLOSED)
        batch_op.drop_index('ix_tickets_open_activity', postgresql_where=OPEN, sqlite_where=OPEN)
