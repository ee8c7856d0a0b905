"""Slowing down password guessing, per source address and per address and account.

Wrong passwords slow down the address they come from for that account (after
``LOGIN_MAX_FAILURES``) and, past a larger number, for every account (after
``LOGIN_MAX_FAILURES_PER_ADDRESS``): each further failure doubles the wait, from
``LOGIN_BACKOFF_SECONDS`` up to ``LOGIN_BACKOFF_MAX_SECONDS``. Nobody is locked out: the owner
signing in from another address is not held up by a stranger's guesses. Usernames that do not
exist are counted and slowed exactly like real ones, so the answers tell nobody which exist.

The counters are rows of ``login_throttles``, so every web worker sees the same numbers. A quiet
hour forgets an address's failures.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db, utcnow
from models.settings import setting

FORGET_AFTER = timedelta(hours=1)


class LoginThrottle(db.Model):
    """Recent failed sign-ins of one source address, or of one address with one username."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Limit:
    kind: str
    setting: str
    default: int


PER_ACCOUNT = Limit("account", "LOGIN_MAX_FAILURES", 5)
PER_ADDRESS = Limit("address", "LOGIN_MAX_FAILURES_PER_ADDRESS", 30)


def _keys(address: str | None, username: str) -> list[tuple[Limit, str]]:
    def key(limit: Limit, value: str) -> str:
        return f"{limit.kind}:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:64]

    address = address or "-"
    return [(PER_ACCOUNT, key(PER_ACCOUNT, f"{address}\n{username.strip().lower()}")),
            (PER_ADDRESS, key(PER_ADDRESS, address))]


def seconds_to_wait(address: str | None, username: str, now: datetime | None = None) -> int:
    """How long this address must wait before trying this username again (0: go ahead)."""
    now = now or utcnow()
    keys = [key for _limit, key in _keys(address, username)]
    until = db.session.execute(sa.select(sa.func.max(LoginThrottle.blocked_until)).where(
        LoginThrottle.key.in_(keys), LoginThrottle.blocked_until > now)).scalar()
    return int((until - now).total_seconds()) + 1 if until is not None else 0


def count_failure(address: str | None, username: str, now: datetime | None = None) -> None:
    """Count a wrong password (or unknown username) from this address; the caller commits."""
    now = now or utcnow()
    base = setting("LOGIN_BACKOFF_SECONDS", 30)
    ceiling = setting("LOGIN_BACKOFF_MAX_SECONDS", 900)
    for limit, key in _keys(address, username):
        row = _locked_row(key, now)
        if row.last_failure_at is not None and now - row.last_failure_at > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        over = row.failures - setting(limit.setting, limit.default)
        if over >= 0:
            row.blocked_until = now + timedelta(seconds=min(base * 2 ** min(over, 20), ceiling))
    db.session.flush()


def _locked_row(key: str, now: datetime) -> LoginThrottle:
    """The counter row, locked against a second worker counting at the same moment."""
    query = sa.select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = db.session.execute(query).scalar_one_or_none()
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            db.session.add(LoginThrottle(key=key, failures=0, last_failure_at=now))
    except sa.exc.IntegrityError:  # another worker created it first
        pass
    return db.session.execute(query).scalar_one()


def forget_failures(address: str | None, username: str) -> None:
    """A successful sign-in clears that address's count for the account (not the address's
    own count: one good account must not open the way for guessing at the others)."""
    account_key = _keys(address, username)[0][1]
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == account_key))


def forget_old_failures(now: datetime | None = None) -> int:
    """Delete the counters of addresses quiet for a day and no longer waiting."""
    now = now or utcnow()
    return db.session.execute(sa.delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < now - timedelta(days=1),
        sa.or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now))
    ).rowcount
