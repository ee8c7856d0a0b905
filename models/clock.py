"""Local time of the deployment (GRIDDESK_TIMEZONE); storage is always UTC."""
from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from models.base import utcnow
from models.settings import setting

DEFAULT_TIMEZONE = "Asia/Shanghai"


def local_zone() -> ZoneInfo:
    return ZoneInfo(setting("GRIDDESK_TIMEZONE", DEFAULT_TIMEZONE))


def to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(local_zone()) if value is not None else None


def local_today() -> date:
    return utcnow().astimezone(local_zone()).date()


def format_local(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(value).strftime(pattern) if value is not None else ""


def parse_iso_datetime(value: str, *, end_of_day: bool = False) -> datetime:
    """ISO 8601 (the w3 subset: a date, or date and time with Z or an offset) → aware datetime.
    A date alone is the local day (its start, or its end for an upper bound); a time without an
    offset is local time."""
    text = (value or "").strip()
    if re.search(r"\d \d{2}:\d{2}$", text):  # "+08:00" sent unencoded: the "+" became a space
        text = text[:-6] + "+" + text[-5:]
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time.max if end_of_day else time.min, local_zone())
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=local_zone())
