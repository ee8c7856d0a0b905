"""Reading requests at the edge: every value is checked for what it is before a rule sees it.

- Numbers: a row id or a version is a whole number that fits its column. A value past the
  column's range would reach the database and fail there (PostgreSQL: "integer out of range", a
  500); read this way it is simply no such row.
- NUL characters: refused in every query parameter, form field, file name, JSON text, path
  segment, the Idempotency-Key and the bearer token, for every request (``refuse_unstorable_input``, run before any
  view), because PostgreSQL cannot compare or store them.
- JSON bodies: each API body has a schema (field → kind, length, range); ``json_object`` checks a
  body against it and refuses with the field's name, in the caller's language.

Refusals raise ``InputRefused``; admin_app/error_pages.py answers it in the caller's format
(JSON under /api/ and /m/api/, the GeoReport error list under /open311/, a page otherwise).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _

from models.fields import (BIGINT_MAX, INTEGER_MAX, column_length,  # noqa: F401 (the edge's)
                           has_lone_surrogate, has_nul, nul_message, surrogate_message,
                           too_long_message, whole_number)

CHECKED_HEADERS = ("Idempotency-Key", "Authorization")


class InputRefused(Exception):
    """A request refused at the edge, before anything was read from or written to the database."""

    def __init__(self, message: str, status: int = 422, code: str = "invalid") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


# --- every request -------------------------------------------------------------------------------
def refuse_unstorable_input() -> None:
    """Before any view: a NUL anywhere in the request, or half of a surrogate pair in a JSON
    body (the only way one can come in: forms, queries and files are decoded from UTF-8), is a
    400 (an id in the path past any column's range is already a 404: admin_app's bounded int
    converter)."""
    if _request_has_nul():
        raise InputRefused(nul_message(), status=400, code="bad_request")
    if request.is_json and ESCAPED_SURROGATE.search(request.get_data()) \
            and has_lone_surrogate(request_json()):
        raise InputRefused(surrogate_message(), status=400, code="bad_request")


ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # a JSON escape of one (pairs are fine)


def request_json():
    """The request's JSON, None when there is none or it is malformed; a body nested deeper
    than the parser goes (``[[[…]]]``) is refused, not a 500."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise InputRefused(_("The JSON body is nested too deeply."), status=400,
                           code="bad_request") from None


def _request_has_nul() -> bool:
    if has_nul(list((request.view_args or {}).values())):
        return True
    if any(has_nul(request.headers.get(name)) for name in CHECKED_HEADERS):
        return True
    if has_nul(list(request.args.items(multi=True))):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.is_json:
        body = request.get_data()  # kept: the view reads it again
        if b"\x00" not in body and b"\\u0000" not in body:  # JSON writes a NUL as \u0000
            return False
        return has_nul(request_json())
    return (has_nul(list(request.form.items(multi=True)))
            or has_nul([f.filename for f in request.files.values() if f.filename]))


# --- JSON bodies ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """What one field of a JSON body must be: its kind ("text", "integer", "number", "list",
    "object", "integers") and, for a text, the most characters; for an integer, the largest value."""

    kind: str
    limit: int | None = None


def text(attribute=None, *, limit: int | None = None) -> Field:
    """A JSON string; at most ``limit`` characters, or as many as the column of ``attribute``."""
    return Field("text", column_length(attribute) if attribute is not None else limit)


def integer(maximum: int = INTEGER_MAX) -> Field:
    return Field("integer", maximum)


NUMBER, LIST, OBJECT = Field("number"), Field("list"), Field("object")
INTEGERS = Field("integers", INTEGER_MAX)


def json_object(schema: Mapping[str, Field]) -> dict:
    """The request's JSON object, each field of ``schema`` present checked (and integers given as
    digits read as numbers); fields the schema does not name are passed on as sent."""
    data = request_json()
    if not isinstance(data, dict):
        raise InputRefused(_("Send a JSON object."))
    for name, field in schema.items():
        if data.get(name) is not None:
            data[name] = _checked(name, field, data[name])
    return data


def _checked(name: str, field: Field, value):
    if field.kind == "text":
        if not isinstance(value, str):
            raise InputRefused(_("%(name)s must be text.", name=name))
        if field.limit is not None and len(value) > field.limit:
            raise InputRefused(too_long_message(name, field.limit))
        return value
    if field.kind == "integer":
        return _integer(name, value, field.limit)
    if field.kind == "integers":
        if not isinstance(value, list):
            raise InputRefused(_("%(name)s must be a list of whole numbers.", name=name))
        return [_integer(name, item, field.limit) for item in value]
    if field.kind == "number":
        return _number(name, value)
    if field.kind == "list" and not isinstance(value, list):
        raise InputRefused(_("%(name)s must be a list.", name=name))
    if field.kind == "object" and not isinstance(value, dict):
        raise InputRefused(_("%(name)s must be an object.", name=name))
    return value


def _integer(name: str, value, maximum: int) -> int:
    number = None if isinstance(value, (bool, float)) else whole_number(value, maximum)
    if number is None:
        raise InputRefused(_("%(name)s must be a whole number from 0 to %(max)s.", name=name,
                             max=maximum))
    return number


def _number(name: str, value):
    if value == "":  # a form-minded client's "not given"
        return value
    try:
        number = float(value) if isinstance(value, (str, int, float)) \
            and not isinstance(value, bool) else None
    except (ValueError, OverflowError):  # OverflowError: a whole number of 400 digits
        number = None
    if number is None or not math.isfinite(number):
        raise InputRefused(_("%(name)s must be a number.", name=name))
    return value
