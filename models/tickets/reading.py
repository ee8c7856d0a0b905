"""Reading tickets for the API without the ORM's unit of work: one statement per read.

The API's read of one ticket is a single SELECT: the ticket's columns, its category, its current
supervision, and its co-handling tasks, timeline and attachments aggregated as JSON in SQL
(``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite) — and, for a read that checks them so
(models/reference_cache.py), the reference data's versions. The names of its areas, department,
assignee and rater come from the process's copies of those rows (``labels_from_copies``), or
from outer joins when a copy lacks one. A page of the list is the same statement without timeline
and attachments. The rows become light ``TicketRow`` objects carrying the attribute names of
``Ticket``, so the one definition of each rule (deadline state, allowed actions, phone masking,
supervision steps, co-handling steps) is called on them unchanged.

``ticket_document`` gives the JSON the API has always given (tests/test_api_reads.py compares it,
parsed, with the ORM rendering for every demo ticket).
"""
from __future__ import annotations

import contextlib
import functools
from datetime import datetime, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models.areas.hierarchy import Area
from models.base import db, utcnow
from models.categories import Category
from models.clock import local_zone
from models.driver import driver_statement
from models.people.department import Department
from models.people.phones import mask_phone
from models.people.user import User
from models.reference_cache import (area_rows, department_rows, note_versions_read, user_rows,
                                    versions_assumed, versions_column)
from models.tickets.actions import Action
from models.tickets.co_tasks import CoHandlingTask
from models.tickets.supervision import Supervision as SupervisionTable
from models.tickets.supervision import SupervisionLevel
from models.tickets.tables import Attachment, Ticket, TicketEvent
from models.transactions import reading_connection
from models.vocabulary import ACTIVE_TASK_STATUSES, TaskStatus

LEVELS = ("district", "street", "community", "grid")

# The ticket's own columns a read shows or a rule looks at.
TICKET_COLUMNS = (
    "id", "number", "title", "description", "status", "priority", "source", "category_id",
    "district_id", "street_id", "community_id", "grid_id", "lat", "lon", "address",
    "location_flagged", "reporter_name", "reporter_phone", "tracking_code", "created_by_id",
    "assigned_department_id", "assigned_user_id", "current_level", "accept_deadline",
    "handle_deadline", "deadlines_from", "accepted_at", "submitted_at", "submitted_by_id",
    "closed_at", "rating", "rating_comment", "rating_source", "rated_by_id", "rework_count",
    "duplicate_of_id", "attributes", "version", "created_at", "updated_at",
    "extension_requested_until", "extension_requested_by_id", "suspended_at", "resume_status")


# --- JSON aggregation, per database ------------------------------------------------------------

def _json_object(pairs: dict) -> sa.ColumnElement:
    """The keys are written into the SQL (they are this module's constants): as parameters they
    made the read of one ticket 34 parameters and 5,000 characters long, over what psycopg keeps
    parsed (50 and 4,096), so it parsed the statement anew on every read."""
    args = []
    for key, value in pairs.items():
        assert key.isidentifier(), key
        args += [sa.literal_column(f"'{key}'", sa.String), value]
    if db.engine.dialect.name == "postgresql":
        return sa.func.json_build_object(*args)
    return sa.func.json_object(*args)


def _json_value(column) -> sa.ColumnElement:
    """A JSON column nested as JSON (SQLite stores it as text)."""
    return column if db.engine.dialect.name == "postgresql" else sa.func.json(column)


def _json_list(item: sa.ColumnElement, build) -> sa.ScalarSelect:
    """One JSON array of ``item`` (a JSON object per row) over the rows ``build`` selects,
    correlated to the outer ticket; NULL when there are none."""
    agg = sa.func.json_agg if db.engine.dialect.name == "postgresql" else sa.func.json_group_array
    return build(sa.select(agg(item))).correlate(Ticket).scalar_subquery()


