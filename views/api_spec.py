"""The OpenAPI 3 description of /api/v1. tests/test_api.py checks it against the routes."""
from __future__ import annotations

from models.tickets.cohandling import TASK_ACTIONS
from models.tickets.workflow import ACTIONS

ERROR_RESPONSES = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "404": {"$ref": "#/components/responses/NotFound"},
    "409": {"$ref": "#/components/responses/Conflict"},
    "422": {"$ref": "#/components/responses/Invalid"},
}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "Repeat a POST safely: the first answer is replayed, nothing is created twice.",
               "schema": {"type": "string", "maxLength": 200}}
TICKET_ID = {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "integer"}}
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"},
           "description": "A co-handling task of the ticket (co_handling[].id)"}
SECURED = [{"bearer": []}]
ATTACHMENT_ID = {"name": "attachment_id", "in": "path", "required": True,
                 "schema": {"type": "integer"}}
PHOTO_RESPONSE = {"description": "The photo", "content": {
    mime: {"schema": {"type": "string", "format": "binary"}}
    for mime in ("image/jpeg", "image/png", "image/webp")}}


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


BAD_REQUEST = {"$ref": "#/components/responses/BadRequest"}


def openapi_document(server_url: str) -> dict:
    document = _document(server_url)
    _with_body_limits(document)
    for operations in document["paths"].values():  # a NUL character is refused everywhere
        for operation in operations.values():
            operation["responses"].setdefault("400", BAD_REQUEST)
    return document


def _with_body_limits(document: dict) -> None:
    """The most characters of each text field, as the API checks them (views/api.py's body
    schemas, read from the columns): one rule, documented where clients look."""
    from .api import ACTION_BODY, NEW_TICKET_BODY, TASK_ACTION_BODY, TOKEN_BODY
    from .api_supervision import SUPERVISION_BODY

    schemas = document["components"]["schemas"]
    token = document["paths"]["/auth/token"]["post"]["requestBody"]["content"]
    task = document["paths"]["/tickets/{ticket_id}/tasks/{task_id}/actions/{action}"]["post"]
    for body, schema in ((NEW_TICKET_BODY, schemas["NewTicket"]), (ACTION_BODY, schemas["Action"]),
                         (SUPERVISION_BODY, schemas["Supervise"]),
                         (SUPERVISION_BODY, schemas["SupervisionNote"]),
                         (TOKEN_BODY, token["application/json"]["schema"]),
                         (TASK_ACTION_BODY,
                          task["requestBody"]["content"]["application/json"]["schema"])):
        for name, field in body.items():
            described = schema["properties"].get(name)
            if described is None:
                continue
            if field.kind == "text" and field.limit is not None:
                described["maxLength"] = field.limit
            elif field.kind == "integer":
                described.update(minimum=described.get("minimum", 0), maximum=min(
                    described.get("maximum", field.limit), field.limit))


