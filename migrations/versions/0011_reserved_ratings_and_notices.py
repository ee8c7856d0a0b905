"""Reserved for the ratings and notices work of issue 9 (empty until that work lands; then renamed)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:15:00

"""


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
