"""duplicate_check_bands: the closed-ticket duplicate check reads a few bands of latitude

``ix_tickets_closed_category_lat_lon`` (migration 0030) ordered a category's closures by
latitude: a report's check read every closure of its category in a strip of the box's height
across the whole city (at city scale ~0.2 ms of PostgreSQL per intake, growing with the city's
width). ``ix_tickets_closed_category_band`` orders them by band of latitude (0.01°, 1.1 km) and
then longitude, so the check reads only the box's own stretch of each band it touches; on
PostgreSQL it carries lat, closed_at and id, so the check never reads the table.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

CLOSED = sa.text("status = 'closed'")
BAND = sa.text("floor(coalesce(lat, 0) * 100)")


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_closed_category_lat_lon', postgresql_where=CLOSED,
                            sqlite_where=CLOSED)
        batch_op.create_index('ix_tickets_closed_category_band', ['category_id', BAND, 'lon'],
                              unique=False, postgresql_include=['lat', 'closed_at', 'id'],
                              postgresql_where=CLOSED, sqlite_where=CLOSED)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_closed_category_band', postgresql_where=CLOSED,
                            sqlite_where=CLOSED)
        batch_op.create_index('ix_tickets_closed_category_lat_lon', ['category_id', 'lat', 'lon'],
                              unique=False, postgresql_include=['closed_at'],
                              postgresql_where=CLOSED, sqlite_where=CLOSED)
