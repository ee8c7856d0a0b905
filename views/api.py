"""JSON API /api/v1 for integrations (hotline system, WeChat mini-program, OA) and the mobile pages.

Thin by design: authentication, JSON in and out, idempotency. Every rule is a call into models/.
Errors are always {"error": {"code", "message"}} with the HTTP status of the refusal.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import wraps

import orjson
import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from models import (ApiClient, Area, AttachmentKind, Category, IdempotencyRecord, Priority, Source,
                     Ticket, TicketEvent, TicketStatus, User, db, utcnow)
from models.areas.hierarchy import LEVEL_COLUMN, lineage
from models.areas.locate import locate
from models.categories import in_category
from models.category_suggestion import suggest_categories
from models.clock import DateOutOfRange, local_zone, parse_iso_datetime, within_range
from models.custom_fields import answers_from_json, attribute_definitions
from models.errors import WorkflowError
from models.people.access import (can_see_ticket, pickable_departments, reporter_phone_for,
                                   scope_area_row, ticket_scope)
from models.people.tokens import client_for_token, issue_user_token, user_for_token
from models.reference_cache import (category_ids_by_code, checking_versions_afterwards,
                                    reference_object)
from models.tickets.actions import Action, action_label
from models.tickets.attachments import Upload, open_photo
from models.tickets.co_tasks import CoHandlingTask
from models.tickets.cohandling import (TASK_ACTIONS, act_on_task, allowed_task_actions,
                                       task_overdue, tasks_by_ticket)
from models.tickets.deadlines import deadline_state, overdue_condition
from models.tickets.intake import Report, report_ticket
from models.tickets.listing import list_filter
from models.tickets.public_limits import max_text
from models.tickets.reading import (new_ticket_row, read_ticket_row, read_ticket_rows,
                                    ticket_document)
from models.tickets.supervision import parse_level, supervision_actions
from models.tickets.tables import Attachment
from models.tickets.workflow import ACTIONS, Actor, allowed_actions, perform
from models.transactions import (commit_answered, end_read_without_transaction,
                                 one_statement_request, read_without_transaction)

from .inputs import (BIGINT_MAX, INTEGER_MAX, INTEGERS, NUMBER, OBJECT, Field, integer,
                     json_object, request_json, text, whole_number)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
CLIENT_ACTIONS = {Action.RATE, Action.REOPEN}  # integrations act for the resident on these only
API_SOURCES = {Source.API, Source.WECHAT, Source.WEB, Source.PHONE, Source.PATROL, Source.WALK_IN}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@bp.errorhandler(ApiError)
def api_error_response(exc: ApiError):
    """A refused API request as JSON, nothing changed (also used by the phone app's endpoints)."""
    db.session.rollback()
    return jsonify(error_body(exc.code, exc.message)), exc.status


@bp.errorhandler(WorkflowError)
def workflow_error_response(exc: WorkflowError):
    db.session.rollback()
    return jsonify(error_body(exc.code, exc.message)), exc.http_status


@bp.errorhandler(404)
def _not_found(_exc):
    return jsonify(error_body("not_found", _("Not found."))), 404


@bp.errorhandler(405)
def _not_allowed(_exc):
    return jsonify(error_body("method_not_allowed", _("Method not allowed."))), 405


# --- who is calling ------------------------------------------------------------------------------
@dataclass
class Principal:
    user: User | None = None
    client: ApiClient | None = None

    @property
    def owner(self) -> str:
        return f"user:{self.user.id}" if self.user else f"client:{self.client.id}"

    @property
    def actor(self) -> Actor:
        return Actor.staff(self.user) if self.user else Actor.reporter()

    def scope(self) -> sa.ColumnElement[bool]:
        if self.user is not None:
            return ticket_scope(self.user)
        area = scope_area_row(self.client)
        if area is None:
            return sa.true()
        return getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def authenticated(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        user = user_for_token(token)
        client = None if user else client_for_token(token)
        if user is None and client is None:
            raise ApiError(401, "unauthorized", _("A valid bearer token is required."))
        g.principal = Principal(user=user, client=client)
        return fn(*args, **kwargs)
    return wrapper


def assuming_versions(fn):
    """A view whose statements read the reference versions themselves (the read of one ticket,
    the intake's INSERT): the request takes those this process saw last and confirms them
    afterwards, a writer before its COMMIT (models/reference_cache.py
    ``checking_versions_afterwards``), one round trip fewer. Wraps ``authenticated``, so that the
    token is checked again when the work is redone."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        return checking_versions_afterwards(lambda: fn(*args, **kwargs))
    return wrapper


def reads_only(fn):
    """``assuming_versions`` for a view that writes nothing through the session: its read of the
    ticket runs without a transaction, on a connection of its own (models/transactions.py)."""
    checked = assuming_versions(fn)

    @wraps(fn)
    def wrapper(*args, **kwargs):
        read_without_transaction()
        try:
            return checked(*args, **kwargs)
        finally:
            end_read_without_transaction()
    return wrapper


def signed_in_or_token(fn):
    """A bearer token, or the staff member signed in to the admin or phone pages (the forms
    that ask while someone types use the session)."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if bearer_token() is None and current_user.is_authenticated:
            g.principal = Principal(user=current_user._get_current_object())
            return fn(*args, **kwargs)
        return authenticated(fn)(*args, **kwargs)
    return wrapper


def idempotent(fn):
    """Honour Idempotency-Key on POST: a repeat gets the first answer and changes nothing."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key:  # nothing is stored with the answer: its work may be one statement
            with one_statement_request():
                response = _run(fn, args, kwargs)
                commit_answered()
            return response
        if len(key) > 200:
            raise ApiError(422, "invalid", _("The Idempotency-Key is longer than 200 characters."))
        owner = g.principal.owner
        digest = request_digest()
        stored = _stored(owner, key)
        if stored is not None:
            return _replay(stored, digest)
        body, status = _run(fn, args, kwargs)
        db.session.add(IdempotencyRecord(owner=owner, key=key, request_hash=digest,
                                         status_code=status, body=body.get_json()))
        try:
            commit_answered()
        except IntegrityError:  # the same key won a race: answer like the winner
            db.session.rollback()
            return _replay(_stored(owner, key), digest)
        return body, status
    return wrapper


def request_digest() -> str:
    """What identifies a request's content. A multipart body is read by its fields and files:
    a client retrying the same upload builds a new random boundary each time."""
    digest = hashlib.sha256(request.method.encode() + request.path.encode())
    if request.mimetype == "multipart/form-data":
        # A part without a name is read with the name None: sort by text, never compare None.
        for name, value in sorted(request.form.items(multi=True),
                                  key=lambda item: (item[0] or "", item[1])):
            digest.update(f"\0{name}={value}".encode())
        for name, upload in request.files.items(multi=True):
            digest.update(f"\0{name}:{upload.filename}:".encode())
            part = hashlib.sha256()
            for chunk in iter(lambda: upload.stream.read(1 << 16), b""):
                part.update(chunk)
            upload.stream.seek(0)
            digest.update(part.digest())
    else:
        digest.update(_content(request.get_data()))
    return digest.hexdigest()


def _content(body: bytes) -> bytes:
    """A JSON body's content, not its bytes (a client that builds the body again for a retry
    may order its keys or space it differently); any other body, or JSON that orjson cannot
    write again (integers past 64 bits), as sent."""
    data = request_json() if request.is_json else None
    if data is None:
        return body
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return body


def _run(fn, args, kwargs):
    try:
        return fn(*args, **kwargs)
    except WorkflowError as exc:
        db.session.rollback()
        return jsonify(error_body(exc.code, exc.message)), exc.http_status
    except ApiError as exc:
        db.session.rollback()
        return jsonify(error_body(exc.code, exc.message)), exc.status


def _stored(owner: str, key: str) -> IdempotencyRecord | None:
    return db.session.execute(sa.select(IdempotencyRecord).where(
        IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)).scalar_one_or_none()


def _replay(stored: IdempotencyRecord, digest: str):
    if stored.request_hash != digest:
        raise ApiError(422, "idempotency_key_reused",
                       _("This Idempotency-Key was used for a different request."))
    response = jsonify(stored.body)
    response.headers["Idempotent-Replayed"] = "true"
    return response, stored.status_code


def json_body(schema: dict[str, Field]) -> dict:
    """The JSON object sent, checked against the body's schema (views/inputs.py)."""
    return json_object(schema)


# The bodies the API reads: each field's kind, and lengths from the columns that store it.
TOKEN_BODY = {"username": text(User.username), "password": text()}
NEW_TICKET_BODY = {
    "category": text(Category.code), "description": text(Ticket.description),
    "title": text(Ticket.title),
    "lat": NUMBER, "lon": NUMBER, "coord_system": text(limit=16), "address": text(Ticket.address),
    "area_code": text(Area.code), "priority": text(limit=16), "source": text(limit=16),
    "reporter_name": text(Ticket.reporter_name), "reporter_phone": text(Ticket.reporter_phone),
    "reporter_email": text(Ticket.reporter_email), "attributes": OBJECT}
ACTION_BODY = {
    "version": integer(), "note": text(TicketEvent.note), "department_id": integer(),
    "user_id": integer(),
    "until": text(limit=40), "rating": integer(), "master_id": integer(BIGINT_MAX),
    "master_number": text(Ticket.number), "department_ids": INTEGERS}
TASK_ACTION_BODY = {"version": integer(), "note": text(TicketEvent.note)}


# --- representation ----------------------------------------------------------------------------
def iso(value: datetime | None) -> str | None:
    return value.astimezone(local_zone()).isoformat() if value is not None else None


def area_ref(area: Area | None) -> dict | None:
    return {"id": area.id, "code": area.code, "name": area.name, "level": area.level.value} \
        if area is not None else None


def ticket_json(ticket: Ticket, principal: Principal, *, with_timeline: bool = False,
                tasks: list[CoHandlingTask] | None = None) -> dict:
    phone = reporter_phone_for(principal.user, ticket) if principal.user else \
        reporter_phone_for_client(ticket)
    data = {
        "id": ticket.id, "number": ticket.number, "title": ticket.title,
        "description": ticket.description, "status": ticket.status.value,
        "status_label": ticket.status.label,
        "category": {"code": ticket.category.code, "name": ticket.category.name},
        "priority": ticket.priority.value, "source": ticket.source.value,
        "areas": {level: area_ref(getattr(ticket, level)) for level in
                  ("district", "street", "community", "grid")},
        "lat": ticket.lat, "lon": ticket.lon, "address": ticket.address,
        "location_flagged": ticket.location_flagged,
        "assigned_department": {"id": ticket.assigned_department.id,
                                "name": ticket.assigned_department.name}
        if ticket.assigned_department else None,
        "assigned_user": {"id": ticket.assigned_user.id,
                          "display_name": ticket.assigned_user.display_name}
        if ticket.assigned_user else None,
        "current_level": ticket.current_level.value,
        "accept_deadline": iso(ticket.accept_deadline),
        "handle_deadline": iso(ticket.handle_deadline),
        "deadline_state": deadline_state(ticket, utcnow()),
        "accepted_at": iso(ticket.accepted_at), "submitted_at": iso(ticket.submitted_at),
        "closed_at": iso(ticket.closed_at), "rating": ticket.rating,
        "rating_comment": ticket.rating_comment,
        "rating_source": ticket.rating_source.value if ticket.rating_source else None,
        "rated_by": {"id": ticket.rated_by.id, "display_name": ticket.rated_by.display_name}
        if ticket.rated_by else None,
        "rework_count": ticket.rework_count,
        "duplicate_of": ticket.duplicate_of_id, "reporter_name": ticket.reporter_name,
        "reporter_phone": phone, "tracking_code": ticket.tracking_code,
        "attributes": ticket.attributes or {}, "version": ticket.version,
        "supervision": supervision_json(ticket.supervision),
        "created_at": iso(ticket.created_at), "updated_at": iso(ticket.updated_at),
        "co_handling": [task_json(t, ticket, principal) for t in
                        (tasks if tasks is not None else tasks_by_ticket([ticket.id])[ticket.id])],
    }
    if principal.user is not None:
        data["allowed_actions"] = (allowed_actions(principal.actor, ticket)
                                   + supervision_actions(principal.user, ticket))
    if with_timeline:
        data["timeline"] = timeline_json(ticket)
        data["attachments"] = [attachment_json(a) for a in db.session.execute(
            sa.select(Attachment).where(Attachment.ticket_id == ticket.id)
            .order_by(Attachment.id)).scalars()]
    return data


def task_json(task: CoHandlingTask, ticket: Ticket, principal: Principal) -> dict:
    """One co-handling task (主办/协办) of a ticket, with the steps the caller may take on it."""
    data = {"id": task.id, "department": {"id": task.department.id, "name": task.department.name},
            "status": task.status.value, "status_label": task.status.label,
            "deadline": iso(task.deadline), "overdue": task_overdue(task, utcnow()),
            "note": task.note, "outcome": task.outcome, "created_at": iso(task.created_at),
            "accepted_at": iso(task.accepted_at), "finished_at": iso(task.finished_at)}
    if principal.user is not None:
        data["allowed_actions"] = allowed_task_actions(principal.actor, ticket, task)
    return data


def supervision_json(row) -> dict | None:
    """The ticket's current supervision (督办), or None."""
    if row is None:
        return None
    reply = {"note": row.last_reply_note, "at": iso(row.last_reply_at),
             "by": {"id": row.last_reply_by.id, "display_name": row.last_reply_by.display_name}
             } if row.last_reply_at is not None else None
    return {"level": row.level.value, "level_label": row.level.label, "note": row.note,
            "expected_by": row.expected_by.isoformat(),
            "by": {"id": row.by.id, "display_name": row.by.display_name},
            "since": iso(row.started_at), "last_reply": reply}


def reporter_phone_for_client(ticket: Ticket) -> str:
    from models.people.phones import mask_phone

    return mask_phone(ticket.reporter_phone)


def timeline_json(ticket: Ticket) -> list[dict]:
    events = db.session.execute(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)
        .options(joinedload(TicketEvent.actor))).scalars().all()
    return [{"seq": e.seq, "action": e.action, "label": action_label(e.action),
             "actor": {"kind": e.actor_kind.value,
                       "name": e.actor.display_name if e.actor else None},
             "from_status": e.from_status.value if e.from_status else None,
             "to_status": e.to_status.value if e.to_status else None,
             "from_user_id": e.from_user_id, "to_user_id": e.to_user_id,
             "from_department_id": e.from_department_id, "to_department_id": e.to_department_id,
             "note": e.note, "details": e.details or {}, "at": iso(e.created_at)}
            for e in events]


