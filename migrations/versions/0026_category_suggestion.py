"""category_suggestion: reserved slot (filled in by the work that needs it; a no-op until then)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 14:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
