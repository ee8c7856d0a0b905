"""Run the whole test suite on SQLite and on PostgreSQL, both at once (the two runs share nothing:
each has its own instance folder and database), each run's output printed whole when it ends.
GRIDDESK_TESTS_ONE_AT_A_TIME=1 runs them one after the other with live output instead.

PostgreSQL: TEST_DATABASE_URL when set (then it must work), otherwise a server on
127.0.0.1:5432 (user postgres) when one answers, in a fresh database griddesk_test.
With neither, the PostgreSQL run is skipped and the skip is said plainly.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_TEST_DB = "griddesk_test"


def local_postgres_url() -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect(LOCAL_SERVER, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {LOCAL_TEST_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {LOCAL_TEST_DB}")
    except psycopg.OperationalError:
        return None
    return f"postgresql://postgres@127.0.0.1:5432/{LOCAL_TEST_DB}"


def pytest_environment(database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TEST_DATABASE_URL", None)
    if database_url:
        env["TEST_DATABASE_URL"] = database_url
    return env


def run_one_at_a_time(runs: dict[str, str | None], args: list[str]) -> dict[str, int]:
    results = {}
    for label, url in runs.items():
        print(f"\n=== GridDesk tests on {label} ===", flush=True)
        results[label] = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT,
                                         env=pytest_environment(url))
    return results


def run_together(runs: dict[str, str | None], args: list[str]) -> dict[str, int]:
    started = time.monotonic()
    running = {}
    for label, url in runs.items():
        log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        print(f"=== GridDesk tests on {label}: started ===", flush=True)
        running[label] = (subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=ROOT,
                                           env=pytest_environment(url), stdout=log,
                                           stderr=subprocess.STDOUT), log)
    results = {}
    for label, (process, log) in running.items():
        results[label] = process.wait()
        log.seek(0)
        print(f"\n=== GridDesk tests on {label} (ended after {time.monotonic() - started:.0f} s) ===")
        print(log.read(), flush=True)
        log.close()
    return results


def main(args: list[str]) -> int:
    runs: dict[str, str | None] = {"SQLite": None}
    postgres = os.environ.get("TEST_DATABASE_URL") or local_postgres_url()
    if postgres:
        runs["PostgreSQL"] = postgres
    if os.environ.get("GRIDDESK_TESTS_ONE_AT_A_TIME") == "1" or len(runs) == 1:
        results = run_one_at_a_time(runs, args)
    else:
        results = run_together(runs, args)
    if not postgres:
        print("\n=== PostgreSQL run SKIPPED: TEST_DATABASE_URL is not set and no PostgreSQL "
              "server answers on 127.0.0.1:5432. Only SQLite was tested. ===")
    print("\n" + ", ".join(f"{name}: {'passed' if code == 0 else 'FAILED'}"
                           for name, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
