"""Logging in and out: credentials, inactive accounts, slowing down guessing, redirects, CSRF."""
from __future__ import annotations

import sqlalchemy as sa

from models import User, db

from .conftest import csrf_token, login
from .factories import build_world


def test_admin_requires_login(ctx, client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_login_page_has_the_documented_fields(ctx, client):
    html = client.get("/login").get_data(as_text=True)
    for name in ('name="username"', 'name="password"', 'name="csrf_token"'):
        assert name in html
    assert "登录" in html  # Chinese by default


def test_good_login_opens_the_admin_home(ctx, client):
    build_world()
    db.session.commit()
    response = login(client, "community")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    home = client.get("/admin/").get_data(as_text=True)
    assert "用户community" in home
    user = db.session.execute(sa.select(User).where(User.username == "community")).scalar_one()
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_wrong_password_is_refused_with_a_message(ctx, client):
    build_world()
    db.session.commit()
    response = login(client, "community", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_unknown_user_gets_the_same_message(ctx, client):
    response = login(client, "nobody", "whatever1")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_inactive_user_is_refused(ctx, client):
    world = build_world()
    world.users["handler"].active = False
    db.session.commit()
    response = login(client, "handler")
    assert response.status_code == 401
    assert "账号已停用" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_repeated_failures_slow_that_address_even_with_the_right_password(ctx, client, app):
    build_world()
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "street", "bad-guess-1").status_code == 401
    response = login(client, "street")  # correct password, but this address must wait
    assert response.status_code == 429
    assert "尝试次数过多" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_next_is_followed_for_local_paths_only(ctx, app):
    build_world()
    db.session.commit()
    for target, expected in (("/admin/ticket/", "/admin/ticket/"),
                             ("//evil.example/x", "/admin/"),
                             ("https://evil.example/", "/admin/")):
        client = app.test_client()
        token = csrf_token(client, "/login")
        response = client.post("/login", query_string={"next": target},
                               data={"username": "admin", "password": "demo12345",
                                     "csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"] == expected


def test_login_without_csrf_token_is_refused(ctx, client):
    build_world()
    db.session.commit()
    response = client.post("/login", data={"username": "admin", "password": "demo12345"})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_logout_ends_the_session(ctx, client):
    build_world()
    db.session.commit()
    login(client, "admin")
    assert client.get("/admin/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert client.get("/admin/").status_code == 302


PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


def test_field_staff_signing_in_on_a_phone_land_in_the_field_app(ctx, client, app):
    """At 375 px the panel's home had no way to /m/; a page asked for (?next=) still wins."""
    build_world()
    db.session.commit()
    for username, agent, home in (("gridworker", PHONE, "/m/"), ("handler", PHONE, "/m/"),
                                  ("gridworker", DESKTOP, "/admin/"),
                                  ("community", PHONE, "/admin/")):
        fresh = app.test_client()
        fresh.environ_base["HTTP_USER_AGENT"] = agent
        response = fresh.post("/login", data={"csrf_token": csrf_token(fresh, "/login"),
                                              "username": username, "password": "demo12345"})
        assert response.status_code == 302, username
        assert response.headers["Location"].endswith(home), (username, agent)
    fresh = app.test_client()
    fresh.environ_base["HTTP_USER_AGENT"] = PHONE
    response = fresh.post("/login?next=/admin/ticket/", data={
        "csrf_token": csrf_token(fresh, "/login"), "username": "gridworker",
        "password": "demo12345"})
    assert response.headers["Location"].endswith("/admin/ticket/")
