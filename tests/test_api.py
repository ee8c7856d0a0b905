"""The JSON API through the real app: tokens, intake, lists, the loop, idempotency, OpenAPI."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from models import ApiClient, Ticket, TicketEvent, TicketStatus, User, db
from models.people.accounts import deactivate_user
from models.people.api_clients import UserToken
from models.people.tokens import create_api_client

from .conftest import statements_of
from .test_workflow import photo_bytes


def token_for(client, username, password="demo12345"):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def new_ticket(client, token, **extra):
    body = {"category": "0101", "description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004,
            "reporter_phone": "13900001111", **extra}
    return client.post("/api/v1/tickets", json=body, headers=auth(token))


def count(model):
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


# --- authentication ----------------------------------------------------------------------------
def test_tokens_for_users_and_clients(world, client):
    assert client.get("/api/v1/categories").status_code == 401
    assert client.get("/api/v1/categories", headers=auth("nonsense")).status_code == 401
    bad = client.post("/api/v1/auth/token", json={"username": "community", "password": "wrong-pass"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "unauthorized"
    user_token = token_for(client, "community")
    assert client.get("/api/v1/categories", headers=auth(user_token)).status_code == 200
    api_client, client_token = create_api_client("12345热线")
    db.session.commit()
    assert client.get("/api/v1/categories", headers=auth(client_token)).status_code == 200
    api_client.active = False  # revoked in the admin panel
    db.session.commit()
    assert client.get("/api/v1/categories", headers=auth(client_token)).status_code == 401
    stored = db.session.execute(sa.select(ApiClient.token_hash)).scalar_one()
    assert client_token not in stored  # only the hash is kept


def test_create_api_client_command_prints_a_working_token(world, app, client):
    result = app.test_cli_runner().invoke(args=["create-api-client", "微信小程序", "--scope", "T0101"])
    assert result.exit_code == 0, result.output
    token = re.search(r"gdc_\S+", result.output).group(0)
    assert client.get("/api/v1/categories", headers=auth(token)).status_code == 200
    assert app.test_cli_runner().invoke(args=["create-api-client", "x", "--scope", "NOPE"]).exit_code != 0


def test_a_user_token_has_exactly_that_users_scope(world, client):
    mine = new_ticket(client, token_for(client, "community")).get_json()
    other = new_ticket(client, token_for(client, "community2"), lat=30.006, lon=120.025).get_json()
    street2 = token_for(client, "street2")
    listed = client.get("/api/v1/tickets", headers=auth(street2)).get_json()["items"]
    assert [t["number"] for t in listed] == [other["number"]]
    assert client.get(f"/api/v1/tickets/{mine['id']}", headers=auth(street2)).status_code == 404


def test_a_client_outside_its_area_is_refused_and_nothing_is_created(world, client):
    _c, token = create_api_client("二号街道热线", world.areas["street2"])
    db.session.commit()
    before = count(Ticket)
    response = new_ticket(client, token)  # a point in street 1
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert count(Ticket) == before
    made = new_ticket(client, token, lat=30.006, lon=120.025)
    assert made.status_code == 201
    assert made.get_json()["number"].endswith("0001")  # the refusal took no number


def test_scoped_readers_read_one_ticket_without_loading_their_area(world, app, client):
    """A person or an integration scoped to an area reads one ticket with the read alone: the
    scope comes from the process's copy of the area rows, not a load of their area per request."""
    made = new_ticket(client, token_for(client, "community")).get_json()
    _c, client_token = create_api_client("一号街道热线", world.areas["street1"])
    db.session.commit()
    for token in (token_for(client, "street"), client_token):
        assert client.get(f"/api/v1/tickets/{made['id']}", headers=auth(token)).status_code == 200
        answers = []
        statements = statements_of(app, lambda: answers.append(
            client.get(f"/api/v1/tickets/{made['id']}", headers=auth(token))))
        response = answers[0]
        assert response.status_code == 200 and response.get_json()["number"] == made["number"]
        assert not [s for s in statements if "FROM areas" in s.split(" WHERE")[0]], statements
    # and the scope still holds: street 2's integration does not see street 1's ticket
    _c, other = create_api_client("二号街道热线", world.areas["street2"])
    db.session.commit()
    assert client.get(f"/api/v1/tickets/{made['id']}", headers=auth(other)).status_code == 404


