"""Administrator-only configuration: areas, departments, users, categories, dispatch rules, calendar."""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import (FileField, IntegerField, PasswordField, SelectField, SelectMultipleField,
                     TextAreaField)
from wtforms.validators import NumberRange, Optional, ValidationError

from models import (Area, AreaLevel, Category, DeadlineUnit, Department, DepartmentKind,
                     DispatchRule, HandlingLevel, ResponsibleKind, Role, User, db)
from models.areas.geometry import GeometryError
from models.areas.hierarchy import AreaError, area_in_use, place_area, set_boundary
from models.calendar import (WorkCalendarDay, chinese_calendar_years, generate_year, known_years,
                             provisional_years)
from models.calendar_arrangement import (ArrangementError, enter_arrangement, read_arrangement,
                                         stored_arrangement)
from models.categories import MAX_DEADLINE, MAX_DUPLICATE_RADIUS_M, CategoryError, check_category
from models.clock import local_today
from models.custom_fields import FieldDefinitionError, check_field_definitions
from models.people.accounts import check_user_setup, create_user, deactivate_user, set_password
from models.tickets.deadlines import invalidate_calendar
from models.tickets.dispatch import (DispatchRuleError, check_department_area,
                                     check_dispatch_rule)
from views.inputs import whole_number

from .audit_views import AuditedView
from .base import AdminForm, GridDeskModelView, IdFilter, request_options
from .formatting import TYPE_FORMATTERS


# WTForms' own Chinese says 大于 ("more than") where it means "at least": our words, with the range.
RANGE_MESSAGE = _l("Give a whole number from %(min)s to %(max)s.")


def deadline_range() -> NumberRange:
    return NumberRange(min=1, max=MAX_DEADLINE, message=RANGE_MESSAGE)


def enum_field(enum_cls, label, *, blank: bool = False):
    """A translated select for an enum column."""
    choices = ([("", "—")] if blank else []) + enum_cls.choices()
    return {"label": label, "choices": choices,
            "coerce": (lambda v: enum_cls(v) if v else None) if blank else enum_cls}


def area_options(*levels: AreaLevel):
    @request_options
    def options():
        query = sa.select(Area.id, Area.name, Area.code).order_by(Area.code)
        if levels:
            query = query.where(Area.level.in_(levels))
        return [(str(i), f"{name}（{code}）") for i, name, code in db.session.execute(query)]
    return options


# Areas run to tens of thousands of grids at city scale: pick them by typing, not from one select.
# Inactive areas are not offered for anything new.
AREA_LOOKUP = {"fields": ("code", "name"), "page_size": 20, "placeholder": _l("Type a code or name"),
               "filters": ["active = true"]}


class ConfigView(AuditedView, GridDeskModelView):
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS


class AreaView(ConfigView):
    column_list = ("code", "name", "level", "parent", "active", "centroid_lon", "centroid_lat")
    column_labels = {"code": _l("Code"), "name": _l("Name"), "level": _l("Level"),
                     "active": _l("Active"),
                     "parent": _l("Parent area"), "centroid_lon": _l("Centroid longitude"),
                     "centroid_lat": _l("Centroid latitude"), "boundary": _l("Boundary"),
                     "boundary_file": _l("Boundary file (GeoJSON)"),
                     "boundary_text": _l("Boundary (GeoJSON text)")}
    column_details_list = ("code", "name", "level", "parent", "active", "centroid_lon",
                           "centroid_lat", "boundary")
    column_searchable_list = ("code", "name")
    column_default_sort = "code"
    column_filters = (
        FilterEqual(Area.level, _l("Level"), options=AreaLevel.choices),
        IdFilter(Area.parent_id, _l("Parent area"),
                    options=area_options(AreaLevel.DISTRICT, AreaLevel.STREET,
                                         AreaLevel.COMMUNITY)),
        "active",
    )
    column_formatters_detail = {
        "boundary": lambda v, c, m, n: json.dumps(m.boundary, ensure_ascii=False)[:2000]
        if m.boundary else "",
    }
    form_columns = ("code", "name", "level", "parent", "active", "boundary_file", "boundary_text")
    column_descriptions = {"active": _l("Untick to take the area out of use: it stays on old "
                                        "tickets but takes no new reports, users or rules.")}
    form_ajax_refs = {"parent": AREA_LOOKUP}
    form_overrides = {"level": SelectField}
    form_args = {"level": enum_field(AreaLevel, _l("Level"))}
    form_extra_fields = {
        "boundary_file": FileField(_l("Boundary file (GeoJSON)")),
        "boundary_text": TextAreaField(_l("Boundary (GeoJSON text)"),
                                       render_kw={"rows": 4, "placeholder": '{"type": "Polygon", ...}'}),
    }

    def on_form_prefill(self, form, id):
        model = self.get_one(id)
        if model is not None and model.boundary and not form.boundary_text.data:
            form.boundary_text.data = json.dumps(model.boundary, ensure_ascii=False)

    def on_model_change(self, form, model, is_created):
        raw = None
        upload = request.files.get("boundary_file")
        if upload is not None and upload.filename:
            raw = upload.read().decode("utf-8-sig", errors="replace")
        elif form.boundary_text.data and form.boundary_text.data.strip():
            raw = form.boundary_text.data
        try:
            if raw is not None:
                try:
                    data = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise GeometryError(_("The boundary is not valid JSON (line %(line)s, "
                                          "column %(column)s).", line=exc.lineno,
                                          column=exc.colno)) from None
                set_boundary(model, data)
            elif model.level == AreaLevel.GRID and not model.boundary:
                raise GeometryError(_("A grid needs a boundary polygon."))
            place_area(model, model.parent)
        except (AreaError, GeometryError) as exc:
            raise ValidationError(str(exc)) from None

    def on_model_delete(self, model):
        reason = area_in_use(model)
        if reason:
            raise ValidationError(reason)


