"""The configuration audit trail (变更记录): who changed which setting, when, each field before → after.

Insert-only, like the timeline. Every change to categories, dispatch rules, areas, departments,
users (never passwords), the work calendar, notification channels and templates is written here in
the same transaction as the change itself: by the flush listener of models/audit_subjects.py for
the configuration tables (whatever path changed them: admin panel, CLI, import), and by
``record_change`` where a change is better told as one entry (a calendar year, channel settings).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, UTCDateTime, db, utcnow
from models.vocabulary import Role

# Fields whose values never enter the trail (only the fact that they were set or changed).
SECRET_FIELDS = frozenset({"password_hash", "password", "secret", "token_hash", "api_key"})
MASK = "***"
MAX_VALUE_LENGTH = 2000
# Who reads the trail: administrators and the district / street command centres.
AUDIT_READER_ROLES = frozenset({Role.ADMIN, Role.DISTRICT_CENTRE, Role.STREET_CENTRE})
# Operations as stored; the page shows them in Chinese.
CREATE, UPDATE, DELETE, DEACTIVATE, ACTIVATE = "create", "update", "delete", "deactivate", "activate"


class ConfigChange(db.Model):
    __tablename__ = "config_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    object_label: Mapped[str] = mapped_column(sa.String(200))
    operation: Mapped[str] = mapped_column(sa.String(20))  # create / update / deactivate / delete / …
    # [{"field", "before", "after"}], plus "before_id" / "after_id" where the value is another row
    changes: Mapped[list] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_config_changes_object", "object_type", "object_id", "id"),)


class Ref(NamedTuple):
    """A value that is another row: recorded by its readable label, with its id beside it."""

    id: object
    label: str


# --- who is acting ------------------------------------------------------------------------------

_actor: ContextVar = ContextVar("config_actor", default=None)


@contextmanager
def acting_as(actor):
    """Changes made inside are recorded as made by ``actor`` (a User, or a name such as
    ``cli:import-areas@root`` for a command run on the server)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor():
    """The explicit actor, else the signed-in user of the request, else None (the system)."""
    actor = _actor.get()
    if actor is not None:
        return actor
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return current_user._get_current_object()
    return None


def actor_values(actor) -> dict:
    if actor is None:
        return {"actor_id": None, "actor_name": "system"}
    if isinstance(actor, str):
        return {"actor_id": None, "actor_name": actor[:100]}
    return {"actor_id": getattr(actor, "id", None),
            "actor_name": (getattr(actor, "username", None) or str(actor))[:100]}


# --- values and entries -------------------------------------------------------------------------

def audit_value(value):
    """A JSON-safe, bounded rendering of one field value."""
    if isinstance(value, Ref):
        value = value.label
    if value is None or isinstance(value, (bool, int, float, str)):
        result = value
    elif isinstance(value, Enum):
        result = value.value
    elif isinstance(value, (datetime, date)):
        result = value.isoformat()
    elif isinstance(value, Decimal):
        result = str(value)
    elif isinstance(value, (list, tuple, dict)):
        result = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    else:
        result = str(value)
    if isinstance(result, str) and len(result) > MAX_VALUE_LENGTH:
        result = result[:MAX_VALUE_LENGTH] + "…"
    return result


def _masked(value):
    return MASK if value not in (None, "") else None


def change_rows(operation: str, changes: dict[str, tuple], secret=()) -> list[dict]:
    """The stored form of {field: (before, after)}: unchanged fields of an update left out,
    secret fields reduced to whether they are set."""
    rows = []
    for field, (before, after) in changes.items():
        if operation == UPDATE and audit_value(before) == audit_value(after):
            continue
        row = {"field": field, "before": audit_value(before), "after": audit_value(after)}
        if field in SECRET_FIELDS or field in secret:
            row["before"], row["after"] = _masked(before), _masked(after)
        for side, value in (("before", before), ("after", after)):
            if isinstance(value, Ref):
                row[f"{side}_id"] = audit_value(value.id)
        rows.append(row)
    return rows


def entry_values(actor, object_type: str, object_id, object_label: str, operation: str,
                 rows: list[dict]) -> dict:
    return {**actor_values(actor), "object_type": object_type, "object_id": str(object_id)[:64],
            "object_label": (object_label or "")[:200], "operation": operation,
            "changes": rows}


def record_change(actor, object_type: str, object_id, object_label: str, operation: str,
                  changes: dict[str, tuple], *, secret=()) -> ConfigChange | None:
    """Append one entry; ``changes`` maps a field name to (before, after). Fields whose before and
    after are equal are left out, secret fields (SECRET_FIELDS and ``secret``) are recorded as
    set or changed without their values, and an update that changed nothing writes nothing.
    ``actor`` None means whoever is acting now (see ``current_actor``)."""
    rows = change_rows(operation, changes, secret)
    if operation == UPDATE and not rows:
        return None
    entry = ConfigChange(**entry_values(actor if actor is not None else current_actor(),
                                        object_type, object_id, object_label, operation, rows))
    db.session.add(entry)
    return entry


def update_operation(rows: list[dict]) -> str:
    """An update that switches ``active`` is told as deactivation or activation."""
    for row in rows:
        if row["field"] == "active" and row["before"] is not None:
            return DEACTIVATE if row["before"] and not row["after"] else ACTIVATE
    return UPDATE

