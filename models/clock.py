"""Local time of the deployment (GRIDDESK_TIMEZONE); storage is always UTC."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from .base import utcnow

DEFAULT_TIMEZONE = "Asia/Shanghai"


def local_zone() -> ZoneInfo:
    name = current_app.config.get("GRIDDESK_TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() \
        else DEFAULT_TIMEZONE
    return ZoneInfo(name)


def to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(local_zone()) if value is not None else None


def local_today() -> date:
    return utcnow().astimezone(local_zone()).date()


def format_local(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(value).strftime(pattern) if value is not None else ""