def test_a_read_of_one_ticket_is_one_statement_with_the_reference_versions(world, app, client):
    """In steady state the read of one ticket sends one statement: the token, the person and the
    scope come from the process's copies, and the versions that say whether those copies are
    current come with the ticket (models/reference_cache.py ``checking_versions_afterwards``)."""
    token = token_for(client, "street")
    made = new_ticket(client, token_for(client, "community")).get_json()
    assert client.get(f"/api/v1/tickets/{made['id']}", headers=auth(token)).status_code == 200
    answers = []
    sent = statements_of(app, lambda: answers.append(
        client.get(f"/api/v1/tickets/{made['id']}", headers=auth(token))))
    assert answers[0].status_code == 200 and answers[0].get_json()["number"] == made["number"]
    assert len(sent) == 1 and "reference_versions" in sent[0], sent


def test_a_read_after_a_change_elsewhere_is_checked_and_answered_again(world, app, client):
    """A read that finds the versions changed since this process last saw them (a change
    committed by another request or process) is done again with fresh copies: a person moved to
    another street no longer reads the first street's ticket, and a deactivated one reads
    nothing — at their very next request."""
    token = token_for(client, "street")
    made = new_ticket(client, token_for(client, "community")).get_json()
    path = f"/api/v1/tickets/{made['id']}"
    assert client.get(path, headers=auth(token)).status_code == 200
    street = db.session.get(User, world.users["street"].id)
    street.scope_area_id = world.areas["street2"].id
    db.session.commit()
    answers = []
    sent = statements_of(app, lambda: answers.append(client.get(path, headers=auth(token))))
    assert answers[0].status_code == 404, answers[0].get_json()
    assert len([s for s in sent if "FROM tickets" in s]) == 2, sent  # read, then read again
    assert client.get(path, headers=auth(token)).status_code == 404  # and from then on
    street.scope_area_id = world.areas["street1"].id
    db.session.commit()
    assert client.get(path, headers=auth(token)).status_code == 200
    deactivate_user(street)
    db.session.commit()
    assert client.get(path, headers=auth(token)).status_code == 401


def test_an_intake_reads_the_reference_versions_with_its_ticket(world, app, client, monkeypatch):
    """In steady state an API intake on PostgreSQL reads the versions in the statement that
    writes the ticket, not in a query of their own (elsewhere: their own query, at the end)."""
    from models import reference_cache

    token = token_for(client, "community")
    assert new_ticket(client, token).status_code == 201  # the process has seen the versions
    reads = []
    real = reference_cache._read_versions
    monkeypatch.setattr(reference_cache, "_read_versions",
                        lambda conn: reads.append(1) or real(conn))
    assert new_ticket(client, token).status_code == 201
    with app.app_context():
        on_postgresql = db.engine.dialect.name == "postgresql"
    assert len(reads) == (0 if on_postgresql else 1)


def test_an_intake_after_a_change_elsewhere_is_checked_and_done_again(world, app, client):
    """An intake that took versions changed since this process last saw them (a change committed
    by another request or process) is rolled back and done again with fresh copies: a changed
    dispatch rule routes it, a deactivated person or a revoked token writes nothing — also when
    the report itself is refused or repeats an Idempotency-Key — at the very next request."""
    from models import DispatchRule, ResponsibleKind

    token = token_for(client, "community")
    first = new_ticket(client, token, lat=30.0061).get_json()
    assert first["assigned_user"]["id"] == world.users["gridworker"].id
    rule = db.session.execute(sa.select(DispatchRule)).scalar_one()
    rule.responsible_kind = ResponsibleKind.COMMUNITY_OFFICE
    db.session.commit()
    second = new_ticket(client, token, lat=30.0062)
    assert second.status_code == 201 and second.get_json()["assigned_user"] is None
    tickets = count(Ticket)
    user = db.session.get(User, world.users["community"].id)
    deactivate_user(user)
    db.session.commit()
    assert new_ticket(client, token, lat=30.0063).status_code == 401
    db.session.execute(sa.update(User).where(User.id == user.id).values(active=True))
    db.session.commit()
    token = token_for(client, "community")  # active again, with a new token
    keyed = {**auth(token), "Idempotency-Key": "intake-1"}
    body = {"category": "0101", "description": "垃圾桶满溢", "lat": 30.006, "lon": 120.004}
    assert client.post("/api/v1/tickets", json=body, headers=keyed).status_code == 201
    assert new_ticket(client, token, description="").status_code == 422
    user = db.session.get(User, world.users["community"].id)
    deactivate_user(user)
    db.session.commit()
    assert new_ticket(client, token, description="").status_code == 401  # not 422
    assert client.post("/api/v1/tickets", json=body, headers=keyed).status_code == 401  # no replay
    assert count(Ticket) == tickets + 1


