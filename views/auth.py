"""Login and logout for staff."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models import db
from models.people.accounts import authenticate

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def is_local_url(target: str | None) -> bool:
    """Only same-site paths are followed after login (no open redirects)."""
    if not target:
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return parts.netloc == request.host and parts.scheme in ("http", "https")
    return target.startswith("/") and not target.startswith("//") and "\\" not in target


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_local_url(next_url) else url_for("admin.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = authenticate(form.username.data, form.password.data,
                              max_failures=current_app.config["LOGIN_MAX_FAILURES"])
        db.session.commit()
        if result.user is not None:
            login_user(result.user)
            return redirect(next_url if is_local_url(next_url) else url_for("admin.index"))
        status = 429 if result.error == "blocked" else 401
        if result.error == "blocked":
            flash(_("Too many failed attempts. Try again in %(seconds)s seconds.",
                    seconds=result.retry_after), "danger")
        elif result.error == "inactive":
            flash(_("This account is disabled. Ask your administrator."), "danger")
        else:
            flash(_("Wrong username or password."), "danger")
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, next_url=next_url), status


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))
