"""Signing in: password check, inactive accounts, slowing down guessing (models/people/
login_limits.py), and the operations on accounts: create, new password, deactivate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key

from models.base import db, utcnow
from models.people.api_clients import UserToken
from models.people.login_limits import count_failure, forget_failures, seconds_to_wait
from models.people.user import MIN_PASSWORD_LENGTH, User, check_password_of_nobody
from models.reference_cache import reference_object


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None  # "invalid", "inactive" or "blocked"
    retry_after: int = 0  # seconds, when blocked


def authenticate(username: str, password: str, *, address: str | None,
                 now: datetime | None = None) -> LoginResult:
    """Check credentials from this source address and count the outcome; the caller commits.

    An unknown username gets the same answer, after the same work, as a wrong password; a
    correct password of a disabled account is told so (only its owner knows the password)."""
    now = now or utcnow()
    username = (username or "").strip()
    wait = seconds_to_wait(address, username, now)
    if wait:
        return LoginResult(None, "blocked", wait)
    user = db.session.execute(
        sa.select(User).where(User.username == username)).scalar_one_or_none()
    right = user.check_password(password or "") if user is not None \
        else check_password_of_nobody(password or "")
    if not right:
        count_failure(address, username, now)
        if user is not None:
            user.failed_logins += 1  # shown to administrators; it blocks nobody
        return LoginResult(None, "invalid")
    if not user.active:
        return LoginResult(None, "inactive")
    forget_failures(address, username)
    user.failed_logins = 0
    user.last_login_at = now
    return LoginResult(user)


class UserSetupError(ValueError):
    """A user whose role, scope area and department do not fit together."""


def check_user_setup(user: User) -> None:
    """Each role needs the scope it works in: the right area level, or a department."""
    from flask_babel import gettext as _

    from models.people.roles import ROLE_SCOPE_LEVEL
    from models.vocabulary import Role

    needed = ROLE_SCOPE_LEVEL.get(user.role)
    area = user.scope_area
    if needed is not None and (area is None or area.level != needed):
        raise UserSetupError(_("A %(role)s needs a scope area of level %(level)s.",
                               role=user.role.label, level=needed.label))
    if user.role == Role.LEADER and area is None:
        raise UserSetupError(_("A leader needs a scope area."))
    if user.role == Role.HANDLER and user.department is None:
        raise UserSetupError(_("A department handler needs a department."))
    if not user.username or not user.username.strip():
        raise UserSetupError(_("The username is required."))
    user.username = user.username.strip()


def create_user(user: User, password: str | None) -> User:
    """A new account: it needs a password and the scope its role works in; the caller commits."""
    from flask_babel import gettext as _

    if not password:
        raise UserSetupError(_("Set a password for the new user."))
    set_password(user, password)
    check_user_setup(user)
    db.session.add(user)
    return user


def set_password(user: User, password: str) -> None:
    """Set or reset a password; a reset also ends the user's API tokens and, like every change
    of password, their signed-in sessions (models/people/sessions.py)."""
    from flask_babel import gettext as _

    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserSetupError(_("The password needs at least %(count)s characters.",
                               count=MIN_PASSWORD_LENGTH))
    had_password = bool(user.password_hash)
    user.set_password(password)
    if had_password and user.id is not None:
        revoke_user_tokens(user)


def deactivate_user(user: User) -> None:
    """An inactive user cannot sign in, their sessions end, and the API tokens issued to them are
    revoked for good."""
    user.active = False
    if user.id is not None:
        revoke_user_tokens(user)


def revoke_user_tokens(user: User) -> int:
    rows = db.session.execute(sa.select(UserToken).where(
        UserToken.user_id == user.id, UserToken.revoked_at.is_(None))).scalars().all()
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


# Written by use, not configuration, so a change does not renew the cached copy: read afresh.
_USER_COLUMNS_BY_USE = ("last_login_at", "failed_logins")


def signed_in_user(user_id: int) -> User | None:
    """The user a session or a token acts as, in this request's session without a query: copied
    from the process's detached copy of the row (models/reference_cache.py renews it when any
    user changes, in every process at its next request); a user the session holds is that one."""
    session = db.session()
    held = session.identity_map.get(identity_key(User, user_id))
    if held is not None:
        return held
    user = reference_object(User, user_id, "users")
    if user is not None:
        session.expire(user, _USER_COLUMNS_BY_USE)
    return user
