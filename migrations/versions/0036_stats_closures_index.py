"""stats_closures_index: the medians read a range's closures from one partial index

The exact medians of handling time (models/stats/indicators.py ``_medians``) read the closure
facts of a range in a scope. Through the day or scope indexes PostgreSQL fetched every fact of
the range from the heap (four in five are not closures) and dropped the others: ~0.5 s for a
district's year. ``ix_stats_facts_closures_day`` holds only the closures, with their place, unit
and durations, so the median rows come from the index alone (index-only scan).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

CLOSURES = sa.text("closed > 0")
INCLUDE = ['district_id', 'street_id', 'community_id', 'grid_id', 'category_id',
           'department_id', 'user_id', 'handling_seconds', 'handling_work_seconds']


def upgrade():
    with op.batch_alter_table('stats_facts', schema=None) as batch_op:
        batch_op.create_index('ix_stats_facts_closures_day', ['day'], unique=False,
                              postgresql_where=CLOSURES, sqlite_where=CLOSURES,
                              postgresql_include=INCLUDE)


def downgrade():
    with op.batch_alter_table('stats_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_facts_closures_day', postgresql_where=CLOSURES,
                            sqlite_where=CLOSURES)
