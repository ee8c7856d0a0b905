"""Keeping the statistics current: fold a ticket's timeline into facts, daily and monthly rows.

Folding a ticket replaces its facts with the ones its whole timeline gives now and moves the
daily sums by the difference, so a ticket folded any number of times, in any order, leaves the
same rows as a rebuild from nothing (a correction of its grid or category moves its counts).

Every appended event marks its ticket (``mark_changed``, same transaction as the event); the
scheduler's ``fold_until_current`` folds the marked tickets every 30 s, batch after batch until
none is left. ``rebuild`` recomputes a date range from the tickets and events themselves
(``run.py rebuild-rollups``).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from time import monotonic

import sqlalchemy as sa

from models.base import db
from models.clock import local_day_start, next_month
from models.driver import insert_statement, run
from models.stats.facts import ticket_facts
from models.stats.tables import (DIMENSIONS, MEASURES, StatsDaily, StatsFact, StatsMonthly,
                                 StatsPending)

FOLD_BATCH = 500
FOLD_LIMIT = 5000  # marks read per batch
FOLD_BUDGET_SECONDS = 20.0  # per scheduler run (every 30 s)
LOCK_KEY = 0x7374_6174  # "stat"
log = logging.getLogger("griddesk.stats")
_MARK_ONE = insert_statement(StatsPending.__table__, ["ticket_id"])


def mark_changed(ticket) -> None:
    """The ticket's timeline changed: fold it again (called by append_event)."""
    db.session.add(StatsPending(ticket=ticket))


def mark_changed_rows(connection, ticket_ids: list[int]) -> None:
    """``mark_changed`` for tickets written below the ORM: one mark per id, one statement."""
    if len(ticket_ids) == 1:  # one reported ticket: a plain INSERT, not the many-rows path
        run(connection, _MARK_ONE, {"ticket_id": ticket_ids[0]})
    elif ticket_ids:
        connection.execute(StatsPending.__table__.insert(), [{"ticket_id": i} for i in ticket_ids])


def changes_waiting(scope: sa.ColumnElement[bool] = sa.true(), cap: int = 10_000) -> int:
    """How many changes of the tickets ``scope`` selects wait to be folded into the figures
    (counted up to ``cap`` + 1: a scheduler stopped for days must not make the dashboard count
    millions of marks)."""
    from models.tickets.tables import Ticket

    marks = (sa.select(StatsPending.id).join(Ticket, Ticket.id == StatsPending.ticket_id)
             .where(scope).limit(cap + 1).subquery())
    return db.session.execute(sa.select(sa.func.count()).select_from(marks)).scalar_one()


def fold_pending(limit: int = FOLD_LIMIT) -> int:
    """Fold the marked tickets (at most ``limit`` marks); returns how many tickets were folded."""
    return _fold_marks(limit)[0]


def fold_until_current(budget_seconds: float = FOLD_BUDGET_SECONDS,
                       limit: int | None = None) -> int:
    """The scheduler's job: fold batch after batch until no mark is left, so that after a burst
    of intake "today" is still current at the next run (every 30 s), not a batch per run behind;
    stops after ``budget_seconds`` (the next run goes on). Returns the tickets folded."""
    started, total = monotonic(), 0
    while True:
        folded, more = _fold_marks(limit or FOLD_LIMIT)
        total += folded
        # No progress (a full batch of tickets that cannot be folded) waits for the next run.
        if not more or not folded or monotonic() - started >= budget_seconds:
            return total


def _fold_marks(limit: int) -> tuple[int, bool]:
    """(tickets folded, whether more marks may be waiting: the batch was full)."""
    rows = db.session.execute(
        sa.select(StatsPending.id, StatsPending.ticket_id).order_by(StatsPending.id).limit(limit)
    ).all()
    if not rows:
        return 0, False
    _serialize()
    ticket_ids = sorted({ticket_id for _id, ticket_id in rows})
    failed: set[int] = set()
    for start in range(0, len(ticket_ids), FOLD_BATCH):
        failed |= _fold_guarded(ticket_ids[start:start + FOLD_BATCH])
    # A ticket that failed keeps its marks (tried again next run); the others go on.
    marker_ids = [marker for marker, ticket_id in rows if ticket_id not in failed]
    for start in range(0, len(marker_ids), FOLD_BATCH):
        db.session.execute(sa.delete(StatsPending).where(
            StatsPending.id.in_(marker_ids[start:start + FOLD_BATCH])))
    db.session.commit()
    return len(ticket_ids) - len(failed), len(rows) == limit


