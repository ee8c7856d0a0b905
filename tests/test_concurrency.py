"""Many people acting on one ticket at the same moment (PostgreSQL, real parallel transactions):
in the domain, and through the real app over HTTP (50 conflicting API actions: one applied, 49
answered 409, one event; 200 simultaneous API intakes under Gunicorn: 200 distinct numbers)."""
from __future__ import annotations

import collections
import functools
import threading
import time
from contextlib import contextmanager

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


def test_simultaneous_resident_reports_cannot_slip_past_the_limit(ctx, app, monkeypatch,
                                                                  limits_at_one_moment):
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


# --- the same, through the real app served over HTTP ---------------------------------------------

def post_at_once(requests_to_send: list[tuple[str, dict, dict]], base: str) -> list:
    """POST every (path, json, headers) at the same moment, each from its own thread (its own
    connection to the server); returns (status, json) in order, or the exception's repr."""
    import requests

    barrier = threading.Barrier(len(requests_to_send))
    answers: list = [None] * len(requests_to_send)

    def send(index, path, body, headers):
        with requests.Session() as session:
            session.trust_env = False  # straight to 127.0.0.1, never through a proxy
            barrier.wait()
            try:
                response = session.post(base + path, json=body, headers=headers, timeout=120)
                answers[index] = (response.status_code, response.json())
            except Exception as exc:  # a failure of the test, reported with the answers
                answers[index] = repr(exc)

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests_to_send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return answers


def bearer(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username,
                                                       "password": "demo12345"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_fifty_conflicting_api_actions_over_http_one_applied_the_rest_409(world, app, client):
    from .conftest import served

    worker, community = bearer(client, "gridworker"), bearer(client, "community")
    ticket = report_ticket(Report(category_id=world.categories["garbage"].id,
                                  description="垃圾桶满溢", lon=120.004, lat=30.006)).ticket
    db.session.commit()
    before, seqs = state(ticket.id)
    version, status, assignee = before.version, before.status, before.assigned_user_id
    path = f"/api/v1/tickets/{ticket.id}/actions/"
    attempts = ([(path + "accept", {"version": version}, worker)] * 20
                + [(path + "return", {"version": version, "note": "不属于本网格"}, worker)] * 15
                + [(path + "note", {"version": version, "note": "已电话联系"}, community)] * 15)
    with served(app) as base:
        answers = post_at_once(attempts, base)
    statuses = [a[0] if isinstance(a, tuple) else a for a in answers]
    assert statuses.count(200) == 1, statuses
    winner = attempts[statuses.index(200)][0].rsplit("/", 1)[1]
    # The others are stale (409) — or, when the winner returned the ticket, the grid worker's
    # requests that arrive after that commit find it outside their scope (404): still refused.
    for (url, _body, token), answer in zip(attempts, answers):
        assert isinstance(answer, tuple), (url, answer)
        if answer[0] == 200:
            continue
        code = answer[1]["error"]["code"]
        allowed = {"conflict"} | ({"not_found"} if winner == "return" and token == worker else set())
        assert code in allowed, (url, answer)
    after, after_seqs = state(ticket.id)
    assert after.version == version + 1
    assert after_seqs == list(range(1, len(seqs) + 2)) and after.event_seq == len(after_seqs)
    last = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.seq.desc()).limit(1)).scalar_one()
    assert last.action == winner
    # The ticket is in the winner's state: accept moves its status, return its owner (a pending
    # ticket stays pending, back with the office), a note neither.
    moved = (after.status, after.assigned_user_id) != (status, assignee)
    assert moved == (winner != "note"), (winner, after.status, after.assigned_user_id)


