"""lean_intake: ticket numbers from a sequence; the closed-ticket duplicate check reads by place

``ix_tickets_closed_category_lat_lon`` on (category_id, lat, lon) of closed tickets, with
closed_at carried in the index on PostgreSQL (INCLUDE): the intake's duplicate check
(models/tickets/duplicates.py) finds the closures within the category's radius without reading
the category's whole week of closures, so its cost no longer grows with the volume.

PostgreSQL only: ``ticket_number_seq``, from which the intake takes ticket numbers in its own
transaction (models/tickets/numbering.py). ``ticket_number_counters.last_value`` then holds each
day's base (the sequence value before the day's first number) instead of the day's last number:
existing rows become ``-last_value`` so that the next number of a day already numbered follows
its last one. The downgrade puts back each day's highest number issued.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02 14:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

CLOSED = sa.text("status = 'closed'")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE ticket_number_seq")
        op.execute("UPDATE ticket_number_counters SET last_value = -last_value")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_closed_category_lat_lon', ['category_id', 'lat', 'lon'],
                              unique=False, postgresql_include=['closed_at'],
                              postgresql_where=CLOSED, sqlite_where=CLOSED)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_closed_category_lat_lon', postgresql_where=CLOSED,
                            sqlite_where=CLOSED)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""UPDATE ticket_number_counters c SET last_value = COALESCE((
            SELECT max(CAST(substring(t.number from 11) AS integer)) FROM tickets t
            WHERE t.number LIKE 'GD' || to_char(c.day, 'YYYYMMDD') || '%'), 0)""")
        op.execute("DROP SEQUENCE ticket_number_seq")