def test_a_refused_report_takes_no_ticket_number(world, client):
    token = token_for(client, "community")
    assert new_ticket(client, token, reporter_phone="12ab").status_code == 422
    assert new_ticket(client, token).get_json()["number"].endswith("0001")


# --- intake and reading ------------------------------------------------------------------------
def test_create_returns_the_placed_dispatched_ticket_and_duplicates(world, client):
    token = token_for(client, "community")
    first = new_ticket(client, token)
    assert first.status_code == 201
    body = first.get_json()
    assert re.fullmatch(r"GD\d{12}", body["number"]) and body["status"] == "pending"
    assert body["areas"]["grid"]["code"] == "T01010101"
    assert body["assigned_user"]["id"] == world.users["gridworker"].id
    assert body["accept_deadline"] and body["handle_deadline"] and body["deadline_state"] == "green"
    assert body["possible_duplicates"] == [] and body["version"] >= 1 and body["tracking_code"]
    second = new_ticket(client, token, lat=30.00601, lon=120.00401).get_json()
    assert [d["number"] for d in second["possible_duplicates"]] == [body["number"]]


@pytest.mark.parametrize("payload", [
    {"category": "9999"}, {"description": ""}, {"lat": 40.7, "lon": -74.0},
    {"lat": None, "lon": None}, {"priority": "whenever"}, {"category": "01"},
], ids=["unknown-category", "no-description", "outside-china", "no-place", "bad-priority",
        "top-level-category"])
def test_bad_input_is_422_and_creates_nothing(world, client, payload):
    token = token_for(client, "community")
    before = count(Ticket)
    response = new_ticket(client, token, **payload)
    assert response.status_code == 422
    assert set(response.get_json()["error"]) == {"code", "message"}
    assert count(Ticket) == before


def test_a_wrong_priority_or_source_is_named_with_the_values_it_may_take(world, client):
    token = token_for(client, "community")
    priority = new_ticket(client, token, priority="whenever").get_json()["error"]["message"]
    assert priority == "priority 须为以下之一：emergency, normal, urgent。"
    source = new_ticket(client, token, source="fax").get_json()["error"]["message"]
    assert source.startswith("source 须为以下之一：api, ") and "fax" not in source


GARBAGE_FIELDS = [
    {"code": "bins", "label": "满溢桶数", "type": "int", "required": True},
    {"code": "smell", "label": "异味来源", "type": "multiselect",
     "values": [{"key": "bin", "name": "垃圾桶"}, {"key": "drain", "name": "下水道"}]},
]


