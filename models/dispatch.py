"""The responsibility matrix: rule checks (resolution of the owner comes with the workflow)."""
from __future__ import annotations

from flask_babel import gettext as _

from .dispatch_rule import DispatchRule
from .enums import ResponsibleKind


class DispatchRuleError(ValueError):
    pass


def check_dispatch_rule(rule: DispatchRule) -> None:
    if rule.responsible_kind == ResponsibleKind.DEPARTMENT and rule.department is None:
        raise DispatchRuleError(_("Choose the responsible department."))
    if rule.responsible_kind != ResponsibleKind.DEPARTMENT:
        rule.department = None
    for value, unit, label in ((rule.accept_deadline, rule.accept_deadline_unit, _("acceptance")),
                               (rule.handle_deadline, rule.handle_deadline_unit, _("handling"))):
        if (value is None) != (unit is None):
            raise DispatchRuleError(
                _("Give both the %(which)s deadline and its unit, or neither.", which=label))
