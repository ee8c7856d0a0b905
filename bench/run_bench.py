"""GridDesk benchmark: page and API latency, query plans, intake and read throughput.

    .venv/bin/python bench/synth.py            # once: griddesk_bench with 1,000,000 extra tickets
    .venv/bin/python bench/run_bench.py        # everything below, ~6 minutes on 2 vCPUs
    .venv/bin/python bench/run_bench.py --quick                # fewer repeats, 8 s load runs
    .venv/bin/python bench/run_bench.py --skip-server          # latency + plans only

What it measures, against the database made by bench/synth.py:

1. Latency, in process (the real app from ``create_app`` with ``DATABASE_URL``, Flask test
   client, one request at a time, ``--repeat`` times after ``--warmup``; median and p95 ms,
   and the number of SQL statements and the SQL time of one request):
   (a) the admin ticket list for the demo users ``district``, ``street``, ``community``
       (logged in through /login with the CSRF token);
   (b) the same list filtered by street, searched by exact number and by phone; plus some
       harder lists (page 500, sorted by deadline, a rare status, the overdue filter), the
       board, the home page and the ticket page;
   (c) GET /api/v1/tickets: first page, limit=100, keyset cursor 10,000 rows deep and half-way
       down the scope, and the open-ticket list (bearer token from POST /api/v1/auth/token);
   (d) GET /api/v1/tickets/{id}.
2. (f) Query plans: EXPLAIN (ANALYZE, BUFFERS) of the SQL the app really sent (captured from the
   requests above and from the scheduler's deadline sweep, run with commit turned into a
   rollback), checked against the index each should use; each also planned generically
   (``plan_cache_mode = force_generic_plan``, what a server-side prepared statement may get
   after five runs — psycopg 3 prepares a query after 5 executions on a connection).
3. Throughput against a real server (gunicorn, or werkzeug with --server werkzeug) started as a
   subprocess on --port with GRIDDESK_SCHEDULER_IN_PROCESS=0:
   (e) POST /api/v1/tickets intake with --threads threads for --intake-seconds, once with one
       bearer token shared by all threads (one integration) and once with a token per thread,
       while pg_stat_activity is sampled for lock waits;
   reads: GET /api/v1/tickets?limit=100 and GET /api/v1/tickets/{id} with --threads threads.
   The load generator runs on the same machine and shares its CPUs with the server and
   PostgreSQL.

Prints summary tables and writes bench/results.json (machine, dataset, every number, plans).
Intake adds real tickets to griddesk_bench (a few thousand per run).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql as pgsql  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "demo12345"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def summarize(ms: list[float]) -> dict:
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2), "p95_ms": round(pct(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2), "min_ms": round(min(ms), 2),
            "max_ms": round(max(ms), 2)}


# --- machine -----------------------------------------------------------------------------------
def machine_info(conn) -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    settings = dict(conn.execute("""SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings
        WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost',
                       'max_connections', 'jit', 'synchronous_commit', 'plan_cache_mode')""").fetchall())
    versions = {}
    for dist in ("Flask", "SQLAlchemy", "psycopg", "Flask-Admin", "Werkzeug", "gunicorn", "requests"):
        try:
            from importlib.metadata import version
            versions[dist] = version(dist)
        except Exception:  # noqa: BLE001
            versions[dist] = None
    return {
        "date": subprocess.run(["date", "-Iseconds"], capture_output=True, text=True).stdout.strip(),
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
        "mem_total_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "kernel": platform.release(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "postgresql": conn.execute("SELECT version()").fetchone()[0],
        "postgresql_settings": settings,
        "python": sys.version.split()[0],
        "packages": versions,
    }


def dataset_info(conn) -> dict:
    row = conn.execute("""SELECT count(*), count(*) FILTER (WHERE status IN
        ('pending','in_progress','pending_review','suspended')) FROM tickets""").fetchone()
    sizes = dict(conn.execute("""SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class
        WHERE relname IN ('tickets', 'ticket_events')""").fetchall())
    scopes = dict(conn.execute("""SELECT u.username, count(t.id) FROM users u
        JOIN areas a ON a.id = u.scope_area_id
        JOIN tickets t ON (a.level = 'district' AND t.district_id = a.id)
                       OR (a.level = 'street' AND t.street_id = a.id)
                       OR (a.level = 'community' AND t.community_id = a.id)
        WHERE u.username IN ('district', 'street', 'community') GROUP BY 1""").fetchall())
    return {"tickets": row[0], "open_tickets": row[1],
            "ticket_events": conn.execute("SELECT count(*) FROM ticket_events").fetchone()[0],
            "sizes": sizes, "tickets_in_scope": scopes}


# --- SQL capture -------------------------------------------------------------------------------
class SqlRecorder:
    """Counts statements and SQL time per request; keeps the statements of the last request."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.lock = threading.Lock()
        self.statements: list[tuple[str, object, float]] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        started = conn.info["bench_t0"].pop()
        if self.active:
            with self.lock:
                self.statements.append((statement, parameters, (time.perf_counter() - started) * 1000))

    def start(self):
        self.statements = []
        self.active = True

    def stop(self) -> list[tuple[str, object, float]]:
        self.active = False
        return self.statements


