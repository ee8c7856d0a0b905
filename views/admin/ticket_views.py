"""The ticket list and ticket page, scoped to what the current user may see."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import abort, current_app, g, request, send_file
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, DateBetweenFilter, FilterEqual
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.orm import Query, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, SelectField

from models import (Area, AreaLevel, Attachment, Priority, Source, Ticket, TicketEvent,
                    TicketStatus, db, utcnow)
from models.areas.hierarchy import LEVEL_COLUMN
from models.custom_fields import field_answers
from models.people.access import (area_within_scope, can_edit_tickets, can_report_tickets,
                                  can_see_ticket, pickable_area_names, pickable_department_names,
                                  pickable_people_names, reporter_phone_for, ticket_scope)
from models.reference_cache import area_rows, category_rows, department_rows, user_rows
from models.people.roles import ALL_ROLES
from models.tickets.attachments import open_photo
from models.tickets.cohandling import tasks_by_ticket
from models.tickets.deadlines import is_overdue, running_deadline_field
from models.tickets.listing import (figure_key_valid, jsonable_filter_value, list_filter,
                                    list_search)
from models.tickets.records import TicketChangedError, edit_ticket_fields
from models.tickets.reporters import further_reporters
from models.tickets.supervision import SupervisionLevel

from .base import GridDeskModelView, IdFilter, request_options
from .config_views import enum_field
from .formatting import TYPE_FORMATTERS, stars, supervision_badge
from .maps import ticket_map_svg
from .supervision_views import SupervisionMixin
from .ticket_actions import TicketActionsMixin, person_label_of

EDITABLE_FIELDS = ("title", "description", "address", "priority", "reporter_name",
                   "reporter_phone", "reporter_email")


class CappedCountQuery(Query):
    """Counts at most ``cap + 1`` rows: exact below the cap, "more than cap" above it."""

    cap = 10000

    def scalar(self):
        inner = self.with_entities(Ticket.id).order_by(None).limit(self.cap + 1).subquery()
        count = self.session.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one()
        g.ticket_count_capped = count > self.cap
        return min(count, self.cap)


def scoped_area_options(level: AreaLevel):
    @request_options
    def options():
        if not current_user.is_authenticated:
            return []
        return [(str(id_), name) for id_, name, _level in pickable_area_names(current_user, [level])]
    return options


@request_options
def category_options():
    rows = sorted(category_rows().values(), key=lambda c: c.code)
    return [(str(c.id), c.label) for c in rows]


@request_options
def department_options():
    if not current_user.is_authenticated:
        return []
    return [(str(id_), name) for id_, name in pickable_department_names(current_user)]


@request_options
def user_options():
    if not current_user.is_authenticated:
        return []
    return [(str(id_), person_label_of(name, department))
            for id_, name, department in pickable_people_names(current_user)]


class ListFilter:
    """A list filter whose condition is models.tickets.listing's filter of the same name (the
    one the "export everything" job applies later); the name is its LIST_FILTERS key."""

    list_name: str

    def apply(self, query, value, alias=None):
        return query.filter(list_filter(self.list_name, value))


class EqualFilter(ListFilter, FilterEqual):
    pass


class IdEqualFilter(ListFilter, IdFilter):
    pass


class CategoryFilter(IdEqualFilter):
    """A top-level category also matches its sub-categories."""


class OverdueFilter(ListFilter, BaseSQLAFilter):
    def __init__(self, name):
        super().__init__(Ticket.handle_deadline, name,
                         options=(("1", _l("Yes")), ("0", _l("No"))))

    def operation(self):
        return _l("is")


class CreatedBetweenFilter(ListFilter, DateBetweenFilter):
    """Local calendar days (GRIDDESK_TIMEZONE), inclusive at both ends."""


class ClosedBetweenFilter(CreatedBetweenFilter):
    """Closed on these local calendar days."""


class FigureFilter(ListFilter, BaseSQLAFilter):
    """The tickets behind a statistics figure (models.stats.drilldown): the dashboard's links."""

    def __init__(self, name):
        super().__init__(Ticket.id, name)

    def validate(self, value):
        return figure_key_valid(value)

    def operation(self):
        return _l("is")


