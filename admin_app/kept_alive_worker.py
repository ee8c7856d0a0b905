"""Gunicorn's threaded worker, serving a kept-alive connection's next request in the same thread
(gunicorn.conf.py ``worker_class``).

Gunicorn's ``gthread`` worker hands a connection back to its main thread after every answer: the
main thread puts it in its poller, wakes when the next request arrives, takes it out again and
queues it for a thread — two thread switches, four system calls and the worker's GIL taken twice
for every request. A client that sends its next request at once (an integration with a kept
connection, nginx's upstream keepalive, a browser fetching a page's files) pays that on each one.
Here the thread that answered waits up to ``GRIDDESK_KEEPALIVE_LINGER_MS`` (5 ms; 0: as
``gthread``) for the connection's next request and serves it itself. It waits only while another
of the worker's threads is free, so a new connection or another client's request never waits
behind a lingering one; otherwise, and after the wait, the connection goes back to the poller as
in ``gthread``. Measured on the city's intake at 8 clients: 12 % more answers per second and 13 %
less CPU per answer (docs/PERFORMANCE.md, 2026-12-07 night).
"""
from __future__ import annotations

import os
import select
import threading

from gunicorn.workers.gthread import ThreadWorker


def linger_seconds() -> float:
    return max(0.0, float(os.environ.get("GRIDDESK_KEEPALIVE_LINGER_MS", "5"))) / 1000


class KeptAliveThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.linger = linger_seconds()
        self._busy = 0  # threads handling a request or lingering on their connection
        self._busy_lock = threading.Lock()

    def handle(self, conn):
        with self._busy_lock:
            self._busy += 1
        try:
            keep = super().handle(conn)
            while keep is True and self.alive and self._next_request_here(conn):
                keep = super().handle(conn)
            return keep
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _next_request_here(self, conn) -> bool:
        """Whether this thread serves the connection's next request: it has arrived (or arrives
        within the linger) while another thread of the worker is free for other work."""
        if conn.parser.unreader.buf.getvalue():  # read ahead with the last body: already here
            return True
        if self.linger <= 0 or self._busy >= self.cfg.threads:
            return False
        try:
            ready, _writable, _failed = select.select([conn.sock], [], [], self.linger)
        except (OSError, ValueError):  # closed meanwhile: the poller's way decides
            return False
        return bool(ready)
