"""Departments: command centres, functional departments, community offices, property companies."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.areas.hierarchy import Area
from models.base import db, str_enum
from models.vocabulary import DepartmentKind


class Department(db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[DepartmentKind] = mapped_column(str_enum(DepartmentKind), index=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)

    area: Mapped[Area] = relationship()

    __table_args__ = (sa.UniqueConstraint("area_id", "name", name="uq_departments_area_name"),)

    def __str__(self) -> str:
        return self.name