def attachment_json(item: Attachment) -> dict:
    """Each photo with the URLs the caller fetches it (and its thumbnail) from, with its own token."""
    return {"id": item.id, "event_seq": None, "kind": item.kind.value, "mime": item.mime,
            "size": item.size, "width": item.width, "height": item.height,
            "sha256": item.sha256, "name": item.original_name, "created_at": iso(item.created_at),
            **photo_urls(item.ticket_id, item.id)}


def photo_urls(ticket_id: int, attachment_id: int) -> dict:
    ids = {"ticket_id": ticket_id, "attachment_id": attachment_id}
    return {"url": url_for("api.attachment_file", **ids, _external=True),
            "thumbnail_url": url_for("api.attachment_thumbnail", **ids, _external=True)}


def fast_json(body: dict, status: int = 200):
    """A JSON response encoded by orjson (the reads: several times faster than Flask's encoder)."""
    return current_app.response_class(orjson.dumps(body, default=str), status=status,
                                      mimetype="application/json")


def visible_ticket(ticket_id: int) -> Ticket:
    ticket = db.session.execute(sa.select(Ticket).where(
        Ticket.id == ticket_id, g.principal.scope())).scalar_one_or_none()
    if ticket is None:
        raise ApiError(404, "not_found", _("No such ticket in your scope."))
    return ticket


