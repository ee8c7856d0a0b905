"""How values look in admin lists and detail pages: translated enum labels, local times."""
from __future__ import annotations

from datetime import date, datetime

from flask_admin.model import typefmt
from markupsafe import Markup

from models.clock import format_local
from models.enums import LabelledEnum


def _enum_classes(cls=LabelledEnum):
    for sub in cls.__subclasses__():
        yield sub
        yield from _enum_classes(sub)


def _bool(view, value, name=None):
    return Markup('<span class="badge badge-success">✓</span>') if value else \
        Markup('<span class="badge badge-light">—</span>')


TYPE_FORMATTERS = dict(typefmt.BASE_FORMATTERS)
TYPE_FORMATTERS.update({
    datetime: lambda view, value, name=None: format_local(value),
    date: lambda view, value, name=None: value.isoformat(),
    bool: _bool,
})
for _cls in _enum_classes():
    TYPE_FORMATTERS[_cls] = lambda view, value, name=None: value.label
