"""Rules of the category tree."""
from __future__ import annotations

from flask_babel import gettext as _

from .category import Category


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

    from .ticket import Ticket

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