# --- endpoints ---------------------------------------------------------------------------------
@bp.post("/auth/token")
def auth_token():
    data = json_body(TOKEN_BODY)
    token, result = issue_user_token(str(data.get("username") or ""), str(data.get("password") or ""),
                                     address=request.remote_addr)
    db.session.commit()
    if token is None:
        if result.error == "blocked":
            response = jsonify(error_body("too_many_attempts", _(
                "Too many failed attempts. Try again in %(seconds)s seconds.",
                seconds=result.retry_after)))
            response.headers["Retry-After"] = str(result.retry_after)
            return response, 429
        return jsonify(error_body("unauthorized", _("Wrong username or password."))), 401
    user = result.user
    return jsonify({"token": token, "token_type": "Bearer",
                    "user": {"id": user.id, "username": user.username,
                             "display_name": user.display_name, "role": user.role.value}}), 200


@bp.get("/categories")
@authenticated
def categories():
    rows = db.session.execute(sa.select(Category).where(Category.active.is_(True))
                              .order_by(Category.code)).scalars().all()
    return jsonify({"items": [{
        "code": c.code, "name": c.name, "parent": c.parent.code if c.parent else None,
        "handling_level": c.handling_level.value,
        "accept_deadline": {"amount": c.accept_deadline, "unit": c.accept_deadline_unit.value},
        "handle_deadline": {"amount": c.handle_deadline, "unit": c.handle_deadline_unit.value},
        "requires_after_photo": c.requires_after_photo, "custom_fields": c.custom_fields or [],
        "fields": attribute_definitions(c),
        "leaf": not any(child.active for child in c.children)} for c in rows]})