def _document(server_url: str) -> dict:
    nullable_str = {"type": "string", "nullable": True}
    area_ref = {"type": "object", "nullable": True, "properties": {
        "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
        "level": {"type": "string", "enum": ["district", "street", "community", "grid"]}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "GridDesk API", "version": "1.0.0",
                 "description": "Community grid event tickets: intake, reading and the workflow."},
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}}}}},
                "AreaRef": area_ref,
                "Ticket": {"type": "object", "required": ["id", "number", "status", "version"],
                           "properties": {
                    "id": {"type": "integer"}, "number": {"type": "string"},
                    "title": {"type": "string"}, "description": {"type": "string"},
                    "status": {"type": "string", "enum": ["pending", "in_progress",
                                                          "pending_review", "closed",
                                                          "suspended", "invalid"]},
                    "status_label": {"type": "string"},
                    "category": {"type": "object", "properties": {"code": {"type": "string"},
                                                                  "name": {"type": "string"}}},
                    "priority": {"type": "string", "enum": ["normal", "urgent", "emergency"]},
                    "source": {"type": "string"},
                    "areas": {"type": "object", "properties": {
                        k: {"$ref": "#/components/schemas/AreaRef"}
                        for k in ("district", "street", "community", "grid")}},
                    "lat": {"type": "number", "nullable": True},
                    "lon": {"type": "number", "nullable": True},
                    "address": nullable_str, "location_flagged": {"type": "boolean"},
                    "assigned_department": {"type": "object", "nullable": True},
                    "assigned_user": {"type": "object", "nullable": True},
                    "current_level": {"type": "string"},
                    "accept_deadline": {"type": "string", "format": "date-time", "nullable": True},
                    "handle_deadline": {"type": "string", "format": "date-time", "nullable": True},
                    "deadline_state": {"type": "string", "nullable": True,
                                       "enum": ["green", "yellow", "red", "paused", None]},
                    "accepted_at": nullable_str, "submitted_at": nullable_str,
                    "closed_at": nullable_str,
                    "rating": {"type": "integer", "nullable": True},
                    "rating_comment": nullable_str,
                    "rating_source": {"type": "string", "nullable": True,
                                      "enum": ["reporter", "follow_up", None],
                                      "description": "reporter: the reporter's own rating; "
                                                     "follow_up: recorded by staff on a phone "
                                                     "follow-up (回访)"},
                    "rated_by": {"type": "object", "nullable": True,
                                 "description": "Who recorded a phone follow-up"},
                    "rework_count": {"type": "integer"},
                    "duplicate_of": {"type": "integer", "nullable": True},
                    "reporter_name": nullable_str, "reporter_phone": {"type": "string"},
                    "tracking_code": {"type": "string"}, "attributes": {"type": "object"},
                    "version": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "supervision": {"allOf": [{"$ref": "#/components/schemas/Supervision"}],
                                    "nullable": True,
                                    "description": "The current supervision (督办), or null"},
                    "allowed_actions": {"type": "array", "items": {"type": "string"}},
                    "timeline": {"type": "array", "items": {"type": "object"}},
                    "attachments": {"type": "array",
                                    "items": {"$ref": "#/components/schemas/Attachment"}},
                    "possible_duplicates": {"type": "array", "items": {"type": "object"}},
                    "outside_your_area": {"type": "boolean", "description": (
                        "Only in the answer to a report by a staff member whose own area does "
                        "not hold the place: true; the ticket went to that area's owner and "
                        "will not be readable with this token")},
                    "notice": {"type": "string", "description": (
                        "With outside_your_area: whom the ticket went to, in words")},
                    "co_handling": {"type": "array", "description": (
                        "Co-handling (主办/协办): the departments called onto the ticket beside "
                        "its lead (assigned_department), each with its own task."),
                        "items": {"$ref": "#/components/schemas/CoHandlingTask"}}}},
                "CoHandlingTask": {"type": "object",
                                   "required": ["id", "department", "status", "deadline", "note"],
                                   "properties": {
                    "id": {"type": "integer"},
                    "department": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "name": {"type": "string"}}},
                    "status": {"type": "string", "enum": ["open", "accepted", "submitted",
                                                          "returned", "closed"],
                               "description": "open: waiting for the department to accept; "
                                              "accepted: being handled; submitted: its part "
                                              "done; returned: not theirs (outcome says why); "
                                              "closed: closed by a manager (outcome says why). "
                                              "While a task is open or accepted the lead "
                                              "cannot submit the ticket."},
                    "status_label": {"type": "string"},
                    "deadline": {"type": "string", "format": "date-time", "nullable": True},
                    "overdue": {"type": "boolean"},
                    "note": {"type": "string", "nullable": True,
                             "description": "What is asked of the department"},
                    "outcome": nullable_str,
                    "created_at": {"type": "string", "format": "date-time"},
                    "accepted_at": nullable_str, "finished_at": nullable_str,
                    "allowed_actions": {"type": "array", "items": {
                        "type": "string", "enum": list(TASK_ACTIONS)}}}},
                "Department": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["command_centre", "functional",
                                                        "community_office", "property_company",
                                                        "other"]},
                    "area": {"$ref": "#/components/schemas/AreaRef"}}},
                "Attachment": {"type": "object", "properties": {
                    "id": {"type": "integer"},
                    "kind": {"type": "string", "enum": ["before", "after", "other"]},
                    "mime": {"type": "string", "enum": ["image/jpeg", "image/png", "image/webp"]},
                    "size": {"type": "integer"}, "width": {"type": "integer"},
                    "height": {"type": "integer"}, "sha256": {"type": "string"},
                    "name": nullable_str, "created_at": {"type": "string", "format": "date-time"},
                    "url": {"type": "string", "format": "uri", "description": (
                        "The photo (re-encoded, EXIF removed, orientation applied); fetch it "
                        "with your own bearer token.")},
                    "thumbnail_url": {"type": "string", "format": "uri", "description": (
                        "A JPEG of at most 320 px for lists; same token.")}}},
                "TicketPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}},
                    "next": {"type": "string", "nullable": True,
                             "description": "Cursor of the next page; absent at the end."}}},
                "NewTicket": {"type": "object", "required": ["category", "description"],
                              "properties": {
                    "category": {"type": "string", "description": "Sub-category code"},
                    "description": {"type": "string"}, "title": {"type": "string"},
                    "lat": {"type": "number"}, "lon": {"type": "number"},
                    "coord_system": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
                    "address": {"type": "string"},
                    "area_code": {"type": "string", "description": "Grid or community, when no coordinates"},
                    "priority": {"type": "string", "enum": ["normal", "urgent", "emergency"]},
                    "source": {"type": "string", "enum": ["api", "wechat", "web", "phone",
                                                          "patrol", "walk_in"]},
                    "reporter_name": {"type": "string"}, "reporter_phone": {"type": "string"},
                    "reporter_email": {"type": "string"},
                    "attributes": {"type": "object", "description": (
                        "Answers to the category's custom fields (GET /categories: fields), "
                        "by field code: a value, or a list for multivaluelist. Checked like "
                        "Open311's attributes: required fields must be answered."),
                        "additionalProperties": True}}},
                **_supervision_schemas(),
                "Action": {"type": "object", "required": ["version"], "properties": {
                    "version": {"type": "integer"}, "note": {"type": "string"},
                    "department_id": {"type": "integer"}, "user_id": {"type": "integer"},
                    "until": {"type": "string", "format": "date-time"},
                    "rating": {"type": "integer", "minimum": 1, "maximum": 5,
                               "description": "rate and follow_up"},
                    "master_id": {"type": "integer"}, "master_number": {"type": "string"},
                    "department_ids": {"type": "array", "items": {"type": "integer"},
                                       "description": "co_handle: the departments to call in "
                                                      "(GET /departments), each given a task; "
                                                      "note says what is asked of them"}}},
            },
            "responses": {"BadRequest": _error("The request cannot be read (a NUL character "
                                               "in a text, a cursor that is not ours); nothing "
                                               "was changed"),
                          "Unauthorized": _error("No or a bad token"),
                          "Forbidden": _error("Not allowed for this user or client"),
                          "NotFound": _error("Not found, or outside your scope"),
                          "Conflict": _error("The ticket changed meanwhile (stale version)"),
                          "Invalid": _error("Invalid input; nothing was changed")},
        },
        "security": SECURED,
        "paths": {
            **_stats_paths(),
            **_supervision_paths(),
            "/auth/token": {"post": {
                "operationId": "issueToken", "security": [], "summary": "A personal token",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"},
                                   "password": {"type": "string"}}}}}},
                "responses": {"200": {"description": "The token", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "token": {"type": "string"}, "token_type": {"type": "string"},
                        "user": {"type": "object"}}}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "422": {"$ref": "#/components/responses/Invalid"},
                    "429": _error("Too many failed attempts")}}},
            "/categories": {"get": {"operationId": "listCategories", "responses": {
                "200": {"description": "Active categories", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"items": {
                        "type": "array", "items": {"type": "object"}}}}}}},
                "401": ERROR_RESPONSES["401"]}}},
            "/categories/suggest": {"get": {
                "operationId": "suggestCategories",
                "summary": "The three most likely categories for a description, learned from "
                           "this office's closed tickets (offline), with the words behind each",
                "parameters": [{"name": "text", "in": "query", "required": True,
                                "schema": {"type": "string", "maxLength": 1000}}],
                "responses": {"200": {"description": "enough_history false: too little history, "
                                                     "no items", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["enough_history", "items"],
                               "properties": {"enough_history": {"type": "boolean"}, "items": {
                                   "type": "array", "maxItems": 3, "items": {
                                       "type": "object", "properties": {
                                           "code": {"type": "string"}, "name": {"type": "string"},
                                           "score": {"type": "number"},
                                           "words": {"type": "array",
                                                     "items": {"type": "string"}}}}}}}}}},
                              "401": ERROR_RESPONSES["401"]}}},
            "/areas/lookup": {"get": {"operationId": "lookupArea", "parameters": [
                {"name": "lat", "in": "query", "required": True, "schema": {"type": "number"}},
                {"name": "lon", "in": "query", "required": True, "schema": {"type": "number"}},
                {"name": "coord_system", "in": "query", "schema": {
                    "type": "string", "enum": ["wgs84", "gcj02", "bd09"]}}],
                "responses": {"200": {"description": "The grid with its community, street, district",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "401": ERROR_RESPONSES["401"], "422": ERROR_RESPONSES["422"]}}},
            "/tickets": {
                "get": {"operationId": "listTickets", "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}} for n in
                    ("status", "category", "area", "assignee", "overdue", "created_from",
                     "created_to", "cursor")] + [
                    {"name": "supervision", "in": "query", "description": "Under supervision "
                     "(督办) now: any, or one level", "schema": {
                         "type": "string", "enum": ["any", "watch", "supervise", "listed"]}}] + [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}}],
                    "responses": {"200": _json("#/components/schemas/TicketPage", "A page"),
                                  "401": ERROR_RESPONSES["401"], "422": ERROR_RESPONSES["422"]}},
                "post": {"operationId": "createTicket", "parameters": [IDEMPOTENCY],
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/NewTicket"}}}},
                         "responses": {"201": _json("#/components/schemas/Ticket", "Created"),
                                       **{k: ERROR_RESPONSES[k] for k in ("401", "403", "422")}}}},
            "/tickets/{ticket_id}": {"get": {
                "operationId": "getTicket", "parameters": [TICKET_ID],
                "responses": {"200": _json("#/components/schemas/Ticket", "With its timeline"),
                              "401": ERROR_RESPONSES["401"], "404": ERROR_RESPONSES["404"]}}},
            "/tickets/{ticket_id}/actions/{action}": {"post": {
                "operationId": "actOnTicket",
                "parameters": [TICKET_ID, IDEMPOTENCY,
                               {"name": "action", "in": "path", "required": True,
                                "schema": {"type": "string", "enum": list(ACTIONS)},
                                "description": (
                                    "rate is the reporter's own rating (integrations acting "
                                    "for the resident); staff record a phone follow-up (回访) "
                                    "with follow_up: rating and a note of how the reporter "
                                    "was reached and what they said, both required.")}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Action"}}}},
                "responses": {"200": _json("#/components/schemas/Ticket", "Done"),
                              **ERROR_RESPONSES}}},
            "/tickets/{ticket_id}/tasks/{task_id}/actions/{action}": {"post": {
                "operationId": "actOnCoHandlingTask",
                "summary": "A co-handling department's step on its own task",
                "description": (
                    "accept, note, submit (its part done) and return (not ours, with the "
                    "reason) are taken by members of the task's department; close (with the "
                    "reason) by a manager of the ticket. note is required except for accept. "
                    "Each step is one event on the ticket's timeline (task_accept, task_note, "
                    "task_submit, task_return, task_close)."),
                "parameters": [TICKET_ID, TASK_ID, IDEMPOTENCY,
                               {"name": "action", "in": "path", "required": True,
                                "schema": {"type": "string", "enum": list(TASK_ACTIONS)}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "note": {"type": "string"},
                        "version": {"type": "integer",
                                    "description": "The ticket's version; checked when given"}}}}}},
                "responses": {"200": _json("#/components/schemas/Ticket", "Done"),
                              **ERROR_RESPONSES}}},
            "/departments": {"get": {
                "operationId": "listDepartments",
                "summary": "The departments the caller may pick (assign, transfer, co_handle)",
                "description": ("Scoped: the active departments of the areas above the "
                                "caller's area and inside it (the district's serve every "
                                "street; another street's or community's are not listed); "
                                "every active department for administrators."),
                "responses": {"200": {"description": "Departments", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "items": {"type": "array", "items": {
                            "$ref": "#/components/schemas/Department"}}}}}}},
                    "401": ERROR_RESPONSES["401"], "403": ERROR_RESPONSES["403"]}}},
            "/tickets/{ticket_id}/attachments": {"post": {
                "operationId": "addAttachment", "parameters": [TICKET_ID, IDEMPOTENCY],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "kind": {"type": "string", "enum": ["before", "after", "other"]},
                        "note": {"type": "string"}, "version": {"type": "integer"}}}}}},
                "description": (
                    "Only JPEG, PNG or WebP photos that Pillow decodes within the byte and pixel "
                    "limits are accepted (422 with a message otherwise; nothing is stored). "
                    "The photo is stored re-encoded, without EXIF, orientation applied."),
                "responses": {"201": {"description": "Stored", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "attachments": {"type": "array", "items": {
                            "$ref": "#/components/schemas/Attachment"}},
                        "ticket": {"$ref": "#/components/schemas/Ticket"}}}}}},
                    **ERROR_RESPONSES}}},
            "/tickets/{ticket_id}/attachments/{attachment_id}": {"get": {
                "operationId": "getAttachment", "parameters": [TICKET_ID, ATTACHMENT_ID],
                "responses": {"200": PHOTO_RESPONSE, **ERROR_RESPONSES}}},
            "/tickets/{ticket_id}/attachments/{attachment_id}/thumbnail": {"get": {
                "operationId": "getAttachmentThumbnail", "parameters": [TICKET_ID, ATTACHMENT_ID],
                "responses": {"200": {"description": "The thumbnail (JPEG)", "content": {
                    "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
                    **ERROR_RESPONSES}}},
            "/openapi.json": {"get": {"operationId": "openapi", "security": [], "responses": {
                "200": {"description": "This document", "content": {"application/json": {
                    "schema": {"type": "object"}}}}}}},
        },
    }


