"""further reporters of a ticket (join) and the public report page's rate-limit counters

ticket_reporters: residents who joined an open ticket ("是这件事吗？") instead of reporting it
again; each has their own tracking code and contact, and is told when the case closes.
report_counts: accepted public reports per hashed IP / phone and time window, in the database so
that every web worker sees the same counts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SOURCES = ("patrol", "phone", "walk_in", "web", "wechat", "api", "open311", "import")


def upgrade():
    op.create_table(
        "ticket_reporters",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("ticket_id", BIG_ID, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=True),
        sa.Column("source", sa.Enum(*SOURCES, name="source", native_enum=False, length=24), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("tracking_code", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["ticket_events.id"],
                                name=op.f("fk_ticket_reporters_event_id_ticket_events")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_reporters_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_reporters")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_ticket_reporters_tracking_code")),
    )
    with op.batch_alter_table("ticket_reporters") as batch:
        batch.create_index(batch.f("ix_ticket_reporters_ticket_id"), ["ticket_id"])
        batch.create_index(batch.f("ix_ticket_reporters_phone"), ["phone"])
    op.create_table(
        "report_counts",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_report_counts")),
    )


def downgrade():
    op.drop_table("report_counts")
    with op.batch_alter_table("ticket_reporters") as batch:
        batch.drop_index(batch.f("ix_ticket_reporters_phone"))
        batch.drop_index(batch.f("ix_ticket_reporters_ticket_id"))
    op.drop_table("ticket_reporters")
