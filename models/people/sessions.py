"""When a signed-in session ends.

Each session carries the user's session version from the moment of signing in. Logging out,
a new password (changed or reset), deactivation and a change of role, scope area or department
raise the version, which ends every session of that user at its next request, on every device.
A session also ends after ``SESSION_IDLE_MINUTES`` without a request and ``SESSION_MAX_HOURS``
after signing in, whatever happens in between.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.people.user import User
from models.settings import setting

# A change to any of these ends the user's sessions: what they may see or do, or who they are.
SESSION_ENDING_FIELDS = ("password_hash", "active", "role", "scope_area_id", "scope_area",
                         "department_id", "department")


def end_sessions(user: User) -> None:
    """End every signed-in session of this user (at their next request); the caller commits."""
    user.session_version = (user.session_version or 0) + 1


def session_lapsed(started_at: float | None, seen_at: float | None, now: float) -> bool:
    """Whether a session signed in at ``started_at`` and last used at ``seen_at`` (seconds since
    the epoch) has ended by ``now``: idle too long, or too long since signing in."""
    if started_at is None or seen_at is None:
        return True
    idle = setting("SESSION_IDLE_MINUTES", 120) * 60
    longest = setting("SESSION_MAX_HOURS", 12) * 3600
    return now - seen_at > idle or now - started_at > longest


def _changes_what_the_user_may_do(user: User) -> bool:
    state = sa.inspect(user)
    for key in SESSION_ENDING_FIELDS:
        history = state.attrs[key].history
        if history.added and list(history.added) != list(history.deleted):
            return True
    return False


def _before_flush(session: Session, _flush_context, _instances) -> None:
    """Whoever makes the change (admin panel, command line, a domain operation), once."""
    for obj in session.dirty:
        if isinstance(obj, User) and _changes_what_the_user_may_do(obj):
            end_sessions(obj)


sa.event.listen(Session, "before_flush", _before_flush)
