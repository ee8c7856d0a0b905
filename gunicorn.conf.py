"""Gunicorn settings for GridDesk (see docs/OPERATIONS.md)."""
import multiprocessing
import os
import time

from admin_app.logs import install_log_redaction

install_log_redaction()  # api_key, tokens and passwords appear as [redacted] in the access log

bind = os.environ.get("GRIDDESK_BIND", "127.0.0.1:8000")
# Cores + 1: on 2 cores 3 × 4 took 10 % more intakes and 4 % more reads than 5 × 4, for less CPU
# per request (both servers up at once on the city, loaded in turn; docs/PERFORMANCE.md).
workers = int(os.environ.get("GRIDDESK_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GRIDDESK_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
logger_class = "admin_app.access_log.AccessLogger"  # the same lines, built for less work
preload_app = True
# After a request this long (a city's statistics over a year builds tens of thousands of rows),
# the worker hands the heap it freed back to the system; 0 turns it off.
trim_after_seconds = float(os.environ.get("GRIDDESK_TRIM_AFTER_SECONDS", "1"))
# A worker still larger than this (MB) after giving back what such a request freed is replaced
# by a fresh fork of the warmed master once its requests are answered, as max_requests replaces
# one (admin_app/worker_memory.py says why it can be needed); 0 turns it off.
worker_max_rss_mb = float(os.environ.get("GRIDDESK_WORKER_MAX_RSS_MB", "200"))


def when_ready(server):
    """Before the workers fork (preload_app): the reference copies and templates are built once
    and shared (admin_app/warmup.py)."""
    from admin_app.warmup import warm_up

    app = server.app.wsgi()
    if getattr(app, "import_name", None) != "admin_app":  # another app (the benchmark's bare one)
        return
    try:
        server.log.info("Warmed the reference data and templates in %.1f s", warm_up(app))
    except Exception:  # noqa: BLE001 — e.g. the database not up yet: the workers build them
        server.log.warning("Could not warm the reference data; each worker builds its own",
                           exc_info=True)


def post_fork(server, worker):
    """A forked worker must not share the parent's database connections."""
    from wsgi import app

    from admin_app.worker_memory import resident_mb
    from models.base import empty_pools

    with app.app_context():
        empty_pools(close=False)
    worker.griddesk_started_mb = resident_mb()
    if worker_max_rss_mb > 0 and (worker.griddesk_started_mb or 0) >= worker_max_rss_mb:
        worker.log.warning("Worker %s starts at %.0f MB, above GRIDDESK_WORKER_MAX_RSS_MB=%.0f: "
                           "it is not replaced for its size", worker.pid,
                           worker.griddesk_started_mb, worker_max_rss_mb)


def pre_request(worker, req):
    req.griddesk_started = time.monotonic()


def post_request(worker, req, environ, resp):
    """A worker stays as large as its largest moment unless it gives back what it freed: after
    a long request it does (a few milliseconds; docs/PERFORMANCE.md), and if it is still larger
    than worker_max_rss_mb it stops taking requests and the master forks a fresh one."""
    started = getattr(req, "griddesk_started", None)
    if trim_after_seconds > 0 and started is not None \
            and time.monotonic() - started >= trim_after_seconds:
        from admin_app.worker_memory import grown_past
        from models.process_memory import give_back_freed_memory

        give_back_freed_memory()
        size = grown_past(worker_max_rss_mb, getattr(worker, "griddesk_started_mb", None))
        if size is not None and worker.alive:
            worker.log.info("Worker %s at %.0f MB after a %.1f s request, above "
                            "GRIDDESK_WORKER_MAX_RSS_MB=%.0f: replaced once its requests are "
                            "answered", worker.pid, size, time.monotonic() - started,
                            worker_max_rss_mb)
            worker.alive = False