def test_custom_field_answers_are_checked_and_kept(world, client):
    world.categories["garbage"].custom_fields = GARBAGE_FIELDS
    db.session.commit()
    token = token_for(client, "community")
    listed = client.get("/api/v1/categories", headers=auth(token)).get_json()["items"]
    [garbage] = [c for c in listed if c["code"] == "0101"]
    assert [(f["code"], f["datatype"], f["required"]) for f in garbage["fields"]] == [
        ("bins", "number", True), ("smell", "multivaluelist", False)]

    made = new_ticket(client, token, attributes={"bins": 2, "smell": ["drain", "bin"]})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["attributes"] == {"bins": 2, "smell": ["drain", "bin"]}
    db.session.expire_all()
    assert db.session.get(Ticket, made.get_json()["id"]).attributes == {
        "bins": 2, "smell": ["drain", "bin"]}
    # Required answers are required, as in Open311; the optional ones may be left out.
    assert new_ticket(client, token, lon=120.008).status_code == 422
    assert new_ticket(client, token, lon=120.008, attributes={"bins": 1}).get_json()[
        "attributes"] == {"bins": 1}

    before = count(Ticket)
    for attributes, words in [({"smell": ["bin"]}, "bins"), ({"bins": "many"}, "bins"),
                              ({"bins": 1, "smell": ["roof"]}, "roof"),
                              ({"bins": 1, "colour": "red"}, "colour"), ([1, 2], "attributes"),
                              ({"bins": {"n": 1}}, "bins")]:
        refused = new_ticket(client, token, attributes=attributes)
        assert refused.status_code == 422, attributes
        assert words in refused.get_json()["error"]["message"], refused.get_json()
    assert count(Ticket) == before


def test_lookup_gives_the_grid_and_its_levels(world, client):
    token = token_for(client, "community")
    body = client.get("/api/v1/areas/lookup?lat=30.005&lon=120.015",
                      headers=auth(token)).get_json()
    assert body["grid"]["code"] == "T01010102" and body["community"]["code"] == "T010101"
    assert body["street"]["code"] == "T0101" and body["district"]["code"] == "T01"
    assert client.get("/api/v1/areas/lookup?lat=0&lon=0", headers=auth(token)).status_code == 422


def test_keyset_pages_cover_everything_once(world, client):
    token = token_for(client, "community")
    numbers = {new_ticket(client, token, lon=120.001 + i * 0.0004).get_json()["number"]
               for i in range(7)}
    seen, cursor = [], None
    while True:
        url = "/api/v1/tickets?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth(token)).get_json()
        seen += [t["number"] for t in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(numbers) and len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first
    filtered = client.get("/api/v1/tickets?status=pending&area=T01010101&category=01",
                          headers=auth(token)).get_json()["items"]
    assert filtered and all(t["areas"]["grid"]["code"] == "T01010101" for t in filtered)
    assert client.get("/api/v1/tickets?status=nope", headers=auth(token)).status_code == 422


def test_keyset_pages_split_tickets_created_at_the_same_moment(world, client):
    token = token_for(client, "community")
    ids = [new_ticket(client, token, lon=120.001 + i * 0.0004).get_json()["id"] for i in range(5)]
    same = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)  # a batch imported at one instant
    db.session.execute(sa.update(Ticket).where(Ticket.id.in_(ids)).values(created_at=same))
    db.session.commit()
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/tickets?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                          headers=auth(token)).get_json()
        seen += [t["id"] for t in page["items"]]
        cursor = page.get("next")
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)  # each once, ties broken by id


def test_token_use_is_recorded_at_most_once_a_minute(world, client):
    token = token_for(client, "community")
    client.get("/api/v1/categories", headers=auth(token))
    db.session.expire_all()
    row = db.session.execute(sa.select(UserToken)).scalar_one()
    first = row.last_used_at
    assert first is not None
    client.get("/api/v1/categories", headers=auth(token))
    db.session.expire_all()
    assert db.session.execute(sa.select(UserToken.last_used_at)).scalar_one() == first
    row.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    client.get("/api/v1/categories", headers=auth(token))
    db.session.expire_all()
    assert db.session.execute(sa.select(UserToken.last_used_at)).scalar_one() > first


# --- actions -----------------------------------------------------------------------------------
def act(client, token, ticket, action, **data):
    data.setdefault("version", ticket["version"])
    return client.post(f"/api/v1/tickets/{ticket['id']}/actions/{action}", json=data,
                       headers=auth(token))


def state(ticket_id):
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    events = db.session.execute(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id)).scalar_one()
    return ticket.status, ticket.version, events


