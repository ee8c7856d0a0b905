"""分类建议: how well the category suggestion did on the held-out month, and retraining now."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _

from models import db
from models.category_suggestion import current_model, min_tickets, train_category_model
from models.people.roles import CONFIGURING_ROLES

from .base import GridDeskView


class CategorySuggestionView(GridDeskView):
    allowed_roles = CONFIGURING_ROLES

    @expose("/")
    def index(self):
        return self.render("admin/category_suggestion.html", model=current_model(),
                           minimum=min_tickets())

    @expose("/train", methods=["POST"])
    def train(self):
        row = train_category_model()
        db.session.commit()
        flash(_("Trained on %(count)s closed tickets.", count=row.ticket_count), "success")
        return redirect(url_for(".index"))
