"""tickets.deadlines_from: where the deadlines' clock started, when not at the report

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadlines_from', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('deadlines_from')
