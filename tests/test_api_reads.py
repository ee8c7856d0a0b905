"""The API's reads from plain rows (one statement) give, parsed, the JSON the ORM rendering gives.

The oracle is the ORM rendering that answered GET /api/v1/tickets/… before (views.api.ticket_json,
still what intake answers with): it loads the ticket, its relations, tasks, timeline and
attachments through the ORM, one query each. Every demo ticket is compared, as read by people of
each role and by an integration client, and several list pages (filters, cursors).
"""
from __future__ import annotations

import json
from itertools import combinations

import pytest
import sqlalchemy as sa
from flask import g

from models import Ticket, TicketStatus, User, db
from models.people.tokens import create_api_client
from models.tickets.actions import RULES
from models.tickets.workflow import candidate_actions
from models.vocabulary import Role

ROLES = (Role.ADMIN, Role.STREET_CENTRE, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.HANDLER,
         Role.LEADER)


def _user(role: Role) -> User:
    """The demo's busiest person of this role (the most tickets to compare)."""
    counts = {u.id: 0 for u in db.session.execute(
        sa.select(User).where(User.role == role, User.active.is_(True))).scalars()}
    for user_id in db.session.execute(sa.select(Ticket.assigned_user_id).where(
            Ticket.assigned_user_id.in_(list(counts)))).scalars():
        counts[user_id] += 1
    return db.session.get(User, max(counts, key=lambda k: (counts[k], -k)))