class DepartmentView(ConfigView):
    can_delete = False
    column_list = ("name", "kind", "area", "phone", "active")
    column_labels = {"name": _l("Name"), "kind": _l("Kind"), "area": _l("Area served"),
                     "phone": _l("Contact phone"), "active": _l("Active")}
    column_searchable_list = ("name", "phone")
    column_default_sort = "name"
    column_filters = (FilterEqual(Department.kind, _l("Kind"), options=DepartmentKind.choices),
                      IdFilter(Department.area_id, _l("Area served"), options=area_options()),
                      "active")
    form_columns = ("name", "kind", "area", "phone", "active")
    form_ajax_refs = {"area": AREA_LOOKUP}
    form_overrides = {"kind": SelectField}
    form_args = {"kind": enum_field(DepartmentKind, _l("Kind"))}

    def on_model_change(self, form, model, is_created):
        try:
            check_department_area(model)
        except DispatchRuleError as exc:
            raise ValidationError(str(exc)) from None


class UserView(ConfigView):
    can_delete = False
    column_list = ("username", "display_name", "role", "scope_area", "department", "phone",
                   "active", "last_login_at")
    column_details_list = column_list + ("created_at", "failed_logins")
    column_labels = {"username": _l("Username"), "display_name": _l("Display name"),
                     "role": _l("Role"), "scope_area": _l("Scope area"),
                     "department": _l("Department"), "phone": _l("Phone"), "active": _l("Active"),
                     "last_login_at": _l("Last login"), "created_at": _l("Created"),
                     "failed_logins": _l("Failed logins"), "new_password": _l("New password")}
    column_searchable_list = ("username", "display_name", "phone")
    column_default_sort = "username"
    column_filters = (FilterEqual(User.role, _l("Role"), options=Role.choices),
                      IdFilter(User.scope_area_id, _l("Scope area"), options=area_options()),
                      "active")
    form_columns = ("username", "display_name", "phone", "role", "scope_area", "department",
                    "active", "new_password")
    form_ajax_refs = {"scope_area": AREA_LOOKUP}
    form_overrides = {"role": SelectField}
    form_args = {"role": enum_field(Role, _l("Role"))}
    form_extra_fields = {
        "new_password": PasswordField(
            _l("New password"),
            description=_l("At least 8 characters. Leave empty to keep the current password."),
            render_kw={"autocomplete": "new-password"}),
    }
    form_widget_args = {"new_password": {"autocomplete": "new-password"}}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.new_password.label.text = _("Password")  # a new user has no current password
        form.new_password.description = _("At least 8 characters.")
        form.new_password.flags.required = True
        return form

    def on_model_change(self, form, model, is_created):
        password = form.new_password.data
        try:
            if is_created:
                create_user(model, password)
                return
            if password:
                set_password(model, password)
            if not model.active:
                deactivate_user(model)
            check_user_setup(model)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class CategoryView(ConfigView):
    can_delete = False
    column_list = ("code", "name", "parent", "handling_level", "accept_deadline",
                   "accept_deadline_unit", "handle_deadline", "handle_deadline_unit",
                   "requires_after_photo", "escalate_when_overdue", "listed_publicly", "active")
    column_labels = {"code": _l("Code"), "name": _l("Name"), "parent": _l("Parent category"),
                     "handling_level": _l("Normally handled by"),
                     "accept_deadline": _l("Acceptance deadline"),
                     "accept_deadline_unit": _l("Acceptance unit"),
                     "handle_deadline": _l("Handling deadline"),
                     "handle_deadline_unit": _l("Handling unit"),
                     "requires_after_photo": _l("After-photo required"),
                     "duplicate_radius_m": _l("Duplicate radius (m)"),
                     "escalate_when_overdue": _l("Escalate when overdue"),
                     "listed_publicly": _l("Listed publicly (Open311)"),
                     "sort_order": _l("Order"), "active": _l("Active")}
    column_descriptions = {
        "escalate_when_overdue": _l("An overdue ticket of this kind goes up one level by itself."),
        "listed_publicly": _l("Anyone may read Open311's request list; untick for cases such as "
                              "neighbour disputes. Unticking a top-level category hides its "
                              "sub-categories too."),
    }
    column_searchable_list = ("code", "name")
    column_default_sort = "code"
    column_filters = (IdFilter(Category.parent_id, _l("Parent category"),
                                  options=request_options(lambda: [
                                      (str(c.id), c.name) for c in db.session.execute(
                                          sa.select(Category).where(Category.parent_id.is_(None))
                                          .order_by(Category.code)).scalars()])),
                      "active", "requires_after_photo")
    form_columns = ("code", "name", "parent", "handling_level", "accept_deadline",
                    "accept_deadline_unit", "handle_deadline", "handle_deadline_unit",
                    "requires_after_photo", "escalate_when_overdue", "listed_publicly",
                    "duplicate_radius_m", "sort_order", "active", "custom_fields_text")
    form_extra_fields = {
        "custom_fields_text": TextAreaField(
            _l("Custom fields (JSON)"), render_kw={"rows": 8, "placeholder": (
                '[{"code": "bins", "label": "满溢桶数", "type": "number", "required": true}, '
                '{"code": "kind", "label": "垃圾类型", "type": "singlevaluelist", '
                '"values": [{"key": "household", "name": "生活垃圾"}]}]')},
            description=_l("Extra facts a report of this kind carries (API and Open311 "
                           "attributes). Types: string, text, number, datetime, singlevaluelist, "
                           "multivaluelist.")),
    }
    form_overrides = {"handling_level": SelectField, "accept_deadline_unit": SelectField,
                      "handle_deadline_unit": SelectField}
    form_args = {
        "handling_level": enum_field(HandlingLevel, _l("Normally handled by")),
        "accept_deadline_unit": enum_field(DeadlineUnit, _l("Acceptance unit")),
        "handle_deadline_unit": enum_field(DeadlineUnit, _l("Handling unit")),
        "accept_deadline": {"validators": [deadline_range()]},
        "handle_deadline": {"validators": [deadline_range()]},
        "duplicate_radius_m": {"validators": [NumberRange(min=0, max=MAX_DUPLICATE_RADIUS_M,
                                                          message=RANGE_MESSAGE)]},
        "parent": {"query_factory": lambda: db.session.execute(
            sa.select(Category).where(Category.parent_id.is_(None)).order_by(Category.code)
        ).scalars().all()},
    }

    def on_form_prefill(self, form, id):
        model = self.get_one(id)
        if model is not None and model.custom_fields and not form.custom_fields_text.data:
            form.custom_fields_text.data = json.dumps(model.custom_fields, ensure_ascii=False,
                                                      indent=1)

    def on_model_change(self, form, model, is_created):
        text = (form.custom_fields_text.data or "").strip()
        try:
            check_category(model)
            model.custom_fields = check_field_definitions(json.loads(text) if text else None)
        except json.JSONDecodeError as exc:
            raise ValidationError(_("The custom fields are not valid JSON (line %(line)s, "
                                    "column %(column)s).", line=exc.lineno,
                                    column=exc.colno)) from None
        except (CategoryError, FieldDefinitionError) as exc:
            raise ValidationError(str(exc)) from None


