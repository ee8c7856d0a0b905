"""work_calendar_days.provisional: days computed by rule until the State Council publishes the year

Days of a year chinese-calendar 1.11.0 does not know (2027 on) that were filled as plain
Monday–Friday without a note are marked provisional, so that filling the year again replaces them
with the law's holidays. Days an administrator changed (another working-day value, or a note)
stay as entered.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:15:00

"""
from datetime import date

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FIRST_YEAR_NOT_IN_PACKAGE = 2027


def upgrade():
    with op.batch_alter_table('work_calendar_days') as batch_op:
        batch_op.add_column(sa.Column('provisional', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    days = sa.table('work_calendar_days', sa.column('day', sa.Date()),
                    sa.column('is_workday', sa.Boolean()), sa.column('note', sa.String()),
                    sa.column('provisional', sa.Boolean()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(days.c.day, days.c.is_workday).where(
        days.c.day >= date(FIRST_YEAR_NOT_IN_PACKAGE, 1, 1), days.c.note.is_(None))).all()
    weekday_filled = [day for day, workday in rows if workday == (day.weekday() < 5)]
    for start in range(0, len(weekday_filled), 500):
        connection.execute(days.update().where(days.c.day.in_(weekday_filled[start:start + 500]))
                           .values(provisional=True))


def downgrade():
    with op.batch_alter_table('work_calendar_days') as batch_op:
        batch_op.drop_column('provisional')
