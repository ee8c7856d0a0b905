"""The lean intake: everything decided before the first write, the ticket row written once,
numbers taken inside the intake's transaction (issue 14)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from models import Channel, Notification, Ticket, TicketEvent, db
from models.stats.tables import StatsPending
from models.tickets.intake import Report, report_ticket

from .conftest import statements_of, statements_sent
from models.vocabulary import Source

GRID1 = {"lat": 30.006, "lon": 120.004}  # inside 甲一网格 (tests/factories.py)

def _report(world, **extra) -> Report:
    return Report(category_id=world.categories["garbage"].id, description="垃圾桶满溢",
                  lat=GRID1["lat"], lon=GRID1["lon"], source=Source.PHONE,
                  reporter_phone="13900001111", **extra)


def writes_in(statement: str) -> list[str]:
    """What a statement writes, as "INSERT INTO table" / "UPDATE table" / "DELETE FROM table",
    its WITH queries included (not an upsert's DO UPDATE)."""
    return re.findall(r"\b(?:INSERT INTO|(?<!DO )UPDATE|DELETE FROM) \w+", statement)


def _writes_to_tickets(fn):
    """The INSERT and UPDATE statements on the tickets table while ``fn`` runs."""
    with statements_sent() as sent:
        result = fn()
        db.session.flush()
    return result, [write.split()[0] for statement in sent for write in writes_in(statement)
                    if write in ("INSERT INTO tickets", "UPDATE tickets")]


def test_an_intake_writes_the_ticket_once_placed_dispatched_and_numbered(world):
    result, writes = _writes_to_tickets(lambda: report_ticket(_report(world)))
    db.session.commit()
    ticket = result.ticket
    assert writes == ["INSERT"]  # no UPDATE of the row just inserted
    assert ticket.assigned_user_id == world.users["gridworker"].id  # the world's rule: grid worker
    assert ticket.accept_deadline is not None and ticket.handle_deadline is not None
    assert ticket.version == 1 and ticket.event_seq == 2
    actions = db.session.execute(sa.select(TicketEvent.action).where(
        TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)).scalars().all()
    assert actions == ["create", "dispatch"]


def test_a_reported_ticket_is_a_loaded_row_until_its_transaction_rolls_back(world):
    """Written below the unit of work, the ticket and its events belong to the session as rows
    it loaded (reading them sends nothing); a rollback takes them out of the session again, as
    it does with rows the unit of work inserted."""
    ticket = report_ticket(_report(world)).ticket
    db.session.flush()
    events = list(ticket.events)
    with statements_sent() as sent:
        assert (ticket.status.value, [e.action for e in events]) == ("pending",
                                                                     ["create", "dispatch"])
        assert all(event.ticket is ticket for event in events) and ticket.number
    assert sent == []
    assert ticket in db.session and all(event in db.session for event in events)
    assert not db.session.new and not db.session.dirty
    db.session.rollback()
    assert ticket not in db.session and not any(event in db.session for event in events)
    assert sa.inspect(ticket).transient and all(sa.inspect(e).transient for e in events)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.number == ticket.number)).scalar() == 0


def test_a_reported_tickets_messages_are_written_with_it_and_name_its_events(world):
    """The dispatch event's messages are written with the ticket (on PostgreSQL in its one
    statement, the ids taken with the number): each names the ticket and the event, and its
    key is the event's; a rollback takes them back with the ticket."""
    ticket = report_ticket(_report(world)).ticket
    db.session.flush()
    dispatched = [e for e in ticket.events if e.action == "dispatch"][0]
    messages = db.session.execute(sa.select(
        Notification.ticket_id, Notification.event_id, Notification.recipient_user_id,
        Notification.dedupe_key)).all()
    assert messages == [(ticket.id, dispatched.id, world.users["gridworker"].id,
                         f"event:{dispatched.id}:ticket:{ticket.id}:in_app:"
                         f"user:{world.users['gridworker'].id}")]
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() == 0


