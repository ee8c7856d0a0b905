"""On the demo, the tracking page is the residents' inbox: every notice the demo sent a reporter
is on their page (the demo has no SMS gateway)."""
from __future__ import annotations

import sqlalchemy as sa

from models import Notification, Ticket, TicketStatus, db


def test_demo_reporters_read_their_notices_on_the_tracking_page(demo, app, client):
    with app.app_context():
        closed = db.session.execute(sa.select(Ticket).where(
            Ticket.status == TicketStatus.CLOSED, Ticket.reporter_phone.is_not(None),
            Ticket.duplicate_of_id.is_(None)).order_by(Ticket.id)).scalars().first()
        rows = db.session.execute(sa.select(Notification).where(
            Notification.ticket_id == closed.id,
            Notification.recipient_address == closed.reporter_phone)).scalars().all()
        code, number, phone = closed.tracking_code, closed.number, closed.reporter_phone
    assert {r.template for r in rows} >= {"reporter_closed"}
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert f"您反映的问题（工单号 {number}）已办结" in page
    assert page.count('class="p-notice"') == len(rows)
    assert phone not in page  # the number is not printed on a public page
