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
    # Departments called onto each ticket this rule dispatches, beside the responsible one
    # (主办/协办: "城管 主办, 市场监管 协办"); ids of departments, in the order chosen.
    co_department_ids: Mapped[list | None] = mapped_column(sa.JSON)
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

    @property
    def co_departments(self) -> list[Department]:
        """The co-handling departments this rule names (inactive ones included: the matrix says
        so; dispatch passes them over)."""
        ids = [i for i in self.co_department_ids or [] if isinstance(i, int)]
        if not ids:
            return []
        found = {d.id: d for d in db.session.execute(
            sa.select(Department).where(Department.id.in_(ids))).scalars()}
        return [found[i] for i in ids if i in found]

    def __str__(self) -> str:
        return f"{self.category} @ {self.area.name if self.area else '?'}"
