"""Run the whole test suite on SQLite and on PostgreSQL at once, each run's output printed whole
when it ends. On the local PostgreSQL server the run is cut in two parts with a database each
(griddesk_test, griddesk_test_2), the test files shared out by their recorded durations
(tests/durations.json), so that the PostgreSQL half, the slower one, does not set the wall time.
GRIDDESK_TESTS_ONE_AT_A_TIME=1 runs everything one run after the other with live output;
GRIDDESK_UPDATE_DURATIONS=1 writes the durations of this run to tests/durations.json.

PostgreSQL: TEST_DATABASE_URL when set (then it must work, and it is not split), otherwise a
server on 127.0.0.1:5432 (user postgres) when one answers, in fresh databases griddesk_test*.
With neither, the PostgreSQL run is skipped and the skip is said plainly.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = ROOT / "tests" / "durations.json"
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_TEST_DBS = ("griddesk_test", "griddesk_test_2")
# Where a failed browser test leaves what the pages, the app and the database were doing
# (tests/e2e/conftest.py), printed once more at the very end of the output.
FAILURE_NOTES = tempfile.mkdtemp(prefix="griddesk-failure-notes-")
UNKNOWN_FILE_SECONDS = 10.0


@dataclass
class Run:
    label: str
    database_url: str | None
    files: list[str] = field(default_factory=list)  # empty: pytest's own selection
    durations_file: str = ""


def local_postgres_urls() -> list[str]:
    try:
        import psycopg
    except ImportError:
        return []
    try:
        with psycopg.connect(LOCAL_SERVER, connect_timeout=3, autocommit=True) as conn:
            for name in LOCAL_TEST_DBS:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError:
        return []
    return [f"postgresql://postgres@127.0.0.1:5432/{name}" for name in LOCAL_TEST_DBS]


def test_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py"))


def share_out(files: list[str], seconds: dict[str, float], parts: int) -> list[list[str]]:
    """The files in ``parts`` groups of about equal recorded time (longest first, each to the
    group with the least so far)."""
    groups: list[tuple[float, list[str]]] = [(0.0, []) for _ in range(parts)]
    for name in sorted(files, key=lambda f: -seconds.get(f, UNKNOWN_FILE_SECONDS)):
        total, members = min(groups, key=lambda g: g[0])
        groups.remove((total, members))
        groups.append((total + seconds.get(name, UNKNOWN_FILE_SECONDS), members + [name]))
    return [sorted(members) for _total, members in groups if members]


def recorded_seconds(label: str) -> dict[str, float]:
    try:
        return json.loads(DURATIONS.read_text()).get(label, {})
    except (OSError, ValueError):
        return {}


def plan(args: list[str]) -> tuple[list[Run], bool]:
    """The runs, and whether a PostgreSQL server was found."""
    runs = [Run("SQLite", None)]
    explicit = os.environ.get("TEST_DATABASE_URL")
    urls = [explicit] if explicit else local_postgres_urls()
    chosen_paths = any(not arg.startswith("-") for arg in args)
    if len(urls) > 1 and not chosen_paths:
        groups = share_out(test_files(), recorded_seconds("PostgreSQL"), len(urls))
        runs += [Run(f"PostgreSQL {i + 1}/{len(groups)}", url, files)
                 for i, (url, files) in enumerate(zip(urls, groups))]
    elif urls:
        runs.append(Run("PostgreSQL", urls[0]))
    return runs, bool(urls)


def command(run: Run, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *args, *run.files]


def environment(run: Run) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TEST_DATABASE_URL", None)
    if run.database_url:
        env["TEST_DATABASE_URL"] = run.database_url
    run.durations_file = tempfile.mkstemp(prefix="griddesk-durations-", suffix=".json")[1]
    env["GRIDDESK_DURATIONS_OUT"] = run.durations_file
    env["GRIDDESK_FAILURE_NOTES"] = FAILURE_NOTES
    return env


def run_one_at_a_time(runs: list[Run], args: list[str]) -> dict[str, int]:
    results = {}
    for run in runs:
        print(f"\n=== GridDesk tests on {run.label} ===", flush=True)
        results[run.label] = subprocess.call(command(run, args), cwd=ROOT, env=environment(run))
    return results


def run_together(runs: list[Run], args: list[str]) -> dict[str, int]:
    started = time.monotonic()
    running = {}
    for run in runs:
        log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        print(f"=== GridDesk tests on {run.label}: started ({len(run.files) or 'all'} files) ===",
              flush=True)
        running[run.label] = (subprocess.Popen(command(run, args), cwd=ROOT, env=environment(run),
                                               stdout=log, stderr=subprocess.STDOUT), log)
    results = {}
    for label, (process, log) in running.items():
        results[label] = process.wait()
        log.seek(0)
        print(f"\n=== GridDesk tests on {label} (ended after {time.monotonic() - started:.0f} s) ===")
        print(log.read(), flush=True)
        log.close()
    return results


def save_durations(runs: list[Run]) -> None:
    recorded: dict[str, dict[str, float]] = {}
    for run in runs:
        try:
            seconds = json.loads(Path(run.durations_file).read_text())
        except (OSError, ValueError):
            continue
        recorded.setdefault(run.label.split()[0], {}).update(seconds)
    if os.environ.get("GRIDDESK_UPDATE_DURATIONS") == "1" and recorded:
        DURATIONS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(f"wrote {DURATIONS.relative_to(ROOT)}")
    for run in runs:
        Path(run.durations_file).unlink(missing_ok=True)


def print_failure_notes() -> None:
    for note in sorted(Path(FAILURE_NOTES).glob("*.txt")):
        print("\n=== What a failed browser test saw (tests/e2e/conftest.py) ===")
        print(note.read_text(encoding="utf-8")[-6000:], flush=True)
    shutil.rmtree(FAILURE_NOTES, ignore_errors=True)


def main(args: list[str]) -> int:
    runs, postgres = plan(args)
    if os.environ.get("GRIDDESK_TESTS_ONE_AT_A_TIME") == "1" or len(runs) == 1:
        results = run_one_at_a_time(runs, args)
    else:
        results = run_together(runs, args)
    save_durations(runs)
    print_failure_notes()
    if not postgres:
        print("\n=== PostgreSQL run SKIPPED: TEST_DATABASE_URL is not set and no PostgreSQL "
              "server answers on 127.0.0.1:5432. Only SQLite was tested. ===")
    print("\n" + ", ".join(f"{name}: {'passed' if code == 0 else 'FAILED'}"
                           for name, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
