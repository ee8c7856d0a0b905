"""Reserved for the domain rules work of issue 9 (empty until that work lands; then renamed)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:15:00

"""


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