def supervision_filter_choices():
    return [("any", _l("Any level")), *SupervisionLevel.choices()]


class SupervisionFilter(ListFilter, BaseSQLAFilter):
    """Under supervision (督办) now: at any level, or at one level."""

    def __init__(self, name):
        super().__init__(Ticket.id, name, options=supervision_filter_choices)

    def operation(self):
        return _l("is")


# The list's filters by key, in the order of their URL index (flt<n>_<index>); each key is also
# the filter's name in models.tickets.listing. New ones go at the end.
LIST_FILTERS = {
    "status": EqualFilter(Ticket.status, _l("Status"), options=TicketStatus.choices),
    "category": CategoryFilter(Ticket.category_id, _l("Category"), options=category_options),
    "priority": EqualFilter(Ticket.priority, _l("Priority"), options=Priority.choices),
    "source": EqualFilter(Ticket.source, _l("Source"), options=Source.choices),
    "district": IdEqualFilter(Ticket.district_id, _l("District"),
                              options=scoped_area_options(AreaLevel.DISTRICT)),
    "street": IdEqualFilter(Ticket.street_id, _l("Street"),
                            options=scoped_area_options(AreaLevel.STREET)),
    "community": IdEqualFilter(Ticket.community_id, _l("Community"),
                               options=scoped_area_options(AreaLevel.COMMUNITY)),
    "grid": IdEqualFilter(Ticket.grid_id, _l("Grid"), options=scoped_area_options(AreaLevel.GRID)),
    "department": IdEqualFilter(Ticket.assigned_department_id, _l("Assigned department"),
                                options=department_options),
    "assignee": IdEqualFilter(Ticket.assigned_user_id, _l("Assigned to"), options=user_options),
    "overdue": OverdueFilter(_l("Overdue")),
    "created": CreatedBetweenFilter(Ticket.created_at, _l("Created")),
    "closed": ClosedBetweenFilter(Ticket.closed_at, _l("Closed between")),
    "figure": FigureFilter(_l("Statistics figure")),
    "co_handling": IdEqualFilter(Ticket.id, _l("Co-handling (tasks owed by)"),
                                 options=department_options),
    "supervision": SupervisionFilter(_l("Supervision")),
}
for _key, _filter in LIST_FILTERS.items():
    _filter.list_name = _key


def list_filter_args(**criteria) -> dict[str, str]:
    """URL arguments of the ticket list filtered by these criteria, by LIST_FILTERS key; a date
    range is a (start, end) pair of dates. ``list_filter_args(status="closed", closed=(d1, d2))``."""
    keys = list(LIST_FILTERS)
    args = {}
    for position, (key, value) in enumerate(criteria.items()):
        if value is None:
            continue
        if isinstance(value, tuple):
            value = f"{value[0].isoformat()} to {value[1].isoformat()}"
        elif hasattr(value, "value"):  # an enum
            value = value.value
        args[f"flt{position}_{keys.index(key)}"] = str(value)
    return args


def _status_badge(view, context, model, name):
    colours = {TicketStatus.PENDING: "warning", TicketStatus.IN_PROGRESS: "primary",
               TicketStatus.PENDING_REVIEW: "info", TicketStatus.CLOSED: "success",
               TicketStatus.SUSPENDED: "secondary", TicketStatus.INVALID: "dark"}
    return Markup(f'<span class="badge badge-{colours[model.status]}">'
                  f'{escape(model.status.label)}</span>')


def _deadline(view, context, model, name):
    """The deadline, red when the ticket's clock runs against it and it has passed."""
    value = getattr(model, name)
    if value is None:
        return ""
    text = escape(TYPE_FORMATTERS[datetime](view, value))
    if running_deadline_field(model) == name and is_overdue(model, utcnow()):
        return Markup(f'<span class="text-danger font-weight-bold gd-overdue">{text}</span>')
    return text