def test_refused_actions_answer_403_409_422_and_change_nothing(world, client):
    ticket = new_ticket(client, token_for(client, "community")).get_json()
    before = state(ticket["id"])
    leader = token_for(client, "leader")
    assert act(client, leader, ticket, "accept").status_code == 403
    worker = token_for(client, "gridworker")
    stale = act(client, worker, ticket, "accept", version=ticket["version"] - 1)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"
    assert act(client, worker, ticket, "return", note="").status_code == 422
    assert act(client, worker, ticket, "fly").status_code == 404
    assert act(client, worker, ticket, "accept", version="x").status_code == 422
    assert state(ticket["id"]) == before
    _c, client_token = create_api_client("小程序")
    db.session.commit()
    assert act(client, client_token, ticket, "accept").status_code == 403
    assert state(ticket["id"]) == before


def test_the_reporter_rates_through_an_integration_staff_record_a_follow_up(world, client):
    from models import AttachmentKind
    from models.tickets.attachments import Upload
    from models.tickets.workflow import Actor, perform

    ticket = new_ticket(client, token_for(client, "community")).get_json()
    closed = db.session.get(Ticket, ticket["id"])
    worker = Actor.staff(world.users["gridworker"])
    perform(closed, "accept", worker, expected_version=closed.version)
    perform(closed, "submit", worker, expected_version=closed.version, note="已清运",
            attachments=[Upload(AttachmentKind.AFTER, "a.jpg", photo_bytes())])
    perform(closed, "approve", Actor.staff(world.users["community"]),
            expected_version=closed.version)
    db.session.commit()
    staff = token_for(client, "street")
    current = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(staff)).get_json()
    answer = act(client, staff, current, "follow_up", rating=3)  # no note of the call
    assert answer.status_code == 422 and state(ticket["id"])[1] == current["version"]
    _c, client_token = create_api_client("12345热线")
    db.session.commit()
    rated = act(client, client_token, current, "rate", rating=4, note="满意")
    assert rated.status_code == 200, rated.get_json()
    body = rated.get_json()
    assert (body["rating"], body["rating_source"], body["rated_by"]) == (4, "reporter", None)
    assert body["timeline"][-1]["action"] == "rate"
    assert act(client, client_token, body, "follow_up", rating=2,
               note="回访").status_code == 403  # integrations act for the reporter only


