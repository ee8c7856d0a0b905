"""The field staff's phone app under /m/: grid workers and handlers (roles.FIELD_ROLES).

Every page of the blueprint needs a signed-in field user; others get a Chinese page that points
them to the admin panel. Pages extend templates/mobile/base.html (compact header, bottom tab bar).
Feature modules (inbox, ticket, patrol, …) add their routes to `bp` and are imported at the end.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models.people.roles import FIELD_ROLES, PATROLLING_ROLES

bp = Blueprint("mobile", __name__, url_prefix="/m")

# The bottom tab bar: (key, msgid, endpoint). A tab whose endpoint is not registered yet is shown
# greyed out, so a feature module only has to add its route with that endpoint name.
TABS = (
    ("tasks", "Tasks", "mobile.inbox"),
    ("patrol", "On patrol", "mobile.patrol"),
    ("me", "Me", "mobile.me"),
)


@bp.app_template_global("is_field_user")
def is_field_user(user) -> bool:
    return bool(user.is_authenticated and user.role in FIELD_ROLES)


# The files a phone fetches without its session cookie (installing, updating the worker).
OPEN_ENDPOINTS = {"mobile.manifest", "mobile.service_worker"}


@bp.before_request
def _field_staff_only():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/m/api/"):  # the offline queue asks the user to sign in
            return jsonify({"error": {"code": "unauthorized", "message": _(
                "Please log in to continue.")}}), 401
        return current_app.login_manager.unauthorized()
    if not is_field_user(current_user):
        if request.path.startswith("/m/api/"):
            return jsonify({"error": {"code": "forbidden", "message": _(
                "The phone app is for grid workers and handlers")}}), 403
        return render_template("mobile/not_field_staff.html", active_tab=None), 403
    return None


@bp.app_context_processor
def _mobile_tabs():
    def tab_url(endpoint: str) -> str | None:
        if endpoint not in current_app.view_functions:
            return None
        return url_for(endpoint)

    return {"mobile_tabs_for": tabs_for, "mobile_tab_url": tab_url}


def tabs_for(user) -> tuple:
    """The tabs this user has: none for someone the app is not for (the page sends them to the
    admin panel), the patrol tab for those who walk patrol rounds."""
    if not is_field_user(user):
        return ()
    return tuple(tab for tab in TABS if tab[0] != "patrol" or user.role in PATROLLING_ROLES)


@bp.app_template_global("ticket_page_url")
def _ticket_page_url(ticket_id: int) -> str:
    from .shell import ticket_page_url

    return ticket_page_url(current_user, ticket_id)


from . import patrol, pwa, shell, sync, tasks  # noqa: E402,F401  (routes register on bp)
