"""Limits on the resident report page, against floods and bots.

Counters live in the database (``report_counts``), so every web worker sees the same numbers;
checking and counting is one statement, so simultaneous reports cannot slip past a limit
together; a refused report stores nothing, counters included. Limits are settings (models/settings.py):
``PUBLIC_REPORTS_PER_IP_HOUR``, ``PUBLIC_REPORTS_PER_PHONE_DAY``, ``PUBLIC_REPORT_MAX_PHOTOS``,
``PUBLIC_REPORT_MAX_TEXT``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db, utcnow
from models.clock import local_day_start, to_local
from models.errors import ActionInvalid
from models.settings import setting


class ReportCount(db.Model):
    """Accepted public reports per sender (a hashed IP or phone) and time window."""

    __tablename__ = "report_counts"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class ReportRefused(ActionInvalid):
    """A public report refused by a limit on its senders (429); nothing was stored. What the
    report itself holds is refused as any invalid input (ActionInvalid, 422)."""

    code = "too_many"
    http_status = 429


@dataclass(frozen=True)
class Limit:
    kind: str  # "ip" | "phone"
    setting: str
    default: int
    seconds: int


IP_LIMIT = Limit("ip", "PUBLIC_REPORTS_PER_IP_HOUR", 10, 3600)
DAY_SECONDS = 86400
PHONE_LIMIT = Limit("phone", "PUBLIC_REPORTS_PER_PHONE_DAY", 5, DAY_SECONDS)
SUGGEST_LIMIT = Limit("suggest", "PUBLIC_SUGGESTIONS_PER_IP_MINUTE", 60, 60)


def max_photos() -> int:
    return setting("PUBLIC_REPORT_MAX_PHOTOS", 6)


def max_text() -> int:
    return setting("PUBLIC_REPORT_MAX_TEXT", 1000)


RESIDENT_NOTE_MAX = 500  # a resident's rating comment or reason for reopening, in characters


def check_resident_note(note: str | None) -> None:
    if len(note or "") > RESIDENT_NOTE_MAX:
        raise ActionInvalid(_("Please write at most %(count)s characters.",
                              count=RESIDENT_NOTE_MAX))


def _key(limit: Limit, value: str) -> str:
    return f"{limit.kind}:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:64]


def _window(limit: Limit, now: datetime) -> datetime:
    """The start of the window ``now`` falls in: a day is the local day (the refusal says
    "today"), not the UTC day that begins at 08:00 in China."""
    if limit.seconds == DAY_SECONDS:
        return local_day_start(to_local(now).date()).astimezone(timezone.utc)
    epoch = int(now.timestamp()) // limit.seconds * limit.seconds
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _senders(ip: str | None, phone: str | None) -> list[tuple[Limit, str]]:
    return [(limit, value) for limit, value in ((IP_LIMIT, ip), (PHONE_LIMIT, phone)) if value]


def check_public_report(*, honeypot: str | None, description: str, photo_count: int,
                        ip: str | None, phone: str | None, now: datetime | None = None) -> None:
    """Refuse a public report (ReportRefused, with the reason in Chinese) before anything is
    stored: a filled honeypot field, too long a text, too many photos, or a sender over its
    limit. A report that passes is counted against its senders at once, in the report's own
    transaction: a later refusal rolls the count back with everything else."""
    now = now or utcnow()
    if (honeypot or "").strip():
        raise ActionInvalid(_("The report could not be accepted. Please fill in the form "
                              "yourself, without an automatic form filler."))
    if len(description or "") > max_text():
        raise ActionInvalid(_("Please describe the problem in at most %(count)s characters.",
                              count=max_text()))
    if photo_count > max_photos():
        raise ActionInvalid(_("At most %(count)s photos can be sent with one report.",
                              count=max_photos()))
    for limit, value in _senders(ip, phone):
        allowed = setting(limit.setting, limit.default)
        if not _claim(_key(limit, value), _window(limit, now), allowed):
            raise ReportRefused(_too_many(limit, allowed))


def _too_many(limit: Limit, allowed: int) -> str:
    if limit is IP_LIMIT:
        return _("Too many reports were sent from this network in the last hour (at most "
                 "%(count)s). Please try again later, or call the service hotline.", count=allowed)
    return _("Too many reports were sent with this phone number today (at most %(count)s). "
             "Please try again tomorrow, or call the service hotline.", count=allowed)


def _claim(key: str, window: datetime, allowed: int) -> bool:
    """Count one more report of this sender in this window, if it stays within ``allowed``.

    One statement checks and counts (an upsert whose update only happens below the limit), so
    two reports sent at the same moment cannot both take the last place: on PostgreSQL the
    second waits for the first's row lock and then sees its count; SQLite has one writer."""
    if allowed <= 0:
        return False
    insert = (postgresql.insert if db.session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)(ReportCount)
    claimed = db.session.execute(
        insert.values(key=key, window_start=window, count=1)
        .on_conflict_do_update(index_elements=[ReportCount.key, ReportCount.window_start],
                               set_={"count": ReportCount.count + 1},
                               where=ReportCount.count < allowed)
        .returning(ReportCount.count)).scalar()
    return claimed is not None


def count_public_suggestion(ip: str | None, now: datetime | None = None) -> None:
    """Count one category-suggestion request of the resident page against its IP; refused
    (ReportRefused) beyond the per-minute limit."""
    if not ip:
        return
    now = now or utcnow()
    allowed = setting(SUGGEST_LIMIT.setting, SUGGEST_LIMIT.default)
    if not _claim(_key(SUGGEST_LIMIT, ip), _window(SUGGEST_LIMIT, now), allowed):
        raise ReportRefused(_("Too many requests from this network. Please wait a minute."))


def forget_old_counts(now: datetime | None = None) -> int:
    """Delete counters of windows long past (kept two days)."""
    now = now or utcnow()
    return db.session.execute(sa.delete(ReportCount).where(
        ReportCount.window_start < now - timedelta(days=2))).rowcount
