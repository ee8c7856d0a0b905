"""duplicate_check_bands: the closed-ticket duplicate check reads a few bands of latitude

``ix_tickets_closed_category_lat_lon`` (migration 0030) ordered a category's closures by
latitude: a report's check read every closure of its category in a strip of the box's height
across the whole city (at city scale ~0.2 ms of PostgreSQL per intake, growing with the city's
width). ``ix_tickets_closed_category_band`` orders them by band of latitude (0.01°, 1.1 km) and
then longitude, so the check reads only the box's own stretch of each band it touches; on
PostgreSQL it carries lat, closed_at and id, so the check never reads the table.

On PostgreSQL the new index is built CONCURRENTLY before the old one is dropped, so a filled
tickets table keeps taking reports meanwhile (a failed build leaves an INVALID index that
`DROP INDEX` removes before running the upgrade again).

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
NEW = ("ix_tickets_closed_category_band", ["category_id", BAND, "lon"], ["lat", "closed_at", "id"])
OLD = ("ix_tickets_closed_category_lat_lon", ["category_id", "lat", "lon"], ["closed_at"])


def _create(name, columns, include):
    options = {"postgresql_where": CLOSED, "sqlite_where": CLOSED}
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(name, "tickets", columns, postgresql_include=include,
                            postgresql_concurrently=True, if_not_exists=True, **options)
    else:
        op.create_index(name, "tickets", columns, **options)


def _drop(name):
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(name, table_name="tickets", postgresql_concurrently=True,
                          if_exists=True)
    else:
        op.drop_index(name, table_name="tickets")


def upgrade():
    _create(*NEW)
    _drop(OLD[0])


def downgrade():
    _create(*OLD)
    _drop(NEW[0])
