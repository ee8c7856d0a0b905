"""变更记录: the configuration audit trail in the admin panel (read-only), and the link from each
configuration object's edit page to its history."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Flask, abort, current_app, g, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from models import ConfigChange, User, db
from models.audit import AUDIT_READER_ROLES, MASK
from models.audit_subjects import existing_ids, model_of, object_type_of, recording_every_change
from models.notify.messages import kind_label
from models.tickets.listing import on_local_days
from models.vocabulary import LabelledEnum

from .base import GridDeskModelView, request_options
from .formatting import TYPE_FORMATTERS

# object type → (label, admin endpoint, the page an entry links to: one row's edit page or a page)
OBJECT_TYPES = {
    "area": (_l("Area"), "area", "area.edit_view"),
    "department": (_l("Department"), "department", "department.edit_view"),
    "user": (_l("User account"), "user", "user.edit_view"),
    "category": (_l("Category"), "category", "category.edit_view"),
    "dispatch_rule": (_l("Dispatch rule"), "dispatchrule", "dispatchrule.edit_view"),
    "work_calendar_day": (_l("Calendar day"), "calendar", "calendar.edit_view"),
    "work_calendar_year": (_l("Calendar year"), "calendar", "calendar.index_view"),
    "notification_template": (_l("Message template"), "notifytemplate",
                              "notifytemplate.edit_view"),
    "channel": (_l("Notification channel"), "notifychannels", "notifychannels.index"),
    "api_client": (_l("API client"), "apiclient", "apiclient.edit_view"),
    "scoring_scheme": (_l("Scoring scheme"), "evaluationscheme", "evaluationscheme.index"),
    "evaluation_month": (_l("Published ranking"), "evaluation", "evaluation.index"),
}
OPERATIONS = {"create": (_l("Added"), "success"), "update": (_l("Changed"), "primary"),
              "delete": (_l("Deleted"), "danger"), "deactivate": (_l("Deactivated"), "warning"),
              "activate": (_l("Reactivated"), "info")}
# Labels for recorded fields that no form shows under that name.
FIELD_LABELS = {"password": _l("Password"), "boundary": _l("Boundary"),
                "custom_fields": _l("Custom fields (JSON)"), "enabled": _l("Switched on"),
                "token_hash": _l("Token"), "event_kind": _l("Event"), "subject": _l("Subject / title"),
                "body": _l("Text"), "channel": _l("Channel"), "level": _l("Level"),
                "is_workday": _l("Working day"), "note": _l("Note"), "holidays": _l("Holidays"),
                "make_up_workdays": _l("Make-up working days (调休上班)"),
                "lines": _l("Scheme lines"), "base_points": _l("Base points"),
                "min_cases": _l("Minimum cases"), "kind": _l("Scheme type"),
                "published_by": _l("Published by"), "units": _l("Units ranked"),
                "filled_days": _l("Days filled by the law (provisional)"),
                "published_days": _l("Days written from the published arrangement")}
LIST_VALUE_LENGTH = 160


def person(name: str | None, actor_id: int | None = None) -> str:
    """Who made a change, as people read it: a display name, the system or a server command."""
    user = db.session.get(User, actor_id) if actor_id is not None else None
    if user is not None:
        return f"{user.display_name}（{user.username}）"
    if not name or name == "system":
        return _("System")
    if name.startswith("cli:"):
        command, _sep, who = name[4:].partition("@")
        return _("Command line") + f" {command}" + (f"（{who}）" if who else "")
    return name


class ChangedBetweenFilter(DateBetweenFilter):
    """Local calendar days (GRIDDESK_TIMEZONE), inclusive at both ends."""

    def apply(self, query, value, alias=None):
        start, end = value
        return query.filter(on_local_days(self.get_column(alias), start, end))


TYPE_FILTER = FilterEqual(ConfigChange.object_type, _l("Object type"),
                          options=[(key, entry[0]) for key, entry in OBJECT_TYPES.items()])
PERSON_FILTER = FilterEqual(ConfigChange.actor_name, _l("Changed by"), options=request_options(
    lambda: [(name, person(name, actor_id)) for name, actor_id in db.session.execute(
        sa.select(ConfigChange.actor_name, sa.func.max(ConfigChange.actor_id))
        .group_by(ConfigChange.actor_name).order_by(ConfigChange.actor_name).limit(500))]))
DATE_FILTER = ChangedBetweenFilter(ConfigChange.changed_at, _l("Date"))
OBJECT_ID_FILTER = FilterEqual(ConfigChange.object_id, _l("Object id"))
FILTERS = (TYPE_FILTER, PERSON_FILTER, DATE_FILTER, OBJECT_ID_FILTER)


def history_url(object_type: str | None, object_id=None) -> str | None:
    """The change log filtered to one object (or one object type), for those who may read it."""
    view = current_app.extensions.get("gd_config_history")
    if view is None or object_type is None or not view.is_accessible():
        return None
    args = {f"flt0_{FILTERS.index(TYPE_FILTER)}": object_type}
    if object_id not in (None, ""):
        args[f"flt1_{FILTERS.index(OBJECT_ID_FILTER)}"] = str(object_id)
    return url_for(f"{view.endpoint}.index_view", **args)


# --- how a recorded value looks -----------------------------------------------------------------

def field_label(object_type: str, field: str, object_id: str) -> str:
    if object_type == "channel":
        from .notification_views import ChannelSettingsForm

        unbound = getattr(ChannelSettingsForm, f"{object_id}_{field}", None)
        if unbound is not None and unbound.args:
            return str(unbound.args[0])
    entry = OBJECT_TYPES.get(object_type)
    log_view = current_app.extensions.get("gd_config_history")
    if entry is not None and log_view is not None:
        for view in log_view.admin._views:
            if view.endpoint == entry[1] and field in (getattr(view, "column_labels", None) or {}):
                return str(view.column_labels[field])
    return str(FIELD_LABELS.get(field, field))


def _enum_label(object_type: str, field: str, value) -> str | None:
    model = model_of(object_type)
    column = model.__table__.c.get(field) if model is not None else None
    enum_cls = getattr(column.type, "enum_class", None) if column is not None else None
    if enum_cls is not None and issubclass(enum_cls, LabelledEnum):
        try:
            return str(enum_cls(value).label)
        except ValueError:
            return None
    if object_type == "notification_template" and field == "event_kind":
        return kind_label(value)
    return None


def _secret_html(entry: ConfigChange, row: dict) -> Markup:
    """A secret is recorded only as set, changed or removed."""
    before, after = row.get("before"), row.get("after")
    if entry.operation == "delete" or after is None:
        text = _("removed") if before else _("not set")
    elif entry.operation == "create" or before is None:
        text = _("set")
    else:
        text = _("changed")
    return Markup("<em>{}</em>").format(text)


def _list_text(value) -> str | None:
    """A list (stored as JSON text, e.g. a year's holiday ranges) as one readable line."""
    if not (isinstance(value, str) and value.startswith("[")):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or any(isinstance(i, (list, dict)) for i in items):
        return None
    return "；".join(str(i) for i in items) if items else "—"


def value_html(entry: ConfigChange, row: dict, side: str, short: bool) -> Markup:
    value = row.get(side)
    if value is None or value == "":
        return Markup('<span class="text-muted">—</span>')
    if isinstance(value, bool):
        return Markup("{}").format(_("Yes") if value else _("No"))
    text = _enum_label(entry.object_type, row["field"], value) or _list_text(value) or str(value)
    title = ""
    if short and len(text) > LIST_VALUE_LENGTH:
        title, text = text, text[:LIST_VALUE_LENGTH] + "…"
    html = Markup('<span class="gd-audit-value" title="{}">{}</span>').format(title, text)
    if row.get(f"{side}_id") is not None:
        html += Markup(' <small class="text-muted">#{}</small>').format(row[f"{side}_id"])
    return html


def changes_html(entry: ConfigChange, short: bool) -> Markup:
    lines = []
    for row in entry.changes or []:
        label = Markup('<span class="text-muted">{}</span>: ').format(
            field_label(entry.object_type, row["field"], entry.object_id))
        if MASK in (row.get("before"), row.get("after")):
            body = _secret_html(entry, row)
        elif entry.operation == "create":
            if row.get("after") in (None, ""):
                continue
            body = value_html(entry, row, "after", short)
        elif entry.operation == "delete":
            if row.get("before") in (None, ""):
                continue
            body = value_html(entry, row, "before", short)
        else:
            body = value_html(entry, row, "before", short) + Markup(" → ") + \
                value_html(entry, row, "after", short)
        lines.append(Markup('<div class="gd-audit-change">{}{}</div>').format(label, body))
    return Markup("").join(lines)


def _object_link(view, context, model, name):
    label = model.object_label or f"#{model.object_id}"
    entry = OBJECT_TYPES.get(model.object_type)
    html = Markup("{}").format(label)
    if entry is not None:
        target = entry[2]
        if not target.endswith(".edit_view"):
            html = Markup('<a href="{}">{}</a>').format(url_for(target), label)
        elif model.object_id in g.get("gd_existing", {}).get(model.object_type, ()):
            html = Markup('<a href="{}">{}</a>').format(url_for(target, id=model.object_id),
                                                        label)
        else:
            html += Markup(' <small class="text-muted">({})</small>').format(_("no longer exists"))
    history = history_url(model.object_type, model.object_id)
    return html + Markup(' <a class="small text-muted" href="{}" title="{}">⟲</a>').format(
        history, _("All changes of this object"))


def _operation(view, context, model, name):
    label, colour = OPERATIONS.get(model.operation, (model.operation, "secondary"))
    return Markup('<span class="badge badge-{}">{}</span>').format(colour, label)


def _object_type(view, context, model, name):
    entry = OBJECT_TYPES.get(model.object_type)
    return str(entry[0]) if entry else model.object_type


class ConfigChangeView(GridDeskModelView):
    """Every configuration change, newest first. Insert-only: nothing here edits or deletes."""

    allowed_roles = set(AUDIT_READER_ROLES)
    list_template = "admin/config_change_list.html"
    can_create = can_edit = can_delete = False
    can_view_details = True
    column_editable_list = ()
    column_list = ("changed_at", "actor_name", "object_type", "object_label", "operation",
                   "changes")
    column_details_list = ("changed_at", "actor_name", "object_type", "object_id",
                           "object_label", "operation", "changes")
    column_labels = {"changed_at": _l("Time"), "actor_name": _l("Changed by"),
                     "object_type": _l("Object type"), "object_id": _l("Object id"),
                     "object_label": _l("Object"), "operation": _l("Operation"),
                     "changes": _l("Changes (before → after)")}
    column_type_formatters = TYPE_FORMATTERS
    column_formatters = {
        "actor_name": lambda v, c, m, n: person(m.actor_name, m.actor_id),
        "object_type": _object_type, "object_label": _object_link, "operation": _operation,
        "changes": lambda v, c, m, n: changes_html(m, short=True),
    }
    column_formatters_detail = {**column_formatters,
                                "changes": lambda v, c, m, n: changes_html(m, short=False)}
    column_default_sort = ("id", True)  # the insertion order: newest first
    column_sortable_list = ()
    column_filters = FILTERS

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        wanted: dict[str, set[str]] = {}
        for row in rows:
            wanted.setdefault(row.object_type, set()).add(row.object_id)
        g.gd_existing = {kind: existing_ids(kind, ids) for kind, ids in wanted.items()}
        return count, rows

    def get_one(self, id):
        entry = super().get_one(id)
        if entry is not None:
            g.gd_existing = {entry.object_type: existing_ids(entry.object_type, {entry.object_id})}
        return entry

    # Insert-only: the URLs that would change an entry refuse, whatever is posted.
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        abort(403)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        abort(403)

    @expose("/delete/", methods=("POST",))
    def delete_view(self):
        abort(403)

    @expose("/action/", methods=("POST",))
    def action_view(self):
        abort(403)

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        abort(403)


class AuditedView:
    """Mixin for the configuration views: the edit page links to the object's change log, and
    rows of tables filled in bulk (the calendar) are recorded one by one when edited here."""

    edit_template = "admin/audited_edit.html"

    def history_url(self, object_id=None) -> str | None:
        return history_url(object_type_of(self.model), object_id)

    def create_model(self, form):
        with recording_every_change():
            return super().create_model(form)

    def update_model(self, form, model):
        with recording_every_change():
            return super().update_model(form, model)

    def delete_model(self, model):
        with recording_every_change():
            return super().delete_model(model)


def install_change_log(app: Flask, view: ConfigChangeView) -> None:
    """Make the change log findable from templates (history links)."""
    app.extensions["gd_config_history"] = view
    app.jinja_env.globals["config_history_url"] = history_url