class DispatchRuleView(ConfigView):
    can_delete = False  # untick Active instead
    column_list = ("category", "area", "responsible_kind", "department", "co_department_ids",
                   "handle_deadline", "handle_deadline_unit", "sort_order", "active")
    column_labels = {"category": _l("Category"), "area": _l("Area"),
                     "responsible_kind": _l("Responsible"), "department": _l("Department"),
                     "accept_deadline": _l("Acceptance deadline override"),
                     "accept_deadline_unit": _l("Acceptance unit"),
                     "handle_deadline": _l("Handling deadline override"),
                     "handle_deadline_unit": _l("Handling unit"), "sort_order": _l("Order"),
                     "active": _l("Active"), "note": _l("Note"),
                     "co_department_ids": _l("Co-handling departments")}
    column_formatters = {"co_department_ids": lambda v, c, m, n: "、".join(
        d.name for d in m.co_departments)}
    column_default_sort = [("category.code", False), ("sort_order", False)]
    column_filters = (IdFilter(DispatchRule.area_id, _l("Area"), options=area_options()),
                      FilterEqual(DispatchRule.responsible_kind, _l("Responsible"),
                                  options=ResponsibleKind.choices),
                      "active")
    form_ajax_refs = {"area": AREA_LOOKUP}
    form_columns = ("category", "area", "responsible_kind", "department", "co_department_ids",
                    "accept_deadline", "accept_deadline_unit", "handle_deadline",
                    "handle_deadline_unit", "sort_order", "active", "note")
    # 主办/协办: departments called onto each ticket this rule dispatches, each with its task.
    form_extra_fields = {"co_department_ids": SelectMultipleField(
        _l("Co-handling departments"), coerce=int, choices=[],
        description=_l("Called onto every ticket this rule dispatches, beside the responsible "
                       "party (主办/协办); each gets its own task and deadline."))}
    form_overrides = {"responsible_kind": SelectField, "accept_deadline_unit": SelectField,
                      "handle_deadline_unit": SelectField}
    form_args = {
        "responsible_kind": enum_field(ResponsibleKind, _l("Responsible")),
        "accept_deadline_unit": enum_field(DeadlineUnit, _l("Acceptance unit"), blank=True),
        "handle_deadline_unit": enum_field(DeadlineUnit, _l("Handling unit"), blank=True),
        "accept_deadline": {"validators": [Optional(), deadline_range()]},
        "handle_deadline": {"validators": [Optional(), deadline_range()]},
    }

    def _co_department_field(self, form, obj=None):
        form.co_department_ids.choices = [(d.id, d.name) for d in db.session.execute(
            sa.select(Department).where(Department.active.is_(True))
            .order_by(Department.name, Department.id)).scalars()]
        if request.method == "GET" and obj is not None:
            form.co_department_ids.data = list(obj.co_department_ids or [])
        return form

    def edit_form(self, obj=None):
        return self._co_department_field(super().edit_form(obj), obj)

    def create_form(self, obj=None):
        """The matrix links here with ?category=&area= for the cell to fill."""
        form = self._co_department_field(super().create_form(obj))
        if request.method == "GET":
            category_id, area_id = (whole_number(request.args.get(name))
                                    for name in ("category", "area"))
            if category_id is not None:
                form.category.data = db.session.get(Category, category_id)
            if area_id is not None:
                form.area.data = db.session.get(Area, area_id)
        return form

    def on_model_change(self, form, model, is_created):
        model.co_department_ids = list(form.co_department_ids.data or []) or None
        try:
            check_dispatch_rule(model)
        except DispatchRuleError as exc:
            raise ValidationError(str(exc)) from None