LEVELS = ["watch", "supervise", "listed"]


def _supervision_schemas() -> dict:
    person = {"type": "object", "properties": {"id": {"type": "integer"},
                                               "display_name": {"type": "string"}}}
    return {
        "Supervision": {"type": "object", "properties": {
            "level": {"type": "string", "enum": LEVELS,
                      "description": "watch 关注, supervise 督办, listed 挂牌督办"},
            "level_label": {"type": "string"}, "note": {"type": "string"},
            "expected_by": {"type": "string", "format": "date"}, "by": person,
            "since": {"type": "string", "format": "date-time"},
            "last_reply": {"type": "object", "nullable": True, "properties": {
                "note": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                "by": person}}}},
        "Supervise": {"type": "object", "required": ["version", "level", "note", "expected_by"],
                      "properties": {
            "version": {"type": "integer"},
            "level": {"type": "string", "enum": LEVELS},
            "note": {"type": "string"},
            "expected_by": {"type": "string", "format": "date",
                            "description": "The local date the case should be settled by; "
                                           "today or later"}}},
        "SupervisionNote": {"type": "object", "required": ["version"], "properties": {
            "version": {"type": "integer"}, "note": {"type": "string"}}},
        "CoHandle": {"type": "object", "required": ["version", "department_ids"], "properties": {
            "version": {"type": "integer"},
            "department_ids": {"type": "array", "minItems": 1, "items": {"type": "integer"},
                               "description": "The departments to call in (GET /departments); "
                                              "each is given a task with its own deadline"},
            "note": {"type": "string", "description": "What is asked of them"}}},
    }


