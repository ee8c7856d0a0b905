"""Reference data cached per process, dropped everywhere the moment a change commits.

Configuration (areas, categories, departments, users, dispatch rules, the work calendar, API
tokens) is read on every request but changes a few times a day. Each kind has a row in
``reference_versions``; a flush that creates, changes or deletes a row of that kind raises the
kind's version on the same connection, in the same transaction (``_after_flush`` below, whoever
made the change: admin panel, command line, import, a domain operation). So a change and its new
version commit together, and every web worker and the scheduler see both at once.

Checking costs one tiny query per database transaction (all versions at once, remembered in the
session until the transaction ends) — in practice once per request or per scheduler step; the API's
read of one ticket and its intake read them in a statement of their own work instead and do the
work again if they had changed (``checking_versions_afterwards`` below). Not a time-to-live: a
revoked token or a deactivated user must stop working at the very next request, in every
process. While the current transaction has changed a kind itself (not yet committed), that kind
is read again after each such change and kept in the session only: the process's cache never
holds data another transaction cannot see.

Usage (cache plain, immutable data — tuples, namedtuples, frozen dataclasses, MappingProxyType —
never ORM instances, which belong to one session)::

    from models.reference_cache import cached

    def category_labels() -> Mapping[int, str]:
        return cached(("categories",), "category_labels", _load_category_labels)

The ready-made snapshots give labels by id without touching the ORM (read-only mappings of
namedtuples): ``category_rows()[id].label`` (as ``str(Category)``), ``area_rows()[id].name``,
``area_lineage(area_id)`` ({AreaLevel: AreaRow}), ``department_rows()[id].name``,
``user_rows()[id].display_name``. Built on the same mechanism elsewhere: the work calendar
(``models.tickets.deadlines.work_calendar``), the grid index (``models.areas.locate.area_index``),
the responsibility matrix (``models.tickets.dispatch.owner_in_memory``: the owner's ids without a
query) and API tokens (``models.people.tokens``, with a 60 s life on top). ``forget()`` drops
this process's entries (tests that rewrite tables behind the ORM's back).
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from time import monotonic
from types import MappingProxyType
from typing import NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.util import identity_key

from models.base import db

T = TypeVar("T")

KINDS = ("areas", "categories", "departments", "users", "dispatch_rules", "calendar", "tokens")


class ReferenceVersion(db.Model):
    """One row per kind of reference data; its version rises with every committed change."""

    __tablename__ = "reference_versions"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)


def _start() -> int:
    """A random first version: a database built anew never repeats the versions of the last."""
    return secrets.randbits(48)


def seed_versions(connection) -> None:
    """A row for every kind that has none (new database, migration, tests' wipe)."""
    table = ReferenceVersion.__table__
    present = set(connection.execute(sa.select(table.c.name)).scalars())
    missing = [{"name": kind, "version": _start()} for kind in KINDS if kind not in present]
    if missing:
        connection.execute(table.insert(), missing)


sa.event.listen(ReferenceVersion.__table__, "after_create",
                lambda table, connection, **kw: seed_versions(connection))


# --- which changes count --------------------------------------------------------------------------

# Columns written by use, not by configuration: a login is not a change. (A token's use is
# written behind the session, models/people/tokens.py, so it never comes here.)
_IGNORED = frozenset({"last_login_at", "failed_logins", "created_at"})


def _watched() -> dict[type, str]:
    from models.areas.hierarchy import Area
    from models.calendar import WorkCalendarDay
    from models.categories import Category
    from models.people.api_clients import ApiClient, UserToken
    from models.people.department import Department
    from models.people.user import User
    from models.tickets.dispatch_rules import DispatchRule

    return {Area: "areas", Category: "categories", Department: "departments", User: "users",
            DispatchRule: "dispatch_rules", WorkCalendarDay: "calendar", ApiClient: "tokens",
            UserToken: "tokens"}


_watched_classes: dict[type, str] = {}


def kind_of(cls) -> str | None:
    if not _watched_classes:
        _watched_classes.update(_watched())
    return _watched_classes.get(cls)


def _really_changed(obj) -> bool:
    state = sa.inspect(obj)
    return any(attr.key not in _IGNORED and attr.history.has_changes() for attr in state.attrs)


def _changed_kinds(session: Session) -> set[str]:
    kinds = set()
    for objects, updated in ((session.new, False), (session.dirty, True), (session.deleted, False)):
        for obj in objects:
            kind = kind_of(type(obj))
            if kind is None or kind in kinds or (updated and not _really_changed(obj)):
                continue
            kinds.add(kind)
    return kinds


def bump(session: Session, kinds: Iterable[str]) -> None:
    """Raise the versions of ``kinds`` in the session's transaction (committed with it)."""
    kinds = sorted(set(kinds))
    if not kinds:
        return
    table = ReferenceVersion.__table__
    connection = session.connection()
    done = connection.execute(table.update().where(table.c.name.in_(kinds))
                              .values(version=table.c.version + 1)).rowcount
    if done < len(kinds):
        seed_versions(connection)
    changed = session.info.setdefault("reference_changed", {})
    for kind in kinds:
        changed[kind] = changed.get(kind, 0) + 1


def _after_flush(session: Session, _flush_context) -> None:
    kinds = _changed_kinds(session)
    if kinds:
        bump(session, kinds)


def _bulk_statement(state) -> None:
    """``session.execute(update(Area)…)`` and the like bypass the flush: count them too."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    kind = kind_of(mapper.class_) if mapper is not None else None
    if kind is not None:
        bump(state.session, [kind])


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:
        for key in ("reference_changed", "reference_versions", "reference_uncommitted", _READ):
            session.info.pop(key, None)


sa.event.listen(Session, "after_flush", _after_flush)
sa.event.listen(Session, "do_orm_execute", _bulk_statement)
sa.event.listen(Session, "after_transaction_end", _transaction_ended)


# --- the cache ------------------------------------------------------------------------------------

def current_versions(session: Session | None = None) -> Mapping[str, int]:
    """Every kind's version as this transaction sees it (one query per transaction)."""
    session = session or db.session()
    found = session.info.get("reference_versions")
    if found is None:
        found = session.info["reference_versions"] = _remember(_read_versions(session.connection()))
    return found


# --- a request that checks the versions in its own statement -------------------------------------
#
# The API's read of one ticket is one statement; the versions' own query would be a second, a
# tenth of the read's CPU (in an intake, one round trip of seven). So such a request runs
# through ``checking_versions_afterwards``: it takes the versions this process saw last, one of its
# statements reads the true ones (``versions_column``, then ``note_versions_read``; or their own
# query at the end), and if they differ everything the request took from the caches may be stale
# — its transaction is rolled back, its session forgets its objects, takes the true versions, and
# the work is done again. A request that writes confirms them before its COMMIT
# (``confirm_assumed_versions``).

_last_seen: dict[str, int] | None = None
_ASSUMED = "reference_versions_assumed"  # the versions taken; kept across a rollback
_READ = "reference_versions_read"  # the true ones, read by a statement of this transaction


class VersionsChanged(Exception):
    """The versions a request assumed were not the true ones (the argument; None: unread)."""


def _remember(versions: dict[str, int]) -> dict[str, int]:
    global _last_seen
    _last_seen = versions
    return versions


def _assume_versions(session: Session) -> bool:
    """Take the versions this process saw last as this transaction's, without a query; False
    when there are none yet or the transaction has its own already."""
    if _last_seen is None or "reference_versions" in session.info:
        return False
    session.info["reference_versions"] = session.info[_ASSUMED] = _last_seen
    return True


def versions_assumed(session: Session | None = None) -> Mapping[str, int] | None:
    """The versions the request took unread (a statement may read them with it, or write only
    while they hold), or None."""
    return (session or db.session()).info.get(_ASSUMED)


def versions_column() -> sa.ColumnElement:
    """The versions as one JSON object ({kind: version}), for a statement's column list."""
    table = ReferenceVersion.__table__
    aggregate = sa.func.json_object_agg if db.engine.dialect.name == "postgresql" \
        else sa.func.json_group_object
    return sa.type_coerce(sa.select(aggregate(table.c.name, table.c.version)).scalar_subquery(),
                          sa.JSON)


def note_versions_read(versions: Mapping[str, int], session: Session | None = None) -> None:
    """The true versions, read by the request's statement through ``versions_column``."""
    (session or db.session()).info[_READ] = dict(versions)


def _assumption_held(session: Session) -> dict[str, int] | None:
    """None when no versions were assumed or the assumed ones were true (read by a statement of
    this transaction, else now); otherwise the true versions."""
    assumed = session.info.pop(_ASSUMED, None)
    if assumed is None:
        return None
    actual = session.info.pop(_READ, None)
    if actual is None:
        actual = _read_versions(session.connection())
    _remember(actual)
    return None if actual == assumed else actual


def versions_confirmed(session: Session) -> None:
    """The versions assumed held for a statement that wrote only while they did and has
    committed (models/transactions.py): nothing is left to confirm, nor to do again."""
    session.info.pop(_ASSUMED, None)


def confirm_assumed_versions() -> None:
    """Before a request's COMMIT: when it assumed versions that were not true, roll its
    transaction back and raise ``VersionsChanged`` (``checking_versions_afterwards`` does the
    work again)."""
    session = db.session()
    actual = _assumption_held(session)
    if actual is not None:
        session.rollback()
        raise VersionsChanged(actual)


def checking_versions_afterwards(work: Callable[[], T]) -> T:
    """``work()`` — a request's work — with the reference data taken from the caches as this
    process last saw it current, confirmed afterwards by the versions one of its statements read
    (or by their own query when none did, e.g. a 404 or a refusal), and before its COMMIT by
    ``confirm_assumed_versions``: when they had changed, ``work()`` runs again with fresh copies,
    so a revoked token or a person moved elsewhere takes effect at the very next request, as with
    the check before it."""
    session = db.session()
    if not _assume_versions(session):
        return work()
    try:
        answer = work()
    except VersionsChanged as changed:
        return _again(session, changed.args[0], work)
    except Exception:
        session.rollback()  # a failed statement leaves nothing else to run (the request fails)
        actual = _assumption_held(session)
        if actual is None:
            raise
        return _again(session, actual, work)
    actual = _assumption_held(session)
    return answer if actual is None else _again(session, actual, work)


def _again(session: Session, actual: dict[str, int] | None, work: Callable[[], T]) -> T:
    session.rollback()  # an attempt that answered without its COMMIT may have written something
    session.expunge_all()
    for key in ("reference_uncommitted", _ASSUMED, _READ):
        session.info.pop(key, None)
    if actual is None:
        actual = _remember(_read_versions(session.connection()))
    session.info["reference_versions"] = actual
    return work()


def _read_versions(conn: sa.Connection) -> dict[str, int]:
    """On PostgreSQL straight through psycopg on the session's connection and transaction: two
    plain columns need none of SQLAlchemy's result set-up, which was most of this read's CPU
    (0.07 → 0.04 ms, on every API request and page)."""
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor:
            cursor.execute(_ALL_VERSIONS_SQL)
            return dict(cursor.fetchall())
    return dict(conn.execute(_ALL_VERSIONS).all())


# Built once: a statement object keeps its cache key, and this one is read on every request.
_ALL_VERSIONS = sa.select(ReferenceVersion.__table__.c.name, ReferenceVersion.__table__.c.version)
_ALL_VERSIONS_SQL = "SELECT name, version FROM reference_versions"


class _Entry(NamedTuple):
    kinds: tuple[str, ...]
    versions: tuple
    value: object
    loaded: float


_lock = threading.Lock()
_entries: dict[Hashable, _Entry] = {}


def cached(kinds: tuple[str, ...], key: Hashable, load: Callable[[], object], *,
           ttl: float | None = None):
    """``load()``'s value, computed once per process until one of ``kinds`` changes (or ``ttl``
    seconds pass). The value is shared by every request and thread of the process: it must be
    immutable. None is never kept (an unknown token must not take memory)."""
    session = db.session()
    changed = session.info.get("reference_changed")
    if changed and any(kind in changed for kind in kinds):
        return _uncommitted(session, changed, kinds, key, load)
    versions = current_versions(session)
    stamp = tuple(map(versions.get, kinds))
    entry = _entries.get(key)
    if entry is not None and entry.versions == stamp and (
            ttl is None or monotonic() - entry.loaded < ttl):
        return entry.value
    now = monotonic()
    value = load()
    if None not in stamp and value is not None:
        with _lock:
            _entries[key] = _Entry(tuple(kinds), stamp, value, now)
    return value


def _uncommitted(session: Session, changed: dict, kinds, key: Hashable, load: Callable):
    """This transaction changed one of ``kinds`` itself: what it loads stays in its session
    (until its next change of those kinds), never in the process — it may yet roll back."""
    stamp = tuple(changed.get(kind, 0) for kind in kinds)
    local = session.info.setdefault("reference_uncommitted", {})
    entry = local.get(key)
    if entry is None or entry[0] != stamp:
        entry = local[key] = (stamp, load())
    return entry[1]


def forget(*kinds: str) -> None:
    """Drop this process's entries that depend on ``kinds`` (every entry when none is named)."""
    with _lock:
        for key in [k for k, e in _entries.items() if not kinds or set(e.kinds) & set(kinds)]:
            del _entries[key]


def reference_object(model, object_id: int, kind: str):
    """Row ``object_id`` of a small reference table (users, categories) as an object of this
    request's session, without a query: copied from the process's detached copy, renewed when
    ``kind`` changes (in every process at its next request); an object the session holds
    already is that one. Every row asked for stays in the process's memory: not for areas
    (25,600 grids in a city)."""
    session = db.session()
    held = session.identity_map.get(identity_key(model, object_id))
    if held is not None:
        return held
    copy = cached((kind,), (model.__tablename__, object_id),
                  lambda: _detached(session, model, object_id))
    if copy is None:
        return None
    return session.merge(copy, load=False)  # the shared copy is only read, never attached


def _detached(session: Session, model, object_id: int):
    """The row as an object belonging to no session, read on the request's connection."""
    with Session(bind=session.connection()) as reader:
        found = reader.get(model, object_id)
        if found is not None:
            reader.expunge(found)
        return found


def frozen(mapping: dict) -> Mapping:
    """A read-only view: what a cache hands out is shared by every request of the process."""
    return MappingProxyType(mapping)


# --- snapshots of the reference tables: plain rows by id, for labels and lookups ------------------

class CategoryRow(NamedTuple):
    id: int
    code: str
    name: str
    parent_id: int | None
    active: bool

    @property
    def label(self) -> str:
        """As ``str(Category)``: "parent / name" for a sub-category."""
        parent = category_rows().get(self.parent_id) if self.parent_id else None
        return f"{parent.name} / {self.name}" if parent is not None else self.name


class AreaRow(NamedTuple):
    id: int
    code: str
    name: str
    level: object  # AreaLevel
    parent_id: int | None
    path: str
    active: bool

    def is_within(self, other) -> bool:
        """As ``Area.is_within``."""
        from models.areas.hierarchy import Area

        return Area.is_within(self, other)


class DepartmentRow(NamedTuple):
    id: int
    name: str
    kind: object  # DepartmentKind
    area_id: int
    active: bool


class UserRow(NamedTuple):
    id: int
    username: str
    display_name: str
    role: object  # Role
    scope_area_id: int | None
    department_id: int | None
    active: bool

    @property
    def label(self) -> str:
        """As ``str(User)``."""
        return f"{self.display_name}（{self.username}）"


def _rows(model, row_type) -> Mapping:
    columns = [getattr(model, name) for name in row_type._fields]
    return frozen({row[0]: row_type(*row)
                   for row in db.session.execute(sa.select(*columns)).all()})


def category_rows() -> Mapping[int, CategoryRow]:
    from models.categories import Category

    return cached(("categories",), "category_rows", lambda: _rows(Category, CategoryRow))


def area_rows() -> Mapping[int, AreaRow]:
    from models.areas.hierarchy import Area

    return cached(("areas",), "area_rows", lambda: _rows(Area, AreaRow))


def category_ids_by_code() -> Mapping[str, int]:
    return cached(("categories",), "category_ids_by_code",
                  lambda: frozen({row.code: row.id for row in category_rows().values()}))


def department_rows() -> Mapping[int, DepartmentRow]:
    from models.people.department import Department

    return cached(("departments",), "department_rows", lambda: _rows(Department, DepartmentRow))


def user_rows() -> Mapping[int, UserRow]:
    from models.people.user import User

    return cached(("users",), "user_rows", lambda: _rows(User, UserRow))


def area_lineage(area_id: int) -> Mapping:
    """{AreaLevel: AreaRow} from the district down to the area itself (empty if unknown)."""
    rows = area_rows()
    area = rows.get(area_id)
    if area is None:
        return frozen({})
    ids = [int(part) for part in area.path.strip("/").split("/") if part]
    return frozen({rows[i].level: rows[i] for i in ids if i in rows})