def _tasks_json() -> sa.ScalarSelect:
    return _json_list(_json_object({
        "id": CoHandlingTask.id, "department_id": CoHandlingTask.department_id,
        "department_name": Department.name, "status": CoHandlingTask.status,
        "deadline": CoHandlingTask.deadline, "note": CoHandlingTask.note,
        "outcome": CoHandlingTask.outcome, "created_at": CoHandlingTask.created_at,
        "accepted_at": CoHandlingTask.accepted_at, "finished_at": CoHandlingTask.finished_at,
    }), lambda q: q.select_from(CoHandlingTask)
        .join(Department, Department.id == CoHandlingTask.department_id)
        .where(CoHandlingTask.ticket_id == Ticket.id))


def _timeline_json() -> sa.ScalarSelect:
    actor = aliased(User)
    e = TicketEvent
    return _json_list(_json_object({
        "seq": e.seq, "action": e.action, "actor_kind": e.actor_kind, "actor_name": actor.display_name,
        "from_status": e.from_status, "to_status": e.to_status, "from_user_id": e.from_user_id,
        "to_user_id": e.to_user_id, "from_department_id": e.from_department_id,
        "to_department_id": e.to_department_id, "note": e.note, "details": _json_value(e.details),
        "at": e.created_at,
    }), lambda q: q.select_from(e).outerjoin(actor, actor.id == e.actor_user_id)
        .where(e.ticket_id == Ticket.id))


def _attachments_json() -> sa.ScalarSelect:
    a = Attachment
    return _json_list(_json_object({
        "id": a.id, "ticket_id": a.ticket_id, "kind": a.kind, "mime": a.mime, "size": a.size,
        "width": a.width, "height": a.height, "sha256": a.sha256, "name": a.original_name,
        "created_at": a.created_at,
    }), lambda q: q.select_from(a).where(a.ticket_id == Ticket.id))


# --- the statement -----------------------------------------------------------------------------

def ticket_select(*, full: bool, labels: bool = True) -> sa.Select:
    """Tickets with everything the API shows of them; ``full`` adds timeline and attachments;
    without ``labels`` the names of the areas, the department, the assignee and the rater are
    left to the process's copies (``labels_from_copies``). Built once per database kind
    (building it took most of a read's time); callers add WHERE."""
    return _built_select(db.engine.dialect.name, full, labels)


@functools.cache
def _built_select(_dialect: str, full: bool, labels: bool) -> sa.Select:
    areas = {level: aliased(Area, name=f"a_{level}") for level in LEVELS}
    assignee, rater = aliased(User, name="assignee"), aliased(User, name="rater")
    sup_by, reply_by = aliased(User, name="sup_by"), aliased(User, name="reply_by")
    # An alias: a filter's subquery on ticket_supervisions (the list's supervision filter)
    # must not be correlated to this join.
    Supervision = aliased(SupervisionTable, name="sup")
    columns = [getattr(Ticket, name) for name in TICKET_COLUMNS]
    columns += [Category.code.label("category_code"), Category.name.label("category_name"),
                Category.requires_after_photo.label("category_after_photo")]
    if labels:
        for level, area in areas.items():
            columns += [area.id.label(f"{level}__id"), area.code.label(f"{level}__code"),
                        area.name.label(f"{level}__name"), area.level.label(f"{level}__level")]
        columns += [Department.name.label("department_name"),
                    assignee.display_name.label("assignee_name"),
                    rater.display_name.label("rater_name")]
    columns += [Supervision.id.label("sup_id"), Supervision.level.label("sup_level"),
                Supervision.note.label("sup_note"), Supervision.expected_by.label("sup_expected_by"),
                Supervision.by_user_id.label("sup_by_id"), sup_by.display_name.label("sup_by_name"),
                Supervision.started_at.label("sup_started_at"),
                Supervision.last_reply_at.label("sup_reply_at"),
                Supervision.last_reply_note.label("sup_reply_note"),
                Supervision.last_reply_by_id.label("sup_reply_by_id"),
                reply_by.display_name.label("sup_reply_by_name"),
                sa.type_coerce(_tasks_json(), sa.JSON).label("tasks_json")]
    if full:
        columns += [sa.type_coerce(_timeline_json(), sa.JSON).label("timeline_json"),
                    sa.type_coerce(_attachments_json(), sa.JSON).label("attachments_json")]
    query = sa.select(*columns).select_from(Ticket).join(Category, Category.id == Ticket.category_id)
    if labels:
        for level, area in areas.items():
            query = query.outerjoin(area, area.id == getattr(Ticket, f"{level}_id"))
        query = (query.outerjoin(Department, Department.id == Ticket.assigned_department_id)
                 .outerjoin(assignee, assignee.id == Ticket.assigned_user_id)
                 .outerjoin(rater, rater.id == Ticket.rated_by_id))
    return (query.outerjoin(Supervision, sa.and_(Supervision.ticket_id == Ticket.id,
                                            Supervision.lifted_at.is_(None)))
            .outerjoin(sup_by, sup_by.id == Supervision.by_user_id)
            .outerjoin(reply_by, reply_by.id == Supervision.last_reply_by_id))


