"""Supervision (督办): a district or street command centre, or a leader, puts a ticket under
supervision — 关注, 督办 or 挂牌督办 — with a note and the date it expects the case settled by.
The handler answers (督办回复); the supervisor, or someone of their level or above, lifts it.

A ticket has at most one current supervision (a row without ``lifted_at``); earlier ones stay as
history, and every step is a timeline event (models/tickets/timeline.py) whose notices the one
outbox writer sends (models/notify/notices.py). Views, the API, the phone pages and the
scheduler's reminder sweep call these functions only.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import BigId, UTCDateTime, db, str_enum, utcnow
from models.bulk import one_of
from models.clock import DateOutOfRange, local_zone, within_range
from models.errors import ActionForbidden, ActionInvalid
from models.people.roles import SUPERVISING_ROLES
from models.people.user import User
from models.tickets.actions import Action
from models.tickets.records import check_version
from models.tickets.tables import Ticket, TicketEvent
from models.tickets.timeline import record_event
from models.vocabulary import OPEN_STATUSES, ActorKind, AreaLevel, LabelledEnum

MAX_NOTE = 2000


class SupervisionLevel(LabelledEnum):
    WATCH = "watch"  # 关注
    SUPERVISE = "supervise"  # 督办
    LISTED = "listed"  # 挂牌督办

    @classmethod
    def _labels(cls):
        return {cls.WATCH: _l("Watched"), cls.SUPERVISE: _l("Supervised"),
                cls.LISTED: _l("Listed supervision")}


# The levels that count against the handler in the evaluation (关注 only watches).
COUNTED_LEVELS = frozenset({SupervisionLevel.SUPERVISE, SupervisionLevel.LISTED})

_CURRENT = sa.text("lifted_at IS NULL")


class Supervision(db.Model):
    """One supervision of one ticket, from when it was set until it was lifted."""

    __tablename__ = "ticket_supervisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    level: Mapped[SupervisionLevel] = mapped_column(str_enum(SupervisionLevel))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    expected_by: Mapped[date] = mapped_column(sa.Date)
    by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it first reached 督办 or 挂牌督办 (counted in that month's evaluation), and who was
    # handling the case then: the units the deduction falls on.
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    community_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    last_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reply_note: Mapped[str | None] = mapped_column(sa.Text)
    last_reply_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The expected date the scheduler has reminded about (once per date).
    reminded_for: Mapped[date | None] = mapped_column(sa.Date)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    by: Mapped[User] = relationship(foreign_keys=[by_user_id])
    last_reply_by: Mapped[User | None] = relationship(foreign_keys=[last_reply_by_id])

    __table_args__ = (
        sa.Index("uq_ticket_supervisions_current", "ticket_id", unique=True,
                 postgresql_where=_CURRENT, sqlite_where=_CURRENT),
    )

    def is_past_expected(self, today: date) -> bool:
        """The expected date has passed (the ticket's state is the caller's to judge)."""
        return today > self.expected_by


# The current supervision of a ticket (None when it has none): lists load it with the page.
Ticket.supervision = relationship(
    Supervision, primaryjoin=sa.and_(Supervision.ticket_id == Ticket.id,
                                     Supervision.lifted_at.is_(None)),
    uselist=False, viewonly=True)


def current_supervision(ticket: Ticket) -> Supervision | None:
    """Read afresh (``ticket.supervision`` is what a page loaded with the ticket)."""
    return db.session.execute(sa.select(Supervision).where(
        Supervision.ticket_id == ticket.id, Supervision.lifted_at.is_(None))).scalar_one_or_none()


def local_day(now: datetime) -> date:
    return now.astimezone(local_zone()).date()


# --- who may do what ----------------------------------------------------------------------------

_RANK = {AreaLevel.STREET: 1, AreaLevel.DISTRICT: 2}
TOP_RANK = 3


def supervising_rank(user: User | None) -> int:
    """How high a supervisor stands: street 1, district 2, administrators 3; 0 may not supervise."""
    from models.people.access import scope_area_row, sees_everywhere

    if user is None or user.role not in SUPERVISING_ROLES:
        return 0
    if sees_everywhere(user):
        return TOP_RANK
    area = scope_area_row(user)
    return _RANK.get(area.level, 0) if area is not None else 0


def supervise_refusal(user: User, ticket: Ticket):
    """Why this user may not put this ticket under supervision, as a lazy message (the API asks
    for every ticket it shows and only needs to know whether); None: they may."""
    from models.people.access import can_see_ticket

    if not user.active or supervising_rank(user) == 0:
        return _l("Only a district or street command centre or a leader can supervise tickets.")
    if not can_see_ticket(user, ticket):
        return _l("This ticket is outside your area.")
    current = ticket.supervision
    if current is not None and supervising_rank(user) < supervising_rank(current.by):
        return _l("The supervision was set by a higher level; only that level can change it.")
    return None


def may_supervise(user: User, ticket: Ticket) -> bool:
    return ticket.status in OPEN_STATUSES and supervise_refusal(user, ticket) is None


def may_lift(user: User, ticket: Ticket) -> bool:
    return ticket.supervision is not None and supervise_refusal(user, ticket) is None


def may_reply(user: User, ticket: Ticket) -> bool:
    """The handler answers: the assignee, or a member of the assigned department."""
    from models.people.access import can_act

    if not can_act(user) or ticket.supervision is None:
        return False
    return ticket.assigned_user_id == user.id or (
        user.department_id is not None and user.department_id == ticket.assigned_department_id)


def supervision_actions(user: User, ticket: Ticket) -> list[str]:
    """The supervision steps this user may take on this ticket now (API's allowed_actions)."""
    steps = [(Action.SUPERVISE, may_supervise), (Action.SUPERVISION_REPLY, may_reply),
             (Action.LIFT_SUPERVISION, may_lift)]
    return [action.value for action, allowed in steps if allowed(user, ticket)]


# --- input ------------------------------------------------------------------------------------

def parse_level(value) -> SupervisionLevel:
    try:
        return SupervisionLevel(str(value or "").strip())
    except ValueError:
        raise ActionInvalid(_("Choose the level: watch, supervise or listed supervision.")) \
            from None


def parse_expected_by(value, today: date) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        text = str(value or "").strip()
        try:  # a date, or a date and time (its day); "2026-12-31garbage" is neither
            value = date.fromisoformat(text) if len(text) <= 10 \
                else datetime.fromisoformat(text).date()
        except ValueError:
            raise ActionInvalid(_("Give the expected date as YYYY-MM-DD.")) from None
    if value < today:
        raise ActionInvalid(_("The expected date lies in the past."))
    try:
        return within_range(value)
    except DateOutOfRange as exc:
        raise ActionInvalid(str(exc)) from None


def _note(value, *, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ActionInvalid(_("Write a note."))
    if len(text) > MAX_NOTE:
        raise ActionInvalid(_("The note is longer than %(max)s characters.", max=MAX_NOTE))
    return text


# --- the operations ---------------------------------------------------------------------------

def _event(ticket: Ticket, action: Action, actor: User | None, now: datetime, note: str | None,
           details: dict) -> TicketEvent:
    event = record_event(ticket, action, actor=actor,
                         actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
                         note=note or None, details=details, at=now)
    db.session.expire(ticket, ["supervision"])
    return event


def supervise(ticket: Ticket, user: User, *, level, note, expected_by,
              expected_version: int | None, now: datetime | None = None) -> TicketEvent:
    """Put the ticket under supervision, or change its current supervision (level, note,
    expected date); the assignee and their department are told."""
    now = now or utcnow()
    check_version(ticket, expected_version)
    refusal = supervise_refusal(user, ticket)
    if refusal is not None:
        raise ActionForbidden(str(refusal))
    if ticket.status not in OPEN_STATUSES:
        raise ActionForbidden(_("Only open tickets can be supervised."))
    level = parse_level(level)
    expected = parse_expected_by(expected_by, local_day(now))
    text = _note(note, required=True)
    row = current_supervision(ticket)
    previous = row.level.value if row is not None else None
    if row is None:
        row = Supervision(ticket_id=ticket.id, started_at=now)
        db.session.add(row)
    row.level, row.note, row.expected_by, row.by_user_id = level, text, expected, user.id
    if level in COUNTED_LEVELS and row.counted_at is None:
        row.counted_at = now
        row.department_id = ticket.assigned_department_id
        row.user_id = ticket.assigned_user_id
        row.community_id = ticket.community_id
    db.session.flush()
    return _event(ticket, Action.SUPERVISE, user, now, text,
                  {"supervision_id": row.id, "level": level.value,
                   "expected_by": expected.isoformat(), "previous_level": previous})


def reply_to_supervision(ticket: Ticket, user: User, *, note, expected_version: int | None,
                         now: datetime | None = None) -> TicketEvent:
    """The handler's answer to the supervisor (督办回复); the supervisor is told."""
    now = now or utcnow()
    check_version(ticket, expected_version)
    row = current_supervision(ticket)
    if row is None:
        raise ActionForbidden(_("This ticket is not under supervision."))
    if not may_reply(user, ticket):
        raise ActionForbidden(_("Only the handler of the ticket or their department can "
                                "answer the supervision."))
    text = _note(note, required=True)
    row.last_reply_at, row.last_reply_note, row.last_reply_by_id = now, text, user.id
    return _event(ticket, Action.SUPERVISION_REPLY, user, now, text,
                  {"supervision_id": row.id, "supervisor_id": row.by_user_id})


def lift_supervision(ticket: Ticket, user: User, *, note=None, expected_version: int | None,
                     now: datetime | None = None) -> TicketEvent:
    """End the current supervision (by its supervisor's level or above)."""
    now = now or utcnow()
    check_version(ticket, expected_version)
    row = current_supervision(ticket)
    if row is None:
        raise ActionInvalid(_("This ticket is not under supervision."))
    refusal = supervise_refusal(user, ticket)
    if refusal is not None:
        raise ActionForbidden(str(refusal))
    text = _note(note, required=False)
    row.lifted_at, row.lifted_by_id = now, user.id
    db.session.flush()
    return _event(ticket, Action.LIFT_SUPERVISION, user, now, text,
                  {"supervision_id": row.id, "level": row.level.value})


def remind_expected_date_passed(ticket: Ticket, now: datetime) -> TicketEvent | None:
    """The scheduler's step: the expected date of the ticket's supervision has passed and the
    case is still open; remind the handler and the supervisor, once per expected date."""
    row = current_supervision(ticket)
    if (row is None or ticket.status not in OPEN_STATUSES
            or not row.is_past_expected(local_day(now)) or row.reminded_for == row.expected_by):
        return None
    row.reminded_for = row.expected_by
    return _event(ticket, Action.SUPERVISION_DUE, None, now, None,
                  {"supervision_id": row.id, "level": row.level.value,
                   "expected_by": row.expected_by.isoformat(), "supervisor_id": row.by_user_id})


def reminder_cause(details: dict) -> str:
    """The outbox identity of one reminder: one per supervision and expected date."""
    return f"supervision:{details.get('supervision_id')}:due:{details.get('expected_by')}"


# --- the queries lists, the page, the sweep and the evaluation ask ----------------------------

def under_supervision(level: SupervisionLevel | str | None = None) -> sa.ColumnElement[bool]:
    """Condition on tickets: under supervision now (at this level, when one is given)."""
    condition = sa.and_(Supervision.ticket_id == Ticket.id, Supervision.lifted_at.is_(None))
    if level:
        condition = sa.and_(condition, Supervision.level == SupervisionLevel(level))
    return sa.exists().where(condition)


def reminders_due(now: datetime) -> sa.Select:
    """Open tickets whose supervision's expected date has passed, not yet reminded for it."""
    return (sa.select(Ticket).join(Supervision, sa.and_(Supervision.ticket_id == Ticket.id,
                                                        Supervision.lifted_at.is_(None)))
            .where(Ticket.status.in_(OPEN_STATUSES), Supervision.expected_by < local_day(now),
                   sa.or_(Supervision.reminded_for.is_(None),
                          Supervision.reminded_for != Supervision.expected_by)))


def supervised_tickets(user: User, *, level: str | None = None,
                       past_expected: bool = False, now: datetime | None = None,
                       limit: int = 500) -> list[tuple[Ticket, Supervision]]:
    """The tickets under supervision inside the user's scope, the latest expected date last:
    (ticket, supervision) pairs for the supervision page."""
    from models.people.access import ticket_scope
    from models.tickets.records import ticket_list_loads

    query = (sa.select(Ticket, Supervision)
             .join(Supervision, sa.and_(Supervision.ticket_id == Ticket.id,
                                        Supervision.lifted_at.is_(None)))
             .where(ticket_scope(user))
             .order_by(Supervision.expected_by, Ticket.id).limit(limit)
             .options(*ticket_list_loads(("community", "grid"))))
    if level:
        query = query.where(Supervision.level == SupervisionLevel(level))
    if past_expected:
        query = query.where(Ticket.status.in_(OPEN_STATUSES),
                            Supervision.expected_by < local_day(now or utcnow()))
    return [(t, s) for t, s in db.session.execute(query).all()]


UNIT_COLUMNS = {"grid_worker": Supervision.user_id, "department": Supervision.department_id,
                "community": Supervision.community_id}


def supervised_counts(role: str, start: datetime, end: datetime,
                      unit_ids: list[int]) -> dict[int, int]:
    """unit id → the cases counted as supervised (督办 or 挂牌督办) in [start, end) against the
    unit that was handling them (evaluation deduction)."""
    column = UNIT_COLUMNS[str(getattr(role, "value", role))]
    if not unit_ids:
        return {}
    rows = db.session.execute(
        sa.select(column, sa.func.count(sa.distinct(Supervision.ticket_id)))
        .where(Supervision.counted_at >= start, Supervision.counted_at < end,
               one_of(column, unit_ids)).group_by(column))
    return {unit: count for unit, count in rows}