# --- in-process latency ------------------------------------------------------------------------
def csrf_login(client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username,
                                          "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"login of {username} failed: HTTP {response.status_code}")


def encode_cursor(created_at, ticket_id: int) -> str:
    """Same as views.api._encode_cursor."""
    raw = f"{created_at.astimezone(timezone.utc).isoformat()}|{ticket_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class Latency:
    def __init__(self, recorder: SqlRecorder, repeat: int, warmup: int, budget_s: float):
        self.recorder, self.repeat, self.warmup, self.budget_s = recorder, repeat, warmup, budget_s
        self.results: dict[str, dict] = {}
        self.captured: dict[str, list] = {}

    def measure(self, name: str, call, check=None) -> dict:
        for _ in range(self.warmup):
            call()
        times, started = [], time.perf_counter()
        response = None
        for i in range(self.repeat):
            last = i == self.repeat - 1 or time.perf_counter() - started > self.budget_s
            if last:
                self.recorder.start()
            t0 = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - t0) * 1000)
            if last:
                statements = self.recorder.stop()
                break
        if response.status_code != 200:
            raise SystemExit(f"{name}: HTTP {response.status_code}\n{response.get_data(as_text=True)[:2000]}")
        note = check(response) if check else None
        result = {**summarize(times), "sql_statements": len(statements),
                  "sql_ms": round(sum(s[2] for s in statements), 2)}
        if note:
            result["note"] = note
        self.results[name] = result
        self.captured[name] = statements
        log(f"{name:<48} median {result['median_ms']:8.1f} ms  p95 {result['p95_ms']:8.1f} ms  "
            f"{result['sql_statements']:3d} SQL ({result['sql_ms']:.1f} ms){'  ' + note if note else ''}")
        return result


def count_note(response) -> str:
    text = response.get_data(as_text=True)
    m = re.search(r'id="gd-list-count">\s*(.*?)\s*</span>', text, re.S)
    rows = len(re.findall(r'<tr[^>]*>\s*<td', text))
    return (re.sub(r"\s+", " ", m.group(1)).strip() if m else "?") + f" | {rows} rows shown"


def api_note(response) -> str:
    data = response.get_json()
    if "items" in data:
        return f"{len(data['items'])} items, next={'yes' if data.get('next') else 'no'}"
    return f"ticket {data.get('number')} with {len(data.get('timeline', []))} events"