def _list_deadline(view, context, model, name):
    """The list shows the handling deadline; a pending ticket late for acceptance (overdue, by
    the one definition) says so next to it."""
    text = _deadline(view, context, model, name)
    if running_deadline_field(model) == "accept_deadline" and is_overdue(model, utcnow()):
        return Markup(f'{text} <span class="badge badge-danger gd-overdue">'
                      f'{escape(_l("Not accepted in time"))}</span>')
    return text


def _priority_badge(view, context, model, name):
    if model.priority == Priority.NORMAL:
        return model.priority.label
    colour = "danger" if model.priority == Priority.EMERGENCY else "warning"
    return Markup(f'<span class="badge badge-{colour}">{escape(model.priority.label)}</span>')


# The list's labels come from the reference caches (models/reference_cache.py): a page of
# tickets loads no related rows.
def _place(view, context, model, name):
    """Community and grid by name, the way staff say it."""
    areas = area_rows()
    parts = [areas[i].name for i in (model.community_id, model.grid_id) if i in areas]
    return " · ".join(parts)


def _category(view, context, model, name):
    row = category_rows().get(model.category_id)
    return row.name if row else ""


def _assignee(view, context, model, name):
    department = department_rows().get(model.assigned_department_id)
    person = user_rows().get(model.assigned_user_id)
    dept = department.name if department else ""
    user = person.display_name if person else ""
    if dept and user:
        text = Markup(f"{escape(dept)}<br><small class=\"text-muted\">{escape(user)}</small>")
    else:
        text = escape(dept or user)
    return text + co_handling_badges(g.get("page_tasks", {}).get(model.id, []))


def co_handling_badges(tasks) -> Markup:
    """The co-handling departments of a ticket, each as a small badge with its task's state."""
    if not tasks:
        return Markup("")
    badges = "".join(
        f'<span class="badge gd-task-badge gd-task-{t.status.value} mr-1" '
        f'title="{escape(_l("Co-handling"))}：{escape(t.status.label)}">'
        f'{escape(_l("Co"))}·{escape(t.department.name)}·{escape(t.status.label)}</span>'
        for t in tasks)
    return Markup(f'<div class="gd-co-badges mt-1">{badges}</div>')


def _number_link(view, context, model, name):
    from flask import url_for

    link = f'<a href="{url_for(".details_view", id=model.id)}">{escape(model.number)}</a>'
    if model.supervision is not None:  # 督办: its level beside the number
        link += f" {supervision_badge(model.supervision)}"
    return Markup(link)