def read_ticket_row(ticket_id: int, visible: sa.ColumnElement[bool], *,
                    full: bool = True) -> "TicketRow | None":
    """One ticket inside ``visible`` (the caller's scope), with timeline and attachments unless
    ``full`` is false (as a page of the list shows it). The labels come from the process's
    copies (seven joins and 19 columns fewer); in the rare case they miss one (a row this
    transaction has just added), from the statement that joins them."""
    with_versions = versions_assumed() is not None  # then the statement reads the true ones too
    mapping = _first_mapping(_statement_by_id(full, visible, with_versions, labels=False),
                             ticket_id)
    if mapping is None:
        return None
    if with_versions:
        note_versions_read(mapping.pop("reference_versions"))
    labels = labels_from_copies(mapping)
    if labels is None:
        mapping = _first_mapping(_statement_by_id(full, visible, False, labels=True), ticket_id)
        if mapping is None:
            return None
    return TicketRow(mapping, labels)


def _first_mapping(statement: sa.Select, ticket_id: int) -> dict | None:
    with reading_connection() as conn:  # the session's, or one without a transaction
        sent = driver_statement(statement, conn)  # skips SQLAlchemy's set-up of the result columns
        if sent is not None:
            return sent.first_mapping(conn, {"ticket_id": ticket_id})
        row = conn.execute(statement, {"ticket_id": ticket_id}).first()
        return dict(row._mapping) if row is not None else None


_BY_ID: dict[tuple, sa.Select] = {}
_BY_ID_KEPT = 1000  # distinct scopes remembered per process (one per area or person at most)


def _statement_by_id(full: bool, visible: sa.ColumnElement[bool], with_versions: bool, *,
                     labels: bool = True) -> sa.Select:
    """The read of one ticket by id within a scope, one statement object per scope and kept:
    SQLAlchemy remembers a statement's cache key on the object, and computing it anew for a
    statement this size was a third of a read's CPU. The scope's own SQL and values are the key.
    ``with_versions``: also the reference data's versions (models/reference_cache.py)."""
    dialect = db.engine.dialect
    compiled = visible.compile(dialect=dialect)
    key = (dialect.name, full, with_versions, labels, compiled.string,
           repr(sorted(compiled.params.items())))
    statement = _BY_ID.get(key)
    if statement is None:
        if len(_BY_ID) >= _BY_ID_KEPT:
            _BY_ID.clear()
        statement = ticket_select(full=full, labels=labels).where(
            Ticket.id == sa.bindparam("ticket_id"), visible)
        if with_versions:
            statement = statement.add_columns(versions_column().label("reference_versions"))
        # setdefault: threads that build it at once all run the one kept, else SQLAlchemy's
        # cached compilation belongs to another object and every run adapts its result columns.
        statement = _BY_ID.setdefault(key, statement)
    return statement


def new_ticket_row(ticket: Ticket) -> "TicketRow | None":
    """The row ``read_ticket_row(full=False)`` would read of a ticket this transaction has just
    reported and dispatched, without reading it: its values as written, the labels from the
    process's copies of the reference rows (intake answers with it: one statement less for
    PostgreSQL and Python). None when part of it is not at hand — a step beyond the report and
    the dispatch (a co-handling task), or a label missing from the copies."""
    state = ticket.__dict__
    category, events = state.get("category"), state.get("events")
    if category is None or events is None or [e.action for e in events] != ["create", "dispatch"] \
            or any(name not in state for name in TICKET_COLUMNS):  # e.g. expired by a commit
        return None
    mapping = {name: state[name] for name in TICKET_COLUMNS}
    mapping.update(category_code=category.code, category_name=category.name,
                   category_after_photo=category.requires_after_photo, sup_id=None,
                   tasks_json=None)
    labels = labels_from_copies(mapping)
    return TicketRow(mapping, labels) if labels is not None else None


