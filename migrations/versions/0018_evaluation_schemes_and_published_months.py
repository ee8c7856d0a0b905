"""Performance evaluation: scoring schemes per role, published (frozen) months and their results

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 08:50:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scoring_schemes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('role', sa.Enum('grid_worker', 'department', 'community', name='evaluatedrole',
                                  native_enum=False, length=24), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('base_points', sa.Double(), nullable=False),
        sa.Column('min_cases', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_schemes')),
        sa.UniqueConstraint('role', name=op.f('uq_scoring_schemes_role')),
    )
    op.create_table(
        'evaluation_months',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by_id', sa.Integer(), nullable=True),
        sa.Column('published_by_name', sa.String(length=100), nullable=False),
        sa.Column('schemes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['published_by_id'], ['users.id'],
                                name=op.f('fk_evaluation_months_published_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_months')),
        sa.UniqueConstraint('month', name=op.f('uq_evaluation_months_month')),
    )
    op.create_table(
        'evaluation_results',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('month_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=24), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('unit_label', sa.String(length=100), nullable=False),
        sa.Column('area_path', sa.String(length=255), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.Column('score', sa.Double(), nullable=False),
        sa.Column('eligible', sa.Boolean(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=True),
        sa.Column('breakdown', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['month_id'], ['evaluation_months.id'],
                                name=op.f('fk_evaluation_results_month_id_evaluation_months')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_results')),
    )
    op.create_index('ix_evaluation_results_month_role', 'evaluation_results',
                    ['month_id', 'role'], unique=False)


def downgrade():
    op.drop_index('ix_evaluation_results_month_role', table_name='evaluation_results')
    op.drop_table('evaluation_results')
    op.drop_table('evaluation_months')
    op.drop_table('scoring_schemes')