def run_latency(app, conn, args) -> tuple[dict, dict, dict]:
    from models import db

    with app.app_context():
        recorder = SqlRecorder(db.engine)
    lat = Latency(recorder, args.repeat, args.warmup, args.budget)
    admin = app.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "endpoint", None) == "ticket")
    filter_idx = {}
    for i, flt in enumerate(view._filters):
        column = getattr(flt, "column", None)
        key = getattr(column, "key", None) or type(flt).__name__
        filter_idx.setdefault(key, i)
        filter_idx.setdefault(type(flt).__name__, i)
    columns = [c for c, _label in view._list_columns]
    sort_deadline = columns.index("handle_deadline")

    users = {u: conn.execute("""SELECT u.id, a.id, a.level FROM users u JOIN areas a ON a.id = u.scope_area_id
                                WHERE u.username = %s""", (u,)).fetchone()
             for u in ("district", "street", "community")}
    other_street = conn.execute("SELECT scope_area_id FROM users WHERE username = 'sc_330199002'").fetchone()[0]
    first_synth = conn.execute("SELECT min(id) FROM tickets WHERE tracking_code LIKE 'S%%' "
                               "AND length(tracking_code) = 12").fetchone()[0] or 1
    max_id = conn.execute("SELECT max(id) FROM tickets").fetchone()[0]
    community_id = users["community"][1]
    sample = conn.execute("""SELECT id, number, reporter_phone FROM tickets WHERE community_id = %s
        AND reporter_phone IS NOT NULL AND id >= %s ORDER BY id LIMIT 1""",
                          (community_id, (first_synth + max_id) // 2)).fetchone()
    ticket_id, number, phone = sample
    phone_hits = conn.execute("SELECT count(*) FROM tickets WHERE reporter_phone = %s", (phone,)).fetchone()[0]
    targets = {"ticket_id": ticket_id, "number": number, "phone": phone, "phone_tickets": phone_hits,
               "other_street_id": other_street, "filter_index": filter_idx,
               "sort_index_handle_deadline": sort_deadline}
    log(f"targets: ticket {ticket_id} {number}, phone {phone} ({phone_hits} tickets)")

    level_column = {"district": "district_id", "street": "street_id", "community": "community_id"}
    street_flt = filter_idx["street_id"]
    grid_flt = filter_idx["grid_id"]
    status_flt = filter_idx["status"]
    overdue_flt = filter_idx["OverdueFilter"]
    for username, (user_id, area_id, level) in users.items():
        client = app.test_client()
        csrf_login(client, username)
        street_value = other_street if username == "district" else (
            area_id if level == "street" else conn.execute(
                "SELECT parent_id FROM areas WHERE id = %s", (area_id,)).fetchone()[0])
        grid_value = conn.execute("SELECT min(id) FROM areas WHERE level = 'grid' AND path LIKE "
                                  "(SELECT path FROM areas WHERE id = %s) || '%%'", (area_id,)).fetchone()[0]
        pages = [
            ("list", "/admin/ticket/"),
            ("list_filter_street", f"/admin/ticket/?flt0_{street_flt}={street_value}"),
            ("list_filter_grid", f"/admin/ticket/?flt0_{grid_flt}={grid_value}"),
            ("search_number", f"/admin/ticket/?search={number}"),
            ("search_phone", f"/admin/ticket/?search={phone}"),
        ]
        if not args.quick:
            pages += [
                ("list_page_500", "/admin/ticket/?page=499"),
                ("list_sort_deadline", f"/admin/ticket/?sort={sort_deadline}&desc=1"),
                ("list_status_suspended", f"/admin/ticket/?flt0_{status_flt}=suspended"),
                ("list_overdue", f"/admin/ticket/?flt0_{overdue_flt}=1"),
                ("board", "/admin/board/"),
                ("home", "/admin/"),
                ("ticket_page", f"/admin/ticket/details/?id={ticket_id}"),
            ]
        for name, url in pages:
            check = count_note if name.startswith(("list", "search")) else None
            lat.measure(f"admin.{name}.{username}", lambda url=url: client.get(url), check)

        # API with a bearer token
        api = app.test_client()
        token = api.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}
                         ).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        column = level_column[level]
        scope_rows = conn.execute(f"SELECT count(*) FROM tickets WHERE {column} = %s", (area_id,)).fetchone()[0]
        cursors = {}
        for label, offset in (("10k", 10_000), ("half", scope_rows // 2)):
            row = conn.execute(f"""SELECT created_at, id FROM tickets WHERE {column} = %s
                ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1""", (area_id, offset)).fetchone()
            cursors[label] = (encode_cursor(*row), offset)
        endpoints = [
            ("list_first", "/api/v1/tickets"),
            ("list_100", "/api/v1/tickets?limit=100"),
            ("list_cursor_10k", f"/api/v1/tickets?cursor={cursors['10k'][0]}"),
            ("list_cursor_half", f"/api/v1/tickets?cursor={cursors['half'][0]}"),
            ("list_open", "/api/v1/tickets?status=pending,in_progress,pending_review"),
            ("get_one", f"/api/v1/tickets/{ticket_id}"),
        ]
        targets[f"cursor_half_offset.{username}"] = cursors["half"][1]
        for name, url in endpoints:
            lat.measure(f"api.{name}.{username}", lambda url=url: api.get(url, headers=headers), api_note)

    # one intake request in process, to capture its SQL (duplicate check, numbering, dispatch)
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "district", "password": PASSWORD}).get_json()["token"]
    grid = conn.execute("SELECT centroid_lat, centroid_lon FROM areas WHERE level = 'grid' ORDER BY code LIMIT 1").fetchone()

    class Posted:
        status_code = 200

    def post_one():
        response = api.post("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}, json={
            "category": "0201", "description": "基准测试：小区门口乱停车", "lat": grid[0], "lon": grid[1],
            "coord_system": "wgs84", "reporter_phone": "13900000000", "source": "api"})
        if response.status_code != 201:
            raise SystemExit(f"intake: HTTP {response.status_code} {response.get_data(as_text=True)[:500]}")
        Posted.last = response
        return Posted()

    saved = lat.repeat, lat.warmup
    lat.repeat, lat.warmup = max(5, args.repeat // 3), 1
    lat.measure("api.intake_post.district (in process)", post_one)
    lat.repeat, lat.warmup = saved

    # the scheduler's sweeps, with commit turned into flush + final rollback
    from jobs import sweeps
    with app.app_context():
        for job in ("deadline_sweep", "acceptance_timeouts"):
            original = db.session.commit
            db.session.commit = db.session.flush  # type: ignore[method-assign]
            try:
                times = []
                for i in range(3):
                    recorder.start()
                    t0 = time.perf_counter()
                    counts = getattr(sweeps, job)()
                    times.append((time.perf_counter() - t0) * 1000)
                    statements = recorder.stop()
                    db.session.rollback()
            finally:
                db.session.commit = original  # type: ignore[method-assign]
            lat.results[f"job.{job}"] = {**summarize(times), "sql_statements": len(statements),
                                         "sql_ms": round(sum(s[2] for s in statements), 2),
                                         "note": f"would change {counts} (rolled back)"}
            lat.captured[f"job.{job}"] = statements
            log(f"job.{job:<44} median {statistics.median(times):8.1f} ms  {len(statements)} SQL  {counts}")

        db.session.remove()
        window = sweep_window_check()
        # psycopg 3 prepares a statement server-side after 5 runs on a connection; PostgreSQL may
        # then switch it to a generic plan. Look at every pooled connection of the app.
        import sqlalchemy as sa
        prepared, seen = [], set()
        for _ in range(2 * (db.engine.pool.size() + db.engine.pool.overflow() + 2)):
            with db.engine.connect() as c:
                pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                if pid in seen:
                    continue
                seen.add(pid)
                prepared += [(pid, *row) for row in c.execute(sa.text(
                    "SELECT left(regexp_replace(statement, '\\s+', ' ', 'g'), 200), generic_plans, custom_plans "
                    "FROM pg_prepared_statements"))]
    prepared_info = {"connections": len(seen), "statements": len(prepared),
                     "with_generic_plans": [{"pid": pid, "statement": st, "generic_plans": g, "custom_plans": c}
                                            for pid, st, g, c in prepared if g > 0]}
    log(f"app connections {len(seen)}: {len(prepared)} prepared statements, "
        f"{len(prepared_info['with_generic_plans'])} of them running generic plans")
    return lat.results, lat.captured, {"targets": targets, "prepared_statements_in_app": prepared_info,
                                       "sweep_window": window}


def sweep_window_check() -> dict:
    """The warning sweep reads the tickets its SQL says are due (models/sla handling_warning_due):
    are they exactly the open tickets that deadline_state calls yellow now?"""
    import sqlalchemy as sa

    from models import Ticket, TicketStatus, db, utcnow
    from models.tickets.deadlines import YELLOW, deadline_state, handling_warning_due
    from models.vocabulary import OPEN_STATUSES

    now = utcnow()
    read = db.session.execute(sa.select(Ticket).where(
        handling_warning_due(now), Ticket.warned_at.is_(None))).scalars().all()
    handled = db.session.execute(sa.select(Ticket).where(
        Ticket.status.in_([TicketStatus.IN_PROGRESS, TicketStatus.PENDING_REVIEW]),
        Ticket.warned_at.is_(None))).scalars().all()
    yellow = {t.id for t in handled if deadline_state(t, now) == YELLOW}
    db.session.rollback()
    result = {"open": db.session.execute(sa.select(sa.func.count()).select_from(Ticket).where(
                  Ticket.status.in_(OPEN_STATUSES))).scalar_one(),
              "read_by_the_sweep": len(read), "yellow_unwarned": len(yellow),
              "same_tickets": {t.id for t in read} == yellow}
    db.session.rollback()
    log(f"deadline sweep warning query: {result}")
    return result


FIX_CHECKS = {
    "capped_count_grid": [
        ("app: scope district_id = d AND filter grid_id = g (heap needed for district_id)",
         "SELECT count(*) FROM (SELECT tickets.id FROM tickets WHERE tickets.district_id = %(district)s "
         "AND tickets.grid_id = %(grid)s LIMIT 10001) s", None),
        ("fix: grid_id = g only, once the grid is checked to lie inside the scope (index-only)",
         "SELECT count(*) FROM (SELECT tickets.id FROM tickets WHERE tickets.grid_id = %(grid)s "
         "LIMIT 10001) s", None),
    ],
    "keyset_half_district": [
        ("before (stop 6): created_at < c OR (created_at = c AND id < i)",
         "SELECT * FROM tickets WHERE district_id = %(district)s AND (created_at < %(c)s OR "
         "(created_at = %(c)s AND id < %(i)s)) ORDER BY created_at DESC, id DESC LIMIT 51", None),
        ("app: row comparison (created_at, id) < (c, i)", "CAPTURED", None),
    ],
    "intake_duplicates": [
        ("before (stop 6): open OR recently closed, one query",
         "SELECT * FROM tickets WHERE category_id = %(category_id_1)s AND (status IN "
         "('pending','in_progress','pending_review','suspended') OR (status = 'closed' AND "
         "closed_at >= now() - interval '7 days')) AND lat BETWEEN %(lat_1)s AND %(lat_2)s "
         "AND lon BETWEEN %(lon_1)s AND %(lon_2)s LIMIT 200", None),
        ("app: open tickets nearby (first of two queries)", "CAPTURED", None),
    ],
}
FIX_SOURCES = {"intake_duplicates": "intake_duplicates (possible_duplicates)",
               "keyset_half_district": "api_cursor_half_district (keyset, half-way down)"}


def run_fix_checks(server: str, db: str, plans: list[dict]) -> dict:
    """EXPLAIN ANALYZE of the app's query next to a rewritten one, each in a transaction that is
    rolled back (temporary indexes included): evidence for the fixes in docs/PERFORMANCE.md."""
    by_name = {p["name"]: p for p in plans if "sql" in p}
    out: dict = {}
    with psycopg.connect(f"{server}/{db}", prepare_threshold=None) as conn:
        district = conn.execute("SELECT id FROM areas WHERE level = 'district' ORDER BY id LIMIT 1").fetchone()[0]
        grid = conn.execute("SELECT min(id) FROM areas WHERE level = 'grid'").fetchone()[0]
        n = conn.execute("SELECT count(*) FROM tickets WHERE district_id = %s", (district,)).fetchone()[0]
        c, i = conn.execute("""SELECT created_at, id FROM tickets WHERE district_id = %s
            ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1""", (district, n // 2)).fetchone()
        conn.rollback()
        base = {"district": district, "grid": grid, "c": c, "i": i}
        for check, variants in FIX_CHECKS.items():
            rows = []
            for label, query, ddl in variants:
                params = dict(base)
                if query == "CAPTURED" or check in FIX_SOURCES:
                    captured = by_name.get(FIX_SOURCES[check])
                    if captured is None:
                        continue
                    params.update(captured["raw_params"])
                    if query == "CAPTURED":
                        query = captured["sql"]
                try:
                    t0 = time.perf_counter()
                    if ddl:
                        conn.execute(ddl)
                    ddl_s = time.perf_counter() - t0
                    conn.execute("EXPLAIN (ANALYZE) " + query, params)  # warm
                    plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params).fetchone()[0]
                    text = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params))
                    facts = plan_facts(plan)
                    rows.append({"variant": label, "ddl": ddl, "ddl_s": round(ddl_s, 1) if ddl else None,
                                 **{k: facts[k] for k in ("execution_ms", "planning_ms", "indexes", "seq_scans",
                                                          "shared_hit", "shared_read")},
                                 "key_lines": key_lines(text)})
                    log(f"fix check {check}: {label[:60]:<60} {facts['execution_ms']:9.2f} ms "
                        f"(planning {facts['planning_ms']:.1f} ms) "
                        f"{','.join(facts['indexes']) or 'seq scan'}")
                except psycopg.Error as exc:
                    rows.append({"variant": label, "error": str(exc).splitlines()[0]})
                finally:
                    conn.rollback()  # drops any temporary index
            out[check] = rows
    return out