def labels_from_copies(mapping: dict) -> dict | None:
    """What ``ticket_select(labels=True)`` joins to a ticket's columns — its areas, department,
    assignee and rater — as the process's copies of those rows, by ``TicketRow``'s attribute
    names; None when a copy lacks one of them."""
    copies = {"areas": area_rows(), "departments": department_rows(), "users": user_rows()}
    labels = {}
    for name, column, kind in _LABELLED:
        ident = mapping[column]
        row = None if ident is None else copies[kind].get(ident)
        if row is None and ident is not None:
            return None
        labels[name] = row
    return labels


# TicketRow's attribute, the ticket's column, the copies it is found in
_LABELLED = (*((level, f"{level}_id", "areas") for level in LEVELS),
             ("assigned_department", "assigned_department_id", "departments"),
             ("assigned_user", "assigned_user_id", "users"), ("rated_by", "rated_by_id", "users"))


def read_ticket_rows(where: sa.ColumnElement[bool] | None, *, limit: int) -> list["TicketRow"]:
    """A page of tickets, newest first (the API list's order and its cursor's columns); the
    labels from the process's copies as for one ticket (``read_ticket_row``)."""
    mappings = _page(where, limit, labels=False)
    labels = [labels_from_copies(mapping) for mapping in mappings]
    if None in labels:
        mappings = _page(where, limit, labels=True)
        labels = [None] * len(mappings)
    return [TicketRow(mapping, found) for mapping, found in zip(mappings, labels)]


def _page(where: sa.ColumnElement[bool] | None, limit: int, *, labels: bool) -> list[dict]:
    query = ticket_select(full=False, labels=labels)
    if where is not None:
        query = query.where(where)
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    with _joins_planned_as_written(db.session.connection()) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


@contextlib.contextmanager
def _joins_planned_as_written(conn: sa.Connection):
    """PostgreSQL plans the list's statement on every run (its LIMIT and cursor make a generic
    plan look dear), and searching the order of its 13 joins took 45–70 ms against 2 ms of
    execution at district scale. Each join only adds a label to the ticket already chosen, so the
    order written is the plan: ``join_collapse_limit`` 1 for this statement (2 ms to plan), then
    the setting as it was. set_config keeps it to the transaction and, being a SELECT, does not
    mark the transaction as one that wrote (models/transactions.py). A read that fails leaves the
    transaction failed, and its rollback ends the setting too."""
    if conn.dialect.name != "postgresql":
        yield conn
        return
    conn.exec_driver_sql("SELECT set_config('join_collapse_limit', '1', true)")
    yield conn
    conn.exec_driver_sql("SELECT set_config(name, reset_val, true) FROM pg_settings "
                         "WHERE name = 'join_collapse_limit'")


# --- rows that answer to the Ticket's attribute names ------------------------------------------

