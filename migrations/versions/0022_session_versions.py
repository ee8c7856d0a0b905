"""session_versions: sessions that end, and login limits per address instead of per account

users.session_version: stored in each signed-in session; raised by logout, a new password,
deactivation and a change of role or scope, which ends every session of that user.
login_throttles: failed sign-ins per source address and per address + username (back-off).
users.login_blocked_until goes: an account is no longer locked for everyone.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 13:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.drop_column('login_blocked_until')
    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_last_failure_at'),
                              ['last_failure_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_last_failure_at'))
    op.drop_table('login_throttles')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('login_blocked_until', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.drop_column('session_version')