def run_drift(server: str, db: str, plans: list[dict], runs: int = 15) -> list[dict]:
    """Run each at-risk statement ``runs`` times on one psycopg connection with the driver's
    defaults (auto-prepare after 5 executions), as the app's pooled connections do, and see
    whether PostgreSQL switches it to its generic plan."""
    out = []
    for p in plans:
        g = p.get("generic_plan", {})
        if "sql" not in p or "execution_ms" not in g:
            continue
        if not (g["execution_ms"] > 3 * p["execution_ms"] and g["execution_ms"] > 5):
            continue
        with psycopg.connect(f"{server}/{db}", autocommit=True) as conn:  # prepare_threshold = 5
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                conn.execute(p["sql"], p["raw_params"]).fetchall()
                times.append(round((time.perf_counter() - t0) * 1000, 2))
            row = conn.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                               "ORDER BY generic_plans + custom_plans DESC LIMIT 1").fetchone()
        entry = {"name": p["name"], "custom_plan_ms": p["execution_ms"], "generic_plan_ms": g["execution_ms"],
                 "runs_ms": times, "generic_plans": row[0] if row else 0, "custom_plans": row[1] if row else 0}
        log(f"drift {p['name'][:50]:<50} first {times[:3]} … last {times[-3:]} ms, "
            f"generic_plans={entry['generic_plans']} custom_plans={entry['custom_plans']}")
        out.append(entry)
    return out


