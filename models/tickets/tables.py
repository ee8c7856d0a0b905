"""Tickets, their append-only timeline and their attachments."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas.hierarchy import Area
from models.base import BigId, UTCDateTime, db, str_enum, utcnow
from models.categories import Category
from models.fields import LONG_TEXT_MAX
from models.people.department import Department
from models.people.user import User
from models.vocabulary import (HANDLING_STATUSES, OPEN_STATUSES, ActorKind, AreaLevel,
                               AttachmentKind, Priority, RatingSource, Source, TicketStatus)

# The partial indexes' predicates, as SQL text: a statement that repeats them word for word can
# use those indexes with a plan kept across runs (models/tickets/duplicates.py).
IS_OPEN_SQL = sa.text("status IN (%s)" % ", ".join(f"'{s.value}'" for s in OPEN_STATUSES))
IS_CLOSED_SQL = sa.text("status = 'closed'")
_PENDING = sa.text("status = 'pending'")
# Tickets being handled and not yet warned of their deadline: the deadline sweep's warning reads
# them from their own small index (migration 0040), not from every open ticket's row.
HANDLED_UNWARNED_SQL = sa.text("status IN (%s) AND warned_at IS NULL"
                               % ", ".join(f"'{s.value}'" for s in HANDLING_STATUSES))
# The band of latitude a place lies in, 0.01° (1.1 km) high: the duplicate check's closed
# branch reads its category's closures band by band, each band from west to east across the
# box, not a strip of the box's height across the whole city (models/tickets/duplicates.py).
# A literal 100 (not a parameter) so that a statement's expression is the index's; no place, no
# band 0 (SQLAlchemy gives SQLite a ``floor`` in Python, which refuses NULL).
LATITUDE_BAND = sa.func.floor(sa.func.coalesce(sa.literal_column("lat"), sa.literal_column("0"))
                              * sa.literal_column("100"))
BANDS_PER_DEGREE = 100


class Ticket(db.Model):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="",
                                             info={"max_chars": LONG_TEXT_MAX})
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)
    source: Mapped[Source] = mapped_column(str_enum(Source))
    status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus), default=TicketStatus.PENDING)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    street_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    community_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    address: Mapped[str | None] = mapped_column(sa.String(255))
    # Set when the point fell in no grid and the ticket went to the nearest community instead.
    location_flagged: Mapped[bool] = mapped_column(default=False)
    reporter_name: Mapped[str | None] = mapped_column(sa.String(64))
    reporter_phone: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    reporter_email: Mapped[str | None] = mapped_column(sa.String(255))
    tracking_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    assigned_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    assigned_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    current_level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel), default=AreaLevel.GRID)
    accept_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the deadlines' clock started when it was not the report (a case imported from an old
    # ledger starts at its import); the yellow "most of the time used" share counts from here.
    deadlines_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reporter's own rating, or a phone follow-up recorded by the staff member in rated_by.
    rating_source: Mapped[RatingSource | None] = mapped_column(str_enum(RatingSource))
    rated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rework_count: Mapped[int] = mapped_column(default=0)
    reopen_count: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # While suspended: when the clock stopped and the state to go back to.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resume_status: Mapped[TicketStatus | None] = mapped_column(str_enum(TicketStatus))
    # A pending extension request (延期申请) until a command centre decides.
    extension_requested_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Set by the scheduler's deadline sweep, so each warning and overdue step happens once.
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    # Answers to the category's custom fields (Open311 attributes), by field code.
    attributes: Mapped[dict | None] = mapped_column(sa.JSON)
    # Identity of an imported ledger row or an external system's case: imports never repeat.
    external_ref: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    event_seq: Mapped[int] = mapped_column(default=0)  # sequence of the last timeline event
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category] = relationship()
    district: Mapped[Area | None] = relationship(foreign_keys=[district_id])
    street: Mapped[Area | None] = relationship(foreign_keys=[street_id])
    community: Mapped[Area | None] = relationship(foreign_keys=[community_id])
    grid: Mapped[Area | None] = relationship(foreign_keys=[grid_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    assigned_department: Mapped[Department | None] = relationship()
    assigned_user: Mapped[User | None] = relationship(foreign_keys=[assigned_user_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    rated_by: Mapped[User | None] = relationship(foreign_keys=[rated_by_id])
    duplicate_of: Mapped["Ticket | None"] = relationship(remote_side=[id])
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", order_by="TicketEvent.seq", lazy="raise_on_sql")
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="ticket", order_by="Attachment.id", lazy="raise_on_sql")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Lists sort newest first; each scope column leads its own index ending in the sort key.
        sa.Index("ix_tickets_created_at_id", "created_at", "id"),
        sa.Index("ix_tickets_district_created", "district_id", "created_at"),
        sa.Index("ix_tickets_street_created", "street_id", "created_at"),
        sa.Index("ix_tickets_community_created", "community_id", "created_at"),
        sa.Index("ix_tickets_grid_created", "grid_id", "created_at"),
        sa.Index("ix_tickets_user_status_created", "assigned_user_id", "status", "created_at"),
        sa.Index("ix_tickets_department_status_created", "assigned_department_id", "status",
                 "created_at"),
        sa.Index("ix_tickets_category_created", "category_id", "created_at"),
        sa.Index("ix_tickets_status_created", "status", "created_at"),
        # The board and the deadline sweep only read open tickets. The board's columns sort by
        # last activity (status last: a column of two states is read in order, not sorted).
        sa.Index("ix_tickets_open_district_activity", "district_id", "last_activity_at", "status",
                 postgresql_where=IS_OPEN_SQL, sqlite_where=IS_OPEN_SQL),
        sa.Index("ix_tickets_open_street_activity", "street_id", "last_activity_at", "status",
                 postgresql_where=IS_OPEN_SQL, sqlite_where=IS_OPEN_SQL),
        sa.Index("ix_tickets_open_community_activity", "community_id", "last_activity_at",
                 "status", postgresql_where=IS_OPEN_SQL, sqlite_where=IS_OPEN_SQL),
        # ... and for those who see every area (no scope column; migration 0035).
        sa.Index("ix_tickets_open_activity", "last_activity_at", "status",
                 postgresql_where=IS_OPEN_SQL, sqlite_where=IS_OPEN_SQL),
        sa.Index("ix_tickets_open_handle_deadline", "handle_deadline",
                 postgresql_where=IS_OPEN_SQL, sqlite_where=IS_OPEN_SQL),
        # Overdue pending tickets (late for acceptance): home counts, list, API, sweep.
        sa.Index("ix_tickets_pending_accept_deadline", "accept_deadline",
                 postgresql_where=_PENDING, sqlite_where=_PENDING),
        sa.Index("ix_tickets_open_category_lat_lon", "category_id", "lat", "lon",
                 postgresql_where=IS_OPEN_SQL, sqlite_where=IS_OPEN_SQL),
        # Recently closed tickets: the board's last column per scope, and the duplicate check.
        sa.Index("ix_tickets_closed_district", "district_id", "closed_at",
                 postgresql_where=IS_CLOSED_SQL, sqlite_where=IS_CLOSED_SQL),
        sa.Index("ix_tickets_closed_street", "street_id", "closed_at",
                 postgresql_where=IS_CLOSED_SQL, sqlite_where=IS_CLOSED_SQL),
        sa.Index("ix_tickets_closed_community", "community_id", "closed_at",
                 postgresql_where=IS_CLOSED_SQL, sqlite_where=IS_CLOSED_SQL),
        sa.Index("ix_tickets_closed_at", "closed_at",
                 postgresql_where=IS_CLOSED_SQL, sqlite_where=IS_CLOSED_SQL),
        sa.Index("ix_tickets_closed_category", "category_id", "closed_at",
                 postgresql_where=IS_CLOSED_SQL, sqlite_where=IS_CLOSED_SQL),
        # The duplicate check's closed branch: by category, band of latitude and longitude,
        # answered from the index alone on PostgreSQL (migration 0039).
        sa.Index("ix_tickets_closed_category_band", "category_id", LATITUDE_BAND, "lon",
                 postgresql_include=["lat", "closed_at", "id"], postgresql_where=IS_CLOSED_SQL,
                 sqlite_where=IS_CLOSED_SQL),
        # The list sorted by handling deadline.
        sa.Index("ix_tickets_handle_deadline_id", "handle_deadline", "id"),
        # The sweep's warning (models/tickets/timeouts.py due_for_warning): on PostgreSQL the
        # columns of its condition are in the index, which answers it without the table.
        sa.Index("ix_tickets_handled_unwarned", "handle_deadline",
                 postgresql_include=["deadlines_from", "created_at", "id"],
                 postgresql_where=HANDLED_UNWARNED_SQL, sqlite_where=HANDLED_UNWARNED_SQL),
        sa.CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
        # Room on each page for a row's next version: a step that changes no indexed column
        # (the deadline sweep's marks) is then written beside it, its indexes left as they
        # are (a HOT update; migration 0037).
        {"postgresql_with": {"fillfactor": 90}},
    )

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime | None = None) -> bool:
        from models.tickets.deadlines import is_overdue

        return is_overdue(self, now or utcnow())


class TicketEvent(db.Model):
    """One step of a ticket's life. Rows are only ever inserted."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"))
    seq: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(32))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind))
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    from_status: Mapped[TicketStatus | None] = mapped_column(str_enum(TicketStatus))
    to_status: Mapped[TicketStatus | None] = mapped_column(str_enum(TicketStatus))
    from_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    from_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    to_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    note: Mapped[str | None] = mapped_column(sa.Text, info={"max_chars": LONG_TEXT_MAX})
    details: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_user_id])
    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id])
    from_department: Mapped[Department | None] = relationship(foreign_keys=[from_department_id])
    to_department: Mapped[Department | None] = relationship(foreign_keys=[to_department_id])

    __table_args__ = (sa.UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_ticket_seq"),)


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("ticket_events.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind), default=AttachmentKind.OTHER)
    stored_path: Mapped[str] = mapped_column(sa.String(255))
    # The small JPEG for lists and timelines (None for photos stored before thumbnails)
    thumbnail_path: Mapped[str | None] = mapped_column(sa.String(255))
    original_name: Mapped[str | None] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    mime: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class TicketNumberCounter(db.Model):
    """Last sequence number handed out per day, for GD+yyyymmdd+sequence ticket numbers."""

    __tablename__ = "ticket_number_counters"

    day: Mapped[date] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
