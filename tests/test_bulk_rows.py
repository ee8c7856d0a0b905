"""Issue 14: a batch's rows in one statement (models/bulk.py; the deadline sweep's events, marks
and messages). What lands is what the ORM would have written, a message already there is
skipped, and a naive time is refused before anything is written."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from models import Channel, Notification, NotificationState, Ticket, db
from models.bulk import insert_rows, rows_source
from models.notify.notices import notice_row, write_notice

from .factories import make_ticket

BEIJING = timezone(timedelta(hours=8))


def _message(ticket, user_id: int, **changes) -> dict:
    row = notice_row(cause=f"event:0:ticket:{ticket.id}", channel=Channel.IN_APP,
                     template="overdue", payload={"number": ticket.number, "标题": "垃圾桶满溢"},
                     user_id=user_id, ticket=ticket)
    return {**row, **changes}


def test_rows_land_as_the_orm_reads_them_and_a_message_already_there_is_skipped(world):
    ticket = make_ticket(world, "grid1")
    db.session.commit()
    worker, reviewer = world.users["gridworker"].id, world.users["community"].id
    there = write_notice(cause=f"event:0:ticket:{ticket.id}", channel=Channel.IN_APP,
                         template="overdue", payload={}, user_id=worker, ticket=ticket)
    at = datetime(2026, 12, 5, 9, 30, tzinfo=BEIJING)
    written = insert_rows(Notification.__table__,
                          [_message(ticket, worker, created_at=at),
                           _message(ticket, reviewer, created_at=at)],
                          returning=("id", "recipient_user_id"), skip_conflicts_on="dedupe_key")
    db.session.commit()

    assert [row.recipient_user_id for row in written] == [reviewer]
    new = db.session.get(Notification, written[0].id)
    assert (new.channel, new.state, new.template, new.ticket_id) == (
        Channel.IN_APP, NotificationState.PENDING, "overdue", ticket.id)
    assert new.payload == {"number": ticket.number, "标题": "垃圾桶满溢"}
    assert new.created_at == at and new.created_at.tzinfo == timezone.utc
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.ticket_id == ticket.id)) == 2
    assert db.session.get(Notification, there).recipient_user_id == worker


def test_a_naive_time_is_refused_and_nothing_is_written(world):
    ticket = make_ticket(world, "grid1")
    db.session.commit()
    rows = [_message(ticket, world.users["community"].id),
            _message(ticket, world.users["gridworker"].id, created_at=datetime(2026, 12, 5, 9))]
    with pytest.raises((ValueError, sa.exc.StatementError), match="naive datetime"):
        insert_rows(Notification.__table__, rows)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_rows_as_a_table_to_update_from(world):
    one, two = make_ticket(world, "grid1"), make_ticket(world, "grid2")
    db.session.commit()
    table = Ticket.__table__
    step, params = rows_source("step", [table.c.id, table.c.title],
                               [(one.id, "路灯不亮"), (two.id, None)])
    db.session.execute(table.update().where(table.c.id == step.c.id)
                       .values(title=sa.func.coalesce(step.c.title, table.c.title)), params)
    db.session.commit()
    assert db.session.execute(sa.select(table.c.id, table.c.title).where(
        table.c.id.in_([one.id, two.id])).order_by(table.c.id)).all() == [
        (one.id, "路灯不亮"), (two.id, "垃圾桶满溢")]
