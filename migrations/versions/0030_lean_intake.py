"""lean_intake: reserved slot (filled in by the work that needs it; a no-op until then)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02 14:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
