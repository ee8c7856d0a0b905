"""The phone app's shell /m/: signed-in field staff only; others are pointed to the admin panel."""
from __future__ import annotations


def test_signed_out_visitor_is_sent_to_login(world, client):
    response = client.get("/m/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_grid_worker_and_handler_get_the_phone_layout(world, login_as):
    for username in ("gridworker", "handler"):
        html = login_as(username).get("/m/").get_data(as_text=True)
        assert 'name="viewport"' in html
        assert "m-tabs" in html and "任务" in html and "我的" in html
        assert "mobile/mobile.css" in html
        # Patrol rounds are walked by grid workers: a handler has no patrol tab.
        assert ('href="/m/patrol"' in html) is (username == "gridworker")


def test_other_roles_get_a_chinese_page_pointing_to_the_admin_panel(world, login_as):
    for username in ("community", "admin", "leader"):
        response = login_as(username).get("/m/")
        html = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "手机端仅供网格员和处置人员使用" in html
        assert 'href="/admin/"' in html
        assert "m-tabs" not in html  # no tabs into pages they cannot open
