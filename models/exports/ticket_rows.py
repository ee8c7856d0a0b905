"""The rows of a ticket export: every ticket of the user's scope matching the list's filters,
read in keyset batches of plain rows (never ORM objects, never the whole result at once), in
the list's default order (newest first).
"""
from __future__ import annotations

from typing import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models.areas.hierarchy import Area
from models.base import db
from models.categories import Category
from models.custom_fields import attribute_definitions, field_answers
from models.people.access import ticket_scope
from models.people.department import Department
from models.people.user import User
from models.tickets.listing import list_conditions
from models.tickets.tables import Ticket

BATCH_SIZE = 2000


def export_condition(user: User, filters: list, search: str | None = None,
                     ticket_ids: Sequence[int] | None = None) -> sa.ColumnElement[bool]:
    """The user's scope, the list's named filters and search, and (for the ticked rows) ids."""
    conditions = [ticket_scope(user), *list_conditions(filters, search)]
    if ticket_ids is not None:
        conditions.append(Ticket.id.in_(list(ticket_ids)))
    return sa.and_(*conditions)


def count_rows(condition: sa.ColumnElement[bool]) -> int:
    """Exact: a background export reads every row anyway (no page view waits for this)."""
    return db.session.execute(sa.select(sa.func.count(Ticket.id)).where(condition)).scalar_one()


def _select(condition: sa.ColumnElement[bool]) -> sa.Select:
    street, community, grid = aliased(Area), aliased(Area), aliased(Area)
    return (sa.select(
        Ticket.id, Ticket.number, Ticket.title, Ticket.description, Ticket.category_id,
        Ticket.status, Ticket.priority, Ticket.source, street.name.label("street"),
        community.name.label("community"),
        grid.name.label("grid"), Ticket.address, Department.name.label("department"),
        User.display_name.label("assignee"), Ticket.handle_deadline, Ticket.created_at,
        Ticket.closed_at, Ticket.rating, Ticket.attributes, Ticket.reporter_name,
        Ticket.reporter_phone, Ticket.assigned_user_id)
        .outerjoin(street, street.id == Ticket.street_id)
        .outerjoin(community, community.id == Ticket.community_id)
        .outerjoin(grid, grid.id == Ticket.grid_id)
        .outerjoin(Department, Department.id == Ticket.assigned_department_id)
        .outerjoin(User, User.id == Ticket.assigned_user_id)
        .where(condition))


def row_batches(condition: sa.ColumnElement[bool],
                batch_size: int = BATCH_SIZE) -> Iterator[Sequence[sa.Row]]:
    """Batches of at most ``batch_size`` rows, newest first; each batch is one query that
    continues after the last row of the previous one (created_at, id)."""
    select = _select(condition).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    after = None
    while True:
        query = select
        if after is not None:
            created, last_id = after
            query = query.where(sa.or_(Ticket.created_at < created,
                                       sa.and_(Ticket.created_at == created, Ticket.id < last_id)))
        rows = db.session.execute(query.limit(batch_size)).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        after = (rows[-1].created_at, rows[-1].id)


def export_categories() -> dict[int, Category]:
    """Every category by id (a few hundred at most): names and custom-field definitions."""
    return {c.id: c for c in db.session.execute(sa.select(Category)).scalars()}


def custom_field_columns(condition: sa.ColumnElement[bool],
                         categories: dict[int, Category]) -> dict[str, str]:
    """code → label of the custom fields of the categories present among the exported tickets,
    one column each (found with one EXISTS per category that has fields)."""
    columns: dict[str, str] = {}
    for category in sorted(categories.values(), key=lambda c: c.code):
        definitions = attribute_definitions(category)
        if not definitions:
            continue
        present = db.session.execute(sa.select(sa.exists().where(
            condition, Ticket.category_id == category.id))).scalar()
        if present:
            for definition in definitions:
                columns.setdefault(definition["code"], definition["description"])
    return columns


def row_answers(row: sa.Row, categories: dict[int, Category]) -> dict[str, object]:
    """The row's custom-field answers as people read them, by field code."""
    return {code: value for code, _label, value in
            field_answers(categories.get(row.category_id), row.attributes)}
