"""The ticket list and ticket page, scoped to what the current user may see."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import abort, g, has_request_context, jsonify, request, send_file
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, DateBetweenFilter, FilterEqual
from flask_babel import gettext as _
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
from models.tickets.listing import (capped_count, count_cap, figure_key_valid,
                                    jsonable_filter_value, list_filter, list_search)
from models.tickets.records import TicketChangedError, edit_ticket_fields
from models.tickets.reporters import further_reporters
from models.tickets.supervision import SupervisionLevel
from views.inputs import whole_number

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
        count = self.session.execute(sa.select(capped_count(
            self.with_entities(Ticket.id).statement, self.cap))).scalar_one()
        g.ticket_count_capped = count > self.cap
        return min(count, self.cap)


class ListFilter:
    """A list filter whose condition is models.tickets.listing's filter of the same name (the
    one the "export everything" job applies later); the name is its LIST_FILTERS key."""

    list_name: str

    def apply(self, query, value, alias=None):
        return query.filter(list_filter(self.list_name, value))


@request_options
def category_options():
    rows = sorted(category_rows().values(), key=lambda c: c.code)
    return [(str(c.id), c.label) for c in rows]


# A filter offering more choices than this to the user carries none in the page: its value box
# asks filter_options as the user types (a city administrator has 25,600 grids, 3,200
# communities, 3,600 departments and 32,000 people; written into the page they made it 4.8 MB).
TYPEAHEAD_OVER = 200
TYPEAHEAD_MATCHES = 20  # matches answered per keystroke
TYPEAHEAD_QUERY_MAX = 50  # characters of the typed text


class ChoiceFilter(ListFilter, IdFilter):
    """Equality on an id the user picks from their scoped choices: ``rows(user)`` is the scoped
    list of models.people.access (cached per process and scope), ``label(row)`` its text.
    Up to TYPEAHEAD_OVER choices it is a plain select, as ever; past it a type-ahead."""

    def __init__(self, column, name, rows, label):
        super().__init__(column, name, options=self._options)
        self.rows, self.label = rows, label

    def current_rows(self):
        if not has_request_context() or not current_user.is_authenticated:
            return ()
        return self.rows(current_user)

    def is_typeahead(self) -> bool:
        return len(self.current_rows()) > TYPEAHEAD_OVER

    def _options(self):
        rows = self.current_rows()
        if len(rows) > TYPEAHEAD_OVER:
            return None  # a text box the page's script turns into a type-ahead
        return [(str(row[0]), self.label(row)) for row in rows]

    def matches(self, text: str, limit: int) -> tuple[list[tuple[str, str]], bool]:
        """The first ``limit`` choices, in the select's order, whose label contains ``text``
        (case-insensitive), and whether there are more."""
        wanted, found = text.casefold(), []
        for row in self.current_rows():
            label = self.label(row)
            if wanted in label.casefold():
                if len(found) == limit:
                    return found, True
                found.append((str(row[0]), label))
        return found, False

    def labels_of(self, values) -> dict[str, str]:
        """The labels of these ids among the user's choices (an id outside them has none)."""
        wanted = {str(value) for value in values}
        if not wanted:
            return {}
        return {str(row[0]): self.label(row) for row in self.current_rows()
                if str(row[0]) in wanted}


def _area_names(level: AreaLevel):
    return lambda user: pickable_area_names(user, [level])


def _area_filter(level: AreaLevel, name) -> ChoiceFilter:
    return ChoiceFilter(getattr(Ticket, LEVEL_COLUMN[level]), name, _area_names(level),
                        lambda row: row.name)


def _department_filter(column, name) -> ChoiceFilter:
    return ChoiceFilter(column, name, pickable_department_names, lambda row: row.name)


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
    "district": _area_filter(AreaLevel.DISTRICT, _l("District")),
    "street": _area_filter(AreaLevel.STREET, _l("Street")),
    "community": _area_filter(AreaLevel.COMMUNITY, _l("Community")),
    "grid": _area_filter(AreaLevel.GRID, _l("Grid")),
    "department": _department_filter(Ticket.assigned_department_id, _l("Assigned department")),
    "assignee": ChoiceFilter(Ticket.assigned_user_id, _l("Assigned to"), pickable_people_names,
                             lambda row: person_label_of(row[1], row[2])),
    "overdue": OverdueFilter(_l("Overdue")),
    "created": CreatedBetweenFilter(Ticket.created_at, _l("Created")),
    "closed": ClosedBetweenFilter(Ticket.closed_at, _l("Closed between")),
    "figure": FigureFilter(_l("Statistics figure")),
    "co_handling": _department_filter(Ticket.id, _l("Co-handling (tasks owed by)")),
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


def typeahead_texts() -> dict[str, str]:
    """What the type-ahead says, in the user's language (the script carries no text)."""
    return {"placeholder": _("Type part of a name"),
            "too_short": _("Type part of a name to search for."),
            "searching": _("Searching…"),
            "none": _("Nothing matches within your area."),
            "more": _("Only the first %(count)s matches are shown; type more to narrow them.",
                      count=TYPEAHEAD_MATCHES),
            "failed": _("The search failed; try again."),
            "unknown": _("(not among your choices)")}


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
        query.cap = count_cap()  # copied along by every .filter()
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
            area_id = whole_number(value)
            if level is None or area_id is None:
                continue
            area = db.session.get(Area, area_id)
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

    # --- filters with many choices: a type-ahead instead of a select ----------------------
    def _get_filter_groups(self):
        """Flask-Admin's filter groups; a filter past TYPEAHEAD_OVER choices carries none, but
        the address of its matches, the labels of its active values (a reload shows the chosen
        name, not an id) and the type-ahead's texts (static/js/filter_typeahead.js)."""
        groups = super()._get_filter_groups()
        if not groups:
            return groups
        active: dict[int, list[str]] = {}
        for index, _name, value in self._get_list_filter_args() or []:
            active.setdefault(index, []).append(str(value))
        for items in groups.values():
            for item in items:
                flt = self._filters[item["index"]]
                if not isinstance(flt, ChoiceFilter) or not flt.is_typeahead():
                    continue
                item["type"] = "gd-typeahead"
                item["typeahead"] = {
                    "url": self.get_url(".filter_options", key=flt.list_name),
                    "labels": flt.labels_of(active.get(item["index"], [])),
                    "texts": typeahead_texts()}
        return groups

    @expose("/filter-options/<key>")
    def filter_options(self, key: str):
        """Up to TYPEAHEAD_MATCHES of the user's choices of one filter whose label contains
        ?q= — the same scoped choices a select would offer. JSON: {"results": [{"id", "text"}],
        "more": whether more match}; a bad request is a 400 with {"error": message}."""
        flt = LIST_FILTERS.get(key)
        if not isinstance(flt, ChoiceFilter):
            return jsonify(error=_("There is no such filter.")), 404
        text = " ".join(request.args.get("q", "").split())
        if not text:
            return jsonify(error=_("Type part of a name to search for.")), 400
        if len(text) > TYPEAHEAD_QUERY_MAX:
            return jsonify(error=_("Type at most %(count)s characters.",
                                   count=TYPEAHEAD_QUERY_MAX)), 400
        found, more = flt.matches(text, TYPEAHEAD_MATCHES)
        return jsonify(results=[{"id": id_, "text": label} for id_, label in found], more=more)

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