def test_two_hundred_simultaneous_api_intakes_get_unique_numbers(world, app, tmp_path):
    """Served by Gunicorn as in production (2 workers of 4 threads): the 200 connections wait in
    its queue, not in a single process's connection pool."""
    from models.people.tokens import create_api_client

    from .processes import free_port, run_py, stop, wait_for_http

    _client, token = create_api_client("12345热线")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    reports = [("/api/v1/tickets", {"category": "0101", "description": f"垃圾桶满溢 {i}",
                                    "lat": 30.006, "lon": 120.004,
                                    "reporter_phone": f"1390000{i:04d}"}, headers)
               for i in range(200)]
    port = free_port()
    server = run_py(tmp_path, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                    "--workers", "2", "--threads", "4", "--access-logfile", "/dev/null",
                    "wsgi:app", command=("-m", "gunicorn"), GRIDDESK_SCHEDULER_IN_PROCESS="0")
    log: list[str] = []  # the server's output, drained so that a full pipe never stalls it
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
        threading.Thread(target=lambda: log.extend(server.stdout), daemon=True).start()
        answers = post_at_once(reports, f"http://127.0.0.1:{port}")
    finally:
        stop(server)
    statuses = [a[0] if isinstance(a, tuple) else a for a in answers]
    assert statuses == [201] * 200, (sorted(set(map(str, statuses))), "".join(log)[-3000:])
    numbers = [a[1]["number"] for a in answers]
    assert len(set(numbers)) == 200
    db.session.expire_all()
    stored = db.session.execute(sa.select(Ticket.number)).scalars().all()
    assert sorted(stored) == sorted(numbers)
    events = db.session.execute(sa.select(TicketEvent.ticket_id, TicketEvent.seq)).all()
    assert len(events) == len(set(events))  # no doubled event on any ticket


# --- reference data changed while Gunicorn serves (models/reference_cache.py) --------------------

def api_call(port: int, path: str, token: str, body: dict | None = None) -> tuple:
    """(status, JSON answer or None) of one API call; a failure as its repr (counted)."""
    import json
    import urllib.error
    import urllib.request

    from .test_api import auth

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode() if body else None,
        headers={**auth(token), "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except Exception as error:  # noqa: BLE001 — counted, so the test fails on it
        return repr(error), None


@contextmanager
def clients_of_gunicorn(tmp_path, clients: list):
    """Gunicorn (2 workers of 4 threads) on a free port; each of ``clients`` (called with the port
    and an event set when the block ends) runs in a thread of its own while the block runs."""
    from .processes import free_port, run_py, stop, wait_for_http

    port = free_port()
    server = run_py(tmp_path, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                    "--workers", "2", "--threads", "4", "--access-logfile", "/dev/null",
                    "wsgi:app", command=("-m", "gunicorn"), GRIDDESK_SCHEDULER_IN_PROCESS="0")
    done = threading.Event()
    threads = [threading.Thread(target=run, args=(port, done)) for run in clients]
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
        for thread in threads:
            thread.start()
        yield
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=30)
        stop(server)


def deactivate_while_watched(state: dict, user: User) -> None:
    """Deactivate ``user`` with ``state["active"]`` None while the change commits, then False."""
    from models.people.accounts import deactivate_user

    time.sleep(0.4)
    state["active"] = None
    deactivate_user(user)
    db.session.commit()
    state["active"] = False
    time.sleep(0.6)


