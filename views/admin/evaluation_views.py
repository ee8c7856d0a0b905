"""Statistics → performance evaluation (绩效考核): the rankings page (with publishing a month)
and the scoring scheme editor. Thin: request → one domain call → page."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

import sqlalchemy as sa

from models import db
from models.areas.hierarchy import Area
from models.clock import format_local, local_today
from models.errors import WorkflowError
from models.evaluation import measures
from models.evaluation.publishing import PUBLISHED_LEVELS, can_publish, publish_month
from models.evaluation.ranking import monthly_ranking, month_start
from models.evaluation.schemes import (SCHEME_KINDS, EvaluatedRole, SchemeError, save_scheme,
                                       scheme_for)
from models.evaluation.scoring import POINTS
from models.people.access import area_within_scope, pickable_areas, sees_everywhere
from models.people.roles import CONFIGURING_ROLES, EVALUATION_READER_ROLES
from models.vocabulary import AreaLevel

from .base import AdminForm, GridDeskView


def previous_month() -> date:
    first = month_start(local_today())
    return month_start(date.fromordinal(first.toordinal() - 1))


def month_arg(value: str | None) -> date | None:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


def role_arg(value: str | None) -> EvaluatedRole:
    try:
        return EvaluatedRole(value or EvaluatedRole.GRID_WORKER.value)
    except ValueError:
        return EvaluatedRole.GRID_WORKER


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def formula(line: dict | object) -> str:
    """How a breakdown line's contribution was reached: value × weight (or points) = result."""
    get = line.get if isinstance(line, dict) else lambda k: getattr(line, k)
    if not get("counted"):
        return _("no data: left out")
    value, factor = get("value"), get("factor")
    shown = f"{value * 100:.1f}%" if get("is_rate") else _num(value)
    if get("inverted"):
        shown = f"(1 − {shown})"
    return f"{shown} × {_num(factor)} = {_num(get('contribution'))}"


def area_arg(user, code: str | None) -> Area | None:
    """The area whose ranking is shown: the one asked for when it lies inside the user's
    scope, else the user's scope (None: an administrator's whole system)."""
    scope = None if sees_everywhere(user) else user.scope_area
    if code:
        area = db.session.execute(sa.select(Area).where(Area.code == code)).scalar_one_or_none()
        if area is not None and area_within_scope(user, area):
            return area
    return scope


def area_choices(user) -> list[Area]:
    return pickable_areas(user, (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY))


class RankingView(GridDeskView):
    allowed_roles = EVALUATION_READER_ROLES

    @expose("/")
    def index(self):
        user = current_user._get_current_object()
        month = month_arg(request.args.get("month")) or previous_month()
        role = role_arg(request.args.get("role"))
        scope = area_arg(user, request.args.get("area"))
        ranking = monthly_ranking(scope, month, role, live=request.args.get("live") == "1")
        publishable = (can_publish(user, scope) and month < month_start(local_today())
                       and (scope is None or scope.level in PUBLISHED_LEVELS))
        return self.render(
            "admin/evaluation_ranking.html", ranking=ranking, month=month, role=role,
            roles=list(EvaluatedRole), formula=formula, label=measures.label,
            definition=measures.definition, point_rule=measures.point_rule,
            kinds=SCHEME_KINDS, points_kind=POINTS, format_local=format_local,
            can_publish=publishable, can_edit_schemes=user.role in CONFIGURING_ROLES,
            scope=scope, areas=area_choices(user), whole_system=sees_everywhere(user),
            area_code=scope.code if scope is not None else "")

    @expose("/publish", methods=["POST"])
    def publish(self):
        user = current_user._get_current_object()
        month = month_arg(request.form.get("month"))
        role = role_arg(request.form.get("role"))
        code = request.form.get("area") or None
        # The area asked for as it is: publishing one outside the user's scope is refused.
        scope = db.session.execute(sa.select(Area).where(Area.code == code)).scalar_one_or_none() \
            if code else area_arg(user, None)
        if code and scope is None:
            flash(_("No area has the code %(code)s.", code=code), "danger")
            return redirect(url_for(".index", role=role.value))
        code = scope.code if scope is not None else None
        if not AdminForm().validate_on_submit() or month is None:
            flash(_("The form has expired; please try again."), "danger")
            return redirect(url_for(".index", role=role.value, area=code))
        try:
            publication = publish_month(user, month, role, scope)
            db.session.commit()
            flash(_("The %(role)s ranking of %(month)s for %(area)s is published and frozen.",
                    role=role.label, month=month.strftime("%Y-%m"), area=publication.where),
                  "success")
        except WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for(".index", month=month.strftime("%Y-%m"), role=role.value,
                                area=code))


class SchemeView(GridDeskView):
    allowed_roles = CONFIGURING_ROLES

    def _page(self, role: EvaluatedRole, shown: dict | None = None, status: int = 200):
        scheme = scheme_for(role)
        if shown is None:
            shown = {"name": scheme.name, "kind": scheme.kind, "min_cases": scheme.min_cases,
                     "base_points": _num(scheme.base_points),
                     "supervised_points": _num(scheme.supervised_points),
                     "weights": {l["indicator"]: _num(l["weight"]) for l in scheme.lines
                                 if "indicator" in l},
                     "points": {l["item"]: _num(l["points"]) for l in scheme.lines
                                if "item" in l}}
        return self.render("admin/evaluation_scheme.html", role=role, roles=list(EvaluatedRole),
                           shown=shown, kinds=SCHEME_KINDS,
                           indicators=measures.weighted_indicators(),
                           definition=measures.definition, point_rule=measures.point_rule,
                           items=measures.point_items(), deductions=measures.DEDUCTIONS,
                           lower_is_better=measures.LOWER_IS_BETTER,
                           supervised_label=measures.label(measures.SUPERVISED),
                           supervised_definition=measures.definition(measures.SUPERVISED),
                           saved=scheme.id is not None), status

    @expose("/")
    def index(self):
        return self._page(role_arg(request.args.get("role")))

    @expose("/save", methods=["POST"])
    def save(self):
        role = role_arg(request.form.get("role"))
        form = request.form
        weights = {k: form.get(f"w_{k}", "").strip() for k in measures.weighted_indicators()}
        points = {k: form.get(f"p_{k}", "").strip() for k in measures.point_items()}
        shown = {"name": form.get("name", ""), "kind": form.get("kind", ""),
                 "min_cases": form.get("min_cases", ""),
                 "base_points": form.get("base_points", ""), "weights": weights,
                 "supervised_points": form.get("supervised_points", ""),
                 "points": points}
        if not AdminForm().validate_on_submit():
            flash(_("The form has expired; please try again."), "danger")
            return self._page(role, shown, 400)
        lines = ([{"indicator": k, "weight": v} for k, v in weights.items() if v != ""]
                 if shown["kind"] != POINTS else
                 [{"item": k, "points": v} for k, v in points.items() if v != ""])
        try:
            save_scheme(role, name=shown["name"], kind=shown["kind"], lines=lines,
                        base_points=shown["base_points"], min_cases=shown["min_cases"],
                        supervised_points=shown["supervised_points"])
            db.session.commit()
        except SchemeError as exc:
            db.session.rollback()
            flash(_("Not saved: %(reason)s", reason=exc.message), "danger")
            return self._page(role, shown, 422)
        flash(_("The scoring scheme for %(role)s is saved.", role=role.label), "success")
        return redirect(url_for(".index", role=role.value))