class FillYearForm(AdminForm):
    year = IntegerField(_l("Year"), validators=[NumberRange(min=2000, max=2100)])


class ArrangementForm(AdminForm):
    year = IntegerField(_l("Year"), validators=[NumberRange(min=2000, max=2100)])
    holidays = TextAreaField(_l("Holidays"), render_kw={"rows": 9})
    make_up_workdays = TextAreaField(_l("Make-up working days (调休上班)"), render_kw={"rows": 3})


class WorkCalendarView(ConfigView):
    list_template = "admin/calendar_list.html"
    can_view_details = False
    can_delete = False  # deadlines were counted with these days: change a day, do not remove it
    column_list = ("day", "is_workday", "note", "provisional")
    column_labels = {"day": _l("Date"), "is_workday": _l("Working day"), "note": _l("Note"),
                     "provisional": _l("Provisional")}
    column_default_sort = ("day", True)
    column_filters = ("day", "is_workday", "provisional")
    column_searchable_list = ("note",)
    form_columns = ("day", "is_workday", "note")

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["known_years"] = known_years()
            kwargs["provisional_years"] = provisional_years()
            kwargs["fill_form"] = FillYearForm()
            kwargs["package_years"] = chinese_calendar_years()
        return super().render(template, **kwargs)

    def get_one(self, id):
        """The row of one date (on SQLite a date key must be a date, not the URL's text)."""
        try:
            return db.session.get(WorkCalendarDay, date.fromisoformat(str(id)))
        except ValueError:
            return None

    def on_model_change(self, form, model, is_created):
        model.provisional = False  # a day the administrator entered is never replaced by rule

    def after_model_change(self, form, model, is_created):
        invalidate_calendar()

    def after_model_delete(self, model):
        invalidate_calendar()

    @expose("/fill", methods=["POST"])
    def fill(self):
        form = FillYearForm()
        if not form.validate_on_submit():
            flash(_("Give a year between 2000 and 2100."), "danger")
            return redirect(url_for(".index_view"))
        year = form.year.data
        written = generate_year(current_user, year)
        db.session.commit()
        invalidate_calendar()
        if year in provisional_years():
            flash(_("%(count)s days of %(year)s were written: the statutory holidays computed by "
                    "law, provisional until the State Council's arrangement is entered.",
                    count=written, year=year), "warning")
        else:
            flash(_("%(count)s days of %(year)s were written from chinese-calendar.",
                    count=written, year=year), "success")
        return redirect(url_for(".index_view"))

    @expose("/arrangement", methods=["GET", "POST"])
    def arrangement(self):
        """The State Council's published arrangement of one year, entered in one form."""
        form = ArrangementForm()
        problems = []
        if request.method == "POST":
            if not form.validate_on_submit():
                problems = [_("Give a year between 2000 and 2100.")]
            else:
                try:
                    entered = read_arrangement(form.year.data, form.holidays.data,
                                               form.make_up_workdays.data)
                except ArrangementError as exc:
                    problems = exc.problems
                else:
                    enter_arrangement(current_user, entered)
                    db.session.commit()
                    invalidate_calendar()
                    flash(_("The holiday arrangement of %(year)s was saved; deadlines given from "
                            "now on follow it.", year=entered.year), "success")
                    return redirect(url_for(".index_view"))
        else:
            year = request.args.get("year", type=int)
            if year is None or not 2000 <= year <= 2100:
                year = (provisional_years() or [local_today().year + 1])[0]
            stored = stored_arrangement(year)
            form.year.data = year
            form.holidays.data = "\n".join(stored.holiday_lines())
            form.make_up_workdays.data = " ".join(stored.workday_texts())
        year = form.year.data if isinstance(form.year.data, int) else None
        return self.render("admin/calendar_arrangement.html", form=form, problems=problems,
                           year=year, provisional=year in provisional_years())


