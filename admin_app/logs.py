"""Secrets never reach a log line: API keys, tokens and passwords are replaced by "[redacted]".

Installed as the process's log-record factory, so every line is covered whoever writes it: the
app, Werkzeug's request log (the demo), Gunicorn's access and error logs (gunicorn.conf.py
installs it too), the scheduler and the libraries. A client may still send ``api_key`` in the
Open311 query string; it is accepted, and logged as ``api_key=[redacted]``.
"""
from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# A parameter or field name that holds a secret: api_key, apikey, access_token, token, password,
# passwd, pwd, secret, client_secret, signature, credential(s), csrf_token, …
_SECRET_NAME = r"[\w.\-]*(?:api[_\-]?key|token|passw(?:or)?d|pwd|secret|signature|credential)s?"
# name=value in a query string, form body or "key=value" message (value up to & or whitespace)
_ASSIGNMENT = re.compile(rf"(?i)(?<![\w\-])({_SECRET_NAME})(=)([^&\s\"'<>,;]+)")
# "name": "value" or 'name': 'value' in JSON or a printed dict
_QUOTED_FIELD = re.compile(rf"(?i)([\"']{_SECRET_NAME}[\"']\s*:\s*)([\"'])(.*?)(?<!\\)\2")
# "Bearer <token>", "Authorization: Basic <credentials>"
_AUTHORIZATION = re.compile(r"(?i)(\bbearer|authorization:\s*(?:basic|token))(\s+)([\w.~+/=\-]+)")


# Every pattern above contains one of these words; an ASCII text with none of them in any case
# has nothing to redact (most lines: the access log writes one per request).
_SECRET_WORDS = ("key", "token", "passw", "pwd", "secret", "signature", "credential", "bearer",
                 "authorization")


def redact(text: str) -> str:
    """The text with the value of every secret-like parameter or field replaced."""
    if text.isascii():  # other texts may hold letters the patterns match without case (ſ, K)
        lowered = text.lower()
        if not any(word in lowered for word in _SECRET_WORDS):
            return text
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _QUOTED_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", text)
    return _AUTHORIZATION.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def _redacting(factory):
    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call is reported by the handler, as before
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    make_record.griddesk_redacting = True
    return make_record


def install_log_redaction() -> None:
    """Redact every log record created from now on in this process (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "griddesk_redacting", False):
        logging.setLogRecordFactory(_redacting(factory))