def test_a_reported_ticket_with_more_first_events_than_ids_reserved_is_written_whole(world):
    """A ticket takes a few ids for its first events with its number (PostgreSQL); further
    events appended before it is written take theirs as it is written, after those, in order."""
    from models.tickets.numbering import EVENT_IDS_RESERVED
    from models.tickets.records import open_ticket
    from models.tickets.timeline import append_event

    ticket = open_ticket(category=world.categories["garbage"], title="多条记录",
                         description="垃圾桶满溢", source=Source.PHONE, area=world.areas["grid1"])
    for _ in range(EVENT_IDS_RESERVED + 1):
        append_event(ticket, "note", note="补充")
    db.session.commit()
    events = db.session.execute(sa.select(TicketEvent.seq, TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)).all()
    assert [seq for seq, _id in events] == list(range(1, EVENT_IDS_RESERVED + 3))
    ids = [event_id for _seq, event_id in events]
    assert ids == sorted(set(ids))


def test_messages_whose_recipients_are_read_from_the_database_are_written_too(world):
    """An event on a ticket being reported whose recipients come from the database (its
    reporters, for an acceptance) writes the ticket while they are read: its messages are then
    written after it, not kept for a write that already happened."""
    from models import TicketStatus
    from models.tickets.records import open_ticket
    from models.tickets.timeline import record_event

    ticket = open_ticket(category=world.categories["garbage"], title="受理通知",
                         description="垃圾桶满溢", source=Source.PHONE, area=world.areas["grid1"],
                         reporter_phone="13900002222")
    # (no actor: reading a user expired by the fixture's commit would write the ticket first)
    accepted = record_event(ticket, "accept", to_status=TicketStatus.IN_PROGRESS)
    db.session.commit()
    assert db.session.execute(sa.select(Notification.event_id, Notification.recipient_address,
                                        Notification.template)).all() \
        == [(accepted.id, "13900002222", "reporter_accepted")]


def imported(world, ref: str) -> Ticket:
    """A ticket as the ledger import writes one: its reference set before the flush, which on
    PostgreSQL sends it through the driver's statement (models/driver.py)."""
    from models.tickets.records import open_ticket

    ticket = open_ticket(category=world.categories["garbage"], title="台账导入",
                         description="垃圾桶满溢", source=Source.IMPORT, area=world.areas["grid1"])
    ticket.external_ref = ref
    db.session.flush()
    return ticket


def test_a_refused_write_fails_as_sqlalchemy_reports_it_and_changes_nothing(world):
    """On PostgreSQL a new ticket's row goes to the driver directly (models/driver.py); a row the
    database refuses still raises SQLAlchemy's IntegrityError, which callers catch (the ledger
    import retries a batch another import wrote meanwhile: the same reference), and leaves
    nothing written."""
    imported(world, "台账-0001")
    db.session.commit()
    before = db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar()
    with pytest.raises(sa.exc.IntegrityError):
        imported(world, "台账-0001")
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar() == before


def test_numbers_of_a_day_follow_each_other_and_each_day_starts_at_one(world):
    today = datetime.now(timezone.utc)
    numbers = [report_ticket(_report(world), now=today).ticket.number for _ in range(3)]
    db.session.commit()
    yesterday = report_ticket(_report(world), now=today - timedelta(days=1)).ticket.number
    db.session.commit()
    assert [n[-4:] for n in numbers] == ["0001", "0002", "0003"]
    assert yesterday.endswith("0001") and yesterday[:10] != numbers[0][:10]


def test_a_failed_intake_leaves_at_most_a_gap_never_a_repeat(world):
    first = report_ticket(_report(world)).ticket.number
    db.session.commit()
    report_ticket(_report(world))
    db.session.rollback()  # e.g. the commit failed: its number is not reused
    second = report_ticket(_report(world)).ticket.number
    db.session.commit()
    assert second > first
    assert db.session.execute(sa.select(sa.func.count(Ticket.number.distinct()))).scalar() == 2


# --- round trips: a statement budget for one API intake -------------------------------------------

