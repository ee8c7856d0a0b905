"""phone_followups: a joined reporter's own rating (ticket_reporters.rating, comment, time)

A resident who joined an open ticket rates the closed case like its first reporter; their rating
is kept on their own row (the first reporter's stays on the ticket).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 13:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket_reporters") as batch:
        batch.add_column(sa.Column("rating", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("rating_comment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            batch.f("ck_ticket_reporters_rating_range"), "rating IS NULL OR (rating BETWEEN 1 AND 5)")


def downgrade():
    with op.batch_alter_table("ticket_reporters") as batch:
        batch.drop_constraint(batch.f("ck_ticket_reporters_rating_range"), type_="check")
        batch.drop_column("rated_at")
        batch.drop_column("rating_comment")
        batch.drop_column("rating")
