"""tickets.rating_source and rated_by_id: the reporter's own rating or a phone follow-up (回访)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:15:00

Ratings given before this revision are classified from their timeline: a "rate" event by a
staff member was a phone follow-up recorded by that person; any other was the reporter's own.
The events themselves are not touched (the timeline is never edited).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_source', sa.Enum('reporter', 'follow_up', name='ratingsource', native_enum=False, length=24), nullable=True))
        batch_op.add_column(sa.Column('rated_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_rated_by_id_users'), 'users', ['rated_by_id'], ['id'])
    op.execute(
        "UPDATE tickets SET rated_by_id = ("
        " SELECT e.actor_user_id FROM ticket_events e"
        " WHERE e.ticket_id = tickets.id AND e.action = 'rate'"
        " ORDER BY e.seq DESC LIMIT 1)"
        " WHERE rating IS NOT NULL")
    op.execute(
        "UPDATE tickets SET rating_source ="
        " CASE WHEN rated_by_id IS NULL THEN 'reporter' ELSE 'follow_up' END"
        " WHERE rating IS NOT NULL")


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_rated_by_id_users'), type_='foreignkey')
        batch_op.drop_column('rated_by_id')
        batch_op.drop_column('rating_source')
