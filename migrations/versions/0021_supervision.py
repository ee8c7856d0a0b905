"""supervision: supervised tickets (督办) with their history, and the scoring schemes'
points per supervised case

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 13:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

CURRENT = sa.text("lifted_at IS NULL")


def upgrade():
    op.create_table(
        'ticket_supervisions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('level', sa.Enum('watch', 'supervise', 'listed', name='supervisionlevel',
                                   native_enum=False, length=24), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('expected_by', sa.Date(), nullable=False),
        sa.Column('by_user_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('counted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('community_id', sa.Integer(), nullable=True),
        sa.Column('last_reply_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_reply_note', sa.Text(), nullable=True),
        sa.Column('last_reply_by_id', sa.Integer(), nullable=True),
        sa.Column('reminded_for', sa.Date(), nullable=True),
        sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lifted_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_supervisions_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['by_user_id'], ['users.id'],
                                name=op.f('fk_ticket_supervisions_by_user_id_users')),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_ticket_supervisions_department_id_departments')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_ticket_supervisions_user_id_users')),
        sa.ForeignKeyConstraint(['community_id'], ['areas.id'],
                                name=op.f('fk_ticket_supervisions_community_id_areas')),
        sa.ForeignKeyConstraint(['last_reply_by_id'], ['users.id'],
                                name=op.f('fk_ticket_supervisions_last_reply_by_id_users')),
        sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'],
                                name=op.f('fk_ticket_supervisions_lifted_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_supervisions')),
    )
    with op.batch_alter_table('ticket_supervisions', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_supervisions_ticket_id', ['ticket_id'], unique=False)
        batch_op.create_index('ix_ticket_supervisions_counted_at', ['counted_at'], unique=False)
        batch_op.create_index('uq_ticket_supervisions_current', ['ticket_id'], unique=True,
                              postgresql_where=CURRENT, sqlite_where=CURRENT)
    with op.batch_alter_table('scoring_schemes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supervised_points', sa.Double(), nullable=False,
                                      server_default=sa.text('-2')))


def downgrade():
    with op.batch_alter_table('scoring_schemes', schema=None) as batch_op:
        batch_op.drop_column('supervised_points')
    with op.batch_alter_table('ticket_supervisions', schema=None) as batch_op:
        batch_op.drop_index('uq_ticket_supervisions_current', postgresql_where=CURRENT,
                            sqlite_where=CURRENT)
        batch_op.drop_index('ix_ticket_supervisions_counted_at')
        batch_op.drop_index('ix_ticket_supervisions_ticket_id')
    op.drop_table('ticket_supervisions')
