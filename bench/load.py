"""HTTP load for the benchmark: ``wrk`` when it is installed, Python threads otherwise.

The load generator shares the two cores with the server and PostgreSQL, so what it costs per
request is taken from what it measures. Python threads with ``requests`` cost about 1 ms of CPU
per request: against the bare-Flask ceiling they measured 708/s where wrk (C, epoll) measured
1,965/s on the same server in the same minute (2026-12-04). wrk (Debian's package ``wrk``;
``make bench`` installs it when it can) is therefore the load generator, and every figure says
which one measured it (``load_generator``).

A load is a list of ready-made requests (method, path, Authorization, JSON body) cycled through
by every client from its own offset, so both generators send the same requests.
"""
from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk_requests.lua"
INTAKE_DESCRIPTION = "基准测试上报"  # how the benchmark's reports begin (deleted after a run)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    authorization: str = ""
    body: str = ""  # JSON, without tabs or newlines


def read_requests(paths: list[str], tokens: list[str]) -> list[Request]:
    """GETs of ``paths``, the tokens taken in turn (none: anonymous)."""
    return [Request("GET", path, f"Bearer {tokens[i % len(tokens)]}" if tokens else "")
            for i, path in enumerate(paths)]


def intake_requests(grids: list[tuple[float, float]], categories: list[str], tokens: list[str],
                    count: int, seed: int) -> list[Request]:
    """``count`` reports at random grids (near their centre), each with its own description."""
    rng = random.Random(seed)
    made = []
    for i in range(count):
        lat, lon = rng.choice(grids)
        body = {"category": rng.choice(categories), "source": "api", "coord_system": "wgs84",
                "lat": lat + rng.uniform(-0.0003, 0.0003), "lon": lon + rng.uniform(-0.0003, 0.0003),
                "description": f"{INTAKE_DESCRIPTION} {rng.randrange(10 ** 9)}：现场需要处理",
                "reporter_phone": f"139{rng.randrange(10 ** 8):08d}"}
        made.append(Request("POST", "/api/v1/tickets", f"Bearer {tokens[i % len(tokens)]}",
                            json.dumps(body, ensure_ascii=False)))
    return made


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run_load(base: str, clients: int, seconds: float, requests: list[Request]) -> dict:
    """``clients`` connections sending ``requests`` as fast as answered for ``seconds``:
    {"per_s", "p50_ms", "p95_ms", "runs", "errors", "load_generator"}."""
    if generator() == "wrk":
        return _with_wrk(base, clients, seconds, requests)
    return _with_threads(base, clients, seconds, requests)


def _with_wrk(base: str, clients: int, seconds: float, requests: list[Request]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8") as listing:
        for r in requests:
            listing.write(f"{r.method}\t{r.path}\t{r.authorization}\t{r.body}\n")
        listing.flush()
        command = ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{max(1, round(seconds))}s",
                   "--timeout", "60s", "-s", str(LUA_SCRIPT), base, "--", listing.name]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout[-500:]}")
    done = json.loads(lines[-1])
    errors = {k[len("errors_"):]: v for k, v in done.items() if k.startswith("errors_") and v}
    answered = max(done["requests"] - done["errors_status"], 0)
    figure = {"per_s": round(answered / (done["duration_us"] / 1e6), 1),
              "p50_ms": round(done["p50_us"] / 1000, 2), "p95_ms": round(done["p95_us"] / 1000, 2),
              "runs": done["requests"], "errors": sum(errors.values()), "load_generator": "wrk"}
    if errors:
        figure["error_kinds"] = errors  # status: answers of 400 and above
        # wrk keeps one latency histogram for every answer: these percentiles count the errors'
        # answers too (the Python threads time only the good ones).
        figure["latency_includes_errors"] = True
    return figure


def _with_threads(base: str, clients: int, seconds: float, requests: list[Request]) -> dict:
    import requests as http

    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        session = http.Session()
        mine = requests[index::clients] or requests
        local, turn = [], 0
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            r = mine[turn % len(mine)]
            turn += 1
            headers = {"Authorization": r.authorization} if r.authorization else {}
            if r.body:
                headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            try:
                status = session.request(r.method, base + r.path, data=r.body.encode() or None,
                                         headers=headers, timeout=120).status_code
            except http.RequestException:
                status = -1
            local.append(((time.perf_counter() - t0) * 1000, status))
        with lock:
            results.extend(local)

    pool = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in pool:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    ok = sorted(ms for ms, status in results if 200 <= status < 300)
    statuses = Counter(status for _ms, status in results)
    figure = {"per_s": round(len(ok) / elapsed, 1), "runs": len(results),
              "errors": len(results) - len(ok), "load_generator": "python"}
    figure["p50_ms"] = round(statistics.median(ok), 2) if ok else None
    figure["p95_ms"] = round(pct(ok, 95), 2) if ok else None
    if figure["errors"]:
        figure["statuses"] = {str(k): v for k, v in statuses.items()}
    return figure
