"""Issuing and checking API tokens. Tokens are shown once and stored only as SHA-256 hashes."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from models.areas.hierarchy import Area
from models.base import db, utcnow
from models.people.accounts import authenticate
from models.people.api_clients import ApiClient, UserToken, hash_token, new_token
from models.people.user import User

USER_TOKEN_DAYS = 30
# last_used_at is written at most this often: each write locks the token's row until the request
# ends, and an integration sends all its requests with one token.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_api_client(name: str, scope: Area | None = None) -> tuple[ApiClient, str]:
    """A new integration client and its token (the only time the token is visible)."""
    name = (name or "").strip()
    if not name:
        raise ValueError("the client needs a name")
    if db.session.execute(sa.select(ApiClient.id).where(ApiClient.name == name)).first():
        raise ValueError(f"an API client named {name!r} already exists")
    token = new_token("gdc")
    client = ApiClient(name=name, token_hash=hash_token(token), token_hint=token[:10],
                       scope_area=scope, active=True)
    db.session.add(client)
    db.session.flush()
    return client, token


def client_for_token(token: str | None) -> ApiClient | None:
    if not token:
        return None
    client = db.session.execute(sa.select(ApiClient).where(
        ApiClient.token_hash == hash_token(token), ApiClient.active.is_(True))).scalar_one_or_none()
    if client is not None:
        _touch(client)
    return client


def issue_user_token(username: str, password: str, *, address: str | None):
    """(token, LoginResult) for good credentials, else (None, the LoginResult), with the same
    limits on guessing as the login page."""
    result = authenticate(username, password, address=address)
    if result.user is None:
        return None, result
    token = new_token("gdu")
    db.session.add(UserToken(user_id=result.user.id, token_hash=hash_token(token),
                             expires_at=utcnow() + timedelta(days=USER_TOKEN_DAYS)))
    return token, result


def user_for_token(token: str | None) -> User | None:
    if not token:
        return None
    row = db.session.execute(sa.select(UserToken).where(
        UserToken.token_hash == hash_token(token), UserToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or (row.expires_at is not None and row.expires_at < utcnow()):
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    _touch(row)
    return user


def _touch(row: ApiClient | UserToken) -> None:
    """Record the use in its own short transaction: reads end in a rollback, and holding the
    row's lock through a request would run an integration's requests (one token) one by one."""
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_RESOLUTION:
        return
    model = type(row)
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.update(model).where(
                model.id == row.id, sa.or_(model.last_used_at.is_(None),
                                           model.last_used_at < now - LAST_USED_RESOLUTION))
                .values(last_used_at=now))
    except sa.exc.OperationalError:
        pass  # best effort: a busy SQLite file must not refuse the request
    set_committed_value(row, "last_used_at", now)
