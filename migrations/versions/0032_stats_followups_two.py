"""stats_followups_two: reserved slot (filled in by the work that needs it; a no-op until then)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 08:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
