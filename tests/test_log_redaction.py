"""Secrets stay out of the logs: an Open311 client's api_key in the query string is accepted, and
every log line — the demo's request log, Gunicorn's access log, the app's own lines — shows it as
[redacted]."""
from __future__ import annotations

import logging
import urllib.request

from flask import current_app

from models import db
from models.people.tokens import create_api_client

from .processes import free_port, lines_within, run_py, stop, wait_for_http


def open311_key(app) -> str:
    with app.app_context():
        _client, token = create_api_client("城市APP")
        db.session.commit()
    return token


def ask_with_secrets(base: str, key: str) -> int:
    url = (f"{base}/open311/v2/requests.json?api_key={key}&status=open"
           "&token=tok-0123456789&password=hunter2")
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status


def check_redacted(log: str, key: str) -> None:
    assert "/open311/v2/requests.json" in log, log  # the request was logged …
    for secret in (key, "tok-0123456789", "hunter2"):
        assert secret not in log, log  # … without its secrets
    assert "api_key=[redacted]" in log and "password=[redacted]" in log, log


def test_the_demo_server_logs_the_open311_key_as_redacted(ctx, tmp_path):
    key = open311_key(ctx)
    port = free_port()
    demo = run_py(tmp_path, "serve", "--port", str(port), GRIDDESK_SCHEDULER_IN_PROCESS="0")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", demo)
        assert ask_with_secrets(f"http://127.0.0.1:{port}", key) == 200  # accepted
        log = "".join(lines_within(demo, 2))
    finally:
        stop(demo)
    check_redacted(log, key)


def test_gunicorns_access_log_shows_the_open311_key_as_redacted(ctx, tmp_path):
    key = open311_key(ctx)
    port = free_port()
    server = run_py(tmp_path, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                    "--workers", "1", "wsgi:app", command=("-m", "gunicorn"),
                    GRIDDESK_SCHEDULER_IN_PROCESS="0")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
        assert ask_with_secrets(f"http://127.0.0.1:{port}", key) == 200
        log = "".join(lines_within(server, 2))
    finally:
        stop(server)
    check_redacted(log, key)


def test_the_apps_own_log_lines_are_redacted(ctx, caplog):
    webhook = "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef"
    with caplog.at_level(logging.INFO):
        current_app.logger.warning("notification %s failed: %s", 7, webhook)
        logging.getLogger("griddesk.delivery").info("sent %s", {"password": "hunter2", "to": 3})
        logging.getLogger("griddesk.delivery").info("header Authorization: Bearer gdc_abcdef123")
    assert "0123456789abcdef" not in caplog.text and "hunter2" not in caplog.text
    assert "gdc_abcdef123" not in caplog.text
    assert "access_token=[redacted]" in caplog.text
    assert "'password': '[redacted]'" in caplog.text and "'to': 3" in caplog.text


def test_the_access_line_is_gunicorns_own(ctx):
    """gunicorn.conf.py's logger builds the default access line from its nine fields only
    (admin_app/access_log.py): the same line as Gunicorn's, quotes escaped and secrets redacted;
    a custom format is left to Gunicorn."""
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn import glogging
    from gunicorn.config import Config

    from admin_app.access_log import AccessLogger

    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    access = logging.getLogger("gunicorn.access")
    before = access.handlers[:]
    environ = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7",
               "RAW_URI": '/open311/v2/requests.json?api_key=k-123&q="a"',
               "HTTP_USER_AGENT": 'curl "7"', "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}
    answers = [SimpleNamespace(status="200 OK", sent=12, headers=[("X-A", "1")]),
               SimpleNamespace(status=404, sent=None, headers=[])]
    try:
        for fmt in (None, '%(h)s "%(r)s" %(s)s %({x-a}o)s'):
            config = Config()
            config.set("accesslog", "-")
            if fmt:
                config.set("access_log_format", fmt)
            ours, theirs = AccessLogger(config), glogging.Logger(config)
            access.handlers = [Keep()]
            for answer in answers:
                for logger in (ours, theirs):
                    logger.now = lambda: "[06/Dec/2026:12:00:00 +0000]"
                    logger.access(answer, SimpleNamespace(headers=[]), environ,
                                  timedelta(milliseconds=3))
    finally:
        access.handlers = before
    assert lines[0] == lines[1] and lines[2] == lines[3] and lines[4] == lines[5], lines
    assert lines[0] == ('10.0.0.7 - user [06/Dec/2026:12:00:00 +0000] "GET /open311/v2/requests.'
                        'json?api_key=[redacted]&q=\\"a\\" HTTP/1.1" 200 12 "-" "curl \\"7\\""')
    assert lines[2].endswith('404 - "-" "curl \\"7\\""')
    assert lines[4] == '10.0.0.7 "GET /open311/v2/requests.json?api_key=[redacted]&q=\\"a\\" ' \
                       'HTTP/1.1" 200 1'


def test_secrets_are_redacted_in_any_case_and_script_and_plain_lines_pass_unchanged():
    """``redact`` lets a line through untouched only when it cannot hold a secret; names in
    capitals, with letters the patterns match without case (ſ for s, K for k) and in JSON are
    still caught."""
    from admin_app.logs import redact

    caught = ['GET /open311/v2/services.json?API_KEY=k-123 HTTP/1.1',
              '127.0.0.1 - - "POST /api/v1/auth/token?PassWord=hunter2 HTTP/1.1" 200',
              'sent {"Client_Secret": "hunter2"}', "header authorization: basic hunter2",
              "BEARER hunter2", "报告人 paſſword=hunter2", "webhook api_\u212aey=hunter2"]
    for line in caught:
        assert "hunter2" not in redact(line) and "k-123" not in redact(line), line
        assert "[redacted]" in redact(line), line
    plain = ['10.0.0.7 - - [07/Dec/2026:02:10:00 +0000] "GET /api/v1/tickets/77 HTTP/1.1" 200 '
             '2310 "-" "wrk"', "网格员 王五 签收工单 GD20261207000123", "keyboard=1&monkey=2"]
    for line in plain:
        assert redact(line) == line, line
