"""Reserved for the public reporters work (empty until that work lands; then renamed)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:50:00

"""


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
