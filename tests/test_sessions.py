"""Signed-in sessions end: a replayed cookie is refused after logout, a new password, deactivation
or a change of role or scope; logout is a POST with the CSRF token; idle and absolute lifetime."""
from __future__ import annotations

from config import Config

from .conftest import csrf_token, login, session_csrf_token
from .test_admin_defects import edit_user

STARTED, SEEN = "gd_signed_in_at", "gd_seen_at"


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def replay(app, cookie: str):
    """A second browser (or an attacker) presenting a copy of the session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def log_out(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})


def test_a_copied_session_cookie_is_refused_after_logout(world, app, login_as):
    browser = login_as("community")
    cookie = browser.get_cookie("session").value
    assert signed_in(replay(app, cookie))
    response = log_out(browser)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert not signed_in(browser)
    thief = replay(app, cookie)
    response = thief.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert thief.get("/api/v1/tickets").status_code == 401  # no way in through the API either


def test_logging_out_on_one_device_ends_the_others(world, login_as):
    desktop, phone = login_as("gridworker"), login_as("gridworker")
    assert phone.get("/m/").status_code == 200
    log_out(desktop)
    response = phone.get("/m/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    queued = phone.post("/m/api/tickets/1/actions/accept", json={"version": 1},
                        headers={"X-CSRFToken": session_csrf_token(phone)})
    assert queued.status_code == 401 and queued.get_json()["error"]["code"] == "unauthorized"
    again = login_as("gridworker")  # signing in again works as before
    assert again.get("/m/").status_code == 200


def test_a_password_reset_by_the_administrator_ends_the_users_sessions(world, app, login_as):
    user_browser = login_as("community")
    cookie = user_browser.get_cookie("session").value
    admin = login_as("admin")
    assert edit_user(admin, world.users["community"], new_password="another-pass").status_code == 302
    assert not signed_in(user_browser)
    assert not signed_in(replay(app, cookie))
    assert signed_in(login_as("community", "another-pass"))
    assert signed_in(admin)  # the administrator's own session goes on


def test_deactivation_ends_the_users_sessions(world, login_as):
    user_browser = login_as("handler")
    admin = login_as("admin")
    assert edit_user(admin, world.users["handler"], active=None).status_code == 302
    assert not signed_in(user_browser)


def test_a_new_role_or_scope_ends_the_users_sessions(world, login_as):
    user = world.users["community"]
    for change in ({"scope_area": str(world.areas["community2"].id),
                    "department": str(world.departments["office2"].id)},
                   {"role": "street_centre", "scope_area": str(world.areas["street1"].id),
                    "department": str(world.departments["street1_centre"].id)}):
        user_browser = login_as("community")
        admin = login_as("admin")
        assert edit_user(admin, user, **change).status_code == 302
        assert not signed_in(user_browser), change


def test_an_edit_that_changes_no_rights_keeps_the_users_session(world, login_as):
    user_browser = login_as("community")
    admin = login_as("admin")
    assert edit_user(admin, world.users["community"], display_name="王专干",
                     phone="13900000000").status_code == 302
    assert signed_in(user_browser)


def test_logout_needs_a_post_with_the_csrf_token(world, login_as):
    browser = login_as("community")
    page = browser.get("/logout")  # a link or an <img> elsewhere cannot log anyone out
    assert page.status_code == 200 and "退出登录" in page.get_data(as_text=True)
    assert 'method="post"' in page.get_data(as_text=True)
    assert signed_in(browser)
    assert browser.post("/logout").status_code == 400  # no CSRF token
    assert signed_in(browser)
    home = browser.get("/admin/").get_data(as_text=True)
    assert 'action="/logout"' in home and 'href="/logout"' not in home  # the menu's button posts
    log_out(browser)
    assert not signed_in(browser)


def test_an_idle_session_ends(world, login_as):
    browser = login_as("community")
    with browser.session_transaction() as session:
        session[SEEN] -= 119 * 60  # within the two idle hours: still signed in
    assert signed_in(browser)
    with browser.session_transaction() as session:
        session[SEEN] -= 121 * 60
    response = browser.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_session_ends_twelve_hours_after_signing_in_however_busy(world, login_as):
    browser = login_as("community")
    with browser.session_transaction() as session:
        session[STARTED] -= 12 * 3600 + 60
    assert not signed_in(browser)


def test_a_session_without_its_times_is_refused(world, app, login_as):
    browser = login_as("community")
    with browser.session_transaction() as session:
        del session[STARTED]
    assert not signed_in(browser)


def test_the_lifetimes_come_from_the_environment():
    config = Config({"SECRET_KEY": "x", "GRIDDESK_SESSION_IDLE_MINUTES": "30",
                     "GRIDDESK_SESSION_MAX_HOURS": "8"})
    assert (config.SESSION_IDLE_MINUTES, config.SESSION_MAX_HOURS) == (30, 8)
    default = Config({"SECRET_KEY": "x"})
    assert (default.SESSION_IDLE_MINUTES, default.SESSION_MAX_HOURS) == (120, 12)


def test_the_phone_app_signs_in_on_the_same_login_page(world, app):
    phone = app.test_client()
    response = phone.get("/m/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    assert login(phone, "gridworker").status_code == 302
    assert phone.get("/m/").status_code == 200


def test_a_request_sent_before_signing_in_and_answered_after_does_not_sign_the_user_out(world, app):
    """The browser asks for the login page's icon (or any page) with the cookie it had before
    signing in; when that answer arrives after the sign-in's, its cookie replaces the new one.
    An anonymous request that changes nothing in the session must not send the cookie back."""
    browser = app.test_client()
    assert browser.get("/login?next=/m/").status_code == 200
    before = browser.get_cookie("session").value
    assert login(browser, "gridworker").status_code == 302
    late = replay(app, before)
    for path in ("/favicon.ico", "/no-such-page", "/login"):
        response = late.get(path)
        assert response.status_code in (200, 404), path
        assert not response.headers.getlist("Set-Cookie"), f"{path} rewrote the session cookie"
    assert browser.get("/m/").status_code == 200


def test_browsers_find_the_icon_at_the_usual_address(app):
    response = app.test_client().get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype.startswith("image/")
    assert not response.headers.getlist("Set-Cookie")
