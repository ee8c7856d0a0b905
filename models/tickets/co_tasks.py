"""The co-handling task table (协办任务): one row per department called onto a ticket beside
its lead department (主办). The operations are in models.tickets.cohandling."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import BigId, UTCDateTime, db, str_enum, utcnow
from models.people.department import Department
from models.people.user import User
from models.tickets.tables import Ticket
from models.vocabulary import ACTIVE_TASK_STATUSES, OPEN_STATUSES, TaskStatus

_ACTIVE = sa.text("status IN (%s)" % ", ".join(f"'{s.value}'" for s in ACTIVE_TASK_STATUSES))


class CoHandlingTask(db.Model):
    __tablename__ = "co_handling_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)  # what is asked of the department
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.OPEN)
    # From the one deadline function (deadlines.ticket_deadlines), counted from when it was given.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The department's result, its reason for returning, or the manager's reason for closing.
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    department: Mapped[Department] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])
    finished_by: Mapped[User | None] = relationship(foreign_keys=[finished_by_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # A department's queue of tasks still owed (the list filter, the board, the phone inbox).
        sa.Index("ix_co_handling_tasks_active_department", "department_id", "ticket_id",
                 postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        sa.Index("ix_co_handling_tasks_department_created", "department_id", "created_at"),
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TASK_STATUSES

    def __str__(self) -> str:
        return f"{self.department.name if self.department else '?'}（{self.status.label}）"


def co_handled_by(department_id: int, *, still_owed: bool = False) -> sa.ColumnElement[bool]:
    """SQL on tickets: the department has a co-handling task on the ticket (``still_owed``:
    one it has not yet submitted or returned, and no manager closed, on a case still open)."""
    tasks = sa.select(CoHandlingTask.ticket_id).where(
        CoHandlingTask.department_id == department_id)
    if not still_owed:
        return Ticket.id.in_(tasks)
    tasks = tasks.where(CoHandlingTask.status.in_(ACTIVE_TASK_STATUSES))
    return sa.and_(Ticket.id.in_(tasks), Ticket.status.in_(OPEN_STATUSES))


def department_co_handles(department_id: int | None, ticket_id: int | None) -> bool:
    """The department has a co-handling task (in any state) on this ticket."""
    if department_id is None or ticket_id is None:
        return False
    return db.session.execute(sa.select(CoHandlingTask.id).where(
        CoHandlingTask.ticket_id == ticket_id,
        CoHandlingTask.department_id == department_id).limit(1)).first() is not None
