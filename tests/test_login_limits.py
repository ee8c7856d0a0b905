"""Guessing passwords is slowed per source address and per address and account, without locking
the owner out; unknown usernames get the same answers after the same work; the counters live in
the database, so every web worker sees them. The login page and the API token endpoint alike."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from models import User, db, utcnow
from models.base import empty_pools
from models.people.login_limits import LoginThrottle

from . import conftest
from .conftest import PASSWORD, login


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def message(response) -> str:
    """The page's alert, with the number of seconds blanked out."""
    found = re.search(r'<div class="alert[^>]*>([^<]*)</div>', response.get_data(as_text=True))
    return re.sub(r"\d+", "N", found.group(1)) if found else ""


def test_a_stranger_guessing_does_not_lock_the_owner_out(world, app):
    stranger = from_address(app, "10.0.0.66")
    answers = [login(stranger, "street", "bad-guess-1").status_code for _ in range(5)]
    assert answers == [401] * 5
    blocked = login(stranger, "street")  # even the right password waits, from that address
    assert blocked.status_code == 429 and "尝试次数过多" in blocked.get_data(as_text=True)
    assert 25 <= int(blocked.headers["Retry-After"]) <= 31
    owner = from_address(app, "10.0.0.7")
    assert login(owner, "street").status_code == 302
    assert owner.get("/admin/").status_code == 200


def test_unknown_usernames_get_the_same_answers_as_real_ones(world, app):
    real = [login(from_address(app, "10.0.1.1"), "street", "bad-guess-1") for _ in range(7)]
    unknown = [login(from_address(app, "10.0.1.2"), "nobody", "bad-guess-1") for _ in range(7)]
    assert [r.status_code for r in real] == [r.status_code for r in unknown] == [401] * 5 + [429] * 2
    assert [message(r) for r in real] == [message(r) for r in unknown]
    assert message(unknown[0]) == "用户名或密码错误。"


def test_an_unknown_username_costs_the_same_work_as_a_wrong_password(world, app, monkeypatch):
    """The same work, counted rather than timed (a timing is at the mercy of the machine's load):
    one password check against a hash of the configured method, whether the account exists."""
    import models.people.user as user_module

    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:300000")
    user = world.users["street"]
    user.set_password(PASSWORD)
    db.session.commit()
    checked: list[str] = []
    real_check = user_module.check_password_hash

    def counted_check(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$", 1)[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(user_module, "check_password_hash", counted_check)

    def work(username: str, address: str) -> list[str]:
        checked.clear()
        assert login(from_address(app, address), username, "bad-guess-1").status_code == 401
        return list(checked)

    assert work("street", "10.0.2.1") == ["pbkdf2:sha256:300000"]
    assert work("nobody", "10.0.3.1") == ["pbkdf2:sha256:300000"]


def test_one_address_trying_many_accounts_is_slowed_for_all_of_them(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 6)
    sprayer = from_address(app, "10.0.4.4")
    names = ["admin", "district", "street", "community", "nobody1", "nobody2"]
    assert [login(sprayer, name, "Spring2026!").status_code for name in names] == [401] * 6
    assert login(sprayer, "leader").status_code == 429  # a seventh account, even rightly
    assert login(from_address(app, "10.0.4.5"), "leader").status_code == 302


def test_each_further_failure_doubles_the_wait_and_a_success_clears_it(world, app):
    guesser = from_address(app, "10.0.5.5")
    for _ in range(5):
        login(guesser, "community", "bad-guess-1")
    assert 25 <= int(login(guesser, "community").headers["Retry-After"]) <= 31
    wait_is_over()
    assert login(guesser, "community", "bad-guess-2").status_code == 401
    assert 55 <= int(login(guesser, "community").headers["Retry-After"]) <= 61
    wait_is_over()
    assert login(guesser, "community").status_code == 302  # the right password, after the wait
    assert db.session.execute(sa.select(User.failed_logins).where(
        User.username == "community")).scalar_one() == 0
    fresh = from_address(app, "10.0.5.5")
    assert [login(fresh, "community", "bad-guess-3").status_code for _ in range(2)] == [401, 401]


def wait_is_over():
    db.session.execute(sa.update(LoginThrottle).values(
        blocked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_the_api_token_endpoint_follows_the_same_rules(world, app):
    def token(client, username, password):
        return client.post("/api/v1/auth/token", json={"username": username, "password": password})

    stranger, other = from_address(app, "10.0.6.6"), from_address(app, "10.0.6.7")
    real = [token(stranger, "community", "bad-guess-1") for _ in range(6)]
    unknown = [token(other, "nobody", "bad-guess-1") for _ in range(6)]
    assert [r.status_code for r in real] == [r.status_code for r in unknown] == [401] * 5 + [429]
    assert real[-1].get_json()["error"]["code"] == unknown[-1].get_json()["error"]["code"] \
        == "too_many_attempts"
    assert real[-1].headers["Retry-After"]
    assert token(stranger, "community", PASSWORD).status_code == 429
    assert token(from_address(app, "10.0.6.8"), "community", PASSWORD).status_code == 200
    # The login page and the API count together: the page is as slowed for that address.
    assert login(stranger, "community").status_code == 429


def test_every_web_worker_sees_the_same_counters(world, app):
    from admin_app import create_app

    for _ in range(5):
        login(from_address(app, "10.0.7.7"), "district", "bad-guess-1")
    second_worker = create_app(conftest.test_config())
    second_worker.test_client_class = type(app.test_client())
    try:
        assert login(from_address(second_worker, "10.0.7.7"), "district").status_code == 429
    finally:
        with second_worker.app_context():
            empty_pools()


def test_the_hourly_job_forgets_old_counters(world, app):
    from jobs.sweeps import forget_report_counts

    for _ in range(2):
        login(from_address(app, "10.0.8.8"), "district", "bad-guess-1")
    assert db.session.execute(sa.select(sa.func.count()).select_from(LoginThrottle)).scalar() == 2
    assert forget_report_counts(utcnow())["login_counters"] == 0
    assert forget_report_counts(utcnow() + timedelta(days=2))["login_counters"] == 2
