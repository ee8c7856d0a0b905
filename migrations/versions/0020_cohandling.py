"""cohandling: co-handling tasks (主办/协办), the dispatch rule's co-handling departments, and the
statistics' co-handling measures

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 13:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('open', 'accepted')")
STATS_TABLES = ('stats_facts', 'stats_daily')
MEASURES = ('co_handled', 'co_handled_done', 'co_handled_in_time')


def upgrade():
    big = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table(
        'co_handling_tasks',
        sa.Column('id', big, nullable=False),
        sa.Column('ticket_id', big, nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('status', sa.Enum('open', 'accepted', 'submitted', 'returned', 'closed',
                                    name='taskstatus', native_enum=False, length=24),
                  nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_co_handling_tasks_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_co_handling_tasks_department_id_departments')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_co_handling_tasks_created_by_id_users')),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'],
                                name=op.f('fk_co_handling_tasks_accepted_by_id_users')),
        sa.ForeignKeyConstraint(['finished_by_id'], ['users.id'],
                                name=op.f('fk_co_handling_tasks_finished_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_co_handling_tasks')),
    )
    with op.batch_alter_table('co_handling_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_co_handling_tasks_ticket_id', ['ticket_id'], unique=False)
        batch_op.create_index('ix_co_handling_tasks_department_created',
                              ['department_id', 'created_at'], unique=False)
        batch_op.create_index('ix_co_handling_tasks_active_department',
                              ['department_id', 'ticket_id'], unique=False,
                              postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    with op.batch_alter_table('dispatch_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('co_department_ids', sa.JSON(), nullable=True))
    for table in STATS_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in MEASURES:
                batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=False,
                                              server_default=sa.text('0')))


def downgrade():
    for table in STATS_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in reversed(MEASURES):
                batch_op.drop_column(name)
    with op.batch_alter_table('dispatch_rules', schema=None) as batch_op:
        batch_op.drop_column('co_department_ids')
    with op.batch_alter_table('co_handling_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_co_handling_tasks_active_department')
        batch_op.drop_index('ix_co_handling_tasks_department_created')
        batch_op.drop_index('ix_co_handling_tasks_ticket_id')
    op.drop_table('co_handling_tasks')
