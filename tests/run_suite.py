"""Run the whole test suite on SQLite, then again on PostgreSQL.

PostgreSQL: TEST_DATABASE_URL when set (then it must work), otherwise a server on
127.0.0.1:5432 (user postgres) when one answers, in a fresh database griddesk_test.
With neither, the PostgreSQL run is skipped and the skip is said plainly.
"""
from __future__ import annotations

import os
import subprocess
import sys
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


def run_pytest(label: str, database_url: str | None, args: list[str]) -> int:
    env = dict(os.environ)
    env.pop("TEST_DATABASE_URL", None)
    if database_url:
        env["TEST_DATABASE_URL"] = database_url
    print(f"\n=== GridDesk tests on {label} ===", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)


def main(args: list[str]) -> int:
    results = {"SQLite": run_pytest("SQLite", None, args)}
    configured = os.environ.get("TEST_DATABASE_URL")
    postgres = configured or local_postgres_url()
    if postgres:
        results["PostgreSQL"] = run_pytest("PostgreSQL", postgres, args)
    else:
        print("\n=== PostgreSQL run SKIPPED: TEST_DATABASE_URL is not set and no PostgreSQL "
              "server answers on 127.0.0.1:5432. Only SQLite was tested. ===")
    print("\n" + ", ".join(f"{name}: {'passed' if code == 0 else 'FAILED'}"
                           for name, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
