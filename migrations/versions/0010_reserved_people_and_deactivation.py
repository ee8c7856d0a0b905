"""Reserved for the people and deactivation work of issue 9 (empty until that work lands; then renamed)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:15:00

"""


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
