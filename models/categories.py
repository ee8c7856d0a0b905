"""Categories: a two-level coded tree (大类 / 小类) carrying the default SLA, and its rules."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db, str_enum
from models.vocabulary import DeadlineUnit, HandlingLevel


# How far apart two reports of a category may be and still be the same case (the duplicate
# check's radius): at most 5 km, the width the duplicate check's index bands are sized for.
MAX_DUPLICATE_RADIUS_M = 5000
# The largest time limit of a category or dispatch rule, in any unit: far past any real one, and
# inside the column (a longer number was a database error).
MAX_DEADLINE = 9999


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    handling_level: Mapped[HandlingLevel] = mapped_column(
        str_enum(HandlingLevel), default=HandlingLevel.COMMUNITY)
    accept_deadline: Mapped[int] = mapped_column(default=2)
    accept_deadline_unit: Mapped[DeadlineUnit] = mapped_column(
        str_enum(DeadlineUnit), default=DeadlineUnit.WORKING_HOURS)
    handle_deadline: Mapped[int] = mapped_column(default=3)
    handle_deadline_unit: Mapped[DeadlineUnit] = mapped_column(
        str_enum(DeadlineUnit), default=DeadlineUnit.WORKING_DAYS)
    requires_after_photo: Mapped[bool] = mapped_column(default=False)
    # Policy of the deadline sweep: an overdue ticket of this category goes one level up.
    escalate_when_overdue: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Open311 lets anyone read the request list; cases like neighbour disputes stay off it
    # (a hidden top-level category hides its sub-categories too).
    listed_publicly: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    duplicate_radius_m: Mapped[int] = mapped_column(default=50)
    sort_order: Mapped[int] = mapped_column(default=100)
    # Extra questions for reporters, e.g. [{"code": "bins", "label": "桶数", "type": "number",
    # "required": false}] (published as Open311 attributes).
    custom_fields: Mapped[list | None] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(back_populates="parent",
                                                      order_by="Category.code")

    __table_args__ = (
        sa.CheckConstraint("accept_deadline > 0 AND handle_deadline > 0", name="deadlines_positive"),
    )

    def __str__(self) -> str:
        if self.parent is not None:
            return f"{self.parent.name} / {self.name}"
        return self.name

    @property
    def is_top_level(self) -> bool:
        return self.parent_id is None



class CategoryError(ValueError):
    pass


def check_category(category: Category) -> None:
    """Two levels only: a sub-category's parent is a top-level category."""
    parent = category.parent
    if parent is None:
        return
    if parent is category or (category.id is not None and parent.id == category.id):
        raise CategoryError(_("A category cannot be its own parent."))
    if parent.parent_id is not None:
        raise CategoryError(_("Categories have two levels: the parent must be a top-level category."))
    if category.children:
        raise CategoryError(_("This category has sub-categories, so it must stay top-level."))


def in_category(category_id: int):
    """SQL "the ticket's category is this one or one of its sub-categories"."""
    import sqlalchemy as sa

    from models.tickets.tables import Ticket

    return Ticket.category_id.in_(sa.select(Category.id).where(
        sa.or_(Category.id == category_id, Category.parent_id == category_id)))


def publicly_listed_category_ids():
    """SQL: the categories whose cases may be shown to anyone (theirs and their parent's flag)."""
    import sqlalchemy as sa
    from sqlalchemy.orm import aliased

    parent = aliased(Category)
    return (sa.select(Category.id).outerjoin(parent, Category.parent_id == parent.id)
            .where(Category.listed_publicly.is_(True),
                   sa.or_(parent.id.is_(None), parent.listed_publicly.is_(True))))
