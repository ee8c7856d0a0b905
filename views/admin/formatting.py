"""How values look in admin lists and detail pages: translated enum labels, local times."""
from __future__ import annotations

from datetime import date, datetime

from flask_admin.model import typefmt
from markupsafe import Markup

from models.clock import format_local
from models.vocabulary import LabelledEnum


def _bool(view, value, name=None):
    return Markup('<span class="badge badge-success">✓</span>') if value else \
        Markup('<span class="badge badge-light">—</span>')


# Flask-Admin takes the first formatter whose type matches (isinstance), so ours come first:
# its own Enum formatter would show the member's English name.
TYPE_FORMATTERS = {
    LabelledEnum: lambda view, value, name=None: value.label,
    bool: _bool,
    datetime: lambda view, value, name=None: format_local(value),
    date: lambda view, value, name=None: value.isoformat(),
}
TYPE_FORMATTERS.update({k: v for k, v in typefmt.BASE_FORMATTERS.items() if k not in TYPE_FORMATTERS})


def stars(rating) -> str:
    """A 1–5 rating as people read it: ★★★★☆ 4/5."""
    try:
        value = max(0, min(5, int(rating)))
    except (TypeError, ValueError):
        return ""
    return f"{'★' * value}{'☆' * (5 - value)} {value}/5"