# --- plans -------------------------------------------------------------------------------------
PLAN_TARGETS = [
    # name, captured request, statement matcher, expected index
    ("list_street (admin list, street scope, created_at desc, id desc, limit 20)",
     "admin.list.street", lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s,
     ("ix_tickets_street_created", "ix_tickets_created_at_id")),
    ("count_capped_street (admin list count, capped)", "admin.list.street",
     lambda s: "count(" in s, "ix_tickets_street_created"),
    ("list_district (admin list, district scope)", "admin.list.district",
     lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s,
     ("ix_tickets_district_created", "ix_tickets_created_at_id")),
    ("count_capped_district", "admin.list.district", lambda s: "count(" in s, "ix_tickets_district_created"),
    ("list_filter_street (district user, street filter)", "admin.list_filter_street.district",
     lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s,
     ("ix_tickets_street_created", "ix_tickets_created_at_id")),
    ("list_filter_grid (district user, grid filter: a selective scope)", "admin.list_filter_grid.district",
     lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s,
     "ix_tickets_grid_created"),
    ("count_capped_grid", "admin.list_filter_grid.district", lambda s: "count(" in s, "ix_tickets_grid_created"),
    ("search_number", "admin.search_number.district",
     lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s, "uq_tickets_number"),
    ("search_phone", "admin.search_phone.district",
     lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s,
     "ix_tickets_reporter_phone"),
    ("list_status_suspended (district, rare status)", "admin.list_status_suspended.district",
     lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s, None),
    ("list_sort_deadline (district, sort by handle_deadline)", "admin.list_sort_deadline.district",
     lambda s: s.startswith("SELECT") and "LIMIT" in s and "count(" not in s and "FROM tickets" in s, None),
    ("board_pending_street (open board column, street scope)", "admin.board.street",
     lambda s: "tickets.last_activity_at ASC" in s, "ix_tickets_open_street_activity"),
    ("board_count_street (open column count)", "admin.board.street",
     lambda s: "count(" in s and "closed_at" not in s, "ix_tickets_open_street_activity"),
    ("board_closed_count_street (closed in the last 7 days)", "admin.board.street",
     lambda s: "count(" in s and "closed_at" in s, "ix_tickets_closed_street"),
    ("board_closed_cards_street", "admin.board.street",
     lambda s: "tickets.closed_at DESC" in s, "ix_tickets_closed_street"),
    ("board_pending_district (open board column, district scope)", "admin.board.district",
     lambda s: "tickets.last_activity_at ASC" in s, "ix_tickets_open_district_activity"),
    ("home_open_counts_district", "admin.home.district", lambda s: "GROUP BY tickets.status" in s, None),
    ("home_overdue_count_district", "admin.home.district",
     lambda s: "count(" in s and "handle_deadline <" in s, "ix_tickets_open_handle_deadline"),
    ("api_list_first_district", "api.list_first.district",
     lambda s: s.startswith("SELECT") and "FROM tickets" in s and "LIMIT" in s,
     ("ix_tickets_district_created", "ix_tickets_created_at_id")),
    ("api_list_first_street", "api.list_first.street",
     lambda s: s.startswith("SELECT") and "FROM tickets" in s and "LIMIT" in s,
     ("ix_tickets_street_created", "ix_tickets_created_at_id")),
    ("api_cursor_half_district (keyset, half-way down)", "api.list_cursor_half.district",
     lambda s: s.startswith("SELECT") and "FROM tickets" in s and "LIMIT" in s,
     ("ix_tickets_district_created", "ix_tickets_created_at_id")),
    ("api_cursor_half_street", "api.list_cursor_half.street",
     lambda s: s.startswith("SELECT") and "FROM tickets" in s and "LIMIT" in s,
     ("ix_tickets_street_created", "ix_tickets_created_at_id")),
    ("api_list_open_street", "api.list_open.street",
     lambda s: s.startswith("SELECT") and "FROM tickets" in s and "LIMIT" in s, None),
    ("api_get_one", "api.get_one.district",
     lambda s: s.startswith("SELECT") and "FROM tickets" in s and "tickets.id =" in s, "pk_tickets"),
    ("api_timeline", "api.get_one.district", lambda s: "FROM ticket_events" in s, "uq_ticket_events_ticket_seq"),
    ("intake_duplicates (possible_duplicates)", "api.intake_post.district (in process)",
     lambda s: "tickets.lat BETWEEN" in s and "tickets.closed_at >=" not in s,
     "ix_tickets_open_category_lat_lon"),
    ("intake_duplicates_closed (possible_duplicates, closed in the window)",
     "api.intake_post.district (in process)",
     lambda s: "tickets.lat BETWEEN" in s and "tickets.closed_at >=" in s,
     "ix_tickets_closed_category"),
    ("sweep_warning (deadline sweep, first query)", "job.deadline_sweep",
     lambda s: "warned_at IS NULL" in s, "ix_tickets_open_handle_deadline"),
    ("sweep_overdue (deadline sweep, second query)", "job.deadline_sweep",
     lambda s: "overdue_at IS NULL" in s, "ix_tickets_open_handle_deadline"),
    ("acceptance_timeouts", "job.acceptance_timeouts", lambda s: "accept_deadline" in s, None),
]


def walk(plan: dict, out: list) -> None:
    out.append(plan)
    for child in plan.get("Plans", []):
        walk(child, out)


