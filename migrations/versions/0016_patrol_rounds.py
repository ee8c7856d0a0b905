"""Patrol rounds (巡查): patrol_rounds with the thinned route, patrol_check_ins, patrol_reports
(the tickets reported during a round)

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02 08:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'patrol_rounds',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('open_worker_id', sa.Integer(), nullable=True),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.Column('distance_m', sa.Double(), server_default='0', nullable=False),
        sa.Column('point_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('route', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['grid_id'], ['areas.id'], name=op.f('fk_patrol_rounds_grid_id_areas')),
        sa.ForeignKeyConstraint(['open_worker_id'], ['users.id'], name=op.f('fk_patrol_rounds_open_worker_id_users')),
        sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_patrol_rounds_worker_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_rounds')),
        sa.UniqueConstraint('open_worker_id', name=op.f('uq_patrol_rounds_open_worker_id')),
    )
    with op.batch_alter_table('patrol_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_rounds_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_rounds_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_rounds_worker_id'), ['worker_id'], unique=False)

    op.create_table(
        'patrol_check_ins',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('round_id', BIG_ID, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lon', sa.Double(), nullable=False),
        sa.Column('lat', sa.Double(), nullable=False),
        sa.Column('place', sa.String(length=100), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('photo_key', sa.String(length=255), nullable=False),
        sa.Column('photo_mime', sa.String(length=50), nullable=False),
        sa.Column('photo_sha256', sa.String(length=64), nullable=False),
        sa.Column('photo_size', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['patrol_rounds.id'], name=op.f('fk_patrol_check_ins_round_id_patrol_rounds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_check_ins')),
    )
    with op.batch_alter_table('patrol_check_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_check_ins_round_id'), ['round_id'], unique=False)

    op.create_table(
        'patrol_reports',
        sa.Column('ticket_id', BIG_ID, nullable=False),
        sa.Column('round_id', BIG_ID, nullable=False),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['patrol_rounds.id'], name=op.f('fk_patrol_reports_round_id_patrol_rounds')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_patrol_reports_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_patrol_reports')),
    )
    with op.batch_alter_table('patrol_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_reports_round_id'), ['round_id'], unique=False)


def downgrade():
    op.drop_table('patrol_reports')
    op.drop_table('patrol_check_ins')
    op.drop_table('patrol_rounds')