def _fold_guarded(ticket_ids: list[int]) -> set[int]:
    """Fold a batch; if it fails, each ticket alone, so one bad timeline holds up no other."""
    try:
        with db.session.begin_nested():
            fold_tickets(ticket_ids)
        return set()
    except Exception:  # noqa: BLE001 - logged, retried per ticket below
        log.exception("folding %s tickets failed; folding them one by one", len(ticket_ids))
    failed = set()
    for ticket_id in ticket_ids:
        try:
            with db.session.begin_nested():
                fold_tickets([ticket_id])
        except Exception:  # noqa: BLE001
            log.exception("statistics: ticket %s could not be folded", ticket_id)
            failed.add(ticket_id)
    return failed


def _serialize() -> None:
    """One writer of the rollups at a time (the scheduler's fold, a rebuild): on PostgreSQL a
    transaction-level advisory lock; SQLite serializes writers itself."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def fold_tickets(ticket_ids: list[int], day_from: date | None = None,
                 day_to: date | None = None) -> None:
    """Replace these tickets' facts (those within the day range, if given) and move the daily
    and monthly sums."""
    old = _old_facts(ticket_ids, day_from, day_to)
    new = [fact for fact in _new_facts(ticket_ids) if _within(fact["day"], day_from, day_to)]
    if old:
        db.session.execute(StatsFact.__table__.delete().where(
            StatsFact.id.in_([row["id"] for row in old])))
    if new:
        db.session.execute(StatsFact.__table__.insert(), new)
    delta: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for sign, facts in ((-1, old), (1, new)):
        for fact in facts:
            sums = delta[_key(fact)]
            for name in MEASURES:
                sums[name] += sign * (fact.get(name) or 0)
    _apply(delta)


def rebuild(day_from: date, day_to: date) -> int:
    """Recompute the facts and daily rows of the days from ``day_from`` to ``day_to``
    (inclusive) from the tickets and their events; returns the number of tickets read."""
    start, end = local_day_start(day_from), local_day_start(day_to + timedelta(days=1))
    from models.tickets.tables import TicketEvent

    _serialize()
    ids = db.session.scalars(
        sa.select(TicketEvent.ticket_id).where(TicketEvent.created_at >= start,
                                               TicketEvent.created_at < end)
        .distinct().order_by(TicketEvent.ticket_id)).all()
    db.session.execute(sa.delete(StatsDaily).where(StatsDaily.day >= day_from,
                                                   StatsDaily.day <= day_to))
    # Every fact of the range goes (also a deleted ticket's); the tickets with events there
    # give them back.
    db.session.execute(sa.delete(StatsFact).where(StatsFact.day >= day_from,
                                                  StatsFact.day <= day_to))
    for offset in range(0, len(ids), FOLD_BATCH):
        fold_tickets(list(ids[offset:offset + FOLD_BATCH]), day_from, day_to)
    refresh_months(day_from, day_to)  # the folds above added to the months' old sums
    db.session.commit()
    return len(ids)


def _within(day: date, day_from: date | None, day_to: date | None) -> bool:
    return (day_from is None or day >= day_from) and (day_to is None or day <= day_to)


def _key(fact: dict) -> tuple:
    return (fact["day"],) + tuple(fact[name] or 0 for name in DIMENSIONS)


def _old_facts(ticket_ids, day_from, day_to) -> list[dict]:
    query = sa.select(StatsFact).where(StatsFact.ticket_id.in_(ticket_ids))
    if day_from is not None:
        query = query.where(StatsFact.day >= day_from)
    if day_to is not None:
        query = query.where(StatsFact.day <= day_to)
    columns = StatsFact.__table__.columns.keys()
    return [{name: getattr(row, name) for name in columns}
            for row in db.session.scalars(query)]


def _new_facts(ticket_ids) -> list[dict]:
    from models.tickets.tables import Ticket, TicketEvent

    tickets = {t.id: t for t in db.session.execute(
        sa.select(Ticket.id, Ticket.district_id, Ticket.street_id, Ticket.community_id,
                  Ticket.grid_id, Ticket.category_id, Ticket.source)
        .where(Ticket.id.in_(ticket_ids))).all()}
    events = defaultdict(list)
    for event in db.session.execute(
            sa.select(TicketEvent.ticket_id, TicketEvent.seq, TicketEvent.action,
                      TicketEvent.to_status, TicketEvent.created_at, TicketEvent.details,
                      TicketEvent.actor_user_id, TicketEvent.from_user_id,
                      TicketEvent.to_user_id, TicketEvent.from_department_id,
                      TicketEvent.to_department_id)
            .where(TicketEvent.ticket_id.in_(ticket_ids))
            .order_by(TicketEvent.ticket_id, TicketEvent.seq)).all():
        events[event.ticket_id].append(event)
    facts: list[dict] = []
    for ticket_id, ticket in tickets.items():
        facts.extend(ticket_facts(ticket, events[ticket_id]))
    return facts


def _apply(delta: dict[tuple, dict]) -> None:
    """Add the differences to the daily rows and to their months' rows."""
    monthly: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for (day, *dimensions), sums in delta.items():
        target = monthly[(day.replace(day=1), *dimensions)]
        for name in MEASURES:
            target[name] += sums[name]
    _add_to_rows(StatsDaily, "day", delta)
    _add_to_rows(StatsMonthly, "month", monthly)


