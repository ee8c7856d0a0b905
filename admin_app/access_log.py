"""Gunicorn's access log, the same line for less work (gunicorn.conf.py ``logger_class``).

Gunicorn builds each access line from a dictionary of all request and response headers and the
whole WSGI environ, each value escaped, and logs it through ``Logger.info``, which also looks up
the caller's frame: 8.6 % of a worker's time on the API's read of one ticket (docs/PERFORMANCE.md,
2026-12-06). With the default format only its nine fields are built; the line is the same, and
redacted as every other record (admin_app/logs.py). A custom ``access_log_format`` gets
Gunicorn's own way.
"""
from __future__ import annotations

import logging
import traceback

from gunicorn import glogging
from gunicorn.config import AccessLogFormat

from .logs import redact


class AccessLogger(glogging.Logger):
    default_format = AccessLogFormat.default

    def access(self, resp, req, environ, request_time):
        if self.cfg.access_log_format != self.default_format:
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled or not self.access_log.isEnabledFor(logging.INFO):
            return None
        try:
            line = self.default_format % escaped(self.default_atoms(resp, environ))
            self.access_log.handle(logging.LogRecord(self.access_log.name, logging.INFO, __file__,
                                                     0, redact(line), None, None))
        except Exception:  # noqa: BLE001 — as Gunicorn: a bad line is an error line, not a 500
            self.error(traceback.format_exc())
        return None

    def default_atoms(self, resp, environ) -> dict:
        """What ``Logger.atoms`` gives for the default format's fields."""
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"), "l": "-", "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": "%s %s %s" % (environ["REQUEST_METHOD"], environ["RAW_URI"],
                               environ["SERVER_PROTOCOL"]),
            "s": status, "b": sent is not None and str(sent) or "-",
            "f": environ.get("HTTP_REFERER", "-"), "a": environ.get("HTTP_USER_AGENT", "-"),
        }


def escaped(atoms: dict) -> dict:
    """As Gunicorn's SafeAtoms: the double quotes inside a value escaped."""
    return {key: value.replace('"', '\\"') if isinstance(value, str) else value
            for key, value in atoms.items()}
