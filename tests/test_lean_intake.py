"""The lean intake: everything decided before the first write, the ticket row written once,
numbers taken inside the intake's transaction (issue 14)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from models import Ticket, TicketEvent, db
from models.tickets.intake import Report, report_ticket
from models.vocabulary import Source

GRID1 = {"lat": 30.006, "lon": 120.004}  # inside 甲一网格 (tests/factories.py)

def _report(world, **extra) -> Report:
    return Report(category_id=world.categories["garbage"].id, description="垃圾桶满溢",
                  lat=GRID1["lat"], lon=GRID1["lon"], source=Source.PHONE,
                  reporter_phone="13900001111", **extra)


def _writes_to_tickets(fn):
    """The INSERT and UPDATE statements on the tickets table while ``fn`` runs."""
    seen = []

    def listen(_conn, _cursor, statement, *_args):
        head = statement.lstrip().split(None, 3)
        if head[:1] == ["INSERT"] and head[2:3] == ["tickets"] or \
                head[:2] == ["UPDATE", "tickets"]:
            seen.append(head[0])

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        result = fn()
        db.session.flush()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    return result, seen


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