@bp.get("/categories/suggest")
@signed_in_or_token
def suggest_category():
    """The three most likely categories for a description, with the words behind each."""
    return jsonify(suggestion_json(request.args.get("text", "")))


def suggestion_json(text: str, *, public: bool = False) -> dict:
    enough, found = suggest_categories(text[:max_text()], public=public)
    return {"enough_history": enough, "items": [
        {"code": s.category.code, "name": s.category.name, "score": s.score, "words": s.words}
        for s in found]}


@bp.get("/areas/lookup")
@authenticated
def area_lookup():
    placement = locate(request.args.get("lon"), request.args.get("lat"),
                       request.args.get("coord_system"))
    area = db.session.get(Area, placement.area_id)
    levels = lineage(area)
    return jsonify({"area": area_ref(area), "flagged": placement.flagged,
                    "wgs84": {"lat": placement.lat, "lon": placement.lon},
                    **{level.value: area_ref(a) for level, a in levels.items()}})


@bp.post("/tickets")
@assuming_versions
@authenticated
@idempotent
def create_ticket():
    data = json_body(NEW_TICKET_BODY)
    principal = g.principal
    # From the process's copy of the categories: no query (models/reference_cache.py).
    category_id = category_ids_by_code().get(str(data.get("category") or ""))
    category = reference_object(Category, category_id, "categories") if category_id else None
    if category is None:
        raise ApiError(422, "invalid", _("Unknown category code."))
    priority = _choice(Priority, data.get("priority") or "normal", "priority", list(Priority))
    source = _choice(Source, data.get("source") or "api", "source", API_SOURCES)
    area_id = None
    if data.get("area_code"):
        area = db.session.execute(sa.select(Area).where(Area.code == str(data["area_code"]))
                                  ).scalar_one_or_none()
        area_id = area.id if area else -1
    report = Report(category_id=category.id, description=str(data.get("description") or ""),
                    title=data.get("title"), lat=data.get("lat"), lon=data.get("lon"),
                    coord_system=data.get("coord_system"), address=data.get("address"),
                    area_id=area_id, priority=priority, source=source,
                    reporter_name=data.get("reporter_name"),
                    reporter_phone=data.get("reporter_phone"),
                    reporter_email=data.get("reporter_email"),
                    answers=answers_from_json(data.get("attributes")),
                    api_client=principal.client)
    result = report_ticket(report, actor=principal.user)
    db.session.flush()
    # The ticket as a page of the list shows it, from what was just written (or read again).
    row = new_ticket_row(result.ticket) or read_ticket_row(result.ticket.id, sa.true(), full=False)
    body = ticket_document(row, user=principal.user, actor=principal.actor)
    body["possible_duplicates"] = [
        {"id": t.id, "number": t.number, "status": t.status.value, "distance_m": round(m, 1)}
        for t, m in result.duplicates]
    if principal.user is not None and not can_see_ticket(principal.user, result.ticket):
        # Staff may report anywhere (by area_code): the ticket went to that area's owner.
        owner = body["assigned_department"]
        body["outside_your_area"] = True
        body["notice"] = _("It lies outside your area and went to %(owner)s.",
                           owner=owner["name"] if owner else "—")
    return fast_json(body), 201


