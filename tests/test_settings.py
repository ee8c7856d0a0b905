"""One way to read a setting: the app's configuration inside an app context, the default outside."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import has_app_context

from models.clock import local_zone
from models.notify.messages import tracking_url
from models.settings import setting


def test_inside_an_app_context_the_apps_configuration_wins(app, monkeypatch):
    monkeypatch.setitem(app.config, "GRIDDESK_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setitem(app.config, "GRIDDESK_TRACKING_URL", "https://wg.example.cn/track/{code}")
    monkeypatch.setitem(app.config, "DUPLICATE_WINDOW_DAYS", None)
    with app.app_context():
        assert setting("GRIDDESK_TIMEZONE", "Asia/Shanghai") == "Asia/Urumqi"
        assert local_zone() == ZoneInfo("Asia/Urumqi")
        assert tracking_url("K7Q2") == "https://wg.example.cn/track/K7Q2"
        # Not configured, or configured as None: the caller's default.
        assert setting("DUPLICATE_WINDOW_DAYS", 7) == 7
        assert setting("NO_SUCH_SETTING", "fallback") == "fallback"
        assert setting("NO_SUCH_SETTING") is None


def test_outside_an_app_context_the_default(app, monkeypatch):
    monkeypatch.setitem(app.config, "GRIDDESK_TIMEZONE", "Asia/Urumqi")
    assert not has_app_context()
    assert setting("GRIDDESK_TIMEZONE", "Asia/Shanghai") == "Asia/Shanghai"
    assert local_zone() == ZoneInfo("Asia/Shanghai")
    assert tracking_url("K7Q2") == ""
    assert setting("NOTIFY_MAX_ATTEMPTS", 6) == 6
