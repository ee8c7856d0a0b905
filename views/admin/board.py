"""The board page (看板) and the responsibility matrix page (责任矩阵)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_admin import expose
from flask_login import current_user

from models import Area, AreaLevel, Category, db
from models.people.access import (area_choices, department_choices, pickable_areas,
                                  ticket_scope)
from models.reference_cache import category_rows
from models.people.roles import ALL_ROLES, CONFIGURING_ROLES, OVERVIEW_ROLES
from models.tickets.board import BoardFilters, build_board
from models.tickets.closing_levels import LEVELS_SHOWN, closing_levels
from models.tickets.dispatch_quality import dispatch_quality
from models.tickets.matrix import build_matrix
from models.vocabulary import AREA_LEVELS
from views.inputs import whole_number

from .base import GridDeskView


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return whole_number(value)


class BoardView(GridDeskView):
    allowed_roles = ALL_ROLES

    @expose("/")
    def index(self):
        area = db.session.get(Area, _int_arg("area")) if _int_arg("area") else None
        category = db.session.get(Category, _int_arg("category")) if _int_arg("category") else None
        filters = BoardFilters(area=area, category=category, department_id=_int_arg("department"),
                               supervised=request.args.get("supervised") == "1")
        columns = build_board(current_user._get_current_object(), filters)
        categories = sorted(category_rows().values(), key=lambda c: c.code)
        user = current_user._get_current_object()
        return self.render("admin/board.html", columns=columns, filters=filters,
                           areas=area_choices(user, [AreaLevel.STREET, AreaLevel.COMMUNITY,
                                                     AreaLevel.GRID], filters.area),
                           categories=categories,
                           departments=department_choices(user, filters.area,
                                                          kept=filters.department_id))


class MatrixView(GridDeskView):
    allowed_roles = OVERVIEW_ROLES

    @expose("/levels")
    def levels(self):
        """The second view: at which level each category's cases were closed, vs its level."""
        months = whole_number(request.args.get("months", "")) or 6
        months = min(max(months, 1), 36)
        user = current_user._get_current_object()
        categories = db.session.execute(
            sa.select(Category).where(Category.parent_id.is_not(None), Category.active.is_(True))
            .order_by(Category.code)).scalars().all()
        rows = closing_levels(categories, months, scope=ticket_scope(user))
        return self.render("admin/matrix_levels.html", rows=rows, months=months,
                           levels=LEVELS_SHOWN)

    @expose("/")
    def index(self):
        try:
            level = AreaLevel(request.args.get("level", "community"))
        except ValueError:
            level = AreaLevel.COMMUNITY
        areas = pickable_areas(current_user._get_current_object(), [level])
        categories = db.session.execute(
            sa.select(Category).where(Category.parent_id.is_not(None), Category.active.is_(True))
            .order_by(Category.code)).scalars().all()
        matrix = build_matrix(categories, areas)
        can_configure = current_user.role in CONFIGURING_ROLES
        # Dispatch quality marks are for administrators (they change rules)
        quality = dispatch_quality(level) if can_configure else None
        return self.render("admin/matrix.html", rows=matrix.rows, areas=areas, level=level,
                           levels=[lv for lv in AREA_LEVELS], gaps=matrix.gaps,
                           can_configure=can_configure,
                           flagged_rules={f.rule_id: f for f in quality.flagged_rules()}
                           if quality else {},
                           flagged_cells={(f.category_id, f.area_id): f
                                          for f in quality.flagged_cells()} if quality else {})