def _choice(kind, value, name: str, allowed):
    """``value`` as one of ``allowed`` (members of the enum ``kind``), or a 422 naming them."""
    try:
        chosen = kind(value)
    except ValueError:
        chosen = None
    if chosen not in allowed:
        raise ApiError(422, "invalid", _("%(name)s must be one of: %(values)s.", name=name,
                                         values=", ".join(sorted(v.value for v in allowed))))
    return chosen


@bp.get("/tickets")
@authenticated
def list_tickets():
    principal = g.principal
    args = request.args
    repeated = sorted({name for name in args if len(args.getlist(name)) > 1})
    if repeated:  # status=pending&status=closed read the first only
        raise ApiError(422, "invalid", _("Give %(name)s once; several values go in one, "
                                         "separated by commas.", name=repeated[0]))
    query = sa.select(Ticket).where(principal.scope())
    if args.get("status"):
        try:
            statuses = [TicketStatus(s) for s in args["status"].split(",")]
        except ValueError:
            raise ApiError(422, "invalid", _("Unknown status.")) from None
        query = query.where(Ticket.status.in_(statuses))
    if args.get("category"):
        category = db.session.execute(sa.select(Category).where(
            Category.code == args["category"])).scalar_one_or_none()
        if category is None:
            raise ApiError(422, "invalid", _("Unknown category code."))
        query = query.where(in_category(category.id))
    if args.get("area"):
        area = db.session.execute(sa.select(Area).where(Area.code == args["area"])).scalar_one_or_none()
        if area is None:
            raise ApiError(422, "invalid", _("Unknown area code."))
        query = query.where(getattr(Ticket, LEVEL_COLUMN[area.level]) == area.id)
    if args.get("assignee"):
        assignee = principal.user.id if args["assignee"] == "me" and principal.user else \
            _row_id(args["assignee"], "assignee")
        query = query.where(Ticket.assigned_user_id == assignee)
    if args.get("overdue"):
        if args["overdue"] not in ("true", "false"):
            raise ApiError(422, "invalid", _("overdue must be true or false."))
        query = query.where(overdue_condition(utcnow(), overdue=args["overdue"] == "true"))
    if args.get("supervision"):  # under supervision (督办) now: "any" or one level
        level = "any" if args["supervision"] == "any" else parse_level(args["supervision"]).value
        query = query.where(list_filter("supervision", level))
    for name, op in (("created_from", "ge"), ("created_to", "le")):
        if args.get(name):
            moment = _moment(args[name], end=(op == "le"))
            query = query.where(Ticket.created_at >= moment if op == "ge" else Ticket.created_at <= moment)
    limit = _page_size(args.get("limit"))
    if args.get("cursor"):
        created, last_id = _decode_cursor(args["cursor"])
        # A row comparison is an index condition on (created_at, id); an OR would be a filter.
        query = query.where(sa.tuple_(Ticket.created_at, Ticket.id) < (created, last_id))
    rows = read_ticket_rows(query.whereclause, limit=limit + 1)  # plain rows, one statement
    items, more = rows[:limit], len(rows) > limit
    cursor = _encode_cursor(items[-1]) if more else None
    return fast_json({"items": [ticket_document(t, user=principal.user, actor=principal.actor)
                                for t in items], "next": cursor})


