"""areas.active: an area is deactivated, not deleted, once anything refers to it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_column('active')
