"""docs/api_walkthrough.py, the integrator's script that knows only the OpenAPI document, walks a
report through the whole loop on the demo district served over HTTP."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import Ticket, TicketStatus, db
from models.tickets.tables import Attachment

from .conftest import served

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "api_walkthrough.py"


@pytest.fixture()
def served_demo(app, demo):
    with served(app) as base_url:
        yield base_url


def test_the_openapi_only_script_closes_a_ticket_with_the_right_roles(served_demo, app):
    spec = importlib.util.spec_from_file_location("api_walkthrough", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    lines = []
    final = script.walk(served_demo, say=lines.append)

    assert final["status"] == "closed" and final["rework_count"] == 1 and final["rating"] == 5
    assert [e["action"] for e in final["timeline"]] == [
        "create", "dispatch", "accept", "note", "submit", "reject", "note", "submit", "approve",
        "follow_up"]
    steps = [line.split(":")[0] for line in lines[1:]]
    assert [s.split(" by ")[0] for s in steps] == list(script.LOOP)
    doers = dict(s.split(" by ") for s in steps)
    assert doers["accept"] != doers["reject"]  # the handler is not the reviewer
    with app.app_context():
        ticket = db.session.execute(sa.select(Ticket).where(
            Ticket.number == final["number"])).scalar_one()
        assert ticket.status == TicketStatus.CLOSED
        photos = db.session.execute(sa.select(sa.func.count(Attachment.id)).where(
            Attachment.ticket_id == ticket.id)).scalar_one()
        assert photos == 2  # an after photo with each submission