def version_of(data: dict) -> int:
    """The version of the ticket the client saw (required on every action)."""
    if "version" not in data:
        raise ApiError(422, "invalid", _("Give the version of the ticket you are acting on."))
    return _int(data["version"], "version")


def _row_id(value, name: str) -> int:
    number = whole_number(value)
    if number is None:
        raise ApiError(422, "invalid", _("%(name)s must be a whole number from 0 to %(max)s.",
                                         name=name, max=INTEGER_MAX))
    return number


def _int(value, name: str) -> int:
    number = whole_number(value)
    if number is None or isinstance(value, (bool, float)):
        raise ApiError(422, "invalid", _("%(name)s must be a whole number from 0 to %(max)s.",
                                         name=name, max=INTEGER_MAX))
    return number


def _page_size(value) -> int:
    """The items on a page: ``limit`` from 1 to MAX_PAGE_SIZE (as the API document says),
    PAGE_SIZE when not given."""
    if value in (None, ""):
        return PAGE_SIZE
    number = whole_number(value)
    if number is None or not 1 <= number <= MAX_PAGE_SIZE:
        raise ApiError(422, "invalid", _("limit must be a whole number from 1 to %(max)s.",
                                         max=MAX_PAGE_SIZE))
    return number


def _moment(value: str, *, end: bool) -> datetime:
    try:
        return parse_iso_datetime(value, end_of_day=end)
    except DateOutOfRange as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    except ValueError:
        raise ApiError(422, "invalid", _("Give dates as YYYY-MM-DD or ISO 8601.")) from None


