"""Areas: the four-level hierarchy district → street → community → grid."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum, utcnow
from .enums import AreaLevel


class Area(db.Model):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    # Ancestor ids and its own, e.g. "/1/4/9/": sub-area tests are prefix matches.
    path: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    # GeoJSON geometry, WGS-84. Deferred: tickets join their areas on every list, and real
    # boundaries run to thousands of points.
    boundary: Mapped[dict | None] = mapped_column(sa.JSON, deferred=True)
    centroid_lon: Mapped[float | None]
    centroid_lat: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped["Area | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Area"]] = relationship(back_populates="parent", order_by="Area.code")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the district down to this area itself."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def is_within(self, other: "Area") -> bool:
        return self.path.startswith(other.path)