def _supervision_paths() -> dict:
    def action(operation: str, schema: str, description: str) -> dict:
        return {"post": {
            "operationId": operation, "description": description,
            "parameters": [TICKET_ID, IDEMPOTENCY],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"}}}},
            "responses": {"200": _json("#/components/schemas/Ticket", "Done"),
                          **ERROR_RESPONSES}}}

    base = "/tickets/{ticket_id}/actions/"
    return {
        base + "supervise": action(
            "superviseTicket", "Supervise",
            "Put the ticket under supervision (督办), or change its level, note and expected "
            "date: district and street command centres and leaders, inside their area; a "
            "supervision set by a higher level is changed by that level only. The assignee and "
            "their department are told; the scheduler reminds them once the expected date has "
            "passed."),
        base + "supervision_reply": action(
            "replyToSupervision", "SupervisionNote",
            "The handler's answer to the supervision (督办回复): the assignee or a member of the "
            "assigned department; the note is required. The supervisor is told."),
        base + "lift_supervision": action(
            "liftSupervision", "SupervisionNote",
            "Lift the supervision: its supervisor's level or above."),
        base + "co_handle": action(
            "coHandleTicket", "CoHandle",
            "吹哨报到 — call departments onto the case (主办/协办): managers of the ticket "
            "(command centres, community staff, administrators). Each department gets a "
            "co-handling task with its own deadline, listed in the ticket's co_handling and "
            "worked at /tickets/{ticket_id}/tasks/{task_id}/actions/{action}; the lead cannot "
            "submit while a task is open unless a manager closes it with a reason."),
    }