def _encode_cursor(ticket: Ticket) -> str:
    raw = f"{ticket.created_at.astimezone(timezone.utc).isoformat()}|{ticket.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor of ours names; anything else (edited, forged, cut) is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_text, ident_text = raw.split("|")
        created, ident = datetime.fromisoformat(created_text), whole_number(ident_text, BIGINT_MAX)
        if created.tzinfo is None or ident is None:
            raise ValueError(raw)
        within_range(created.date())
        return created, ident
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        raise ApiError(400, "bad_request", _("The cursor is not valid.")) from None


@bp.get("/tickets/<int:ticket_id>")
@reads_only
@authenticated
def get_ticket(ticket_id: int):
    principal = g.principal
    row = read_ticket_row(ticket_id, principal.scope())  # one statement, timeline included
    if row is None:
        raise ApiError(404, "not_found", _("No such ticket in your scope."))
    return fast_json(full_ticket_document(row, principal))


def full_ticket_document(row, principal: Principal) -> dict:
    """A ticket as GET /tickets/{id} answers it, with its photos' URLs."""
    body = ticket_document(row, user=principal.user, actor=principal.actor, full=True)
    for item in body["attachments"]:
        item.update(photo_urls(row.id, item["id"]))
    return body


def ticket_after_action(ticket: Ticket, principal: Principal):
    """The answer to an action: the ticket as it is now, read as GET reads it — also when the
    action took it out of the caller's scope (sent up a level, transferred)."""
    db.session.flush()
    return fast_json(full_ticket_document(read_ticket_row(ticket.id, sa.true()), principal)), 200


