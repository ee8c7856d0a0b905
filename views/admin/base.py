"""Shared pieces of every admin view: login, roles, CSRF."""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError, StatementError
from wtforms import IntegerField

from models import Role, db
from models.people.roles import ALL_ROLES, CONFIGURING_ROLES
from views.inputs import INTEGER_MAX, whole_number


class AdminForm(FlaskForm):
    """Every admin form and action form carries the same CSRF token as the rest of the site."""

    def __init__(self, formdata=None, obj=None, prefix="", **kwargs):
        self._obj = obj  # Flask-Admin's Unique validator skips the record being edited
        if formdata is None:
            super().__init__(obj=obj, prefix=prefix, **kwargs)
        else:
            super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)

    def validate(self, extra_validators=None) -> bool:
        """Each field's own checks, and every whole number within an INTEGER column (a longer
        one was a database error, shown raw)."""
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, IntegerField) and isinstance(field.data, int) \
                    and abs(field.data) > INTEGER_MAX and not field.errors:  # (one is enough)
                field.errors = [*field.errors, _("Give a whole number of at most %(max)s.",
                                                 max=INTEGER_MAX)]
                valid = False
        return valid


class IdFilter(FilterEqual):
    """Equality on an integer id column (PostgreSQL will not compare an integer with text)."""

    def clean(self, value):
        return int(value)

    def validate(self, value):
        return whole_number(value) is not None  # fits an integer column


def user_has_role(roles: frozenset[Role]) -> bool:
    return current_user.is_authenticated and current_user.is_active and current_user.role in roles


def refuse_access():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


class RoleGate:
    """Mixin for admin views: only logged-in users of ``allowed_roles`` get in."""

    allowed_roles: frozenset[Role] = CONFIGURING_ROLES

    def is_accessible(self) -> bool:
        return user_has_role(self.allowed_roles)

    def inaccessible_callback(self, name, **kwargs):
        return refuse_access()


def request_options(fn):
    """Filter options are read per request (they depend on the user and on the data)."""
    @wraps(fn)
    def options():
        return fn() if has_request_context() else []
    return options


class GridDeskModelView(RoleGate, ModelView):
    form_base_class = AdminForm
    can_view_details = True
    can_set_page_size = True
    page_size = 20
    page_size_options = (20, 50, 100)
    can_export = False
    action_disallowed_list = ["delete"]
    create_modal = False
    edit_modal = False

    def _get_filter_groups(self):
        self._refresh_filters_cache()
        return super()._get_filter_groups()

    # --- list URLs edited by hand or kept from an older page: bad filter values ------------
    def get_invalid_value_msg(self, value, filter):
        return _("The filter “%(name)s” has no value “%(value)s”; the list is shown without it.",
                 name=filter.name, value=value)

    def _get_list_filter_args(self):
        """Each filter's own check, and for filters with a fixed choice: one of the choices."""
        args = super()._get_list_filter_args()
        kept = []
        for index, name, value in args or []:
            flt = self._filters[index]
            # An id outside the offered ones is a valid question (the answer is: nothing).
            options = None if isinstance(flt, IdFilter) else flt.get_options(self)
            if options and str(value) not in {str(key) for key, _label in options}:
                flash(self.get_invalid_value_msg(value, flt), "error")
                continue
            kept.append((index, name, value))
        return kept if args is not None else None

    @expose("/")
    def index_view(self):
        try:
            page = super().index_view()
        except (ValueError, LookupError, TypeError, OverflowError, StatementError):
            if not any(key.startswith("flt") for key in request.args):
                raise
            db.session.rollback()
            flash(_("The list cannot be filtered that way; it is shown without filters."), "error")
            return redirect(url_for(".index_view"))
        last = g.pop("gd_last_page", None)
        if last is not None:  # a page past the end (an old link, a list that shrank): the last
            flash(_("The list has %(count)s pages; this is the last one.", count=last + 1),
                  "info")
            args = {**request.args.to_dict(), "page": last}
            return redirect(url_for(".index_view", **{k: v for k, v in args.items()
                                                      if k != "page" or v}))
        return page

    def get_list(self, page, *args, page_size=None, **kwargs):
        count, rows = super().get_list(page, *args, page_size=page_size, **kwargs)
        size = page_size or self.page_size
        if page and count and size and isinstance(rows, list) and not rows:
            g.gd_last_page = (count - 1) // size
        return count, rows

    def get_one(self, id):
        """The record of a URL's ?id=; an id that is none of this table's (edited by hand:
        ?id=None, ?id=abc, a number past the column's range) is a record that does not exist,
        not a 500 (PostgreSQL refuses to compare such text with an integer key)."""
        try:
            return super().get_one(id)
        except (StatementError, ValueError, OverflowError):
            db.session.rollback()
            return None

    def is_action_allowed(self, name):
        # Nothing is deleted in bulk: what the history points at is deactivated instead.
        return name != "delete" and super().is_action_allowed(name)

    def handle_view_exception(self, exc):
        if isinstance(exc, IntegrityError):
            # A row others refer to, or a duplicate: a message in words, never the database's.
            flash(_("Not saved: another record has the same name or code, or other records "
                    "still refer to this one."), "error")
            return True
        return super().handle_view_exception(exc)


class GridDeskView(RoleGate, BaseView):
    pass


class GridDeskIndexView(RoleGate, AdminIndexView):
    allowed_roles = ALL_ROLES
