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