def _add_to_rows(model, period: str, delta: dict[tuple, dict]) -> None:
    """Add the differences to ``model``'s rows keyed (period, *DIMENSIONS), creating missing
    ones and dropping emptied ones."""
    delta = {key: sums for key, sums in delta.items() if any(sums.values())}
    key_columns = [getattr(model, period)] + [getattr(model, name) for name in DIMENSIONS]
    keys = list(delta)
    existing: dict[tuple, dict] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start:start + 200]
        for row in db.session.execute(
                sa.select(model.__table__).where(sa.tuple_(*key_columns).in_(chunk))
        ).mappings():
            existing[(row[period],) + tuple(row[name] for name in DIMENSIONS)] = dict(row)
    inserts, updates, deletes = [], [], []
    for key, sums in delta.items():
        row = existing.get(key)
        if row is None:
            inserts.append({period: key[0], **dict(zip(DIMENSIONS, key[1:])), **sums})
            continue
        values = {name: (row[name] or 0) + sums[name] for name in MEASURES}
        if any(values.values()):
            updates.append({"id": row["id"], **values})
        else:
            deletes.append(row["id"])
    table = model.__table__
    if inserts:
        db.session.execute(table.insert(), inserts)
    if updates:
        db.session.execute(table.update().where(table.c.id == sa.bindparam("row_id")).values(
            {name: sa.bindparam(name) for name in MEASURES}),
            [{"row_id": u.pop("id"), **u} for u in updates])
    if deletes:
        db.session.execute(table.delete().where(table.c.id.in_(deletes)))


def refresh_months(first: date, last: date) -> None:
    """The monthly rows of the months from ``first``'s to ``last``'s summed again from the
    daily rows (after a rebuild of days, or to fill the table)."""
    first, after = first.replace(day=1), next_month(last)
    db.session.execute(sa.delete(StatsMonthly).where(StatsMonthly.month >= first,
                                                     StatsMonthly.month < after))
    if db.session.get_bind().dialect.name == "postgresql":
        month = sa.cast(sa.func.date_trunc("month", sa.cast(StatsDaily.day, sa.DateTime)),
                        sa.Date)
    else:
        month = sa.func.date(StatsDaily.day, "start of month")
    dimensions = [getattr(StatsDaily, name) for name in DIMENSIONS]
    db.session.execute(sa.insert(StatsMonthly).from_select(
        ["month", *DIMENSIONS, *MEASURES],
        sa.select(month, *dimensions, *(sa.func.sum(getattr(StatsDaily, name))
                                        for name in MEASURES))
        .where(StatsDaily.day >= first, StatsDaily.day < after)
        # In month order: a month's rows lie together on disk, as they do when the fold adds
        # them month after month (read scattered, a city's month took 8× as long).
        .group_by(month, *dimensions).order_by(month)))