# Was 27 (29 with BEGIN and COMMIT). Now: the reference versions (on PostgreSQL read with the
# write), the duplicates, the number (on PostgreSQL with the ticket's and its first events' ids,
# once per block of intakes: models/tickets/numbering.py), the ticket with its events, their
# statistics mark and their outbox rows (one statement on PostgreSQL, in autocommit mode without
# BEGIN and COMMIT: tests/test_one_statement_intake.py; four elsewhere). The user, the category,
# the place and the answer's labels come from the process's copies.
STATEMENT_BUDGET = {"postgresql": 3, "sqlite": 7}


def test_an_api_intake_stays_within_its_statement_budget(world, app, client):
    from .test_api import new_ticket, token_for

    token = token_for(client, "community")
    assert new_ticket(client, token).status_code == 201  # caches warm, as in a running server
    answers = []
    statements = statements_of(app, lambda: answers.append(new_ticket(client, token)))
    assert answers[0].status_code == 201, answers[0].get_json()
    with app.app_context():
        dialect = db.engine.dialect.name
    assert len(statements) <= STATEMENT_BUDGET[dialect], "\n".join(statements)
    writes = [writes_in(s) for s in statements]
    every = [write for written in writes for write in written]
    # the ticket once, its events in one statement, the outbox rows in one, no UPDATE
    assert every.count("INSERT INTO tickets") == 1 and not any(w.startswith("UPDATE")
                                                                 for w in every)
    assert every.count("INSERT INTO ticket_events") == 1
    assert every.count("INSERT INTO stats_pending") == 1
    assert every.count("INSERT INTO notifications") == 1
    if dialect == "postgresql":  # the ticket, its events, their mark and messages: one trip
        assert sorted(["INSERT INTO tickets", "INSERT INTO ticket_events",
                       "INSERT INTO stats_pending", "INSERT INTO notifications"]) \
            in [sorted(w) for w in writes]
    # the outbox is de-duplicated by its unique key, not by a SELECT before each row
    assert not [s for s in statements if s.startswith("SELECT") and "FROM notifications" in s]
    # the place and the category are read from the process's copies of the reference rows
    assert not [s for s in statements if s.startswith("SELECT") and (
        "FROM areas" in s or "FROM categories" in s or "FROM users" in s)], "\n".join(statements)
    with app.app_context():
        ticket_id = answers[0].get_json()["id"]
        recipients = db.session.execute(sa.select(Notification.recipient_user_id).where(
            Notification.ticket_id == ticket_id)).scalars().all()
        assert recipients == [world.users["gridworker"].id]
        # one mark for the statistics to fold the new ticket (not one per event)
        assert db.session.execute(sa.select(sa.func.count()).where(
            StatsPending.ticket_id == ticket_id)).scalar() == 1


def test_an_api_intake_converts_no_statement_anew_on_postgresql(world, app, client):
    """psycopg turns a statement's %(name)s placeholders into $n once per process, but by its
    own limit only for statements of up to 50 parameters: the ticket's INSERT has more, and was
    parsed anew on every intake until admin_app raised the limit."""
    import psycopg._queries

    from .conftest import TEST_DATABASE_URL
    from .test_api import new_ticket, token_for

    if not (TEST_DATABASE_URL or "").startswith("postgresql"):
        pytest.skip("psycopg converts statements on PostgreSQL only")
    token = token_for(client, "community")
    assert new_ticket(client, token).status_code == 201  # converted once, as in a running server
    parsed, parse = [], psycopg._queries._query2pg_nocache

    def counting(query, encoding):
        parsed.append(bytes(query[:40]))
        return parse(query, encoding)

    psycopg._queries._query2pg_nocache = counting
    try:
        assert new_ticket(client, token).status_code == 201
    finally:
        psycopg._queries._query2pg_nocache = parse
    assert parsed == []


