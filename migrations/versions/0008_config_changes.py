"""config_changes: the configuration audit trail (变更记录)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'config_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=100), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=False),
        sa.Column('object_id', sa.String(length=64), nullable=False),
        sa.Column('object_label', sa.String(length=200), nullable=False),
        sa.Column('operation', sa.String(length=20), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_config_changes_actor_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_config_changes')),
    )
    op.create_index(op.f('ix_config_changes_changed_at'), 'config_changes', ['changed_at'])
    op.create_index(op.f('ix_config_changes_actor_id'), 'config_changes', ['actor_id'])
    op.create_index('ix_config_changes_object', 'config_changes',
                    ['object_type', 'object_id', 'id'])


def downgrade():
    op.drop_table('config_changes')
