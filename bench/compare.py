"""The intake of two checkouts measured alternately (``python -m bench --against DIR``).

Two runs of the benchmark a minute apart on a shared host differed by up to 15 % with the same
code (docs/PERFORMANCE.md, 2026-12-07): more than most changes move. So a change is measured
against the code before it in one run: a server of each checkout (``git worktree add DIR REV``)
on the same database, loaded in turn for short windows — before, after, after, before … — each
window's rate and CPU per intake (the server's and PostgreSQL's) taken as the intake figure is.
The host's drift then falls on both alike, and the per-window ratios show how steady it was.
"""
from __future__ import annotations

import os
import statistics
from pathlib import Path

from bench.city import log
from bench.load import run_load
from bench.measure import (ROOT, Plan, Server, Targets, api_token, app_url, commit_id,
                           delete_own_rows, intake_load, load_figure, newest_rows)

WINDOWS = 10
CLIENTS = 8


def intake_against(url: str, plan: Plan, port: int, other: Path, workers: int | None,
                   threads: int | None) -> dict:
    """{"this", "other": the medians of the windows, "ratio_per_s", "ratio_cpu", "windows"}."""
    if not (other / "wsgi.py").is_file():
        raise SystemExit(f"--against {other}: not a GridDesk checkout (no wsgi.py)")
    newest = newest_rows(url)
    targets = Targets(url)
    env = dict(os.environ, DATABASE_URL=app_url(url))
    roots = {"this": ROOT, "other": other.resolve()}
    servers, loads = {}, {}
    try:
        for i, (name, root) in enumerate(roots.items()):
            servers[name] = Server("wsgi:app", port + i, env, workers, threads, root=root)
            base = f"http://127.0.0.1:{port + i}"
            tokens = [api_token(base, targets.intake_user) for _ in range(CLIENTS)]
            loads[name] = intake_load(targets, tokens, plan.load_seconds * WINDOWS / 2 + 30)
            run_load(base, CLIENTS, plan.warmup_seconds / 2, loads[name])
        windows = {name: [] for name in roots}
        for k in range(WINDOWS):
            for name in ("other", "this") if k % 2 == 0 else ("this", "other"):
                server = servers[name]
                windows[name].append(load_figure(
                    f"intake ({name})", f"http://127.0.0.1:{server.port}", CLIENTS,
                    plan.load_seconds / 2, loads[name], server=server))
    finally:
        for server in servers.values():
            server.stop()
        delete_own_rows(url, newest)
    result = {name: _medians(rows) for name, rows in windows.items()}
    result["other"]["commit"] = commit_id(roots["other"])
    result["ratio_per_s"] = round(result["this"]["per_s"] / result["other"]["per_s"], 3)
    result["ratio_cpu"] = round(result["this"]["cpu_ms"] / result["other"]["cpu_ms"], 3)
    result["window_ratios"] = [round(a["per_s"] / b["per_s"], 3)
                               for a, b in zip(windows["this"], windows["other"])]
    log(f"intake against {result['other']['commit']}: {result['ratio_per_s']} of its rate, "
        f"{result['ratio_cpu']} of its CPU per intake (windows: {result['window_ratios']})")
    return result


def _medians(rows: list[dict]) -> dict:
    def median(values):
        return round(statistics.median(values), 2)
    return {"per_s": median([r["per_s"] for r in rows]),
            "p95_ms": median([r["p95_ms"] for r in rows]),
            "app_cpu_ms": median([r["cpu_ms_per_request"]["app"] for r in rows]),
            "postgresql_cpu_ms": median([r["cpu_ms_per_request"]["postgresql"] for r in rows]),
            "cpu_ms": median([r["cpu_ms_per_request"]["app"] + r["cpu_ms_per_request"]["postgresql"]
                              for r in rows]),
            "windows": len(rows), "errors": sum(r["errors"] for r in rows)}
