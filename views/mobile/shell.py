"""The app shell's own pages: the start page (task inbox placeholder until its module lands)."""
from __future__ import annotations

from flask import render_template

from . import bp


@bp.route("/")
def inbox():
    return render_template("mobile/home.html", active_tab="tasks")