def _version(value) -> int:
    """The version the form was loaded with; a form without one is treated as stale."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class TicketView(SupervisionMixin, TicketActionsMixin, GridDeskModelView):
    allowed_roles = ALL_ROLES
    can_delete = False
    create_template = "admin/ticket_create.html"
    list_template = "admin/ticket_list.html"
    details_template = "admin/ticket_details.html"
    edit_template = "admin/ticket_edit.html"
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    column_list = ("number", "title", "category", "status", "priority", "grid", "assigned_department",
                   "handle_deadline", "created_at")
    column_labels = {
        "number": _l("Number"), "title": _l("Title"), "description": _l("Description"),
        "category": _l("Category"), "priority": _l("Priority"), "status": _l("Status"),
        "source": _l("Source"), "district": _l("District"), "street": _l("Street"),
        "community": _l("Community"), "grid": _l("Grid"), "lat": _l("Latitude"),
        "lon": _l("Longitude"), "address": _l("Address"), "reporter_name": _l("Reporter"),
        "reporter_phone": _l("Reporter phone"), "reporter_email": _l("Reporter e-mail"),
        "tracking_code": _l("Tracking code"), "assigned_department": _l("Assigned department"),
        "assigned_user": _l("Assigned to"), "current_level": _l("Current level"),
        "accept_deadline": _l("Acceptance deadline"), "handle_deadline": _l("Handling deadline"),
        "accepted_at": _l("Accepted"), "submitted_at": _l("Submitted"), "closed_at": _l("Closed"),
        "rating": _l("Rating"), "rating_comment": _l("Rating comment"),
        "rating_source": _l("Rated through"), "rated_by": _l("Follow-up recorded by"),
        "rework_count": _l("Rework"), "duplicate_of": _l("Duplicate of"),
        "created_at": _l("Created"), "updated_at": _l("Updated"), "version": _l("Version"),
        "created_by": _l("Created by"), "location_flagged": _l("Outside all grids"),
        "reopen_count": _l("Reopened"), "submitted_by": _l("Submitted by"),
    }
    column_details_list = (
        "number", "title", "description", "category", "priority", "status", "source",
        "district", "street", "community", "grid", "address", "lat", "lon", "location_flagged",
        "reporter_name", "reporter_phone", "reporter_email", "tracking_code", "created_by",
        "assigned_department", "assigned_user", "current_level", "accept_deadline",
        "handle_deadline", "accepted_at", "submitted_at", "closed_at", "rating", "rating_comment",
        "rating_source", "rated_by", "rework_count", "duplicate_of", "created_at", "updated_at")
    # Only sorts an index serves: priority and status are filters instead (a sort would read the
    # whole scope on every click).
    column_sortable_list = ("number", "handle_deadline", "created_at")
    column_auto_select_related = False  # labels come from the reference caches
    column_default_sort = [("created_at", True), ("id", True)]
    column_searchable_list = ("number", "title", "address", "reporter_phone")
    column_filters = tuple(LIST_FILTERS.values())
    column_formatters = {"status": _status_badge, "handle_deadline": _list_deadline,
                         "accept_deadline": _deadline, "number": _number_link,
                         "priority": _priority_badge, "grid": _place, "category": _category,
                         "assigned_department": _assignee}
    column_formatters_detail = {
        "status": _status_badge, "handle_deadline": _deadline, "accept_deadline": _deadline,
        "reporter_phone": lambda v, c, m, n: reporter_phone_for(current_user, m),
        "rating": lambda v, c, m, n: stars(m.rating) if m.rating is not None else "",
    }
    form_columns = EDITABLE_FIELDS + ("expected_version",)
    form_overrides = {"priority": SelectField}
    form_args = {"priority": enum_field(Priority, _l("Priority"))}
    form_extra_fields = {"expected_version": HiddenField()}

    @property
    def can_edit(self) -> bool:
        return current_user.is_authenticated and can_edit_tickets(current_user)

    @property
    def can_create(self) -> bool:
        """Staff enter hotline and walk-in reports; grid workers their patrol findings."""
        return current_user.is_authenticated and can_report_tickets(current_user)

    # --- scoping: list, count, and every single-row access -------------------------------
    def get_query(self):
        # Only the supervision badge is loaded with the page; the other columns' labels come
        # from the reference caches (the formatters above).
        return (db.session.query(Ticket)
                .filter(ticket_scope(current_user))
                .options(selectinload(Ticket.supervision)))

    def get_count_query(self):
        g.ticket_count_capped = False
        query = CappedCountQuery([sa.func.count(Ticket.id)], session=db.session())
        query.cap = current_app.config["LIST_COUNT_CAP"]  # copied along by every .filter()
        query = query.select_from(Ticket)
        if self._area_filter_within_scope():
            # The area filter, applied next, already keeps the count inside the scope; without
            # the scope's own column the count is an index-only scan of that area's index.
            return query
        return query.filter(ticket_scope(current_user))

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        g.page_tasks = tasks_by_ticket(t.id for t in rows)  # one query for the page's badges
        return count, rows

    def _get_list_filter_args(self):
        # Read once per request: get_count_query reads them too, and each read flashes the
        # message about an invalid filter value.
        if "gd_list_filter_args" not in g:
            g.gd_list_filter_args = super()._get_list_filter_args()
        return g.gd_list_filter_args

    def _area_filter_within_scope(self) -> bool:
        levels = {column: level for level, column in LEVEL_COLUMN.items()}
        for index, _name, value in self._get_list_filter_args():
            area_filter = self._filters[index]
            if not isinstance(area_filter, IdFilter):  # only "equals this area" narrows enough
                continue
            level = levels.get(getattr(area_filter.column, "key", None))
            if level is None or not str(value).isdigit():
                continue
            area = db.session.get(Area, int(value))
            if area is not None and area.level == level and area_within_scope(current_user, area):
                return True
        return False

    def get_one(self, id):
        """A ticket outside the user's scope does not exist for them: 404, also for edited URLs."""
        try:
            ticket_id = int(id)
        except (TypeError, ValueError):
            abort(404)
        ticket = db.session.query(Ticket).filter(
            Ticket.id == ticket_id, ticket_scope(current_user)).one_or_none()
        if ticket is None:
            abort(404)
        return ticket

    def _apply_search(self, query, count_query, joins, count_joins, search):
        condition = list_search(search)
        query = query.filter(condition)
        if count_query is not None:
            count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def list_spec(self) -> dict:
        """The current filters and search by name, for the "export everything" job."""
        filters = []
        for index, _name, value in self._get_list_filter_args() or []:
            flt = self._filters[index]
            filters.append([flt.list_name, jsonable_filter_value(flt.clean(value))])
        return {"filters": filters, "search": (request.args.get("search") or "").strip()}

    # --- edit: a version check and one timeline event --------------------------------------
    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and request.method == "GET":
            form.expected_version.data = str(obj.version)
        return form

    def update_model(self, form, model):
        try:
            changes = {name: getattr(form, name).data for name in EDITABLE_FIELDS}
            correction = edit_ticket_fields(model, current_user, changes,
                                            expected_version=_version(form.expected_version.data))
            db.session.commit()
            if correction.message:
                from flask import flash

                flash(correction.message, "info")
        except StaleDataError:
            db.session.rollback()
            from flask import flash

            flash(str(TicketChangedError.default_message()), "danger")
            return False
        except (TicketChangedError, ValueError) as exc:
            db.session.rollback()
            from flask import flash

            flash(str(exc), "danger")
            return False
        return True

    # --- the ticket page ------------------------------------------------------------------
    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs.update(self.details_context(kwargs["model"]), stars=stars)
        if template == self.list_template:
            kwargs["count_capped"] = g.get("ticket_count_capped", False)
        return super().render(template, **kwargs)

    def details_context(self, ticket: Ticket) -> dict:
        events = db.session.execute(
            sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.seq)
            .options(joinedload(TicketEvent.actor), joinedload(TicketEvent.to_user),
                     joinedload(TicketEvent.to_department))).scalars().all()
        attachments = db.session.execute(
            sa.select(Attachment).where(Attachment.ticket_id == ticket.id)
            .order_by(Attachment.id)).scalars().all()
        context = {"events": events, "attachments": attachments,
                   "map_svg": ticket_map_svg(ticket),
                   "further_reporters": [
                       (row, reporter_phone_for(current_user, ticket, row.phone or ""))
                       for row in further_reporters(ticket)],
                   "custom_answers": field_answers(ticket.category, ticket.attributes)}
        context.update(self.action_context(ticket))
        context.update(self.supervision_context(ticket))
        return context

    @expose("/attachment/<int:attachment_id>")
    def attachment(self, attachment_id: int):
        return self._photo(attachment_id, thumbnail=False)

    @expose("/attachment/<int:attachment_id>/thumbnail")
    def attachment_thumbnail(self, attachment_id: int):
        return self._photo(attachment_id, thumbnail=True)

    def _photo(self, attachment_id: int, *, thumbnail: bool):
        item = db.session.get(Attachment, attachment_id)
        if item is None or not can_see_ticket(current_user, db.session.get(Ticket, item.ticket_id)):
            abort(404)
        try:
            stored, mime = open_photo(item, thumbnail=thumbnail)
        except FileNotFoundError:
            abort(404)
        response = send_file(stored, mimetype=mime, download_name=item.original_name,
                             etag=f"{item.sha256}-t" if thumbnail else item.sha256)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.cache_control.private = True
        return response
