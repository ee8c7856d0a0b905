"""Local time of the deployment (GRIDDESK_TIMEZONE); storage is always UTC."""
from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from models.base import utcnow
from models.settings import setting

DEFAULT_TIMEZONE = "Asia/Shanghai"
# The days a date given by a user may name. Far wider than any real case, yet far enough from
# year 1 and 9999 that a date range, its previous period or a time zone shift stay countable
# (date value out of range was a 500).
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class DateOutOfRange(ValueError):
    """A well-formed date before EARLIEST_DAY or after LATEST_DAY."""

    def __init__(self) -> None:
        super().__init__(_("Dates must lie between %(first)s and %(last)s.",
                           first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat()))


def local_zone() -> ZoneInfo:
    return ZoneInfo(setting("GRIDDESK_TIMEZONE", DEFAULT_TIMEZONE))


def to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(local_zone()) if value is not None else None


def local_today() -> date:
    return utcnow().astimezone(local_zone()).date()


def local_day_start(day: date) -> datetime:
    """The moment the local day ``day`` begins."""
    return datetime.combine(day, time.min, local_zone())


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def format_local(value: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A moment in local time; also one kept as ISO text (an event's details)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return to_local(value).strftime(pattern) if value is not None else ""


def parse_day(value: str) -> date:
    """A date YYYY-MM-DD between EARLIEST_DAY and LATEST_DAY (ValueError otherwise)."""
    return within_range(date.fromisoformat((value or "").strip()))


def within_range(day: date) -> date:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise DateOutOfRange()
    return day


def parse_iso_datetime(value: str, *, end_of_day: bool = False) -> datetime:
    """ISO 8601 (the w3 subset: a date, or date and time with Z or an offset) → aware datetime.
    A date alone is the local day (its start, or its end for an upper bound); a time without an
    offset is local time. Outside EARLIEST_DAY…LATEST_DAY: DateOutOfRange (a ValueError)."""
    text = (value or "").strip()
    if re.search(r"\d \d{2}:\d{2}$", text):  # "+08:00" sent unencoded: the "+" became a space
        text = text[:-6] + "+" + text[-5:]
    if len(text) == 10:
        day = parse_day(text)
        return datetime.combine(day, time.max if end_of_day else time.min, local_zone())
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    within_range(parsed.date())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=local_zone())
