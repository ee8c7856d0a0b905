"""The responsibility matrix: who handles which category in which area."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas.hierarchy import Area
from models.base import UTCDateTime, db, str_enum, utcnow
from models.categories import Category
from models.people.department import Department
from models.vocabulary import DeadlineUnit, ResponsibleKind


class DispatchRule(db.Model):
    __tablename__ = "dispatch_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    responsible_kind: Mapped[ResponsibleKind] = mapped_column(str_enum(ResponsibleKind))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    accept_deadline: Mapped[int | None]
    accept_deadline_unit: Mapped[DeadlineUnit | None] = mapped_column(str_enum(DeadlineUnit))
    handle_deadline: Mapped[int | None]
    handle_deadline_unit: Mapped[DeadlineUnit | None] = mapped_column(str_enum(DeadlineUnit))
    sort_order: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category] = relationship()
    area: Mapped[Area] = relationship()
    department: Mapped[Department | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("responsible_kind <> 'department' OR department_id IS NOT NULL",
                           name="department_given"),
        sa.CheckConstraint("(handle_deadline IS NULL) = (handle_deadline_unit IS NULL)",
                           name="handle_override_complete"),
        sa.CheckConstraint("(accept_deadline IS NULL) = (accept_deadline_unit IS NULL)",
                           name="accept_override_complete"),
    )

    def __str__(self) -> str:
        return f"{self.category} @ {self.area.name if self.area else '?'}"