def _token(client, user: User) -> str:
    from werkzeug.security import generate_password_hash

    user.password_hash = generate_password_hash("reads-test-1", method="pbkdf2:sha256:1000")
    db.session.commit()
    response = client.post("/api/v1/auth/token",
                           json={"username": user.username, "password": "reads-test-1"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def _orm_json(app, principal, ticket_id: int, *, with_timeline: bool) -> dict:
    """What the ORM path renders (the oracle), through Flask's own encoder, parsed."""
    from views.api import ticket_json

    with app.test_request_context("/api/v1/"):
        g.principal = principal
        ticket = db.session.get(Ticket, ticket_id)
        body = ticket_json(ticket, principal, with_timeline=with_timeline)
        return json.loads(app.json.dumps(body))


def _principals(app, client):
    with app.app_context():
        found = []
        for role in ROLES:
            user = _user(role)
            found.append((role.value, ("user", user.id), _token(client, user), user.id))
        street = db.session.execute(sa.select(User).where(User.role == Role.STREET_CENTRE)
                                    ).scalars().first().scope_area
        api_client, token = create_api_client("读取对照", street)
        db.session.commit()
        found.append(("client", ("client", api_client.id), token, None))
        return found


@pytest.fixture(scope="module")
def readers(app, demo):
    client = app.test_client()
    return client, _principals(app, client)


def _reload(who):
    from models import ApiClient
    from views.api import Principal

    kind, ident = who
    if kind == "user":
        return Principal(user=db.session.get(User, ident))
    return Principal(client=db.session.get(ApiClient, ident))


def test_read_one_equals_the_orm_rendering_for_every_demo_ticket(app, readers, clock_held):
    client, principals = readers
    with app.app_context():
        ids = db.session.execute(sa.select(Ticket.id).order_by(Ticket.id)).scalars().all()
        assert len(ids) >= 500
        compared = 0
        for name, principal, token, _uid in principals:
            principal = _reload(principal)
            seen = set(db.session.execute(sa.select(Ticket.id).where(principal.scope())).scalars())
            for ticket_id in ids:
                # The administrator reads every ticket; the others a sample of what they see
                # and of what they do not (a 404), which keeps the test to seconds.
                if name != "admin" and ticket_id % (5 if ticket_id in seen else 25):
                    continue
                response = client.get(f"/api/v1/tickets/{ticket_id}",
                                      headers={"Authorization": f"Bearer {token}"})
                if ticket_id not in seen:
                    assert response.status_code == 404, (name, ticket_id)
                    continue
                assert response.status_code == 200, (name, ticket_id, response.get_json())
                expected = _orm_json(app, principal, ticket_id, with_timeline=True)
                assert response.get_json() == expected, (name, ticket_id)
                compared += 1
        assert compared >= len(ids)  # the administrator's view of every ticket, and more


LISTS = ("limit=100", "status=pending,in_progress&limit=50", "overdue=true&limit=50",
         "status=closed&limit=30", "supervision=any", "assignee=me")


@pytest.mark.parametrize("query", LISTS)
def test_list_pages_equal_the_orm_rendering(app, readers, query, clock_held):
    client, principals = readers
    with app.app_context():
        for name, principal, token, _uid in principals:
            if name not in ("admin", "street_centre", "handler", "grid_worker", "client"):
                continue
            principal = _reload(principal)
            if principal.user is None and "assignee=me" in query:
                continue
            url, pages = f"/api/v1/tickets?{query}", 0
            while url and pages < 2:  # the first page and a deeper one through the cursor
                response = client.get(url, headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200, (name, query, response.get_json())
                body = response.get_json()
                expected = [_orm_json(app, principal, item["id"], with_timeline=False)
                            for item in body["items"]]
                assert body["items"] == expected, (name, query)
                ordered = [(item["created_at"], item["id"]) for item in body["items"]]
                assert ordered == sorted(ordered, reverse=True)
                url = f"/api/v1/tickets?{query}&cursor={body['next']}" if body["next"] else None
                pages += 1


def test_the_precomputed_action_table_is_the_rule_table():
    """For every state and every set of relations, the table offers what RULES allow."""
    relations = sorted({who for rule in RULES.values() for who in rule.who})
    for status in TicketStatus:
        for size in range(len(relations) + 1):
            for mine in combinations(relations, size):
                expected = [name for name, rule in RULES.items()
                            if status in rule.from_statuses and set(mine) & rule.who]
                assert list(candidate_actions(status, frozenset(mine))) == expected


def test_threads_reading_a_scope_at_once_share_one_statement(app):
    """Threads of a worker that read one ticket in a new scope at the same moment must all run
    the statement kept for it: SQLAlchemy's cached compilation belongs to the first object run,
    and every run of another, equal object paid for adapting its result columns (~9 % of a read's
    CPU under load, seen with py-spy)."""
    import threading

    from models.tickets import reading

    reading._BY_ID.clear()
    barrier = threading.Barrier(8)
    got = []

    def build():
        with app.app_context():
            barrier.wait()
            got.append(reading._statement_by_id(True, sa.true(), False))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(statement is got[0] for statement in got)


def test_an_intake_answers_as_the_orm_renders_the_new_ticket(app, readers, monkeypatch):
    """Intake answers from what it has just written (reading.new_ticket_row), and reads the
    ticket again when dispatch went further (a co-handling task, demo category 0901): either
    way, parsed, what the ORM renders of the new ticket — for staff and for an integration
    client, at coordinates and at a community picked by code, for every sub-category."""
    import views.api
    from models import Area, Category
    from models.vocabulary import AreaLevel

    reads = []
    real_read = views.api.read_ticket_row
    monkeypatch.setattr(views.api, "read_ticket_row",
                        lambda *a, **k: reads.append(a[0]) or real_read(*a, **k))
    client, principals = readers
    with app.app_context():
        codes = db.session.execute(sa.select(Category.code).where(
            Category.parent_id.is_not(None), Category.active.is_(True))).scalars().all()
        places = {}
        for name, principal, _token, _uid in principals:
            scope = _reload(principal).client.scope_area if name == "client" else None
            areas = db.session.execute(sa.select(Area).where(Area.active.is_(True), Area.level.in_(
                (AreaLevel.GRID, AreaLevel.COMMUNITY))).order_by(Area.id)).scalars().all()
            areas = [a for a in areas if scope is None or a.is_within(scope)]
            places[name] = [{"lat": a.centroid_lat, "lon": a.centroid_lon}
                            if a.level == AreaLevel.GRID else {"area_code": a.code}
                            for a in areas[::max(1, len(areas) // 7)]]
    answered = 0
    for name, principal, token, _uid in principals:
        if name not in ("admin", "street_centre", "community_staff", "client"):
            continue
        for i, code in enumerate(codes):
            body = {"category": code, "description": f"对照 {name} {code}",
                    "reporter_phone": "13900001111", **places[name][i % len(places[name])]}
            response = client.post("/api/v1/tickets", json=body,
                                   headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 201, (name, body, response.get_json())
            answer = response.get_json()
            answer.pop("possible_duplicates")
            if answer.pop("outside_your_area", False):  # (intake only, as the duplicates)
                assert answer.pop("notice") and name in ("street_centre", "community_staff")
            with app.app_context():
                expected = _orm_json(app, _reload(principal), answer["id"], with_timeline=False)
            assert answer == expected, (name, body)
            answered += 1
    assert answered >= 4 * len(codes)
    assert 0 < len(reads) < answered  # both ways were taken: read again (co-handling) and not