def test_reads_under_load_follow_each_change_of_the_reader_at_once(world, app, client, tmp_path):
    """Eight clients read a street's tickets through Gunicorn (2 workers of 4 threads) while the
    street centre is moved to the other street and back, then deactivated. The reads check the
    reference versions in their own statement (models/reference_cache.py): every answer given
    while nothing changed matches the reader's state at that moment — 200 in their street, 404
    outside it, 401 once deactivated — and none is an error."""
    from .test_api import new_ticket, token_for

    community = token_for(client, "community")
    ids = [new_ticket(client, community, description=f"垃圾桶满溢 {i}").get_json()["id"]
           for i in range(5)]
    tokens = [token_for(client, "street") for _ in range(8)]
    street = db.session.get(User, world.users["street"].id)
    streets = (world.areas["street1"].id, world.areas["street2"].id)
    state = {"scope": streets[0], "active": True}  # None while a change is being committed
    answers, wrong = collections.Counter(), []

    def expected(seen: dict) -> int:
        return 401 if not seen["active"] else 200 if seen["scope"] == streets[0] else 404

    def read(token: str, turn: int, port: int, done: threading.Event) -> None:
        while not done.is_set():
            before = dict(state)
            status, _body = api_call(port, f"/api/v1/tickets/{ids[turn % len(ids)]}", token)
            turn += 1
            answers[status] += 1
            if before == state and None not in before.values() and status != expected(before):
                wrong.append((before, status))

    def change(**values) -> None:
        state.update(dict.fromkeys(values))
        for name, value in values.items():
            setattr(street, f"{name}_area_id" if name == "scope" else name, value)
        db.session.commit()
        state.update(values)

    with clients_of_gunicorn(tmp_path, [functools.partial(read, token, i)
                                        for i, token in enumerate(tokens)]):
        for i in range(8):
            time.sleep(0.4)
            change(scope=streets[(i + 1) % 2])
        deactivate_while_watched(state, street)
    assert set(answers) <= {200, 401, 404} and answers[200] and answers[404] and answers[401], \
        answers
    assert wrong == [], wrong[:5]


def test_intakes_under_load_follow_each_change_of_the_rules_and_the_reporter_at_once(
        world, app, client, tmp_path):
    """Eight clients report through Gunicorn (2 workers of 4 threads) while the dispatch rule is
    given to the sanitation department and back to the grid worker, then the reporter is
    deactivated. The intake takes the reference versions this process saw last and confirms them
    with the ticket's INSERT, before its COMMIT (models/reference_cache.py): every answer given
    while nothing changed follows the rule of that moment, every 201 is one ticket written and
    nothing is written once the reporter is deactivated."""
    from .test_api import token_for

    tokens = [token_for(client, "community") for _ in range(8)]
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    sanitation = world.departments["sanitation"]
    grid_worker_id, sanitation_id = world.users["gridworker"].id, sanitation.id  # for the threads
    state = {"owner": "grid_worker", "active": True}  # None while a change is being committed
    answers, wrong, created = collections.Counter(), [], []

    def owner_of(body: dict) -> str:
        if body["assigned_user"] is not None:
            return "grid_worker" if body["assigned_user"]["id"] == grid_worker_id else "someone"
        department = body["assigned_department"]
        return "department" if department and department["id"] == sanitation_id else "nobody"

    def report(token: str, turn: int, port: int, done: threading.Event) -> None:
        while not done.is_set():
            before = dict(state)
            status, answer = api_call(port, "/api/v1/tickets", token, {
                "category": "0101", "description": f"并发上报 {turn}", "lat": 30.006,
                "lon": 120.004})
            turn += 8
            answers[status] += 1
            if status == 201:
                created.append(answer["id"])
            if before != state or None in before.values():
                continue
            expected = (201, before["owner"]) if before["active"] else (401, None)
            if (status, owner_of(answer) if status == 201 else None) != expected:
                wrong.append((before, status, answer))

    def give_rule_to(owner: str) -> None:
        state["owner"] = None
        rule.responsible_kind = ResponsibleKind(owner)
        rule.department = sanitation if owner == "department" else None
        db.session.commit()
        state["owner"] = owner

    with clients_of_gunicorn(tmp_path, [functools.partial(report, token, i)
                                        for i, token in enumerate(tokens)]):
        deadline = time.monotonic() + 60
        while sum(answers.values()) < 16 and time.monotonic() < deadline:  # workers warm
            time.sleep(0.05)
        for i in range(6):
            time.sleep(0.4)
            give_rule_to("department" if i % 2 == 0 else "grid_worker")
        deactivate_while_watched(state, db.session.get(User, world.users["community"].id))
    assert set(answers) <= {201, 401} and answers[201] and answers[401], answers
    assert wrong == [], wrong[:5]
    written = db.session.execute(sa.select(Ticket.id).where(
        Ticket.description.like("并发上报 %"))).scalars().all()
    assert sorted(written) == sorted(created)  # one ticket per 201, none for a refusal
