"""Login and logout for staff, and the signed-in session: it carries the user's session
version and its start and last-use times, checked on every request (models/people/sessions.py)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models import User, db, utcnow
from models.people.accounts import authenticate, signed_in_user
from models.people.roles import FIELD_ROLES
from models.people.sessions import end_sessions, session_lapsed

bp = Blueprint("auth", __name__)

# The session's own keys beside Flask-Login's: the user's session version when they signed in,
# when they signed in, and their last request (rewritten at most once a minute).
VERSION_KEY, STARTED_KEY, SEEN_KEY = "gd_session_version", "gd_signed_in_at", "gd_seen_at"
SEEN_RESOLUTION = 60


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


def _home(user) -> str:
    """Where a sign-in without a page asked for lands: a grid worker or handler on a phone in
    the field app (at 375 px the panel had no way there), everyone else in the panel."""
    if user.role in FIELD_ROLES and "Mobi" in request.user_agent.string:  # MDN's phone test
        return url_for("mobile.inbox")
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_local_url(next_url) else _home(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = authenticate(form.username.data, form.password.data,
                              address=request.remote_addr)
        db.session.commit()
        if result.user is not None:
            start_session(result.user)
            return redirect(next_url if is_local_url(next_url) else _home(result.user))
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
    headers = {"Retry-After": str(result.retry_after)} if status == 429 else {}
    return render_template("auth/login.html", form=form, next_url=next_url), status, headers


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Logging out is a POST with the CSRF token (a link or an image elsewhere cannot do it);
    a GET asks to confirm. It ends every session of the user, on every device."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html")
    if current_user.is_authenticated:
        end_sessions(current_user)
        db.session.commit()
        flash(_("You have been logged out."), "info")
    end_this_session()
    return redirect(url_for("auth.login"))


def start_session(user: User) -> None:
    login_user(user)
    now = utcnow().timestamp()
    session[VERSION_KEY] = user.session_version
    session[STARTED_KEY] = session[SEEN_KEY] = now


def end_this_session() -> None:
    logout_user()
    for key in (VERSION_KEY, STARTED_KEY, SEEN_KEY):
        session.pop(key, None)


def session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the signed-in user, unless their session has ended (a new
    session version, idle or too old) or the account was disabled."""
    try:
        user = signed_in_user(int(user_id))  # no query: the process's copy (reference cache)
    except (TypeError, ValueError, OverflowError):
        user = None
    now = utcnow().timestamp()
    if (user is None or not user.active or session.get(VERSION_KEY) != user.session_version
            or session_lapsed(session.get(STARTED_KEY), session.get(SEEN_KEY), now)):
        for key in ("_user_id", "_fresh", "_id", VERSION_KEY, STARTED_KEY, SEEN_KEY):
            session.pop(key, None)
        return None
    if now - session[SEEN_KEY] >= SEEN_RESOLUTION:
        session[SEEN_KEY] = now
    return user
