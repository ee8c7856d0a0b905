"""`python -m bench --scale demo` end to end, so the benchmark never rots: a tiny synthetic city
(32 grids, 1,000 tickets, loaded with COPY), Gunicorn started and stopped, every figure taken
once. No timing is asserted: only that the JSON the acceptance checks read has every figure.
PostgreSQL only (COPY, ALTER DATABASE, Gunicorn against a shared database)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bench.load import INTAKE_DESCRIPTION

from .conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ["intake", "raw_intake", "read_one", "bare_read_one", "list_100", "list_100_deep",
           "admin_list_street", "admin_list_city", "board_street", "board_city",
           "stats_street_year", "stats_city_year", "sweep", "sweep_idle", "point_to_grid",
           "intake_c1", "intake_c2"]  # the demo plan's concurrencies: 1 and 2

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="the benchmark smoke runs on PostgreSQL only (it loads with COPY); "
           "set TEST_DATABASE_URL to a PostgreSQL database to run it")


def test_bench_demo_writes_every_figure(tmp_path):
    url = TEST_DATABASE_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    server, name = url.rsplit("/", 1)
    bench_db = f"{name}_bench_smoke"
    out = tmp_path / "bench.json"
    env = dict(os.environ, GRIDDESK_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--scale", "demo", "--fresh", "--port", "5197", "--workers", "1",
             "--threads", "2", "--against", str(ROOT),  # this checkout against itself
             "--database-url", f"{server}/{bench_db}", "--json", str(out)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        result = json.loads(out.read_text())
        with psycopg.connect(f"{server}/{bench_db}") as conn:  # the run took its reports away
            left = conn.execute("SELECT count(*) FROM tickets WHERE description LIKE %s",
                                (INTAKE_DESCRIPTION + "%",)).fetchone()[0]
            tokens = conn.execute("SELECT count(*) FROM user_tokens").fetchone()[0]
            # The sweep's warnings, committed at its moved clock, were undone after it.
            at = json.loads(out.read_text())["figures"]["sweep"]["clock_at"]
            ahead = conn.execute("SELECT (SELECT count(*) FROM tickets WHERE warned_at >= %s) + "
                                 "(SELECT count(*) FROM ticket_events WHERE created_at >= %s)",
                                 (at, at)).fetchone()[0]
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
    assert left == 0 and tokens == 0 and "deleted the run's own" in done.stdout + done.stderr
    assert ahead == 0  # (how many warnings fall due first depends on the city drawn)
    assert result["commit"]
    assert result["machine"]["cpus"] >= 1 and result["machine"]["ram_gib"] > 0
    assert "work_mem" in result["machine"]["postgresql"]
    assert result["dataset"]["tickets"] >= 1000 and result["dataset"]["grids"] == 32
    assert result["dataset"]["stats_daily_rows"] > 0
    assert 0 < result["dataset"]["stats_monthly_rows"] <= result["dataset"]["stats_daily_rows"]
    for name in FIGURES:
        entry = result["figures"][name]
        assert set(entry) >= {"per_s", "p50_ms", "p95_ms", "runs"}, name
        assert entry["runs"] > 0, name
    assert isinstance(result["figures"]["worker_rss_mb"], (int, float))
    assert result["figures"]["worker_rss_mb"] > 0
    for name in ("intake", "read_one"):  # what the server and PostgreSQL spent per request
        spent = result["figures"][name]["cpu_ms_per_request"]
        assert spent["app"] > 0 and spent["postgresql"] >= 0, (name, spent)
    raw = result["figures"]["raw_intake"]
    assert raw["ratio"] > 0 and raw["before_per_s"] > 0 and raw["after_per_s"] > 0
    assert raw["per_s"] == round((raw["before_per_s"] + raw["after_per_s"]) / 2, 1)
    assert result["figures"]["bare_read_one"]["ratio"] > 0
    against = result["figures"]["intake_against"]  # windows of each checkout in turn
    assert against["this"]["windows"] == against["other"]["windows"] == 10
    assert against["this"]["per_s"] > 0 and against["other"]["per_s"] > 0
    assert against["ratio_per_s"] > 0 and len(against["window_ratios"]) == 10
    assert against["other"]["commit"] == result["commit"]
