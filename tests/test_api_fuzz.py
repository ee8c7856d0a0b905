"""Fuzzing the machine interfaces through the real app (issue 13, "Keep it proven"):

- Schemathesis generates requests from /api/v1/openapi.json (valid and invalid ones) for every
  operation, with a district centre's token so they get past authentication; every answer must
  be no 5xx, with a status, content type and body the document describes.
- Hypothesis sends hostile values (NUL, huge numbers, far dates, odd Unicode) to the Open311
  resources in .json and .xml; every answer must be no 5xx, in the format asked for.

Both are bounded (a fixed number of examples, derandomized: the same requests on every run) to
keep `make test` fast; raise FUZZ_EXAMPLES for a longer hand run.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                                response_schema_conformance,
                                                status_code_conformance)

from models import db
from models.people.tokens import create_api_client
from models.vocabulary import TicketStatus
from views.api_spec import openapi_document

from .factories import make_ticket
from .test_api import auth, token_for

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
BOUNDED = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=list(HealthCheck))


def operation_labels() -> list[str]:
    document = schemathesis.openapi.from_dict(openapi_document("http://localhost/api/v1"))
    return sorted(result.ok().label for result in document.get_all_operations())


@pytest.fixture()
def fuzz_world(world, client):
    """Tickets 1–3 exist (one closed), so generated ids also reach real rows."""
    for status in (TicketStatus.PENDING, TicketStatus.IN_PROGRESS, TicketStatus.CLOSED):
        make_ticket(world, "grid1", status=status)
    db.session.commit()
    world.token = token_for(client, "district")
    return world


def aim_at_real_rows(case, ticket_id: int | None, category: str | None) -> None:
    """Random ids almost never name a row: most examples would stop at 404. Some are pointed
    at the tickets that exist, and some new tickets at a real category and place."""
    if ticket_id is not None and "ticket_id" in (case.path_parameters or {}):
        case.path_parameters["ticket_id"] = ticket_id
    if category is not None and isinstance(case.body, dict) and "category" in case.body:
        case.body.update(category=category, lat=30.006, lon=120.004)


def no_server_error(response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])


@pytest.mark.parametrize("label", operation_labels())
def test_every_api_operation_answers_as_documented(app, fuzz_world, label):
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app) \
        .find_operation_by_label(label)

    @BOUNDED
    @given(case=operation.as_strategy(), ticket_id=st.sampled_from([None, 1, 2, 3]),
           category=st.sampled_from([None, "0101"]))
    def answers_as_documented(case, ticket_id, category):
        aim_at_real_rows(case, ticket_id, category)
        with app.app_context():  # its own session, as a real request has (tests/conftest.py)
            response = case.call(headers=auth(fuzz_world.token))
        no_server_error(response)
        case.validate_response(response, checks=[
            status_code_conformance, content_type_conformance, response_schema_conformance])

    answers_as_documented()


# --- Open311 ------------------------------------------------------------------------------------
HOSTILE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\x00", "a\x00b", "0001-01-01", "9999-12-31T23:59:59-12:00", "0101",
                     "open,closed", "GD20260101" + "9" * 30, str(2 ** 64), "-1", "nan", "inf",
                     "1e400", "", " ", "%00", "\ufffe", "<x>&", "2026-01-01T00:00:00Z"]))
FORMATS = st.sampled_from(["json", "xml"])
QUERY_NAMES = st.sampled_from(["service_request_id", "service_code", "start_date", "end_date",
                               "status", "jurisdiction_id", "api_key"])
FORM_NAMES = st.sampled_from(["service_code", "lat", "long", "address_string", "description",
                              "first_name", "last_name", "phone", "email", "media_url",
                              "account_id", "device_id", "attribute[bins]", "address_id"])


def assert_open311_answer(response, fmt: str) -> None:
    no_server_error(response)
    if fmt == "xml":
        assert response.mimetype == "text/xml"
        ET.fromstring(response.data)  # well-formed
    else:
        assert response.mimetype == "application/json"
        response.get_json()


@pytest.fixture()
def open311_key(fuzz_world):
    _client, key = create_api_client("模糊测试客户端")
    db.session.commit()
    return key


@BOUNDED
@given(fmt=FORMATS, query=st.dictionaries(QUERY_NAMES, HOSTILE, max_size=4),
       segment=HOSTILE, resource=st.sampled_from(["requests", "services", "tokens", "requests/",
                                                  "services/", "tokens/", "discovery"]))
def test_open311_reads_never_fail(app, fuzz_world, fmt, query, segment, resource):
    path = resource + segment if resource.endswith("/") else resource
    with app.test_client() as client:
        assert_open311_answer(client.get(f"/open311/v2/{path}.{fmt}", query_string=query), fmt)


@BOUNDED
@given(fmt=FORMATS, form=st.dictionaries(FORM_NAMES, HOSTILE, max_size=6),
       keyed=st.booleans())
def test_open311_posts_never_fail(app, open311_key, fmt, form, keyed):
    data = {"service_code": "0101", "lat": "30.005", "long": "120.005", **form}
    if keyed:
        data["api_key"] = open311_key
    with app.test_client() as client:
        assert_open311_answer(client.post(f"/open311/v2/requests.{fmt}", data=data), fmt)
