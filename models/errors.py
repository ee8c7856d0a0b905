"""Errors of the domain operations, each with the HTTP status an API answers with."""
from __future__ import annotations


class WorkflowError(ValueError):
    """An action that was not carried out; nothing was changed."""

    code = "invalid"
    http_status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ActionForbidden(WorkflowError):
    code = "forbidden"
    http_status = 403


class ActionInvalid(WorkflowError):
    code = "invalid"
    http_status = 422


class PlaceMissing(ActionInvalid):
    """A report gives neither coordinates nor a grid or community (each page words it its own
    way: staff pick a grid, a resident taps the map or names their community)."""


class Conflict(WorkflowError):
    code = "conflict"
    http_status = 409
