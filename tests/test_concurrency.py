"""Many people acting on one ticket at the same moment (PostgreSQL, real parallel transactions)."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from models import DispatchRule, ReportCount, ResponsibleKind, Ticket, TicketEvent, User, db
from models.areas.locate import invalidate_area_index
from models.errors import Conflict
from models.tickets.intake import Report, report_ticket
from models.tickets.public_intake import PublicReport, submit_public_report
from models.tickets.public_limits import ReportRefused
from models.tickets.workflow import Actor, perform

from .conftest import TEST_DATABASE_URL
from .factories import build_world

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="concurrency is tested on PostgreSQL (SQLite serialises all writers)")


def race(app, ticket_id: int, attempts: list[tuple[str, str, dict]], version: int) -> list:
    """Run (username, action, params) at once, each in its own session; return the winners."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list = [None] * len(attempts)

    def worker(index, username, action, params):
        with app.app_context():
            ticket = db.session.get(Ticket, ticket_id)
            user = db.session.execute(sa.select(User).where(User.username == username)).scalar_one()
            barrier.wait()
            try:
                perform(ticket, action, Actor.staff(user), expected_version=version, **params)
                db.session.commit()
                outcomes[index] = "won"
            except Conflict:
                db.session.rollback()
                outcomes[index] = "conflict"
            except Exception as exc:  # anything else is a failure of the test
                db.session.rollback()
                outcomes[index] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, *attempt)) for i, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def state(ticket_id):
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    seqs = db.session.execute(sa.select(TicketEvent.seq).where(TicketEvent.ticket_id == ticket_id)
                              .order_by(TicketEvent.seq)).scalars().all()
    return ticket, seqs


def test_many_simultaneous_actions_one_winner_no_lost_or_doubled_event(ctx, app):
    invalidate_area_index()
    world = build_world()
    db.session.add(DispatchRule(category=world.categories["garbage"], area=world.areas["district"],
                                responsible_kind=ResponsibleKind.COMMUNITY_OFFICE))
    db.session.commit()
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id, description="满溢",
                                  lon=120.004, lat=30.006)).ticket
    db.session.commit()
    tid = ticket.id
    for round_number in range(5):
        ticket, seqs = state(tid)
        version = ticket.version
        # Eight staff write a note on the same version at once.
        outcomes = race(app, tid, [("community", "note", {"note": f"第{round_number}轮{i}"})
                                   for i in range(8)], version)
        assert outcomes.count("won") == 1 and outcomes.count("conflict") == 7, outcomes
        after, after_seqs = state(tid)
        assert after.version == version + 1
        assert after_seqs == list(range(1, len(seqs) + 2))  # exactly one event more, no gap
    # A conflicting pair: the queue member accepts while a manager re-assigns.
    ticket, seqs = state(tid)
    outcomes = race(app, tid, [("community", "accept", {}),
                               ("street", "assign", {"department_id": world.departments["sanitation"].id})],
                    ticket.version)
    assert sorted(outcomes) == ["conflict", "won"], outcomes
    after, after_seqs = state(tid)
    assert len(after_seqs) == len(seqs) + 1 and after.event_seq == len(after_seqs)


def report_at_once(app, world, count: int, *, phone_of) -> list[str]:
    """``count`` residents' reports from one network at the same moment, each in its own session
    (a web worker's connection); returns "accepted" / "refused" / the unexpected error of each."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count
    category_id = world.categories["garbage"].id

    def resident(index):
        with app.app_context():
            barrier.wait()
            try:
                submit_public_report(PublicReport(
                    category_id=category_id, description=f"垃圾满溢 {index}", lat=30.005,
                    lon=120.005, phone=phone_of(index), ip="10.7.7.7"))
                db.session.commit()
                outcomes[index] = "accepted"
            except ReportRefused:
                db.session.rollback()
                outcomes[index] = "refused"
            except Exception as exc:  # anything else is a failure of the test
                db.session.rollback()
                outcomes[index] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=resident, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_simultaneous_resident_reports_cannot_slip_past_the_limit(ctx, app, monkeypatch):
    invalidate_area_index()
    world = build_world()
    db.session.commit()
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_IP_HOUR", 3)
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_PHONE_DAY", 2)
    # Eight reports from one network at once: exactly three get through.
    outcomes = report_at_once(app, world, 8, phone_of=lambda i: f"1361111{i:04d}")
    assert outcomes.count("accepted") == 3 and outcomes.count("refused") == 5, outcomes
    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one() == 3
    counts = db.session.execute(sa.select(ReportCount.key, ReportCount.count)).all()
    assert sorted(c for k, c in counts if k.startswith("ip:")) == [3]
    # The same phone from many networks at once: its last place taken once.
    db.session.execute(sa.delete(ReportCount).where(ReportCount.key.like("ip:%")))
    db.session.commit()
    monkeypatch.setitem(app.config, "PUBLIC_REPORTS_PER_IP_HOUR", 100)
    outcomes = report_at_once(app, world, 8, phone_of=lambda i: "13622220000")
    assert outcomes.count("accepted") == 2 and outcomes.count("refused") == 6, outcomes
