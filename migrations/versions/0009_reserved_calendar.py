"""Reserved for the calendar work of issue 9 (empty until that work lands; then renamed)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:15:00

"""


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
