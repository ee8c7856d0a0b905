"""How values look in admin lists and detail pages: translated enum labels, local times."""
from __future__ import annotations

from datetime import date, datetime

from flask_admin.model import typefmt
from flask_babel import gettext as _
from markupsafe import Markup, escape

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


SUPERVISION_COLOURS = {"watch": "info", "supervise": "warning", "listed": "danger"}
# On the phone (no Bootstrap there; inline, so the offline app's cached stylesheet still fits)
PHONE_SUPERVISION_STYLE = {"watch": "background:#ddf4ff;color:#0969da",
                           "supervise": "background:#fff1e5;color:#bc4c00",
                           "listed": "background:#ffebe9;color:#cf222e;font-weight:600"}


def supervision_badge(row, phone: bool = False) -> Markup:
    """The small badge a supervised ticket carries in lists, on the board and on the phone:
    its level, with the expected date as the tooltip (nothing for an unsupervised ticket)."""
    if row is None:
        return Markup("")
    level = row.level.value
    title = escape(_("Expected by %(date)s", date=row.expected_by.isoformat()))
    look = (f'class="m-status gd-supervised gd-supervised-{level}" '
            f'style="{PHONE_SUPERVISION_STYLE[level]}"' if phone else
            f'class="badge badge-{SUPERVISION_COLOURS[level]} gd-supervised '
            f'gd-supervised-{level}"')
    return Markup(f'<span {look} title="{title}">{escape(row.level.label)}</span>')


def stars(rating) -> str:
    """A 1–5 rating as people read it: ★★★★☆ 4/5."""
    try:
        value = max(0, min(5, int(rating)))
    except (TypeError, ValueError):
        return ""
    return f"{'★' * value}{'☆' * (5 - value)} {value}/5"
