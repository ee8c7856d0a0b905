"""category_suggestion: the trained category-suggestion model (counts as JSON, held-out accuracy)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 14:10:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'category_models',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ticket_count', sa.Integer(), nullable=False),
        sa.Column('category_count', sa.Integer(), nullable=False),
        sa.Column('enough_history', sa.Boolean(), nullable=False),
        sa.Column('held_out_month', sa.String(length=7), nullable=True),
        sa.Column('held_out_count', sa.Integer(), nullable=False),
        sa.Column('accuracy_top1', sa.Float(), nullable=True),
        sa.Column('accuracy_top3', sa.Float(), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_category_models')),
    )


def downgrade():
    op.drop_table('category_models')
