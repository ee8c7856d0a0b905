"""The configuration audit trail (变更记录): who changed which setting, when, each field before → after.

Insert-only, like the timeline. Every change to categories, dispatch rules, areas, departments,
users (never passwords), the work calendar, notification channels and templates is written here by
``record_change`` in the same transaction as the change itself.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigId, UTCDateTime, db, utcnow

# Fields whose values never enter the trail (only the fact that they changed).
SECRET_FIELDS = frozenset({"password_hash", "password", "secret", "token_hash", "api_key"})
MAX_VALUE_LENGTH = 2000


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
    changes: Mapped[list] = mapped_column(sa.JSON)  # [{"field", "before", "after"}]

    __table_args__ = (sa.Index("ix_config_changes_object", "object_type", "object_id", "id"),)


def audit_value(value):
    """A JSON-safe, bounded rendering of one field value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        result = value
    elif isinstance(value, Enum):
        result = value.value
    elif isinstance(value, (datetime, date)):
        result = value.isoformat()
    elif isinstance(value, Decimal):
        result = str(value)
    elif isinstance(value, (list, tuple, dict)):
        import json

        result = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    else:
        result = str(value)
    if isinstance(result, str) and len(result) > MAX_VALUE_LENGTH:
        result = result[:MAX_VALUE_LENGTH] + "…"
    return result


def record_change(actor, object_type: str, object_id, object_label: str, operation: str,
                  changes: dict[str, tuple]) -> ConfigChange | None:
    """Append one entry; ``changes`` maps a field name to (before, after). Fields whose before and
    after are equal are left out, secret fields are recorded as changed without their values, and
    an update that changed nothing writes nothing."""
    rows = []
    for field, (before, after) in changes.items():
        before, after = audit_value(before), audit_value(after)
        if operation == "update" and before == after:
            continue
        if field in SECRET_FIELDS:
            before, after = "***", "***"
        rows.append({"field": field, "before": before, "after": after})
    if operation == "update" and not rows:
        return None
    entry = ConfigChange(
        actor_id=getattr(actor, "id", None),
        actor_name=(getattr(actor, "username", None) or str(actor or "system"))[:100],
        object_type=object_type, object_id=str(object_id)[:64],
        object_label=(object_label or "")[:200], operation=operation, changes=rows)
    db.session.add(entry)
    return entry
