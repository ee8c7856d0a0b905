"""Reserved for the patrol rounds work (empty until that work lands; then renamed)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 08:50:00

"""


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
