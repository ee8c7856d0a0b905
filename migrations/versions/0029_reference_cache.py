"""reference_cache: one version row per kind of reference data (areas, categories, departments,
users, dispatch rules, the work calendar, API tokens). A configuration change raises its kind's
version in the same transaction; every web worker and the scheduler compare the versions once per
transaction and drop what they cached (models/reference_cache.py).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 14:10:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

KINDS = ("areas", "categories", "departments", "users", "dispatch_rules", "calendar", "tokens")


def upgrade():
    table = op.create_table(
        'reference_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_reference_versions')),
    )
    # A random start: a database restored or built anew never repeats the versions of the last.
    op.bulk_insert(table, [{"name": kind, "version": secrets.randbits(48)} for kind in KINDS])


def downgrade():
    op.drop_table('reference_versions')
