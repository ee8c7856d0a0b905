"""The resident's pages, no account needed: /report (report a problem) and /track/<code>
(follow it, see the notices sent, rate, reopen). Chinese, phone-sized; CSRF like every form."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


def not_found():
    """The resident's own 404 (an unknown or mistyped tracking code)."""
    return render_template("public/not_found.html"), 404


from . import report, track  # noqa: E402,F401  (routes)
