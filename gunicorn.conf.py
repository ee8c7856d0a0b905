"""Gunicorn settings for GridDesk (see docs/OPERATIONS.md)."""
import multiprocessing
import os

from admin_app.logs import install_log_redaction

install_log_redaction()  # api_key, tokens and passwords appear as [redacted] in the access log

bind = os.environ.get("GRIDDESK_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GRIDDESK_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GRIDDESK_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
preload_app = True


def post_fork(server, worker):
    """A forked worker must not share the parent's database connections."""
    from wsgi import app

    from models import db

    with app.app_context():
        db.engine.dispose(close=False)