def plan_facts(plan_json) -> dict:
    top = plan_json[0]
    nodes: list[dict] = []
    walk(top["Plan"], nodes)
    indexes = sorted({n["Index Name"] for n in nodes if "Index Name" in n})
    seq = sorted({n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"})
    removed = sum(int(n.get("Rows Removed by Filter", 0)) * int(n.get("Actual Loops", 1)) for n in nodes
                  if n.get("Relation Name") == "tickets" or n.get("Index Name", "").startswith(("ix_tickets", "pk_tickets", "uq_tickets")))
    return {"execution_ms": round(top["Execution Time"], 3), "planning_ms": round(top["Planning Time"], 3),
            "indexes": indexes, "seq_scans": seq, "tickets_rows_removed_by_filter": removed,
            "shared_hit": top["Plan"].get("Shared Hit Blocks", 0),
            "shared_read": top["Plan"].get("Shared Read Blocks", 0),
            "node_types": sorted({n["Node Type"] for n in nodes})}


def to_dollar(statement: str, params: dict) -> tuple[str, list]:
    """psycopg's %(name)s → $n (first appearance order), for PREPARE."""
    order: list[str] = []

    def repl(m):
        name = m.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"
    text = re.sub(r"%\((\w+)\)s", repl, statement).replace("%%", "%")
    return text, [params[n] for n in order]


def key_lines(text_plan: str, limit: int = 14) -> list[str]:
    keep = []
    for line in text_plan.splitlines():
        stripped = line.strip()
        if any(k in stripped for k in ("Scan", "Sort", "Limit", "Index Cond", "Filter:", "Rows Removed",
                                        "Aggregate", "Join", "Buffers", "Execution Time", "Sort Key",
                                        "Presorted", "Recheck", "Nested Loop", "Hash")):
            keep.append(line.rstrip())
    return keep[:limit]


def run_plans(server: str, db: str, captured: dict) -> list[dict]:
    results = []
    with psycopg.connect(f"{server}/{db}", autocommit=True, prepare_threshold=None) as conn:
        for name, source, match, expected in PLAN_TARGETS:
            statements = [(s, p) for s, p, _ms in captured.get(source, []) if match(s)]
            if not statements:
                results.append({"name": name, "source": source, "error": "statement not captured"})
                log(f"plan {name}: not captured")
                continue
            statement, params = statements[0]
            params = dict(params or {})
            try:
                conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)  # warm the cache
                plan_json = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params).fetchone()[0]
                text = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params))
            except psycopg.Error as exc:
                results.append({"name": name, "source": source, "error": str(exc)})
                continue
            facts = plan_facts(plan_json)
            entry = {"name": name, "source": source, "sql": statement, "raw_params": params,
                     "params": {k: str(v) for k, v in params.items()},
                     "expected_index": expected, **facts, "plan": text, "key_lines": key_lines(text)}
            if expected:
                intended, *acceptable = (expected,) if isinstance(expected, str) else expected
                entry["expected_index"] = intended
                if intended in facts["indexes"]:
                    entry["verdict"] = "ok"
                elif any(a in facts["indexes"] for a in acceptable):
                    used = next(a for a in acceptable if a in facts["indexes"])
                    entry["verdict"] = f"ok-alt ({used}: the scope holds a large share of all tickets)"
                else:
                    entry["verdict"] = "NOT USING " + intended
            else:
                entry["verdict"] = "seq scan on tickets" if "tickets" in facts["seq_scans"] else "index only"
            if "tickets" in facts["seq_scans"]:
                entry["verdict"] += " (SEQ SCAN on tickets)"
            # the generic plan of the same statement (what a prepared statement may switch to)
            try:
                dollar, values = to_dollar(statement, params)
                conn.execute("SET plan_cache_mode = force_generic_plan")
                conn.execute("PREPARE bench_q AS " + dollar)
                literal = pgsql.SQL(", ").join(pgsql.Literal(v) for v in values)
                explain = pgsql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE bench_q({})").format(literal) \
                    if values else pgsql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE bench_q")
                generic = plan_facts(conn.execute(explain).fetchone()[0])
                text_explain = pgsql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q({})").format(literal) \
                    if values else pgsql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q")
                gtext = "\n".join(r[0] for r in conn.execute(text_explain))
                entry["generic_plan"] = {**generic, "key_lines": key_lines(gtext)}
            except psycopg.Error as exc:
                entry["generic_plan"] = {"error": str(exc).splitlines()[0]}
            finally:
                conn.execute("RESET plan_cache_mode")
                conn.execute("DEALLOCATE ALL")  # only bench_q: this connection never auto-prepares
            g = entry["generic_plan"]
            log(f"plan {name[:58]:<58} {facts['execution_ms']:9.2f} ms  {','.join(facts['indexes']) or '-':<60} "
                f"{entry['verdict']}  | generic {g.get('execution_ms', '?')} ms {','.join(g.get('indexes', []))}")
            results.append(entry)
    return results


