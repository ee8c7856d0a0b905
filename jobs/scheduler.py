"""The scheduler: one process in the whole deployment runs the jobs.

Whoever holds the scheduler lock runs the jobs; any other scheduler started against the same
database waits and takes over when the holder dies. On PostgreSQL the lock is a session advisory
lock (released by the server when the holder's connection dies); on SQLite it is an flock on a
file next to the database (released by the kernel when the holder's process dies).
"""
from __future__ import annotations

import fcntl
import logging
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from models import db

from .sweeps import JOBS

log = logging.getLogger("griddesk.scheduler")
ADVISORY_LOCK_KEY = 0x6772_6964  # "grid"
WAIT_SECONDS = 5.0


class SchedulerLock:
    """Held for the life of the scheduler; ``acquire(wait=True)`` blocks until it is ours."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._connection = None
        self._file = None

    def try_acquire(self) -> bool:
        with self.app.app_context():
            engine = db.engine
            if engine.dialect.name == "postgresql":
                connection = engine.connect()
                got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"),
                                         {"key": ADVISORY_LOCK_KEY}).scalar()
                connection.commit()
                if got:
                    self._connection = connection
                    return True
                connection.close()
                return False
            handle = open(self._lock_path(engine), "a+")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
            self._file = handle
            return True

    def acquire(self, wait: bool = True, interval: float = WAIT_SECONDS) -> bool:
        announced = False
        while not self.try_acquire():
            if not wait:
                return False
            if not announced:
                log.warning("another scheduler holds the lock; waiting to take over")
                announced = True
            time.sleep(interval)
        log.info("scheduler lock acquired")
        return True

    def release(self) -> None:
        if self._connection is not None:
            # close() would only return the connection to the pool, still holding the advisory
            # lock; invalidate() closes the database session, and PostgreSQL drops the lock.
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def _lock_path(self, engine) -> Path:
        database = engine.url.database
        if not database or database == ":memory:":
            return Path(self.app.instance_path) / "scheduler.lock"
        return Path(database).with_suffix(".scheduler.lock")


def run_job(app: Flask, name: str) -> dict:
    """One run of one job in its own app context; failures are logged, never fatal."""
    with app.app_context():
        try:
            result = JOBS[name]()
            if any(result.values()):
                log.info("%s: %s", name, result)
            return result
        except Exception:  # a job must not take the scheduler down
            db.session.rollback()
            log.exception("job %s failed", name)
            return {}
        finally:
            db.session.remove()


def add_jobs(scheduler, app: Flask) -> None:
    intervals = app.config.get("JOB_INTERVALS", {})
    for name in JOBS:
        scheduler.add_job(run_job, "interval", args=[app, name], id=name, name=name,
                          seconds=intervals.get(name, 60), replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=3600)


def run_forever(app: Flask) -> None:
    """`python run.py scheduler`: wait for the lock, catch up once, then run on the intervals."""
    lock = SchedulerLock(app)
    lock.acquire(wait=True)
    try:
        for name in JOBS:  # catch up with everything due while we were down
            run_job(app, name)
        scheduler = BlockingScheduler(timezone=app.config["GRIDDESK_TIMEZONE"])
        add_jobs(scheduler, app)
        scheduler.start()
    finally:
        lock.release()


def start_in_background(app: Flask) -> threading.Thread:
    """The demo's scheduler inside the web process, behind the same lock.

    The lock and the scheduler are kept in ``app.extensions`` for the life of the process: a lock
    left in a local variable is garbage-collected when the thread ends, which closes its file (or
    returns its connection) and lets a second scheduler start beside the demo."""
    def target():
        lock = SchedulerLock(app)
        lock.acquire(wait=True)
        scheduler = BackgroundScheduler(timezone=app.config["GRIDDESK_TIMEZONE"], daemon=True)
        app.extensions["griddesk_scheduler"] = (lock, scheduler)
        add_jobs(scheduler, app)
        scheduler.start()
        for name in JOBS:
            run_job(app, name)

    thread = threading.Thread(target=target, name="griddesk-scheduler", daemon=True)
    thread.start()
    return thread
