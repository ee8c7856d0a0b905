"""export_jobs: background exports with their progress, state and stored file

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 08:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'export_jobs',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='exportstate',
                                   native_enum=False, length=24), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=True),
        sa.Column('stored_name', sa.String(length=100), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_export_jobs_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs')),
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index('ix_export_jobs_state', ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_export_jobs_state')
        batch_op.drop_index('ix_export_jobs_user_created')
    op.drop_table('export_jobs')