def test_the_outbox_writes_a_message_once_whatever_repeats_it(world):
    from models.notify.notices import notice_row, write_notice, write_notices

    ticket = report_ticket(_report(world)).ticket
    db.session.flush()
    row = dict(cause=f"test:{ticket.id}", channel=Channel.IN_APP, template="assigned",
               payload={"number": ticket.number}, user_id=world.users["admin"].id, ticket=ticket)
    first = write_notice(**row)
    assert first is not None
    assert write_notice(**row) is None  # the same message again: nothing written, no error
    # in one batch: the repeat inside the batch and the one already written are skipped
    other = dict(row, user_id=world.users["gridworker"].id)
    written = write_notices([notice_row(**other), notice_row(**other), notice_row(**row)])
    assert len(written) == 1
    db.session.commit()
    keys = db.session.execute(sa.select(Notification.dedupe_key).where(
        Notification.ticket_id == ticket.id, Notification.template == "assigned",
        Notification.dedupe_key.like("test:%"))).scalars().all()
    assert sorted(keys) == sorted({f"test:{ticket.id}:in_app:user:{world.users['admin'].id}",
                                   f"test:{ticket.id}:in_app:user:{world.users['gridworker'].id}"})


def test_a_return_writes_the_ticket_once_also_when_the_caches_are_cold(world, app, client):
    """The new deadlines are decided with autoflush off: a cache reloading (first request of a
    worker, or after a configuration change) must not write the ticket before its event does
    (two UPDATEs: version + 2, a concurrency test's flake under load)."""
    from models.reference_cache import forget

    from .test_concurrency import bearer

    worker = bearer(client, "gridworker")
    ticket = report_ticket(_report(world)).ticket
    db.session.commit()
    version = ticket.version
    forget()
    answer = client.post(f"/api/v1/tickets/{ticket.id}/actions/return",
                         json={"version": version, "note": "不属于本网格"}, headers=worker)
    assert answer.status_code == 200, answer.get_json()
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).version == version + 1


def test_a_statement_keeps_its_cursor_and_its_columns_adapters_on_postgresql(world, app, client):
    """On PostgreSQL the hot statements keep one cursor per pooled connection
    (models/driver.py): psycopg builds a result's loaders (~60 columns for a ticket) once per
    cursor, not on every run. The reads and intakes answer as before after a refused write on
    that connection and after the pool replaced it; a bulk INSERT keeps no cursor (its values
    can be thousands of rows)."""
    import psycopg

    from models.driver import _CURSORS

    from .conftest import TEST_DATABASE_URL
    from .test_api import auth, new_ticket, token_for

    if not (TEST_DATABASE_URL or "").startswith("postgresql"):
        pytest.skip("the driver's own statements run on PostgreSQL only")
    token = token_for(client, "community")
    ticket_id = new_ticket(client, token).get_json()["id"]
    first = client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token)).get_json()
    for _ in range(db.engine.pool.size() + 1):  # on each pooled connection once
        client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))
    built, transformer = [], psycopg.adapt.Transformer

    class Counting(transformer):
        def __new__(cls, *args, **kwargs):
            built.append(1)
            return transformer(*args, **kwargs)

    psycopg.adapt.Transformer = Counting
    try:
        again = [client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token)).get_json()
                 for _ in range(3)]
    finally:
        psycopg.adapt.Transformer = transformer
    assert again == [first] * 3 and built == []

    from models.bulk import insert_rows

    imported(world, "台账-0001")
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):  # refused on the statement's kept cursor
        imported(world, "台账-0001")
    db.session.rollback()
    assert imported(world, "台账-0002").id is not None  # the same cursor runs it again
    db.session.commit()
    db.session.connection().invalidate()  # the pool replaces the connection
    db.session.rollback()
    assert imported(world, "台账-0003").id is not None
    db.session.commit()
    kept = set(db.session.connection().connection.info.get(_CURSORS, {}))
    insert_rows(StatsPending.__table__, [{"ticket_id": ticket_id}] * 3)
    assert set(db.session.connection().connection.info.get(_CURSORS, {})) == kept
    db.session.rollback()
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token)).get_json() == first
    assert new_ticket(client, token).status_code == 201