@bp.post("/tickets/<int:ticket_id>/actions/<action>")
@authenticated
@idempotent
def ticket_action(ticket_id: int, action: str):
    return _act_on_ticket(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/actions/co_handle")
@authenticated
@idempotent
def co_handle_ticket(ticket_id: int):
    """吹哨报到: call departments onto the case, each with its own task (its own path in the
    OpenAPI document, with its own body; the same step as any other action)."""
    return _act_on_ticket(ticket_id, "co_handle")


def _act_on_ticket(ticket_id: int, action: str):
    principal = g.principal
    ticket = visible_ticket(ticket_id)
    if action not in ACTIONS:
        raise ApiError(404, "not_found", _("Unknown action %(action)s.", action=action))
    if principal.client is not None and action not in CLIENT_ACTIONS:
        raise ApiError(403, "forbidden", _("Integrations may only rate or reopen for the reporter."))
    data = json_body(ACTION_BODY)
    version = version_of(data)
    params = {k: v for k, v in data.items()
              if k in ("note", "department_id", "user_id", "until", "rating", "master_id",
                       "master_number", "department_ids")}
    perform(ticket, action, principal.actor, expected_version=version, **params)
    return ticket_after_action(ticket, principal)


@bp.post("/tickets/<int:ticket_id>/tasks/<int:task_id>/actions/<action>")
@authenticated
@idempotent
def task_action(ticket_id: int, task_id: int, action: str):
    """A co-handling department's step on its own task (accept, note, submit, return), or a
    manager closing a task (close). ``version`` (the ticket's), when given, is checked."""
    principal = g.principal
    ticket = visible_ticket(ticket_id)
    task = db.session.get(CoHandlingTask, task_id)
    if task is None or task.ticket_id != ticket.id:
        raise ApiError(404, "not_found", _("No such co-handling task on this ticket."))
    if action not in TASK_ACTIONS:
        raise ApiError(404, "not_found", _("Unknown action %(action)s.", action=action))
    if principal.user is None:
        raise ApiError(403, "forbidden", _("Integrations may only rate or reopen for the reporter."))
    data = json_body(TASK_ACTION_BODY)
    version = data.get("version")
    note = data.get("note")
    act_on_task(ticket, task, action, principal.actor, note=str(note) if note is not None else None,
                expected_version=version)
    return ticket_after_action(ticket, principal)


@bp.get("/departments")
@authenticated
def departments():
    """The departments the caller may pick (to assign, transfer, call in as co-handlers)."""
    principal = g.principal
    if principal.user is None:
        raise ApiError(403, "forbidden", _("Only staff pick departments."))
    return jsonify({"items": [
        {"id": d.id, "name": d.name, "kind": d.kind.value,
         "area": area_ref(d.area)} for d in pickable_departments(principal.user)]})


@bp.post("/tickets/<int:ticket_id>/attachments")
@authenticated
@idempotent
def add_attachment(ticket_id: int):
    """Photos ride on a progress note (or on the submit action, with "kind": "after")."""
    principal = g.principal
    if principal.user is None:
        raise ApiError(403, "forbidden", _("Only staff may add photos to a ticket."))
    ticket = visible_ticket(ticket_id)
    files = [f for f in request.files.getlist("file") if f and f.filename]
    if not files:
        raise ApiError(422, "invalid", _("Send the photo in the multipart field file."))
    try:
        kind = AttachmentKind(request.form.get("kind") or "other")
    except ValueError:
        raise ApiError(422, "invalid", _("kind must be before, after or other.")) from None
    version = request.form.get("version")
    perform(ticket, "note", principal.actor,
            expected_version=_int(version, "version") if version else ticket.version,
            note=request.form.get("note") or _("Photo added"),
            attachments=[Upload.from_file(kind, f) for f in files])
    db.session.flush()
    items = db.session.execute(sa.select(Attachment).where(
        Attachment.ticket_id == ticket.id).order_by(Attachment.id.desc()).limit(len(files))
    ).scalars().all()
    return jsonify({"attachments": [attachment_json(a) for a in reversed(items)],
                    "ticket": ticket_json(ticket, principal)}), 201


@bp.get("/tickets/<int:ticket_id>/attachments/<int:attachment_id>")
@authenticated
def attachment_file(ticket_id: int, attachment_id: int):
    return photo_response(ticket_id, attachment_id, thumbnail=False)


@bp.get("/tickets/<int:ticket_id>/attachments/<int:attachment_id>/thumbnail")
@authenticated
def attachment_thumbnail(ticket_id: int, attachment_id: int):
    return photo_response(ticket_id, attachment_id, thumbnail=True)


def photo_response(ticket_id: int, attachment_id: int, *, thumbnail: bool):
    """A photo of a ticket in the caller's scope; 404 for anything else."""
    ticket = visible_ticket(ticket_id)
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.ticket_id != ticket.id:
        raise ApiError(404, "not_found", _("No such photo on this ticket."))
    try:
        stored, mime = open_photo(item, thumbnail=thumbnail)
    except FileNotFoundError:
        raise ApiError(404, "not_found", _("The photo file is missing.")) from None
    response = send_file(stored, mimetype=mime, etag=f"{item.sha256}-t" if thumbnail
                         else item.sha256, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    return response


@bp.get("/openapi.json")
def openapi():
    from .api_spec import openapi_document

    return jsonify(openapi_document(request.host_url.rstrip("/") + bp.url_prefix))




from . import api_stats  # noqa: E402,F401  (the statistics routes join this blueprint)
from . import api_supervision  # noqa: E402,F401  (supervision's actions join it too)
