"""Reserved for the photos work (empty until that work lands; then renamed)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 08:50:00

"""


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
