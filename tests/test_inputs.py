"""Numbers past a column's range, in a URL or a form, are "no such row" — never a database error
(on PostgreSQL they used to end in "integer out of range", a 500)."""
from __future__ import annotations

import sqlalchemy as sa

from models import Ticket, db

from .conftest import session_csrf_token
from .factories import make_ticket

HUGE = "9" * 25
PAST_INTEGER = str(2 ** 31)


def test_a_huge_id_in_a_url_is_not_found(world, login_as):
    client = login_as("gridworker")
    assert client.get(f"/m/tickets/{HUGE}").status_code == 404
    assert client.get(f"/m/tickets/{2 ** 63}").status_code == 404


def test_out_of_range_numbers_in_phone_forms_are_refused_and_change_nothing(world, login_as):
    ticket = make_ticket(world, "grid1", assignee=world.users["gridworker"])
    db.session.commit()
    client = login_as("gridworker")
    headers = {"X-CSRFToken": session_csrf_token(client), "Accept": "application/json"}
    before = ticket.version
    acted = client.post(f"/m/api/tickets/{ticket.id}/actions/accept", data={"version": HUGE},
                        headers=headers)
    assert acted.status_code == 422
    reported = client.post("/m/api/reports", headers=headers, data={
        "category_id": PAST_INTEGER, "description": "路边垃圾堆", "lat": "30.005", "lon": "120.005"})
    assert reported.status_code == 422
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).version == before
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one() == 1


def test_out_of_range_filters_on_the_board_are_ignored(world, login_as):
    client = login_as("community")
    assert client.get(f"/admin/board/?area={PAST_INTEGER}&category={HUGE}").status_code == 200
