"""reference_cache: reserved slot (filled in by the work that needs it; a no-op until then)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 14:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
