"""Attachment thumbnails: the storage key of each photo's small JPEG for lists and timelines

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 08:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thumbnail_path', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('thumbnail_path')