def test_idempotency_key_replays_the_first_answer(world, client):
    token = token_for(client, "community")
    headers = {**auth(token), "Idempotency-Key": "call-2026-0001"}
    body = {"category": "0101", "description": "重复提交", "lat": 30.006, "lon": 120.004}
    first = client.post("/api/v1/tickets", json=body, headers=headers)
    tickets = count(Ticket)
    again = client.post("/api/v1/tickets", json=body, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count(Ticket) == tickets
    # The same content built again by the client (keys in another order, other spacing).
    rebuilt = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=False, indent=2)
    again = client.post("/api/v1/tickets", data=rebuilt, content_type="application/json",
                        headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert count(Ticket) == tickets
    changed = client.post("/api/v1/tickets", json={**body, "description": "别的"}, headers=headers)
    assert changed.status_code == 422 and count(Ticket) == tickets
    ticket = first.get_json()
    worker_headers = {**auth(token_for(client, "gridworker")), "Idempotency-Key": "accept-1"}
    accept = {"version": ticket["version"]}
    url = f"/api/v1/tickets/{ticket['id']}/actions/accept"
    assert client.post(url, json=accept, headers=worker_headers).status_code == 200
    events = state(ticket["id"])[2]
    assert client.post(url, json=accept, headers=worker_headers).status_code == 200
    assert state(ticket["id"])[2] == events


def test_photos_are_uploaded_as_multipart(world, client):
    ticket = new_ticket(client, token_for(client, "community")).get_json()
    worker = token_for(client, "gridworker")
    ok = client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=auth(worker),
                     data={"kind": "before", "file": (io.BytesIO(photo_bytes()), "scene.jpg")},
                     content_type="multipart/form-data")
    assert ok.status_code == 201
    item = ok.get_json()["attachments"][0]
    assert item["kind"] == "before" and item["mime"] == "image/jpeg" and item["width"] == 64
    bad = client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=auth(worker),
                      data={"file": (io.BytesIO(b"not a photo"), "x.jpg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422


# --- the OpenAPI document ----------------------------------------------------------------------
def test_openapi_document_validates_and_lists_every_route(world, client, app):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    documented = {(path, method.upper()) for path, ops in document["paths"].items()
                  for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented


def test_a_client_using_only_the_openapi_document_walks_the_whole_loop(world, client):
    """Every URL below is taken from the document by operationId, none is written by hand."""
    document = client.get("/api/v1/openapi.json").get_json()
    base = document["servers"][0]["url"].split("//", 1)[1].split("/", 1)[1]
    operations = {op["operationId"]: (path, method) for path, ops in document["paths"].items()
                  for method, op in ops.items()}

    def call(operation_id, token=None, json=None, data=None, **path_params):
        path, method = operations[operation_id]
        url = "/" + base + path.format(**path_params)
        headers = auth(token) if token else {}
        if data is not None:
            return client.open(url, method=method.upper(), data=data, headers=headers,
                               content_type="multipart/form-data")
        return client.open(url, method=method.upper(), json=json, headers=headers)

    def token(username):
        return call("issueToken", json={"username": username, "password": "demo12345"}).get_json()["token"]

    staff, worker, reviewer = token("community"), token("gridworker"), token("street")
    ticket = call("createTicket", staff, json={"category": "0101", "description": "垃圾满溢",
                                               "lat": 30.006, "lon": 120.004}).get_json()
    tid = ticket["id"]

    def step(who, action, **extra):
        current = call("getTicket", who, ticket_id=tid).get_json()
        response = call("actOnTicket", who, json={"version": current["version"], **extra},
                        ticket_id=tid, action=action)
        assert response.status_code == 200, (action, response.get_json())
        return response.get_json()

    step(worker, "accept")
    upload = call("addAttachment", worker, ticket_id=tid,
                  data={"kind": "after", "file": (io.BytesIO(photo_bytes()), "after.jpg")})
    assert upload.status_code == 201
    step(worker, "submit", note="已清运")
    step(reviewer, "reject", note="仍有残留")
    call("addAttachment", worker, ticket_id=tid,
         data={"kind": "after", "file": (io.BytesIO(photo_bytes("red")), "after2.jpg")})
    step(worker, "submit", note="已返工")
    step(reviewer, "approve")
    # Staff do not rate for the reporter (changed by issue 9); they record a phone follow-up.
    current = call("getTicket", staff, ticket_id=tid).get_json()
    assert "rate" not in current["allowed_actions"] and "follow_up" in current["allowed_actions"]
    refused = call("actOnTicket", staff, json={"version": current["version"], "rating": 5},
                   ticket_id=tid, action="rate")
    assert refused.status_code == 403
    final = step(staff, "follow_up", rating=5, note="电话回访上报人：满意")
    assert final["status"] == "closed" and final["rating"] == 5 and final["rework_count"] == 1
    assert final["rating_source"] == "follow_up"
    assert final["rated_by"]["id"] == world.users["community"].id
    assert [e["action"] for e in final["timeline"]] == [
        "create", "dispatch", "accept", "note", "submit", "reject", "note", "submit", "approve",
        "follow_up"]
    assert db.session.get(Ticket, tid).status == TicketStatus.CLOSED


def test_api_clients_are_created_listed_and_revoked_in_the_admin_panel(world, client, login_as):
    from .conftest import csrf_token

    admin = login_as("admin")
    created = admin.post("/admin/apiclient/new/", data={
        "csrf_token": csrf_token(admin, "/admin/apiclient/new/"), "name": "OA系统", "active": "y"},
        follow_redirects=True).get_data(as_text=True)
    token = re.search(r"gdc_[\w-]+", created).group(0)
    assert client.get("/api/v1/categories", headers=auth(token)).status_code == 200
    # A report it sends says in its timeline which client brought it.
    sent = new_ticket(client, token, source="wechat").get_json()
    created_event = client.get(
        f"/api/v1/tickets/{sent['id']}", headers=auth(token_for(client, "district"))
    ).get_json()["timeline"][0]
    assert created_event["details"]["api_client"]["name"] == "OA系统"
    page = admin.get(f"/admin/ticket/details/?id={sent['id']}").get_data(as_text=True)
    assert "由对接系统 OA系统 报送" in page
    listing = admin.get("/admin/apiclient/").get_data(as_text=True)
    assert "OA系统" in listing and token not in listing and token[:10] in listing
    row = db.session.execute(sa.select(ApiClient).where(ApiClient.name == "OA系统")).scalar_one()
    admin.post(f"/admin/apiclient/edit/?id={row.id}", data={
        "csrf_token": csrf_token(admin, f"/admin/apiclient/edit/?id={row.id}"), "name": "OA系统"})
    assert client.get("/api/v1/categories", headers=auth(token)).status_code == 401
    assert login_as("district").get("/admin/apiclient/").status_code == 403


def test_deactivating_a_user_ends_their_api_tokens(world, client, login_as):
    from .conftest import csrf_token

    token = token_for(client, "handler")
    assert client.get("/api/v1/tickets", headers=auth(token)).status_code == 200
    admin = login_as("admin")
    user = world.users["handler"]
    form = admin.get(f"/admin/user/edit/?id={user.id}").get_data(as_text=True)
    assert "password_hash" not in form
    admin.post(f"/admin/user/edit/?id={user.id}", data={
        "csrf_token": csrf_token(admin, f"/admin/user/edit/?id={user.id}"),
        "username": "handler", "display_name": user.display_name, "role": "handler",
        "scope_area": str(user.scope_area_id), "department": str(user.department_id)})
    assert client.get("/api/v1/tickets", headers=auth(token)).status_code == 401


def test_a_retried_photo_upload_with_the_same_key_is_one_upload(world, client):
    """A client retrying a multipart upload builds a new boundary: still the same request."""
    ticket = new_ticket(client, token_for(client, "community")).get_json()
    headers = {**auth(token_for(client, "gridworker")), "Idempotency-Key": "photo-retry-1"}
    photo = photo_bytes()
    answers = [client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=headers,
                           data={"kind": "before", "file": (io.BytesIO(photo), "scene.jpg")},
                           content_type="multipart/form-data") for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].headers.get("Idempotent-Replayed") == "true"
    assert answers[1].get_json() == answers[0].get_json()


def test_an_actions_answer_is_the_ticket_as_a_read_shows_it(world, client):
    """Every action answers with the ticket as GET /tickets/{id} reads it (one rendering), also
    when the action took the ticket out of the actor's scope (sent up a level)."""
    worker = token_for(client, "gridworker")
    ticket = new_ticket(client, token_for(client, "community")).get_json()
    answer = act(client, worker, ticket, "accept")
    assert answer.status_code == 200
    read = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(worker)).get_json()
    assert answer.get_json() == read
    assert [e["action"] for e in read["timeline"]][-1] == "accept"
    escalated = act(client, worker, read, "escalate", note="需要社区协调").get_json()
    assert escalated["current_level"] == "community" and escalated["assigned_user"] is None
    assert escalated["version"] > read["version"] and escalated["allowed_actions"] == []


def test_staff_reporting_outside_their_area_are_told_where_the_ticket_went(world, client):
    """Staff may report anywhere (by area_code): the answer says the place is outside their
    area and whom it went to, as the admin form does — they will not read it again."""
    token = token_for(client, "community")
    body = {"category": "0101", "description": "路灯不亮", "area_code": "T010201"}  # 乙社区
    answer = client.post("/api/v1/tickets", json=body, headers=auth(token))
    assert answer.status_code == 201, answer.get_json()
    data = answer.get_json()
    assert data["outside_your_area"] is True
    assert data["notice"] == \
        f"该位置不在您的管辖范围内，已派给{data['assigned_department']['name']}。"
    assert client.get(f"/api/v1/tickets/{data['id']}", headers=auth(token)).status_code == 404
    own = new_ticket(client, token).get_json()
    assert "outside_your_area" not in own and "notice" not in own