def _stats_paths() -> dict:
    """/stats, /stats/hotspots, /stats/seasonality: figures scoped to the caller, from the rollups."""
    def query(name, description, schema=None):
        return {"name": name, "in": "query", "description": description,
                "schema": schema or {"type": "string"}}

    common = [query("from", "First local (Asia/Shanghai) day, YYYY-MM-DD", {"type": "string", "format": "date"}),
              query("to", "Last local day, YYYY-MM-DD (included)", {"type": "string", "format": "date"}),
              query("area", "Area code (any level)"),
              query("category", "Category code (with its sub-categories)")]
    answers = {"401": ERROR_RESPONSES["401"], "422": ERROR_RESPONSES["422"]}
    # Hotspots and seasonality are area views: a grid worker or handler gets 403 (their own
    # figures are at /stats).
    area_view = {"403": ERROR_RESPONSES["403"]}

    def ok(description):
        return {"description": description,
                "content": {"application/json": {"schema": {"type": "object"}}}}

    return {
        "/stats": {"get": {
            "operationId": "statistics",
            "summary": "Indicators (受理量, 响应率, 按期办结率, 超期率, 返工率, 退回率, 满意率, "
                       "handling times …) with their definitions",
            "description": "Defaults: from the first of this month to today. Each row: key, "
                           "label and values by indicator code; definitions: code, Chinese name "
                           "and definition, unit.",
            "parameters": common + [query("group_by", "Rows per group", {
                "type": "string", "enum": ["grid", "community", "street", "department",
                                           "assignee", "category", "month"]})],
            "responses": {"200": ok("Rows and definitions"), **answers}}},
        "/stats/hotspots": {"get": {
            "operationId": "statisticsHotspots",
            "summary": "Grid × category counts of reported cases, top N, with the previous period",
            "parameters": common + [query("top", "How many (1–100, default 10)",
                                          {"type": "integer", "minimum": 1, "maximum": 100})],
            "responses": {"200": ok("Hotspots"), **answers, **area_view}}},
        "/stats/seasonality": {"get": {
            "operationId": "statisticsSeasonality",
            "summary": "Month × category counts of reported cases (at most three years; "
                       "default: from 1 January two years ago to today)",
            "parameters": common,
            "responses": {"200": ok("Months, categories and counts"), **answers,
                          **area_view}}},
    }