# --- real server -------------------------------------------------------------------------------
class Server:
    def __init__(self, kind: str, port: int, workers: int, threads: int, env: dict, logfile: Path):
        self.kind, self.port = kind, port
        if kind == "gunicorn" and (ROOT / "gunicorn.conf.py").exists() and (ROOT / "wsgi.py").exists():
            # the project's own production settings (gthread workers, preload, post_fork dispose)
            env = dict(env, GRIDDESK_BIND=f"127.0.0.1:{port}", GRIDDESK_WORKERS=str(workers),
                       GRIDDESK_THREADS=str(threads))
            cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
                   "wsgi:app"]
            self.settings = {"config": "gunicorn.conf.py", "GRIDDESK_WORKERS": workers, "GRIDDESK_THREADS": threads}
        elif kind == "gunicorn":
            cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "/dev/null", "-w", str(workers),
                   "-b", f"127.0.0.1:{port}", "--timeout", "60"]
            if threads > 1:
                cmd += ["-k", "gthread", "--threads", str(threads)]
            cmd.append("admin_app:create_app()")
            self.settings = {"workers": workers, "threads": threads}
        else:
            cmd = [sys.executable, str(ROOT / "run.py"), "serve", "--host", "127.0.0.1", "--port", str(port)]
            self.settings = {"werkzeug": "threaded=True (run.py serve)"}
        self.cmd = cmd
        self.log = open(logfile, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        import requests
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise SystemExit("server did not become ready")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: the server and its workers
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class ActivitySampler(threading.Thread):
    """Samples pg_stat_activity of the bench database: states, wait events, who blocks whom."""

    def __init__(self, server: str, db: str, interval: float = 0.1):
        super().__init__(daemon=True)
        self.server, self.db, self.interval = server, db, interval
        self.stop_event = threading.Event()
        self.samples = 0
        self.states: Counter = Counter()
        self.waits: Counter = Counter()
        self.blocked: Counter = Counter()

    def run(self):
        with psycopg.connect(f"{self.server}/{self.db}", autocommit=True) as conn:
            while not self.stop_event.is_set():
                rows = conn.execute("""
                    SELECT a.state, a.wait_event_type, a.wait_event,
                           regexp_replace(left(a.query, 90), '\\s+', ' ', 'g'),
                           (SELECT regexp_replace(left(b.query, 90), '\\s+', ' ', 'g') FROM pg_stat_activity b
                             WHERE b.pid = (pg_blocking_pids(a.pid))[1])
                    FROM pg_stat_activity a
                    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                      AND a.backend_type = 'client backend'""").fetchall()
                self.samples += 1
                for state, wtype, wevent, query, blocker in rows:
                    self.states[state or "?"] += 1
                    if state == "active" and wtype:
                        self.waits[f"{wtype}:{wevent}"] += 1
                    if wtype == "Lock":
                        self.blocked[f"{query}  <- blocked by: {blocker}"] += 1
                time.sleep(self.interval)

    def result(self) -> dict:
        n = max(self.samples, 1)
        return {"samples": self.samples,
                "avg_backends_by_state": {k: round(v / n, 2) for k, v in self.states.most_common()},
                "avg_active_waiting_on": {k: round(v / n, 2) for k, v in self.waits.most_common(8)},
                "lock_waits_top": [{"avg_backends": round(v / n, 2), "query_and_blocker": k}
                                   for k, v in self.blocked.most_common(5)]}


def _machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def load_run(name: str, threads: int, seconds: float, make_call, sampler_args=None) -> dict:
    import requests

    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(index: int):
        session = requests.Session()
        call = make_call(index)
        local = []
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                status = call(session)
            except requests.RequestException:
                status = -1
            local.append(((time.perf_counter() - t0) * 1000, status))
        with lock:
            results.extend(local)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    sampler = ActivitySampler(*sampler_args) if sampler_args else None
    if sampler:
        sampler.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    cpu0 = time.process_time()
    stat0 = _machine_cpu()
    barrier.wait()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu0
    busy = _machine_cpu()
    busy_share = (busy[0] - stat0[0]) / max(busy[1] - stat0[1], 1)
    if sampler:
        sampler.stop_event.set()
        sampler.join()
    ok = [ms for ms, status in results if 200 <= status < 300]
    statuses = Counter(status for _ms, status in results)
    out = {"threads": threads, "seconds": round(elapsed, 1), "requests": len(results), "ok": len(ok),
           "errors": len(results) - len(ok), "statuses": dict(statuses),
           "rps": round(len(ok) / elapsed, 1),
           # the load generator's own CPU, in cores, and how busy all CPUs were (/proc/stat)
           "client_cpu_cores": round(client_cpu / elapsed, 2), "machine_cpu_busy": round(busy_share, 2)}
    if ok:
        out.update({"p50_ms": round(pct(ok, 50), 1), "p95_ms": round(pct(ok, 95), 1),
                    "p99_ms": round(pct(ok, 99), 1), "max_ms": round(max(ok), 1)})
    if sampler:
        out["pg_activity"] = sampler.result()
    log(f"{name:<40} {out['rps']:8.1f} req/s  p50 {out.get('p50_ms', '-')} ms  p95 {out.get('p95_ms', '-')} ms  "
        f"errors {out['errors']} {dict(statuses)}  client {out['client_cpu_cores']} cores, "
        f"machine busy {out['machine_cpu_busy']:.0%}")
    return out


def run_server_benchmarks(args, env: dict, conn) -> dict:
    import requests

    base = f"http://127.0.0.1:{args.port}"
    workers = args.workers or (2 * os.cpu_count() + 1)
    logfile = ROOT / "bench" / "server.log"
    server = Server(args.server, args.port, workers, args.gthreads, env, logfile)
    out: dict = {"server": args.server, "command": " ".join(server.cmd), "settings": server.settings,
                 "client_threads": args.threads}
    try:
        server.wait_ready()
        log(f"server ready: {' '.join(server.cmd)}")

        def token(username: str) -> str:
            r = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            r.raise_for_status()
            return r.json()["token"]

        shared = token("district")
        own = [token("district") for _ in range(args.threads)]  # a separate token row per thread
        grids = conn.execute("SELECT centroid_lat, centroid_lon FROM areas WHERE level = 'grid'").fetchall()
        leaves = [r[0] for r in conn.execute(
            "SELECT code FROM categories WHERE parent_id IS NOT NULL AND active ORDER BY code")]
        ids = [r[0] for r in conn.execute("SELECT id FROM tickets TABLESAMPLE SYSTEM (1) LIMIT 2000")]
        sampler_args = (args.pg_server, args.db)

        def intake_call(tokens):
            def make(index):
                rng = random.Random(index)
                headers = {"Authorization": f"Bearer {tokens[index]}"}

                def call(session):
                    lat, lon = rng.choice(grids)
                    body = {"category": rng.choice(leaves), "source": "api", "coord_system": "wgs84",
                            "lat": lat + rng.uniform(-0.002, 0.002), "lon": lon + rng.uniform(-0.002, 0.002),
                            "description": f"基准测试上报 {rng.randrange(10**6)}：现场需要处理",
                            "reporter_phone": f"139{rng.randrange(10**8):08d}"}
                    return session.post(f"{base}/api/v1/tickets", json=body, headers=headers, timeout=60).status_code
                return call
            return make

        def get_call(tokens, path_fn):
            def make(index):
                rng = random.Random(1000 + index)
                headers = {"Authorization": f"Bearer {tokens[index]}"}

                def call(session):
                    return session.get(base + path_fn(rng), headers=headers, timeout=60).status_code
                return call
            return make

        # warm every worker (area index, calendar cache, connection pool)
        load_run("warmup", args.threads, 3, intake_call(own))
        before = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        out["intake_shared_token"] = load_run("intake, one shared token", args.threads, args.intake_seconds,
                                              intake_call([shared] * args.threads), sampler_args)
        out["intake_token_per_thread"] = load_run("intake, a token per thread", args.threads,
                                                  args.intake_seconds, intake_call(own), sampler_args)
        if args.threads > 1:
            out["intake_single_thread"] = load_run("intake, 1 thread", 1, max(5, args.intake_seconds / 2),
                                                   intake_call(own))
        after = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        out["tickets_added_by_intake"] = after - before
        read_s = args.read_seconds
        out["read_list_100_token_per_thread"] = load_run(
            "GET list limit=100, token per thread", args.threads, read_s,
            get_call(own, lambda rng: "/api/v1/tickets?limit=100"), sampler_args)
        out["read_one_token_per_thread"] = load_run(
            "GET one ticket, token per thread", args.threads, read_s,
            get_call(own, lambda rng: f"/api/v1/tickets/{rng.choice(ids)}"), sampler_args)
        out["read_one_shared_token"] = load_run(
            "GET one ticket, one shared token", args.threads, read_s,
            get_call([shared] * args.threads, lambda rng: f"/api/v1/tickets/{rng.choice(ids)}"), sampler_args)
    finally:
        server.stop()
    return out


# --- report ------------------------------------------------------------------------------------
def print_summary(results: dict) -> None:
    print("\n== Latency, in process (ms) ==")
    print(f"{'request':<52}{'median':>9}{'p95':>9}{'n':>5}{'SQL':>5}{'SQL ms':>9}  note")
    for name, r in results["latency"].items():
        print(f"{name:<52}{r['median_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['n']:>5}{r['sql_statements']:>5}"
              f"{r['sql_ms']:>9.1f}  {r.get('note', '')}")
    print("\n== Query plans (EXPLAIN ANALYZE, warm cache) ==")
    for p in results["plans"]:
        if "error" in p:
            print(f"{p['name']:<60} ERROR {p['error'][:80]}")
            continue
        g = p.get("generic_plan", {})
        print(f"{p['name'][:60]:<60}{p['execution_ms']:>9.2f} ms  {','.join(p['indexes']) or '-'}  -> {p['verdict']}"
              f"  | generic: {g.get('execution_ms', '?')} ms {','.join(g.get('indexes', [])) or g.get('error', '')}")
    if results.get("fix_checks"):
        print("\n== Rewrites checked in a rolled-back transaction (EXPLAIN ANALYZE) ==")
        for check, rows in results["fix_checks"].items():
            for r in rows:
                if "error" in r:
                    print(f"{check:<28}{r['variant'][:70]:<72} ERROR {r['error'][:60]}")
                else:
                    print(f"{check:<28}{r['variant'][:70]:<72}{r['execution_ms']:>9.2f} ms exec"
                          f"{r['planning_ms']:>8.1f} ms plan")
    if results.get("sweep_window"):
        print(f"\ndeadline sweep window: {results['sweep_window']}")
    srv = results.get("server")
    if srv:
        print(f"\n== Throughput against {srv['command']} ==")
        print(f"{'scenario':<36}{'req/s':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'errors':>8}")
        for key, r in srv.items():
            if isinstance(r, dict) and "rps" in r:
                print(f"{key:<36}{r['rps']:>9.1f}{r.get('p50_ms', 0):>8.1f}{r.get('p95_ms', 0):>8.1f}"
                      f"{r.get('p99_ms', 0):>8.1f}{r['errors']:>8}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="GridDesk benchmark")
    parser.add_argument("--db", default="griddesk_bench")
    parser.add_argument("--pg-server", default=os.environ.get("BENCH_PG_SERVER", DEFAULT_SERVER))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget", type=float, default=15.0, help="max seconds per measured request kind")
    parser.add_argument("--threads", type=int, default=8, help="client threads for the load runs")
    parser.add_argument("--intake-seconds", type=float, default=20)
    parser.add_argument("--read-seconds", type=float, default=10)
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default 2*nproc+1)")
    parser.add_argument("--gthreads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--quick", action="store_true", help="10 repeats, 8 s load runs, fewer pages")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.warmup, args.intake_seconds, args.read_seconds = 10, 2, 8, 5

    url = args.pg_server.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + args.db
    env = dict(os.environ, DATABASE_URL=url, GRIDDESK_SCHEDULER_IN_PROCESS="0")
    os.environ.update(DATABASE_URL=url, GRIDDESK_SCHEDULER_IN_PROCESS="0")
    t_start = time.perf_counter()
    results: dict = {"args": vars(args)}
    with psycopg.connect(f"{args.pg_server}/{args.db}", autocommit=True) as conn:
        results["machine"] = machine_info(conn)
        results["dataset"] = dataset_info(conn)
        synth = ROOT / "bench" / "synth_result.json"
        if synth.exists():
            results["synth"] = json.loads(synth.read_text())
        log(f"dataset: {results['dataset']}")
        if not args.skip_latency:
            from admin_app import create_app

            app = create_app()
            latency, captured, extra = run_latency(app, conn, args)
            results["latency"] = latency
            results.update(extra)
            results["plans"] = run_plans(args.pg_server, args.db, captured)
            results["fix_checks"] = run_fix_checks(args.pg_server, args.db, results["plans"])
            results["prepared_statement_drift"] = run_drift(args.pg_server, args.db, results["plans"])
            for p in results["plans"]:
                p.pop("raw_params", None)
        if not args.skip_server:
            results["server"] = run_server_benchmarks(args, env, conn)
    results["machine"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    results["total_s"] = round(time.perf_counter() - t_start, 1)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    if "latency" in results:
        print_summary(results)  # includes fix checks and the sweep window
    elif "server" in results:
        print_summary({"latency": {}, "plans": [], "server": results["server"]})
    log(f"wrote {Path(args.out).relative_to(ROOT) if Path(args.out).is_relative_to(ROOT) else args.out}")
    return results


if __name__ == "__main__":
    main()
