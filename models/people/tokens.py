"""Issuing and checking API tokens. Tokens are shown once and stored only as SHA-256 hashes."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from models.areas.hierarchy import Area
from models.base import db, utcnow
from models.people.accounts import authenticate, signed_in_user
from models.people.api_clients import ApiClient, UserToken, hash_token, new_token
from models.people.user import User
from models.reference_cache import cached

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
    grant = _grant(ApiClient, token)
    if grant is None:
        return None
    client = db.session.get(ApiClient, grant.id)
    if client is None or not client.active:
        return None
    _touch(ApiClient, grant)
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
    """The user a personal token acts as, without a query: the token and the user are cached,
    and revoking the token, deactivating the user or a new password reach every process at
    their next request (models/reference_cache.py)."""
    grant = _grant(UserToken, token)
    if grant is None or (grant.expires_at is not None and grant.expires_at < utcnow()):
        return None
    user = signed_in_user(grant.user_id)
    if user is None or not user.active:
        return None
    _touch(UserToken, grant)
    return user


# --- tokens in the reference cache ------------------------------------------------------------

TOKEN_CACHE_SECONDS = 60.0  # a short life on top of the versions: the cache never grows stale


class TokenGrant(NamedTuple):
    """A valid token as this process remembers it (never the token, only its hash's row)."""

    id: int
    user_id: int | None
    expires_at: datetime | None
    last_used_at: datetime | None


def _load_grant(model, digest: str) -> TokenGrant | None:
    if model is UserToken:
        query = sa.select(UserToken.id, UserToken.user_id, UserToken.expires_at,
                          UserToken.last_used_at).where(UserToken.token_hash == digest,
                                                        UserToken.revoked_at.is_(None))
    else:
        query = sa.select(ApiClient.id, sa.null(), sa.null(), ApiClient.last_used_at).where(
            ApiClient.token_hash == digest, ApiClient.active.is_(True))
    row = db.session.execute(query).first()
    return TokenGrant(*row) if row is not None else None


def _grant(model, token: str | None) -> TokenGrant | None:
    if not token:
        return None
    digest = hash_token(token)
    return cached(("tokens",), (model.__tablename__, digest), lambda: _load_grant(model, digest),
                  ttl=TOKEN_CACHE_SECONDS)


_touched: dict[tuple[str, int], tuple[TokenGrant, datetime]] = {}


def _touch(model, grant: TokenGrant) -> None:
    """Record the use in its own short transaction, at most once a minute per token: reads end
    in a rollback, and holding the row's lock through a request would run an integration's
    requests (one token) one by one."""
    now = utcnow()
    key = (model.__tablename__, grant.id)
    remembered = _touched.get(key)
    last = remembered[1] if remembered is not None and remembered[0] is grant \
        else grant.last_used_at
    if last is not None and now - last < LAST_USED_RESOLUTION:
        return
    _touched[key] = (grant, now)
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.update(model).where(
                model.id == grant.id, sa.or_(model.last_used_at.is_(None),
                                             model.last_used_at < now - LAST_USED_RESOLUTION))
                .values(last_used_at=now))
    except sa.exc.OperationalError:
        pass  # best effort: a busy SQLite file must not refuse the request
