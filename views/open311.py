"""Open311 GeoReport v2 at /open311/v2/: every resource as .json and .xml, as the spec writes them.

Thin by design: HTTP in, JSON or XML out. The rules (which categories are services, how a ticket
reads as a service request, how a posted request becomes a ticket) are in models/open311.py.
XML is UTF-8 with its declaration, built with ElementTree (so text is always escaped); JSON is the
spec's mapping of the same structure. Errors are the spec's list of {code, description}.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import MethodNotAllowed, NotFound

from integrations.open311.mapping import (CHANGESET, SERVICE_TYPE, SPECIFICATION, Open311Error,
                                           PostedRequest, RequestQuery, agency_responsible,
                                           client_for_api_key, create_request, find_request,
                                           find_requests, find_service, public_address,
                                           request_for_token, request_status, service_description,
                                           service_keywords, service_notice, services, status_notes,
                                           updated_datetime, w3_datetime)
from models import db
from models.custom_fields import attribute_definitions
from models.errors import ActionForbidden, WorkflowError
from models.tickets.attachments import Upload, too_large_message
from models.vocabulary import AttachmentKind

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMAT = "<any(json, xml):fmt>"
MIME = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The spec's XML names the items of each list (JSON has plain arrays).
LIST_ITEMS = {"services": "service", "service_requests": "request", "errors": "error",
              "attributes": "attribute", "values": "value", "endpoints": "endpoint",
              "formats": "format"}
ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- output ---------------------------------------------------------------------------------------
def respond(fmt: str, root: str, data, status: int = 200) -> Response:
    if fmt == "xml":
        body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
            _element(root, data), encoding="unicode")
    else:
        body = json.dumps(data, ensure_ascii=False)
    return Response(body.encode("utf-8"), status=status, headers={"Content-Type": MIME[fmt]})


def _element(tag: str, value) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for name, child in value.items():
            element.append(_element(name, child))
    elif isinstance(value, list):
        for item in value:
            element.append(_element(LIST_ITEMS[tag], item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))  # characters XML 1.0 cannot carry
    return element


def error(fmt: str, status: int, description: str) -> Response:
    return respond(fmt, "errors", [{"code": status, "description": description}], status)


def requested_format() -> str:
    return "xml" if request.path.endswith(".xml") else "json"


@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error):
    db.session.rollback()
    return error(requested_format(), exc.status, exc.description)


@bp.errorhandler(413)
def _too_large(_exc):
    return error(requested_format(), 413, too_large_message())


@bp.errorhandler(WorkflowError)
def _workflow_error(exc: WorkflowError):
    # The spec knows 403 (api_key, here also the client's area), 404 and 400 for the rest.
    db.session.rollback()
    return error(requested_format(), 403 if isinstance(exc, ActionForbidden) else 400, exc.message)


# --- discovery and services -----------------------------------------------------------------------
@bp.get(f"/discovery.{FORMAT}")
def discovery(fmt: str):
    config = current_app.config
    changeset = config.get("OPEN311_CHANGESET", CHANGESET)
    return respond(fmt, "discovery", {
        "changeset": changeset,
        "contact": config.get("OPEN311_CONTACT") or _(
            "Contact the command centre of the street office that runs this GridDesk."),
        "key_service": config.get("OPEN311_KEY_SERVICE") or _(
            "API keys are issued by the GridDesk administrator (API clients in the admin panel)."),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": request.url_root.rstrip("/") + bp.url_prefix,
            "changeset": changeset,
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    })


@bp.get(f"/services.{FORMAT}")
def service_list(fmt: str):
    return respond(fmt, "services", [{
        "service_code": category.code,
        "service_name": category.name,
        "description": service_description(category),
        "metadata": bool(attribute_definitions(category)),
        "type": SERVICE_TYPE,
        "keywords": service_keywords(category),
        "group": category.parent.name,
    } for category in services()])


@bp.get(f"/services/<code>.{FORMAT}")
def service_definition(code: str, fmt: str):
    category = find_service(code)
    return respond(fmt, "service_definition", {
        "service_code": category.code, "attributes": attribute_definitions(category)})


# --- service requests -----------------------------------------------------------------------------
def request_json(ticket, notes: dict[int, str]) -> dict:
    """One ticket as a GeoReport v2 request: public fields only, never the reporter's."""
    attributes = ticket.attributes or {}
    return {
        "service_request_id": ticket.number,
        "status": request_status(ticket),
        "status_notes": notes.get(ticket.id),
        "service_name": ticket.category.name,
        "service_code": ticket.category.code,
        "description": ticket.description,
        "agency_responsible": agency_responsible(ticket),
        "service_notice": service_notice(ticket),
        "requested_datetime": w3_datetime(ticket.created_at),
        "updated_datetime": w3_datetime(updated_datetime(ticket)),
        "expected_datetime": w3_datetime(ticket.handle_deadline),
        "address": public_address(ticket),
        "address_id": None,
        "zipcode": None,
        "lat": ticket.lat,
        "long": ticket.lon,
        "media_url": attributes.get("media_url"),
    }


def requests_response(fmt: str, tickets) -> Response:
    notes = status_notes(tickets)
    return respond(fmt, "service_requests", [request_json(t, notes) for t in tickets])


@bp.get(f"/requests.{FORMAT}")
def request_list(fmt: str):
    args = request.args
    # Lists may come comma separated, or as the same argument declared several times.
    return requests_response(fmt, find_requests(RequestQuery(
        service_request_id=",".join(args.getlist("service_request_id")),
        service_code=",".join(args.getlist("service_code")),
        start_date=args.get("start_date"), end_date=args.get("end_date"),
        status=",".join(args.getlist("status")))))


@bp.post(f"/requests.{FORMAT}")
def post_request(fmt: str):
    values = request.values  # the form, and the query string some clients put api_key in
    client = client_for_api_key(values.get("api_key"))
    attributes: dict[str, list[str]] = {}
    for key in values:
        match = ATTRIBUTE_KEY.match(key)
        if match:
            attributes.setdefault(match.group(1), []).extend(values.getlist(key))
    posted = PostedRequest(
        attributes=attributes,
        # The kind is set by intake: a reporter's photos are "before" photos.
        media=[Upload.from_file(AttachmentKind.OTHER, f, "media")
               for f in request.files.getlist("media") if f],
        **{name: values.get(name) for name in (
            "service_code", "lat", "long", "address_string", "address_id", "description",
            "first_name", "last_name", "phone", "email", "media_url", "account_id", "device_id")})
    created = create_request(client, posted)
    db.session.commit()
    return respond(fmt, "service_requests", [{
        "service_request_id": created.ticket.number,
        "service_notice": created.service_notice,
        "account_id": (posted.account_id or "").strip() or None,
    }])


@bp.get(f"/requests/<service_request_id>.{FORMAT}")
def request_detail(service_request_id: str, fmt: str):
    return requests_response(fmt, [find_request(service_request_id)])


@bp.get(f"/tokens/<token>.{FORMAT}")
def token_detail(token: str, fmt: str):
    ticket = request_for_token(token)
    return respond(fmt, "service_requests", [{
        "service_request_id": ticket.number, "token": ticket.tracking_code}])


# --- anything else under /open311/v2/ answers in the spec's error format ------------------------
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _args = adapter.match(method="GET")
        exists = endpoint != "open311.unknown"
    except (NotFound, MethodNotAllowed):
        exists = False
    if exists:
        return error(requested_format(), 405, _("Method not allowed."))
    return error(requested_format(), 404,
                 _("No such Open311 resource: %(path)s.", path=request.path))
