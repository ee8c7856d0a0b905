"""Gunicorn's worker (admin_app/kept_alive_worker.py): a kept-alive connection's next request is
served by the thread that answered the last one when it comes at once, and no other client ever
waits behind such a thread."""
from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from types import SimpleNamespace

import pytest

from admin_app.kept_alive_worker import KeptAliveThreadWorker

from .processes import free_port, run_py, stop, wait_for_http


def _worker(threads: int, linger_s: float, busy: int) -> KeptAliveThreadWorker:
    worker = KeptAliveThreadWorker.__new__(KeptAliveThreadWorker)  # the decision alone
    worker.cfg, worker.linger, worker._busy = SimpleNamespace(threads=threads), linger_s, busy
    return worker


def _connection(sock, buffered: bytes = b"") -> SimpleNamespace:
    return SimpleNamespace(sock=sock, parser=SimpleNamespace(
        unreader=SimpleNamespace(buf=io.BytesIO(buffered))))


def test_the_thread_takes_the_next_request_that_comes_while_it_waits_and_only_with_a_thread_free():
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        conn = _connection(server_side)
        started = time.monotonic()
        assert _worker(threads=4, linger_s=0.05, busy=1)._next_request_here(conn) is False
        assert time.monotonic() - started >= 0.04  # it waited for the linger, then let go
        threading.Timer(0.01, client_side.sendall, [b"GET / HTTP/1.1\r\n\r\n"]).start()
        assert _worker(threads=4, linger_s=1.0, busy=1)._next_request_here(conn) is True
        # every other thread busy: the connection goes back to the poller, whatever is waiting
        assert _worker(threads=4, linger_s=1.0, busy=4)._next_request_here(conn) is False
        assert _worker(threads=1, linger_s=1.0, busy=1)._next_request_here(conn) is False
        assert _worker(threads=4, linger_s=0.0, busy=1)._next_request_here(conn) is False
    # bytes read ahead with the last body are the next request: served at once
    assert _worker(threads=1, linger_s=0.0, busy=1)._next_request_here(
        _connection(None, b"GET /")) is True


@pytest.fixture
def gunicorn(tmp_path):
    servers = []

    def start(threads: int) -> int:
        port = free_port()
        server = run_py(tmp_path, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                        "--workers", "1", "--threads", str(threads), "--access-logfile",
                        "/dev/null", "wsgi:app", command=("-m", "gunicorn"),
                        GRIDDESK_SCHEDULER_IN_PROCESS="0", GRIDDESK_KEEPALIVE_LINGER_MS="1000")
        servers.append(server)
        wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
        return port

    yield start
    for server in servers:
        stop(server)


def _get(conn: http.client.HTTPConnection, path: str = "/healthz") -> int:
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response.status


@pytest.mark.parametrize("threads", [1, 2])
def test_kept_alive_clients_are_all_answered_and_none_waits_behind_another(gunicorn, threads):
    """One worker with one or two threads; the linger made long (1 s) so that a client waiting
    behind a lingering thread would show."""
    port = gunicorn(threads)
    first = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    second = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        assert [_get(first) for _ in range(20)] == [200] * 20  # one connection, back to back
        sock = first.sock
        # the first connection is idle now (its thread may wait on it): another client, on a
        # connection of its own, is answered without waiting for that linger to end
        started = time.monotonic()
        assert _get(second) == 200
        assert time.monotonic() - started < 0.5  # not the linger's second
        assert [_get(second) for _ in range(5)] == [200] * 5
        time.sleep(1.2)  # past the linger: the first connection waits in the poller
        assert _get(first) == 200 and first.sock is sock  # the same connection, still served
        assert _get(second, "/api/v1/no-such-thing") == 404
    finally:
        first.close()
        second.close()
