"""派单质量 (dispatch quality): the figures per dispatch rule and per rule-less matrix cell, the
flagged ones with their tickets and where those ended up, and the one-click suggested change.
Thin: page → models/tickets/dispatch_quality.py; the change → apply_suggestion (audited)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from models import Area, Category, Department, DispatchRule, Ticket, db
from models.people.roles import CONFIGURING_ROLES
from models.tickets import dispatch_quality as dq
from models.tickets.dispatch import DispatchRuleError
from views.inputs import whole_number

from .base import GridDeskView

SHOWN_TICKETS = 20


def _by_id(model, ids) -> dict:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {row.id: row for row in db.session.execute(
        sa.select(model).where(model.id.in_(ids))).scalars()}


class DispatchQualityView(GridDeskView):
    allowed_roles = CONFIGURING_ROLES

    @expose("/")
    def index(self):
        quality = dq.dispatch_quality()
        rules = _by_id(DispatchRule, quality.by_rule)
        flagged = quality.flagged_rules()
        cells = quality.flagged_cells()
        departments = _by_id(Department, {d for f in flagged + cells for d in f.ended_with})
        tickets = _by_id(Ticket, {t for f in flagged + cells
                                  for t in f.moved_ticket_ids[:SHOWN_TICKETS]})
        suggestions = {f.rule_id: dq.suggestion(rules[f.rule_id], f)
                       for f in flagged if f.rule_id in rules}
        all_rules = sorted(quality.by_rule.values(), key=lambda f: (-f.moved_share, -f.routed))
        return self.render(
            "admin/dispatch_quality.html", quality=quality, rules=rules, flagged=flagged,
            cells=cells, all_rules=all_rules, departments=departments, tickets=tickets,
            suggestions=suggestions, shown=SHOWN_TICKETS,
            categories=_by_id(Category, {f.category_id for f in cells}),
            areas=_by_id(Area, {f.area_id for f in cells}),
            threshold=dq.moved_share_threshold(), minimum=dq.min_tickets(),
            days=dq.window_days())

    @expose("/apply/<int:rule_id>", methods=["POST"])
    def apply(self, rule_id: int):
        rule = db.session.get(DispatchRule, rule_id)
        department_id = whole_number(request.form.get("department_id", ""))
        if rule is None or department_id is None:
            flash(_("Unknown dispatch rule or department."), "danger")
            return redirect(url_for(".index"))
        before = rule.department.name if rule.department else rule.responsible_kind.label
        try:
            dq.apply_suggestion(rule, department_id)
            db.session.commit()
        except (dq.SuggestionGone, DispatchRuleError) as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".index"))
        flash(_("Rule %(rule)s: %(before)s → %(after)s. The change is in the change log.",
                rule=str(rule), before=before, after=rule.department.name), "success")
        return redirect(url_for(".index"))
