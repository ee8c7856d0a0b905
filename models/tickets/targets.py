"""Whom a person sends a ticket to (assign, transfer): a department serving their area and/or a
person they may pick — the lists the forms offer (models/people/access.py), whichever channel
the action comes through (form, bulk action, API, phone)."""
from __future__ import annotations

from flask_babel import gettext as _

from models.base import db
from models.errors import ActionInvalid
from models.people.department import Department
from models.people.roles import ASSIGNABLE_ROLES
from models.people.user import User
from models.tickets.actions import Actor


def get_or_refuse(model, ident, what: str):
    """The row ``ident`` of ``model``, or a refusal naming ``what`` is unknown."""
    try:
        obj = db.session.get(model, int(ident)) if ident not in (None, "") else None
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise ActionInvalid(_("Unknown %(what)s.", what=what))
    return obj


def assignment_target(actor: Actor, department_id, user_id) -> tuple[Department | None,
                                                                       User | None]:
    """Whom an assignment goes to: a department and/or a person the actor may pick."""
    from models.people.access import may_assign_to

    department = get_or_refuse(Department, department_id, _("department")) \
        if department_id else None
    user = get_or_refuse(User, user_id, _("user")) if user_id else None
    if department is None and user is None:
        raise ActionInvalid(_("Choose a department or a person."))
    if user is not None:
        if not user.active or user.role not in ASSIGNABLE_ROLES:
            raise ActionInvalid(_("%(name)s cannot take tickets.", name=user.display_name))
        if actor.user is not None and not may_assign_to(actor.user, user):
            raise ActionInvalid(_("%(name)s works outside your area; choose someone from the "
                                  "list.", name=user.display_name))
        if department is None:
            department = user.department
        elif user.department_id not in (None, department.id):
            raise ActionInvalid(_("%(name)s does not work in %(department)s.",
                                  name=user.display_name, department=department.name))
    if department is not None:
        check_department_target(actor, department)
    return department, user


def check_department_target(actor: Actor, department: Department) -> None:
    """An active department, and — for a person — one serving their area (the forms' list)."""
    from models.people.access import may_send_to_department

    if not department.active:
        raise ActionInvalid(_("%(department)s is not active.", department=department.name))
    if actor.user is not None and not may_send_to_department(actor.user, department):
        raise ActionInvalid(_("%(department)s does not serve your area; choose a department "
                              "from the list.", department=department.name))