class NotificationView(ConfigView):
    can_create = can_edit = can_delete = False
    column_list = ("created_at", "channel", "template", "recipient", "recipient_address", "state",
                   "attempts", "sent_at")
    column_labels = {"created_at": _l("Created"), "channel": _l("Channel"),
                     "template": _l("Template"), "recipient": _l("Recipient"),
                     "recipient_address": _l("Address"), "state": _l("State"),
                     "attempts": _l("Attempts"), "sent_at": _l("Sent at")}
    column_default_sort = ("created_at", True)
    simple_list_pager = True


class ApiClientView(ConfigView):
    """Integration clients: created here or with `run.py create-api-client`; the token is shown
    once at creation and only its first characters afterwards. Deactivating revokes it."""

    can_delete = False
    column_list = ("name", "token_hint", "scope_area", "active", "created_at", "last_used_at")
    column_labels = {"name": _l("Name"), "token_hint": _l("Token starts with"),
                     "scope_area": _l("Area"), "active": _l("Active"),
                     "created_at": _l("Created"), "last_used_at": _l("Last used")}
    column_default_sort = ("name", False)
    form_columns = ("name", "scope_area", "active")
    form_ajax_refs = {"scope_area": AREA_LOOKUP}

    def create_model(self, form):
        from models.people.tokens import create_api_client

        try:
            client, token = create_api_client(form.name.data, form.scope_area.data)
            db.session.commit()
        except ValueError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return False
        flash(_("Token of %(name)s (shown only now, copy it): %(token)s",
                name=client.name, token=token), "warning")
        return client
