"""What the configuration audit trail watches, and the flush listener that records it.

Every flush that creates, changes or deletes a row of a watched table writes one entry per row
into ``config_changes``, on the same connection and in the same transaction, whoever made the
change: the admin panel, a command on the server, an import. Field values are taken from
SQLAlchemy's attribute history; a reference to another row is recorded by its readable label with
its id beside it, an enum by its value, secrets only as "set" or "changed".
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import MANYTOONE, Session

from models.audit import (CREATE, DELETE, UPDATE, ConfigChange, Ref, change_rows, current_actor,
                          entry_values, update_operation)
from models.base import db


@dataclass(frozen=True)
class Subject:
    object_type: str
    label: Callable[[Session, object], str]
    ignored: frozenset[str] = frozenset()
    renamed: Mapping[str, str] = field(default_factory=dict)
    summaries: Mapping[str, Callable] = field(default_factory=dict)
    # Tables filled in bulk (the calendar: a year at a time) are recorded row by row only inside
    # ``recording_every_change()`` (the admin panel's edit of one row); the bulk operation records
    # itself as one entry.
    on_request: bool = False


_every_change: ContextVar[bool] = ContextVar("record_every_change", default=False)


@contextmanager
def recording_every_change():
    token = _every_change.set(True)
    try:
        yield
    finally:
        _every_change.reset(token)


def _get(session: Session, cls, ident):
    return session.get(cls, ident) if ident is not None else None


def _named(session: Session, cls, ident) -> str:
    obj = _get(session, cls, ident)
    return describe(session, obj) if obj is not None else f"#{ident}"


def boundary_summary(geojson) -> str:
    """A boundary is too long to show: its type, its number of points and a fingerprint."""
    def points(coords) -> int:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            return 1
        return sum(points(c) for c in coords) if isinstance(coords, (list, tuple)) else 0

    if not isinstance(geojson, dict):
        return str(geojson)
    digest = hashlib.sha1(json.dumps(geojson, sort_keys=True).encode()).hexdigest()[:8]
    return f"{geojson.get('type')}，{points(geojson.get('coordinates'))} 个点，#{digest}"


@cache
def subjects() -> dict[type, Subject]:
    from models.areas.hierarchy import Area
    from models.calendar import WorkCalendarDay
    from models.categories import Category
    from models.evaluation.schemes import ScoringScheme
    from models.notify.messages import kind_label
    from models.notify.outbox import NotificationTemplate
    from models.people.api_clients import ApiClient
    from models.people.department import Department
    from models.people.user import User
    from models.tickets.dispatch_rules import DispatchRule

    def rule_label(session, rule) -> str:
        return (f"{_named(session, Category, rule.category_id)} · "
                f"{_named(session, Area, rule.area_id)}")

    return {
        Area: Subject("area", lambda s, a: f"{a.name}（{a.code}）",
                      ignored=frozenset({"path", "created_at", "updated_at"}),
                      summaries={"boundary": boundary_summary}),
        Department: Subject("department", lambda s, d: d.name),
        User: Subject("user", lambda s, u: f"{u.display_name}（{u.username}）",
                      ignored=frozenset({"last_login_at", "failed_logins", "session_version",
                                         "created_at"}),
                      renamed={"password_hash": "password"}),
        Category: Subject("category", lambda s, c: f"{c.name}（{c.code}）"),
        DispatchRule: Subject("dispatch_rule", rule_label, ignored=frozenset({"created_at"}),
                              # co-handling departments (主办/协办) by name, with their ids
                              summaries={"co_department_ids": lambda ids: "、".join(
                                  f"{_named(db.session, Department, i)}（#{i}）"
                                  for i in ids or [])}),
        WorkCalendarDay: Subject("work_calendar_day", lambda s, d: d.day.isoformat(),
                                 on_request=True),
        NotificationTemplate: Subject(
            "notification_template",
            lambda s, t: f"{kind_label(t.event_kind)} · {t.channel.label}"),
        ScoringScheme: Subject("scoring_scheme", lambda s, x: f"{x.role.label} · {x.name}",
                               ignored=frozenset({"updated_at"})),
        ApiClient: Subject("api_client", lambda s, c: c.name,
                           ignored=frozenset({"created_at", "last_used_at", "token_hint"})),
    }


def object_type_of(cls) -> str | None:
    subject = subjects().get(cls)
    return subject.object_type if subject else None


def model_of(object_type: str):
    return next((cls for cls, s in subjects().items() if s.object_type == object_type), None)


def existing_ids(object_type: str, ids) -> set[str]:
    """Which of these recorded object ids still exist (for links to their edit pages)."""
    cls = model_of(object_type)
    if cls is None or not ids:
        return set()
    column = sa.inspect(cls).primary_key[0]
    python_type = column.type.python_type
    wanted = []
    for ident in ids:
        try:
            wanted.append(python_type.fromisoformat(ident) if hasattr(python_type, "fromisoformat")
                          else python_type(ident))
        except (TypeError, ValueError):
            continue
    found = db.session.execute(sa.select(column).where(column.in_(wanted))).scalars()
    return {str(value) for value in found}


def describe(session: Session, obj) -> str:
    subject = subjects().get(type(obj))
    return subject.label(session, obj) if subject else str(obj)


@cache
def _fields(cls) -> tuple[tuple[str, str, type | None], ...]:
    """(recorded name, attribute, referenced class) for every recorded column: a foreign key is
    recorded under its relationship's name, as the forms call it."""
    mapper = sa.inspect(cls)
    subject = subjects()[cls]
    targets = {}
    for rel in mapper.relationships:
        if rel.direction is MANYTOONE and len(rel.local_columns) == 1:
            targets[next(iter(rel.local_columns)).key] = (rel.key, rel.mapper.class_)
    found = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column.primary_key or prop.key in subject.ignored:
            continue
        name, target = targets.get(column.key, (prop.key, None))
        found.append((subject.renamed.get(name, name), prop.key, target))
    return tuple(found)