def moment(value) -> datetime | None:
    """A timestamp read out of aggregated JSON, as an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


class TicketRow:
    """A read-only ticket from ``ticket_select``: the column names of ``Ticket``, its related
    labels as small objects (``labels``: the process's copies of those rows, from
    ``labels_from_copies``; else from the columns the statement joined), the current supervision
    and the co-handling tasks."""

    def __init__(self, mapping, labels: dict | None = None) -> None:
        for name in TICKET_COLUMNS:
            setattr(self, name, mapping[name])
        self.category = SimpleNamespace(id=self.category_id, code=mapping["category_code"],
                                        name=mapping["category_name"],
                                        requires_after_photo=mapping["category_after_photo"])
        if labels is not None:
            self.__dict__.update(labels)
        else:
            self._labels_joined(mapping)
        self.supervision = SupervisionRow(mapping) if mapping["sup_id"] is not None else None
        self.tasks = sorted((TaskRow(self.id, item) for item in mapping["tasks_json"] or []),
                            key=lambda t: t.id)
        self.timeline = sorted(mapping.get("timeline_json") or [], key=lambda e: e["seq"])
        self.attachments = sorted(mapping.get("attachments_json") or [], key=lambda a: a["id"])

    def _labels_joined(self, mapping) -> None:
        for level in LEVELS:
            ident = mapping[f"{level}__id"]
            setattr(self, level, None if ident is None else SimpleNamespace(
                id=ident, code=mapping[f"{level}__code"], name=mapping[f"{level}__name"],
                level=mapping[f"{level}__level"]))
        self.assigned_department = None if self.assigned_department_id is None else \
            SimpleNamespace(id=self.assigned_department_id, name=mapping["department_name"])
        self.assigned_user = None if self.assigned_user_id is None else \
            SimpleNamespace(id=self.assigned_user_id, display_name=mapping["assignee_name"])
        self.rated_by = None if self.rated_by_id is None else \
            SimpleNamespace(id=self.rated_by_id, display_name=mapping["rater_name"])


class SupervisionRow:
    """The ticket's current supervision; ``by`` (a User, for the supervisor's rank) is loaded only
    when a rule asks for it."""

    def __init__(self, mapping) -> None:
        self.id, self.level = mapping["sup_id"], SupervisionLevel(mapping["sup_level"])
        self.note, self.expected_by = mapping["sup_note"], mapping["sup_expected_by"]
        self.by_user_id, self.by_name = mapping["sup_by_id"], mapping["sup_by_name"]
        self.started_at, self.last_reply_at = mapping["sup_started_at"], mapping["sup_reply_at"]
        self.last_reply_note = mapping["sup_reply_note"]
        self.last_reply_by_id, self.last_reply_by_name = (mapping["sup_reply_by_id"],
                                                          mapping["sup_reply_by_name"])

    @property
    def by(self) -> User:
        return db.session.get(User, self.by_user_id)


class TaskRow:
    def __init__(self, ticket_id: int, item: dict) -> None:
        self.id, self.ticket_id = item["id"], ticket_id
        self.department_id = item["department_id"]
        self.department = SimpleNamespace(id=self.department_id, name=item["department_name"])
        self.status = TaskStatus(item["status"])
        self.note, self.outcome = item["note"], item["outcome"]
        self.deadline, self.created_at = moment(item["deadline"]), moment(item["created_at"])
        self.accepted_at, self.finished_at = moment(item["accepted_at"]), moment(item["finished_at"])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TASK_STATUSES


# --- the API's representation ------------------------------------------------------------------

def iso(value: datetime | None, zone=None) -> str | None:
    """A moment in local time (``zone``: the deployment's, looked up once by a caller that
    writes many — a ticket has up to 13; the lookup was a third of its document's time)."""
    return value.astimezone(zone or local_zone()).isoformat() if value is not None else None


def _ref(obj, *names) -> dict | None:
    return {name: getattr(obj, name) for name in names} if obj is not None else None


def _area(area) -> dict | None:
    return {"id": area.id, "code": area.code, "name": area.name, "level": area.level.value} \
        if area is not None else None


def ticket_document(ticket: TicketRow, *, user: User | None, actor, now: datetime | None = None,
                    full: bool = False) -> dict:
    """The API's JSON of a ticket as ``user`` (None: an integration client) may read it.
    Attachments come without their URLs (the view adds them)."""
    from models.people.access import reporter_phone_for
    from models.tickets.cohandling import allowed_task_actions, task_overdue
    from models.tickets.deadlines import deadline_state
    from models.tickets.supervision import supervision_actions
    from models.tickets.workflow import allowed_actions

    now = now or utcnow()
    zone = local_zone()
    t = ticket
    data = {
        "id": t.id, "number": t.number, "title": t.title, "description": t.description,
        "status": t.status.value, "status_label": t.status.label,
        "category": {"code": t.category.code, "name": t.category.name},
        "priority": t.priority.value, "source": t.source.value,
        "areas": {level: _area(getattr(t, level)) for level in LEVELS},
        "lat": t.lat, "lon": t.lon, "address": t.address, "location_flagged": t.location_flagged,
        "assigned_department": _ref(t.assigned_department, "id", "name"),
        "assigned_user": _ref(t.assigned_user, "id", "display_name"),
        "current_level": t.current_level.value,
        "accept_deadline": iso(t.accept_deadline, zone),
        "handle_deadline": iso(t.handle_deadline, zone),
        "deadline_state": deadline_state(t, now),
        "accepted_at": iso(t.accepted_at, zone), "submitted_at": iso(t.submitted_at, zone),
        "closed_at": iso(t.closed_at, zone), "rating": t.rating,
        "rating_comment": t.rating_comment,
        "rating_source": t.rating_source.value if t.rating_source else None,
        "rated_by": _ref(t.rated_by, "id", "display_name"), "rework_count": t.rework_count,
        "duplicate_of": t.duplicate_of_id, "reporter_name": t.reporter_name,
        "reporter_phone": reporter_phone_for(user, t) if user is not None
        else mask_phone(t.reporter_phone),
        "tracking_code": t.tracking_code, "attributes": t.attributes or {}, "version": t.version,
        "supervision": _supervision(t.supervision, zone),
        "created_at": iso(t.created_at, zone), "updated_at": iso(t.updated_at, zone),
        "co_handling": [_task(task, t, user, actor, now, zone, allowed_task_actions,
                              task_overdue) for task in t.tasks],
    }
    if user is not None:
        data["allowed_actions"] = allowed_actions(actor, t) + supervision_actions(user, t)
    if full:
        labels = Action.labels()  # as action_label gives each: an unknown name as it is
        data["timeline"] = [_event(e, labels, zone) for e in t.timeline]
        data["attachments"] = [_attachment(a, zone) for a in t.attachments]
    return data


def _task(task: TaskRow, ticket, user, actor, now, zone, allowed_task_actions,
          task_overdue) -> dict:
    data = {"id": task.id, "department": {"id": task.department.id, "name": task.department.name},
            "status": task.status.value, "status_label": task.status.label,
            "deadline": iso(task.deadline, zone), "overdue": task_overdue(task, now),
            "note": task.note, "outcome": task.outcome,
            "created_at": iso(task.created_at, zone), "accepted_at": iso(task.accepted_at, zone),
            "finished_at": iso(task.finished_at, zone)}
    if user is not None:
        data["allowed_actions"] = allowed_task_actions(actor, ticket, task)
    return data


def _supervision(row: SupervisionRow | None, zone) -> dict | None:
    if row is None:
        return None
    reply = {"note": row.last_reply_note, "at": iso(row.last_reply_at, zone),
             "by": {"id": row.last_reply_by_id, "display_name": row.last_reply_by_name}
             } if row.last_reply_at is not None else None
    return {"level": row.level.value, "level_label": row.level.label, "note": row.note,
            "expected_by": row.expected_by.isoformat(),
            "by": {"id": row.by_user_id, "display_name": row.by_name},
            "since": iso(row.started_at, zone), "last_reply": reply}


def _event(e: dict, labels: dict, zone) -> dict:
    return {"seq": e["seq"], "action": e["action"], "label": labels.get(e["action"], e["action"]),
            "actor": {"kind": e["actor_kind"], "name": e["actor_name"]},
            "from_status": e["from_status"], "to_status": e["to_status"],
            "from_user_id": e["from_user_id"], "to_user_id": e["to_user_id"],
            "from_department_id": e["from_department_id"],
            "to_department_id": e["to_department_id"], "note": e["note"],
            "details": e["details"] or {}, "at": iso(moment(e["at"]), zone)}


def _attachment(a: dict, zone) -> dict:
    return {"id": a["id"], "event_seq": None, "kind": a["kind"],
            "mime": a["mime"], "size": a["size"], "width": a["width"], "height": a["height"],
            "sha256": a["sha256"], "name": a["name"],
            "created_at": iso(moment(a["created_at"]), zone)}


__all__ = ["TicketRow", "read_ticket_row", "read_ticket_rows", "ticket_document", "ticket_select"]
