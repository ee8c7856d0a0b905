"""Statistics rollups: stats_facts (one row per counted event), stats_daily (day × grid × category × department × person sums) and stats_pending (tickets to fold again)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 09:10:00

Every existing ticket is marked pending, so the scheduler folds the history into the new tables
(or run ``python run.py rebuild-rollups --from DATE --to DATE`` at once).
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_daily',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('dispatched', sa.BigInteger(), nullable=False),
    sa.Column('accepted', sa.BigInteger(), nullable=False),
    sa.Column('accepted_in_time', sa.BigInteger(), nullable=False),
    sa.Column('closed', sa.BigInteger(), nullable=False),
    sa.Column('closed_in_time', sa.BigInteger(), nullable=False),
    sa.Column('rework', sa.BigInteger(), nullable=False),
    sa.Column('returned', sa.BigInteger(), nullable=False),
    sa.Column('reopened', sa.BigInteger(), nullable=False),
    sa.Column('escalated', sa.BigInteger(), nullable=False),
    sa.Column('rated', sa.BigInteger(), nullable=False),
    sa.Column('rating_sum', sa.BigInteger(), nullable=False),
    sa.Column('satisfied', sa.BigInteger(), nullable=False),
    sa.Column('rated_by_reporter', sa.BigInteger(), nullable=False),
    sa.Column('follow_ups', sa.BigInteger(), nullable=False),
    sa.Column('overdue_marked', sa.BigInteger(), nullable=False),
    sa.Column('merged', sa.BigInteger(), nullable=False),
    sa.Column('invalidated', sa.BigInteger(), nullable=False),
    sa.Column('patrol_found', sa.BigInteger(), nullable=False),
    sa.Column('handling_seconds', sa.BigInteger(), nullable=False),
    sa.Column('handling_work_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_daily')),
    sa.UniqueConstraint('day', 'grid_id', 'community_id', 'street_id', 'district_id', 'category_id', 'department_id', 'user_id', name='uq_stats_daily_key')
    )
    with op.batch_alter_table('stats_daily', schema=None) as batch_op:
        batch_op.create_index('ix_stats_daily_community_day', ['community_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_daily_department_day', ['department_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_daily_district_day', ['district_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_daily_grid_day', ['grid_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_daily_street_day', ['street_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_daily_user_day', ['user_id', 'day'], unique=False)

    op.create_table('stats_facts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('dispatched', sa.BigInteger(), nullable=False),
    sa.Column('accepted', sa.BigInteger(), nullable=False),
    sa.Column('accepted_in_time', sa.BigInteger(), nullable=False),
    sa.Column('closed', sa.BigInteger(), nullable=False),
    sa.Column('closed_in_time', sa.BigInteger(), nullable=False),
    sa.Column('rework', sa.BigInteger(), nullable=False),
    sa.Column('returned', sa.BigInteger(), nullable=False),
    sa.Column('reopened', sa.BigInteger(), nullable=False),
    sa.Column('escalated', sa.BigInteger(), nullable=False),
    sa.Column('rated', sa.BigInteger(), nullable=False),
    sa.Column('rating_sum', sa.BigInteger(), nullable=False),
    sa.Column('satisfied', sa.BigInteger(), nullable=False),
    sa.Column('rated_by_reporter', sa.BigInteger(), nullable=False),
    sa.Column('follow_ups', sa.BigInteger(), nullable=False),
    sa.Column('overdue_marked', sa.BigInteger(), nullable=False),
    sa.Column('merged', sa.BigInteger(), nullable=False),
    sa.Column('invalidated', sa.BigInteger(), nullable=False),
    sa.Column('patrol_found', sa.BigInteger(), nullable=False),
    sa.Column('handling_seconds', sa.BigInteger(), nullable=False),
    sa.Column('handling_work_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_facts'))
    )
    with op.batch_alter_table('stats_facts', schema=None) as batch_op:
        batch_op.create_index('ix_stats_facts_community_day', ['community_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_facts_day_district', ['day', 'district_id'], unique=False)
        batch_op.create_index('ix_stats_facts_department_day', ['department_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_facts_grid_day', ['grid_id', 'day'], unique=False)
        batch_op.create_index('ix_stats_facts_street_day', ['street_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_stats_facts_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_stats_facts_user_day', ['user_id', 'day'], unique=False)

    op.create_table('stats_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_stats_pending_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_pending'))
    )
    op.execute("INSERT INTO stats_pending (ticket_id) SELECT id FROM tickets ORDER BY id")


def downgrade():
    op.drop_table('stats_pending')
    with op.batch_alter_table('stats_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_facts_user_day')
        batch_op.drop_index(batch_op.f('ix_stats_facts_ticket_id'))
        batch_op.drop_index('ix_stats_facts_street_day')
        batch_op.drop_index('ix_stats_facts_grid_day')
        batch_op.drop_index('ix_stats_facts_department_day')
        batch_op.drop_index('ix_stats_facts_day_district')
        batch_op.drop_index('ix_stats_facts_community_day')

    op.drop_table('stats_facts')
    with op.batch_alter_table('stats_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_daily_user_day')
        batch_op.drop_index('ix_stats_daily_street_day')
        batch_op.drop_index('ix_stats_daily_grid_day')
        batch_op.drop_index('ix_stats_daily_district_day')
        batch_op.drop_index('ix_stats_daily_department_day')
        batch_op.drop_index('ix_stats_daily_community_day')

    op.drop_table('stats_daily')
