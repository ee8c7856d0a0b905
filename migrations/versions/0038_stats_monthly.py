"""stats_monthly: the daily statistics rows summed per month

A city's year of ``stats_daily`` is some forty million rows (a day × grid × category × unit key
is nearly one row per fact), and every figure of a year on the statistics pages read all of
them. ``stats_monthly`` holds the same sums per month (``month``: its first day), kept by the
same fold (models/stats/rollups.py); a range reads its whole months here and only the days
around them from ``stats_daily`` (models/stats/scope.py ``rollup_parts``). Filled here from the
daily rows.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

DIMENSIONS = ('district_id', 'street_id', 'community_id', 'grid_id', 'category_id',
              'department_id', 'user_id')
MEASURES = (
    'received', 'dispatched', 'accepted', 'accepted_in_time', 'closed', 'closed_in_time',
    'rework', 'returned', 'reopened', 'escalated', 'rated', 'rating_sum', 'satisfied',
    'rated_by_reporter', 'follow_ups', 'overdue_marked', 'merged', 'invalidated', 'patrol_found',
    'handling_seconds', 'handling_work_seconds', 'closed_rated',
    'co_handled', 'co_handled_done', 'co_handled_in_time',
)


def upgrade():
    op.create_table(
        'stats_monthly',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in DIMENSIONS),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_monthly')),
        sa.UniqueConstraint('month', 'grid_id', 'community_id', 'street_id', 'district_id',
                            'category_id', 'department_id', 'user_id',
                            name='uq_stats_monthly_key'))
    month = ("date_trunc('month', day::timestamp)::date"
             if op.get_bind().dialect.name == 'postgresql' else "date(day, 'start of month')")
    dimensions = ', '.join(DIMENSIONS)
    op.execute(f"INSERT INTO stats_monthly (month, {dimensions}, {', '.join(MEASURES)}) "
               f"SELECT {month}, {dimensions}, "
               f"{', '.join(f'sum({name})' for name in MEASURES)} FROM stats_daily "
               f"GROUP BY {month}, {dimensions} ORDER BY 1")  # a month's rows together
    with op.batch_alter_table('stats_monthly', schema=None) as batch_op:
        for level in ('district', 'street', 'community', 'grid', 'user', 'department'):
            batch_op.create_index(f'ix_stats_monthly_{level}_month', [f'{level}_id', 'month'],
                                  unique=False)


def downgrade():
    op.drop_table('stats_monthly')
