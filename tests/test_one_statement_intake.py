"""An API intake in two round trips on PostgreSQL (issue 14): its one write runs in autocommit
mode (no BEGIN, no COMMIT) where nothing else is written with it, and a busy process takes its
ticket numbers and ids in blocks (models/transactions.py, models/tickets/numbering.py)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import DispatchRule, Notification, Ticket, TicketEvent, User, db
from models.stats.tables import StatsPending
from models.tickets import numbering
from models.tickets.intake import report_ticket
from models.transactions import READS_POOL, SecondWriteRefused, one_statement_request

from .conftest import TEST_DATABASE_URL, statements_sent
from .test_api import auth, new_ticket, token_for
from .test_lean_intake import _report, writes_in

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="autocommit connections and sequence blocks are the PostgreSQL intake's")


def statements_by_mode(app):
    """(autocommit?, statement) of every statement sent while the block runs, on both pools."""
    with app.app_context():
        engines = tuple(db.engines.values())
    return statements_sent(*engines, with_mode=True)


def _rows_of(app, model, **where) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model).filter_by(
            **where)).scalar_one()


def test_an_api_intake_is_one_write_in_autocommit_mode(app, client, world):
    token = token_for(client, "community")
    assert new_ticket(client, token).status_code == 201  # caches warm, as in a running server
    with statements_by_mode(app) as sent:
        answer = new_ticket(client, token)
    assert answer.status_code == 201, answer.get_json()
    # no statement on a connection in a transaction: no BEGIN and no COMMIT were sent
    assert sent and all(autocommit for autocommit, _s in sent), sent
    writing = [s for _a, s in sent if writes_in(s)]
    assert len(writing) == 1 and sorted(writes_in(writing[0])) == sorted([
        "INSERT INTO tickets", "INSERT INTO ticket_events", "INSERT INTO stats_pending",
        "INSERT INTO notifications"])
    # the duplicate check runs within it: besides the write, at most the number block is read
    assert [s for _a, s in sent if "ticket_number_seq" not in s] == writing, sent
    assert [d["distance_m"] for d in answer.get_json()["possible_duplicates"]] == [0.0]
    ticket_id = answer.get_json()["id"]
    assert _rows_of(app, TicketEvent, ticket_id=ticket_id) == 2  # create, dispatch
    assert _rows_of(app, StatsPending, ticket_id=ticket_id) == 1
    assert _rows_of(app, Notification, ticket_id=ticket_id) == 1  # the grid worker's message
    with app.app_context():
        assert db.session.get(Ticket, ticket_id).number == answer.get_json()["number"]


def test_the_duplicates_found_by_the_write_are_those_nearby_open_or_lately_closed(
        app, client, world):
    """The duplicate check runs inside the write (one round trip): it finds the cases there
    before this one, nearest first, at the same distance open before closed, and closed ones
    only within the window (7 days)."""
    token = token_for(client, "community")
    closed_here = new_ticket(client, token).get_json()  # at the intake's own point
    open_here = new_ticket(client, token).get_json()
    near = new_ticket(client, token, lat=30.00602, lon=120.00402).get_json()  # ~3 m away
    old = new_ticket(client, token, lat=30.00601, lon=120.00401).get_json()
    far = new_ticket(client, token, lat=30.0075, lon=120.0055).get_json()  # ~220 m
    with app.app_context():
        db.session.execute(sa.update(Ticket).where(Ticket.id == closed_here["id"]).values(
            status="closed", closed_at=sa.func.now() - sa.text("interval '1 day'")))
        db.session.execute(sa.update(Ticket).where(Ticket.id == old["id"]).values(
            status="closed", closed_at=sa.func.now() - sa.text("interval '30 days'")))
        db.session.commit()
    with statements_by_mode(app) as sent:
        answer = new_ticket(client, token)
    assert answer.status_code == 201, answer.get_json()
    assert not [s for _a, s in sent if "ticket_number_seq" not in s and not writes_in(s)], sent
    found = answer.get_json()["possible_duplicates"]
    assert [(d["number"], d["status"], d["distance_m"]) for d in found] == [
        (open_here["number"], "pending", 0.0), (closed_here["number"], "closed", 0.0),
        (near["number"], "pending", found[2]["distance_m"])], found
    assert 2.0 < found[2]["distance_m"] < 4.0
    assert {old["number"], far["number"], answer.get_json()["number"]}.isdisjoint(
        d["number"] for d in found)


def test_an_intake_with_an_idempotency_key_stores_its_answer_in_the_same_transaction(
        app, client, world):
    token = token_for(client, "community")
    body = {"category": "0101", "description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004}
    headers = {**auth(token), "Idempotency-Key": "intake-1"}
    with statements_by_mode(app) as sent:
        first = client.post("/api/v1/tickets", json=body, headers=headers)
    assert first.status_code == 201
    writes = [(autocommit, w) for autocommit, s in sent for w in writes_in(s)]
    assert (False, "INSERT INTO tickets") in writes
    assert (False, "INSERT INTO idempotency_records") in writes
    # (the day's first number commits its base at once: see the last test)
    assert not [w for autocommit, w in writes if autocommit and "number_counters" not in w]
    again = client.post("/api/v1/tickets", json=body, headers=headers)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _rows_of(app, Ticket) == 1


def test_an_intake_whose_rule_calls_in_co_handlers_is_one_transaction(app, client, world):
    """Dispatch writes a task per co-handling department after the ticket: the ticket's own
    statement must not commit alone before them."""
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    rule.co_department_ids = [world.departments["sanitation"].id]
    db.session.commit()
    token = token_for(client, "community")
    with statements_by_mode(app) as sent:
        answer = new_ticket(client, token)
    assert answer.status_code == 201, answer.get_json()
    writes = [(autocommit, w) for autocommit, s in sent for w in writes_in(s)]
    assert (False, "INSERT INTO tickets") in writes
    assert (False, "INSERT INTO co_handling_tasks") in writes
    assert not [w for autocommit, w in writes if autocommit and "number_counters" not in w]


def test_no_write_follows_the_one_statement_and_a_write_before_it_keeps_the_transaction(
        app, world):
    gridworker = world.users["gridworker"].id
    with app.test_request_context():
        with one_statement_request():
            number = report_ticket(_report(world)).ticket.number
            with pytest.raises(SecondWriteRefused):  # it could not be undone with the ticket
                db.session.execute(sa.update(User).where(User.id == gridworker)
                                   .values(display_name="之后的修改"))
        db.session.rollback()
    assert _rows_of(app, Ticket, number=number) == 1  # committed by its own statement

    with app.test_request_context():
        db.session.execute(sa.update(User).where(User.id == gridworker)
                           .values(display_name="之前的修改"))
        with one_statement_request():
            second = report_ticket(_report(world)).ticket.number
        db.session.rollback()  # the request failed: neither write stays
    assert _rows_of(app, Ticket, number=second) == 0
    assert _rows_of(app, User, display_name="之前的修改") == 0


def _number_statements(app, fn):
    with statements_by_mode(app) as sent:
        result = fn()
    return result, [s for _a, s in sent if "ticket_number_seq" in s]


def test_a_busy_process_takes_its_numbers_in_blocks_and_one_report_at_a_time_one_number(
        app, world, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(numbering, "monotonic", lambda: clock[0])
    with app.test_request_context():
        # one report every two seconds: one number at a time, none skipped
        quiet = []
        for i in range(3):
            clock[0] += 2
            ticket, sent = _number_statements(app, lambda: report_ticket(_report(world)).ticket)
            quiet.append(ticket.number)
            # (the day's first also inserts the day's base)
            assert len(sent) == (2 if i == 0 else 1) and "generate_series(1, %(size)s)" in sent[0]
        assert [n[-4:] for n in quiet] == ["0001", "0002", "0003"]
        # twelve within the same second: numbers in blocks, one after the other
        busy, statements = [], 0
        for _ in range(12):
            clock[0] += 0.01
            ticket, sent = _number_statements(app, lambda: report_ticket(_report(world)).ticket)
            busy.append(int(ticket.number[-4:]))
            statements += len(sent)
        assert busy == list(range(4, 16))
        assert statements <= 5  # blocks of 1, 2, 3, 4, 5 … as the rate shows
        db.session.commit()
        # a block left unused for more than a second is dropped: a gap, never an older number
        clock[0] += 1.5
        later = int(report_ticket(_report(world)).ticket.number[-4:])
        assert later > busy[-1]
        db.session.commit()
    assert _rows_of(app, Ticket) == 16


def test_a_days_first_numbers_stand_when_their_transaction_rolls_back(app, world, monkeypatch):
    """The day's base is committed at once: a block numbered from it stays right after the
    intake that inserted it rolled back, and another process numbering from the base (here a
    second set of blocks) never repeats a number."""
    clock = [1000.0]
    monkeypatch.setattr(numbering, "monotonic", lambda: clock[0])
    first, other = numbering._blocks, numbering.NumberBlocks()
    with app.test_request_context():
        for _ in range(4):  # the rate makes the day's first block a block of five
            numbering._blocks._recent.append(clock[0])
        report_ticket(_report(world))
        db.session.rollback()  # its number is a gap; the base stays
        numbers = []
        for i in range(6):
            clock[0] += 0.01
            monkeypatch.setattr(numbering, "_blocks", other if i % 2 else first)
            numbers.append(report_ticket(_report(world)).ticket.number)
        db.session.commit()
    assert len(set(numbers)) == 6
    with app.app_context():
        stored = db.session.execute(sa.select(Ticket.number)).scalars().all()
    assert sorted(stored) == sorted(numbers)


def test_cases_brought_in_for_other_days_leave_the_live_intakes_blocks_alone(
        app, world, monkeypatch):
    """A ledger brings in old cases, many a second, beside the live intake: each takes one
    number of its own day, and today's block stays (the live intake still takes its numbers in
    blocks, in order)."""
    from datetime import timedelta

    from models.base import utcnow

    clock = [1000.0]
    monkeypatch.setattr(numbering, "monotonic", lambda: clock[0])
    today, old, statements = [], [], 0
    with app.test_request_context():
        for i in range(8):
            clock[0] += 0.01
            ticket, sent = _number_statements(app, lambda: report_ticket(_report(world)).ticket)
            today.append(ticket.number)
            statements += len(sent)
            earlier = utcnow() - timedelta(days=3 + i % 2)
            old.append(report_ticket(_report(world), now=earlier).ticket.number)
        db.session.commit()
    assert today == sorted(today) and statements <= 5  # (8 if each old case took the block)
    assert len(set(old)) == 8 and not set(old) & set(today)


def _reading_pool_busy(monkeypatch):
    """Every connection of the second pool taken (its pool waits for none)."""
    def busy():
        raise sa.exc.TimeoutError("all taken")
    monkeypatch.setattr(db.engines[READS_POOL], "connect", busy)


def test_with_the_second_pool_busy_an_intake_is_one_transaction_and_the_base_still_stands(
        app, client, world, monkeypatch):
    token = token_for(client, "community")
    with app.app_context():
        _reading_pool_busy(monkeypatch)
    with statements_by_mode(app) as sent:
        answer = new_ticket(client, token)
    assert answer.status_code == 201, answer.get_json()
    assert [s for autocommit, s in sent if "INSERT INTO tickets" in s and not autocommit]
    with app.test_request_context():  # tomorrow's first number, in a transaction rolled back
        from datetime import timedelta

        from models.base import utcnow
        from models.tickets.tables import TicketNumberCounter

        report_ticket(_report(world), now=utcnow() + timedelta(days=1))
        db.session.rollback()
        # its base was committed at once on a connection of the main pool, given back as it was
        assert db.session.execute(sa.select(sa.func.count()).select_from(
            TicketNumberCounter)).scalar_one() == 2
        assert not db.session.connection().connection.driver_connection.autocommit


def test_a_committed_one_statement_is_never_done_again(app, world):
    """After the ticket's statement has committed, a change of the reference data (an
    administrator's, meanwhile) must not make the request do its work again: that would store
    the ticket twice."""
    from models.reference_cache import ReferenceVersion, checking_versions_afterwards
    from models.tickets.reading import read_ticket_row
    from models.transactions import commit_answered

    from models.reference_cache import current_versions

    with app.app_context():
        current_versions()  # this process has seen the versions (it assumes them next)
    versions = ReferenceVersion.__table__
    report, runs = _report(world), []

    def work():
        runs.append(1)
        ticket = report_ticket(report).ticket
        with db.engines[READS_POOL].connect() as other:
            other.execute(sa.update(versions).where(versions.c.name == "categories")
                          .values(version=versions.c.version + 1))
        assert read_ticket_row(ticket.id, sa.true(), full=False) is not None  # (as the view)
        commit_answered()
        return ticket.number

    with app.test_request_context():
        with one_statement_request():
            number = checking_versions_afterwards(work)
    assert runs == [1]
    assert _rows_of(app, Ticket) == 1 and _rows_of(app, Ticket, number=number) == 1


def test_a_text_longer_than_its_column_is_refused_not_cut(app, world, monkeypatch):
    """The ticket's values are cast in its statement: a text too long for its column (were it
    not checked before) fails the statement, as the column refuses it; it is never cut."""
    import models.tickets.records as records

    monkeypatch.setattr(records, "check_ticket_texts", lambda **texts: None)
    with app.test_request_context():
        with pytest.raises(sa.exc.DataError):
            report_ticket(_report(world, address="长" * 300))
        db.session.rollback()
    assert _rows_of(app, Ticket) == 0