def _value(session: Session, subject: Subject, key: str, target, raw):
    if target is not None:
        return Ref(raw, _named(session, target, raw)) if raw is not None else None
    summary = subject.summaries.get(key)
    return summary(raw) if summary is not None and raw is not None else raw


def _entry(session: Session, subject: Subject, obj, operation: str) -> tuple | None:
    state = sa.inspect(obj)
    changes = {}
    for name, key, target in _fields(type(obj)):
        if operation == UPDATE:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
        else:
            before = after = state.dict.get(key)
            if operation == CREATE:
                before = None
            else:
                after = None
        changes[name] = (_value(session, subject, key, target, before),
                         _value(session, subject, key, target, after))
    rows = change_rows(operation, changes)
    if operation == UPDATE:
        if not rows:
            return None
        operation = update_operation(rows)
    ident = state.mapper.primary_key_from_instance(obj)[0]
    label = describe(session, obj)
    return subject.object_type, ident, label, operation, rows


def _after_flush(session: Session, flush_context) -> None:
    watched = subjects()
    every = _every_change.get()
    entries = []
    for objects, operation in ((session.new, CREATE), (session.dirty, UPDATE),
                               (session.deleted, DELETE)):
        for obj in objects:
            subject = watched.get(type(obj))
            if subject is None or (subject.on_request and not every):
                continue
            entry = _entry(session, subject, obj, operation)
            if entry is not None:
                entries.append(entry)
    if entries:
        actor = current_actor()
        session.connection().execute(sa.insert(ConfigChange.__table__),
                                     [entry_values(actor, *entry) for entry in entries])


def _keep_replaced_values() -> None:
    """Load the old value of a watched column before it is overwritten, even where the row was
    expired (after a commit): the entry needs its "before"."""
    for cls in subjects():
        for _name, key, _target in _fields(cls):
            sa.event.listen(getattr(cls, key), "set", _noop, active_history=True)


def _noop(target, value, oldvalue, initiator):
    return value


sa.event.listen(Session, "after_flush", _after_flush)
sa.event.listen(sa.orm.Mapper, "after_configured", _keep_replaced_values, once=True)
