"""Reserved for the evaluation work (empty until that work lands; then renamed)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 08:50:00

"""


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
