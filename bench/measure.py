"""The figures of issue 14, each the median and p95 of repeated runs, with their ceilings.

In process (the app from ``create_app``): point → grid lookups, the deadline sweep (idle, and
with a share of the open tickets just past their deadline, rolled back after each run).
Over HTTP against Gunicorn with the project's ``gunicorn.conf.py`` (started here, stopped
after): intake at several concurrencies, read one, lists, admin list, board and statistics
dashboard for a street and for the whole city, and one worker's resident memory after all that.
Ceilings in the same run: ``raw_intake`` inserts the very rows one intake wrote (ticket, events,
outbox) with psycopg and nothing else, just before and just after the intake's top figure (the
mean of the two: ``bracketing``); ``bare_read_one`` is
``bench/bare.py`` under the same Gunicorn settings. Load runs: client threads in this process,
each its own session and token.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg

from bench.city import PASSWORD, app_url, log, plain_url
from bench.load import INTAKE_DESCRIPTION, intake_requests, pct, read_requests, run_load

ROOT = Path(__file__).resolve().parent.parent
# The Gunicorn of the interpreter running the benchmark (the project's .venv after make install).
GUNICORN = str(Path(sys.executable).parent / "gunicorn")

FIGURES = ["intake", "raw_intake", "read_one", "bare_read_one", "list_100", "list_100_deep",
           "admin_list_street", "admin_list_city", "board_street", "board_city",
           "stats_street_year", "stats_city_year", "sweep", "sweep_idle", "point_to_grid",
           "worker_rss_mb"]
# Measured only when named with --only.
ON_REQUEST = ["point_to_grid_city", "mix", "intake_against"]  # the last with --against

# PostgreSQL settings for 10 M tickets on this machine (23 GiB RAM, SSD): applied per database
# (ALTER DATABASE … SET, effective for new connections, no reload); shared_buffers needs a
# server restart and is only recorded (see docs/PERFORMANCE.md).
TUNING = {"work_mem": "16MB", "effective_cache_size": "12GB", "random_page_cost": "1.1",
          "effective_io_concurrency": "200", "jit": "off"}
RECORDED_SETTINGS = ["shared_buffers", "work_mem", "effective_cache_size", "random_page_cost",
                     "effective_io_concurrency", "jit", "max_connections", "maintenance_work_mem",
                     "synchronous_commit", "max_wal_size", "checkpoint_timeout",
                     "wal_compression", "server_version"]


@dataclass
class Plan:
    """How long and how often, per scale."""
    load_seconds: float
    repeats: int
    concurrencies: tuple[int, ...]
    lookups: int
    warmup_seconds: float
    stats_repeats: int  # the year dashboards take seconds (district) to minutes (city) each


# demo: a smoke run (tests/test_bench_smoke.py), its figures mean nothing
PLANS = {"demo": Plan(0.5, 2, (1, 2), 500, 0.5, 1),
         "district": Plan(10.0, 30, (1, 4, 8), 50_000, 10.0, 10),
         "city": Plan(15.0, 30, (1, 4, 8), 100_000, 15.0, 3)}
SLOW_PAGE_TIMEOUT = 1800  # seconds: a city year dashboard is measured, however long it takes


def figure(ms: list[float], per_s: float | None = None, **extra) -> dict:
    """{"per_s", "p50_ms", "p95_ms", "runs"} of repeated runs (latencies in ms)."""
    if not ms:
        return {"per_s": 0.0, "p50_ms": None, "p95_ms": None, "runs": 0, **extra}
    p50 = statistics.median(ms)
    return {"per_s": round(per_s if per_s is not None else 1000 / p50, 1),
            "p50_ms": round(p50, 2), "p95_ms": round(pct(ms, 95), 2), "runs": len(ms), **extra}


# ---- machine, settings, dataset ------------------------------------------------------------
def machine_info() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return {"cpus": os.cpu_count(), "cpu_model": model.group(1).strip() if model else "?",
            "ram_gib": round(mem_kb / 1024 / 1024, 1), "python": sys.version.split()[0],
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}


def commit_id(root: Path = ROOT) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                         text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def apply_tuning(url: str) -> None:
    name = plain_url(url).rsplit("/", 1)[1]
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        for key, value in TUNING.items():
            conn.execute(f'ALTER DATABASE "{name}" SET {key} = \'{value}\'')


def pg_settings(url: str) -> dict:
    with psycopg.connect(plain_url(url)) as conn:
        return dict(conn.execute("""SELECT name, setting || coalesce(' ' || unit, '')
            FROM pg_settings WHERE name = ANY(%s) ORDER BY name""", (RECORDED_SETTINGS,)).fetchall())


def dataset_info(url: str, scale: str) -> dict:
    with psycopg.connect(plain_url(url)) as conn:
        count = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "scale": scale,
            "tickets": count("SELECT count(*) FROM tickets"),
            "open_tickets": count("SELECT count(*) FROM tickets WHERE status IN "
                                  "('pending','in_progress','pending_review','suspended')"),
            "ticket_events": count("SELECT count(*) FROM ticket_events"),
            "grids": count("SELECT count(*) FROM areas WHERE level = 'grid'"),
            "districts": count("SELECT count(*) FROM areas WHERE level = 'district'"),
            "users": count("SELECT count(*) FROM users"),
            "stats_daily_rows": count("SELECT count(*) FROM stats_daily"),
            "stats_monthly_rows": count("SELECT count(*) FROM stats_monthly"),
            "database_size": count("SELECT pg_size_pretty(pg_database_size(current_database()))"),
        }


# ---- in process ----------------------------------------------------------------------------
def in_process_figures(url: str, plan: Plan, wanted: set[str]) -> dict:
    os.environ["DATABASE_URL"] = app_url(url)
    os.environ["GRIDDESK_SCHEDULER_IN_PROCESS"] = "0"
    from admin_app import create_app

    app = create_app()
    out: dict = {}
    with app.app_context():
        if "point_to_grid" in wanted:
            out["point_to_grid"] = point_to_grid(plan.lookups)
        if "point_to_grid_city" in wanted:
            out["point_to_grid_city"] = point_to_grid_city(plan.lookups)
        if wanted & {"sweep", "sweep_idle"}:
            out.update(sweeps(url, plan))
    return out


def point_to_grid(lookups: int) -> dict:
    from models.areas.locate import area_index, locate

    t0 = time.perf_counter()
    index = area_index()
    build_ms = (time.perf_counter() - t0) * 1000
    min_lon, min_lat, max_lon, max_lat = index.grids_extent()
    rng = random.Random(7)
    points = [(rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)) for _ in range(lookups)]
    times, placed = [], 0
    started = time.perf_counter()
    for lon, lat in points:
        t = time.perf_counter()
        placed += not locate(lon, lat).flagged
        times.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - started
    result = figure(times, lookups / elapsed, grids=len(index.grid_ids),
                    index_build_ms=round(build_ms, 1), placed_in_a_grid=placed)
    log(f"point_to_grid: {result['per_s']:,.0f}/s over {len(index.grid_ids):,} grids "
        f"(index built in {build_ms:.0f} ms)")
    return result


def point_to_grid_city(lookups: int) -> dict:
    """point_to_grid over the city's 25,600 grid polygons (bench/city.py) at any scale: the app's
    own locate and cache, the index built from those polygons instead of the areas table."""
    from bench.city import SCALES, SEED, area_rows
    from models.areas import locate as locating
    from models.vocabulary import AreaLevel

    rows = [(a["id"], a["code"], AreaLevel(a["level"]), a["boundary"])
            for a in area_rows(SCALES["city"], random.Random(SEED))
            if a["level"] in ("grid", "community")]
    original = locating._build_index
    locating._build_index = lambda: locating._AreaIndex(rows)
    locating.invalidate_area_index()
    try:
        return point_to_grid(lookups)
    finally:
        locating._build_index = original
        locating.invalidate_area_index()


def sweeps(url: str, plan: Plan) -> dict:
    """Idle sweep (steady state), then the sweep at the moment 5 % of the open tickets (at most
    5,000; or BENCH_SWEEP_OVERDUE) being handled have just passed their deadline: the sweep's
    clock is moved forward to that moment, so those tickets' rows are as their last real step
    left them (as when time passes); the warnings falling due before it are written and
    committed first, as the sweeps of the minutes between would have, not timed, and undone
    after the runs (``warnings_committed``). Rolled back after each run."""
    import sqlalchemy as sa

    from jobs.sweeps import deadline_sweep
    from models import db
    from models.base import utcnow

    t0 = time.perf_counter()
    catch_up = deadline_sweep()  # the generator's steady state may leave a few to do
    db.session.commit()
    catch_up_ms = (time.perf_counter() - t0) * 1000
    idle = []
    for _ in range(max(plan.repeats // 3, 2)):
        t = time.perf_counter()
        deadline_sweep()
        db.session.commit()
        idle.append((time.perf_counter() - t) * 1000)
    open_count = db.session.execute(sa.text("SELECT count(*) FROM tickets WHERE status IN "
                                            "('pending','in_progress','pending_review','suspended')")).scalar()
    share = int(os.environ.get("BENCH_SWEEP_OVERDUE") or min(5000, max(open_count // 20, 1)))
    now = utcnow()
    due = db.session.execute(sa.text("""
        SELECT handle_deadline FROM tickets WHERE status = 'in_progress' AND overdue_at IS NULL
          AND handle_deadline >= :now ORDER BY handle_deadline LIMIT :n"""),
                             {"now": now, "n": share}).scalars().all()
    if not due:
        log("sweep: no ticket being handled has a deadline ahead; not measured")
        return {"sweep_idle": figure(idle, open_tickets=open_count,
                                     catch_up_ms=round(catch_up_ms), catch_up=catch_up),
                "sweep": figure([], open_tickets=open_count, just_overdue=0)}
    at = due[-1] + timedelta(microseconds=1)
    warnings = CommittedWarnings(at)
    original = db.session.commit
    runs, counts, executed = [], {}, []

    def count_statement(*_args):
        executed.append(1)

    try:
        warned_first = warnings.write()
        db.session.commit = db.session.flush  # type: ignore[method-assign]
        for _ in range(3 if plan.repeats > 2 else 1):
            # The row versions a rolled-back run wrote (and those the warnings replaced) stay on
            # their pages until a VACUUM (they were not pruned in time here), leaving the next
            # run no room for its HOT updates: a real sweep finds pages as autovacuum and
            # pruning keep them. Not timed.
            db.session.rollback()
            with psycopg.connect(plain_url(url), autocommit=True) as conn:
                conn.execute("VACUUM tickets")
            executed.clear()
            sa.event.listen(db.engine, "before_cursor_execute", count_statement)
            t = time.perf_counter()
            try:
                counts = deadline_sweep(at)
            finally:
                runs.append((time.perf_counter() - t) * 1000)
                sa.event.remove(db.engine, "before_cursor_execute", count_statement)
            db.session.rollback()
    finally:
        db.session.commit = original  # type: ignore[method-assign]
        warnings.undo()
    with psycopg.connect(plain_url(url), autocommit=True) as conn:  # what the runs rolled back
        vacuum_after_deleting(conn, ("tickets", "ticket_events", "notifications", "stats_pending"))
    ahead_min = round((at - now).total_seconds() / 60, 1)
    log(f"sweep clock {ahead_min} min ahead ({warned_first:,} warnings written and committed "
        f"first, undone after)")
    log(f"sweep_idle p50 {statistics.median(idle):.0f} ms; sweep with {len(due):,} just overdue of "
        f"{open_count:,} open: p50 {statistics.median(runs):.0f} ms {counts}, "
        f"{len(executed):,} statements")
    return {"sweep_idle": figure(idle, open_tickets=open_count, catch_up_ms=round(catch_up_ms),
                                 catch_up=catch_up),
            "sweep": figure(runs, open_tickets=open_count, just_overdue=len(due), did=counts,
                            statements=len(executed), clock_ahead_min=ahead_min,
                            clock_at=at.isoformat(),
                            warnings_written_first=warned_first)}


class CommittedWarnings:
    """The deadline warnings falling due before ``at``, written and committed as the sweeps of
    the minutes between would have (each page in its own transaction): when a ticket then
    becomes overdue, the row version its warning replaced is dead, as in production, and the
    overdue mark is written beside the row (a HOT update) where there is room. Written in the
    timed run's own transaction instead (until 2026-12-08), those versions were still alive and
    took the room: ~900 more of the 4,900 marks rewrote all the ticket's index entries.

    ``undo`` puts the city back as generated — the tickets' columns as they were, the warning
    events (those stamped ``at``), their messages and statistics marks deleted — also after a
    failure halfway through ``write``. (A process killed meanwhile leaves its warnings: they
    are stamped ``at``, ahead of the clock, and the next run's warnings are written beside.)"""

    def __init__(self, at: datetime) -> None:
        import sqlalchemy as sa

        from models import Ticket, db
        from models.stats.tables import StatsPending
        from models.tickets import timeouts

        self.at, tickets = at, Ticket.__table__
        due = timeouts.due_for_warning(at).with_only_columns(Ticket.id).scalar_subquery()
        self.before = db.session.execute(sa.select(
            tickets.c.id, tickets.c.version, tickets.c.event_seq, tickets.c.updated_at,
            tickets.c.warned_at).where(tickets.c.id.in_(due))).all()
        self.marks_from = db.session.execute(sa.select(sa.func.max(StatsPending.id))).scalar() or 0
        db.session.commit()

    def write(self) -> int:
        from jobs.sweeps import each_page
        from models.tickets import timeouts

        return sum(len(timeouts.warn_deadlines_near([tuple(r) for r in page], self.at))
                   for page in each_page(timeouts.due_for_warning(self.at)))  # (commits each)

    def undo(self) -> None:
        import sqlalchemy as sa

        from models import Ticket, db
        from models.notify.outbox import Notification
        from models.stats.tables import StatsPending
        from models.tickets.tables import TicketEvent
        from models.tickets.actions import Action

        db.session.rollback()
        ids = [row.id for row in self.before]
        warnings = sa.select(TicketEvent.id).where(
            TicketEvent.action == Action.DEADLINE_WARNING, TicketEvent.created_at == self.at)
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            db.session.execute(sa.delete(Notification).where(
                Notification.event_id.in_(warnings.where(TicketEvent.ticket_id.in_(chunk)))))
            db.session.execute(sa.delete(TicketEvent).where(
                TicketEvent.id.in_(warnings.where(TicketEvent.ticket_id.in_(chunk)))))
            db.session.execute(sa.delete(StatsPending).where(
                StatsPending.id > self.marks_from, StatsPending.ticket_id.in_(chunk)))
        if self.before:
            tickets = Ticket.__table__
            db.session.execute(tickets.update().where(tickets.c.id == sa.bindparam("row_id"))
                               .values(version=sa.bindparam("row_version"),
                                       event_seq=sa.bindparam("row_seq"),
                                       updated_at=sa.bindparam("row_updated"),
                                       warned_at=sa.bindparam("row_warned")),
                               [{"row_id": r.id, "row_version": r.version, "row_seq": r.event_seq,
                                 "row_updated": r.updated_at, "row_warned": r.warned_at}
                                for r in self.before])
        db.session.commit()


# ---- servers -------------------------------------------------------------------------------
class Server:
    """Gunicorn with the project's gunicorn.conf.py, in its own process group."""

    def __init__(self, app: str, port: int, env: dict, workers: int | None, threads: int | None,
                 root: Path = ROOT):
        env = dict(env, GRIDDESK_BIND=f"127.0.0.1:{port}")
        if workers:
            env["GRIDDESK_WORKERS"] = str(workers)
        if threads:
            env["GRIDDESK_THREADS"] = str(threads)
        self.port = port
        self.logfile = open(ROOT / "bench" / f"server-{port}.log", "w")
        self.proc = subprocess.Popen([GUNICORN, "-c", "gunicorn.conf.py",
                                      "--access-logfile", "/dev/null", app], cwd=root, env=env,
                                     stdout=self.logfile, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        import requests
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}; see {self.logfile.name}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise SystemExit("gunicorn did not become ready")

    def workers(self) -> list[str]:
        return Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()

    def settled_workers(self, quiet_seconds: float = 3, timeout: float = 60) -> list[str]:
        """The workers once none has come or gone for ``quiet_seconds`` (a worker replaced after
        a request lingers a moment for its kept-alive connections)."""
        deadline = time.time() + timeout
        found, since = self.workers(), time.time()
        while time.time() < deadline:
            time.sleep(0.5)
            now = self.workers()
            if now != found:
                found, since = now, time.time()
            elif time.time() - since >= quiet_seconds:
                break
        return found

    def workers_replaced(self) -> int:
        """How many workers Gunicorn replaced for their size (as its log says)."""
        self.logfile.flush()
        text = Path(self.logfile.name).read_text(encoding="utf-8", errors="replace")
        return text.count("replaced once its requests are answered")

    def worker_rss_mb(self, field: str = "VmRSS") -> list[float]:
        """Each worker's resident memory; ``field="Pss"``: its proportional share, pages shared
        with the master and the other workers (the preloaded app, the warmed reference data)
        counted once over all of them."""
        children = self.workers()
        sizes = []
        for pid in children:
            source = "status" if field == "VmRSS" else "smaps_rollup"
            text = Path(f"/proc/{pid}/{source}").read_text()
            sizes.append(round(int(re.search(rf"{field}:\s+(\d+)", text).group(1)) / 1024, 1))
        return sizes

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its workers."""
        children = self.workers()
        return sum(_process_cpu(pid) for pid in [self.proc.pid, *children])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group only
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logfile.close()


def repeated(session, url: str, repeats: int, warmup: int = 1,
             timeout: float = 300) -> list[float]:
    for _ in range(warmup):
        session.get(url, timeout=timeout).raise_for_status()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = session.get(url, timeout=timeout)
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}\n{response.text[:500]}")
    return times


def login(base: str, username: str):
    import requests
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=60).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"csrf_token": token, "username": username,
                                                  "password": PASSWORD}, allow_redirects=False,
                            timeout=60)
    if response.status_code != 302:
        raise SystemExit(f"login of {username} failed: HTTP {response.status_code}")
    return session


def api_token(base: str, username: str) -> str:
    import requests
    response = requests.post(f"{base}/api/v1/auth/token",
                             json={"username": username, "password": PASSWORD}, timeout=60)
    response.raise_for_status()
    return response.json()["token"]


class Targets:
    """Who and what the HTTP figures ask for, read from the database once."""

    def __init__(self, url: str):
        with psycopg.connect(plain_url(url)) as conn:
            one = lambda sql, *a: conn.execute(sql, a).fetchone()  # noqa: E731
            self.street_user, self.street_id = one(
                "SELECT username, scope_area_id FROM users WHERE role = 'street_centre' ORDER BY id LIMIT 1")
            self.intake_user = one("SELECT username FROM users WHERE role = 'district_centre' "
                                   "ORDER BY id LIMIT 1")[0]
            self.grids = conn.execute("SELECT centroid_lat, centroid_lon FROM areas "
                                      "WHERE level = 'grid'").fetchall()
            self.categories = [r[0] for r in conn.execute(
                "SELECT code FROM categories WHERE parent_id IS NOT NULL AND active ORDER BY code")]
            max_id = one("SELECT max(id) FROM tickets")[0]
            rng = random.Random(11)
            # random ids that exist (a benchmark's own intakes are deleted after it: gaps answer 404)
            drawn = [rng.randint(1001, max_id) for _ in range(7500)]
            existing = {r[0] for r in conn.execute("SELECT id FROM tickets WHERE id = ANY(%s)",
                                                   (drawn,))}
            self.ids = [i for i in drawn if i in existing][:5000]
            total = one("SELECT count(*) FROM tickets")[0]
            created, ident = one("SELECT created_at, id FROM tickets ORDER BY created_at DESC, id DESC "
                                 "OFFSET %s LIMIT 1", total // 2)
            from views.api import _encode_cursor  # the API's own cursor format

            class Row:
                pass
            row = Row()
            row.created_at, row.id = created, ident
            self.deep_cursor, self.deep_offset = _encode_cursor(row), total // 2


def intake_load(targets: Targets, tokens: list[str], seconds: float) -> list:
    """Enough distinct reports for ``seconds`` at well above the target rate."""
    return intake_requests(targets.grids, targets.categories, tokens,
                           count=max(2_000, int(seconds * 1_500)), seed=int(time.time()))


def read_one_load(targets: Targets, tokens: list[str], prefix: str = "/api/v1/tickets/") -> list:
    return read_requests([f"{prefix}{i}" for i in targets.ids], tokens)


def load_figure(name: str, base: str, clients: int, seconds: float, requests: list,
                server: Server | None = None) -> dict:
    """A load figure; with ``server``, also the CPU it took per request answered, of the
    application and of PostgreSQL (``cpu_ms_per_request``): steadier than the rate on a shared
    host, where the rate moves with the neighbours and with how the connections fell on the
    workers."""
    before = (server.cpu_seconds(), postgres_cpu_seconds()) if server is not None else None
    result = dict(run_load(base, clients, seconds, requests), concurrency=clients)
    if before is not None and result["runs"]:
        answered = max(result["runs"] - result["errors"], 1)
        postgres = sum(used - before[1].get(pid, 0.0)
                       for pid, used in postgres_cpu_seconds().items())
        result["cpu_ms_per_request"] = {
            "app": round(1000 * (server.cpu_seconds() - before[0]) / answered, 2),
            "postgresql": round(1000 * postgres / answered, 2)}
    log(f"{name:<22} {result['per_s']:>9,.1f}/s  p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms"
        f"  c={clients}  errors {result['errors']}  ({result['load_generator']})"
        + (f"  CPU/request {result['cpu_ms_per_request']} ms" if "cpu_ms_per_request" in result
           else ""))
    return result


def _process_cpu(pid) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # ended meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> dict[str, float]:
    """CPU time so far of each of this machine's PostgreSQL processes (none when it runs
    elsewhere); a backend that ends during a figure takes its time with it (an undercount)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if command.startswith(b"postgres"):
                found[entry.name] = _process_cpu(entry.name)
    return found


def app_figures(url: str, plan: Plan, wanted: set[str], port: int, workers, threads) -> dict:
    import requests

    env = dict(os.environ, DATABASE_URL=app_url(url), GRIDDESK_SCHEDULER_IN_PROCESS="0",
               GRIDDESK_ENV=os.environ.get("GRIDDESK_ENV", "demo"))
    targets = Targets(url)
    base = f"http://127.0.0.1:{port}"
    top = max(plan.concurrencies)
    out: dict = {}
    newest = newest_rows(url)
    server = Server("wsgi:app", port, env, workers, threads)
    try:
        out["_server"] = {"app": "wsgi:app",
                          "threads": int(env.get("GRIDDESK_THREADS", threads or 4))}
        tokens = [api_token(base, "admin") for _ in range(top)]
        intake_tokens = [api_token(base, targets.intake_user) for _ in range(top)]
        # warm every worker: caches, pools, prepared statements, the grid index
        run_load(base, top, plan.warmup_seconds, intake_load(targets, intake_tokens,
                                                             plan.warmup_seconds))
        run_load(base, top, plan.warmup_seconds / 2, read_one_load(targets, tokens))
        if "intake" in wanted or "raw_intake" in wanted:
            raws = []
            for c in plan.concurrencies:
                if c == top and "raw_intake" in wanted:
                    raws.append(raw_intake(url, top, plan.load_seconds))
                out[f"intake_c{c}"] = load_figure(
                    f"intake c={c}", base, c, plan.load_seconds,
                    intake_load(targets, intake_tokens, plan.load_seconds), server)
            out["intake"] = dict(out[f"intake_c{top}"])
            if "raw_intake" in wanted:
                raws.append(raw_intake(url, top, plan.load_seconds))
                out["raw_intake"] = bracketing(*raws)
                out["raw_intake"]["ratio"] = round(
                    out["intake"]["per_s"] / max(out["raw_intake"]["per_s"], 0.1), 3)
                out["intake"]["ratio_to_raw"] = out["raw_intake"]["ratio"]
        if "read_one" in wanted or "bare_read_one" in wanted:
            out["read_one"] = load_figure("read_one", base, top, plan.load_seconds,
                                          read_one_load(targets, tokens), server)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[0]}"
        if "list_100" in wanted:
            out["list_100"] = figure(repeated(session, f"{base}/api/v1/tickets?limit=100",
                                              plan.repeats))
        if "list_100_deep" in wanted:
            out["list_100_deep"] = figure(repeated(
                session, f"{base}/api/v1/tickets?limit=100&cursor={targets.deep_cursor}",
                plan.repeats), rows_deep=targets.deep_offset)
        pages = {"admin_list": "/admin/ticket/", "board": "/admin/board/"}
        year = f"from={date.today() - timedelta(days=364)}&to={date.today()}"
        pages["stats"] = f"/admin/stats/?{year}"
        for who, username in (("street", targets.street_user), ("city", "admin")):
            browser = None
            for page, path in pages.items():
                name = f"{page}_{who}" if page != "stats" else f"stats_{who}_year"
                if name not in wanted:
                    continue
                browser = browser or login(base, username)
                if page == "stats":
                    times = repeated(browser, base + path, plan.stats_repeats,
                                     timeout=SLOW_PAGE_TIMEOUT)
                else:
                    times = repeated(browser, base + path, plan.repeats)
                out[name] = figure(times, user=username)
        for name in [n for n in out if not n.startswith("_") and "repeats" not in n]:
            if name in ("list_100", "list_100_deep") or name.startswith(("admin_", "board_", "stats_")):
                log(f"{name:<22} p50 {out[name]['p50_ms']} ms  p95 {out[name]['p95_ms']} ms")
        if "worker_rss_mb" in wanted:
            # a worker grown past GRIDDESK_WORKER_MAX_RSS_MB is replaced once its requests are
            # answered (gunicorn.conf.py): measure the workers that serve from then on
            server.settled_workers()
            out["_server"]["workers_replaced"] = server.workers_replaced()
            if out["_server"]["workers_replaced"]:  # the fresh ones warmed as the others were
                run_load(base, top, plan.warmup_seconds / 2, read_one_load(targets, tokens))
            sizes = server.worker_rss_mb()
            out["worker_rss_mb"] = max(sizes)
            out["_server"]["worker_rss_mb_all"] = sizes
            out["_server"]["worker_pss_mb_all"] = server.worker_rss_mb("Pss")
            log(f"worker RSS after warm-up: {sizes} MB; PSS {out['_server']['worker_pss_mb_all']} MB"
                f"; workers replaced for their size: {out['_server']['workers_replaced']}")
        out["_server"]["workers"] = len(server.worker_rss_mb())  # all forked by now
    finally:
        server.stop()
    if "bare_read_one" in wanted and "read_one" in out:
        out["bare_read_one"] = bare_read_one(url, plan, port + 1, workers, threads, targets, top)
        out["bare_read_one"]["ratio"] = round(
            out["read_one"]["per_s"] / max(out["bare_read_one"]["per_s"], 0.1), 3)
        out["read_one"]["ratio_to_bare"] = out["bare_read_one"]["ratio"]
    delete_own_rows(url, newest)
    return out


def newest_rows(url: str) -> tuple[int, int]:
    """The newest ticket and API token before a run (the run's own come after them)."""
    with psycopg.connect(plain_url(url)) as conn:
        return conn.execute("SELECT (SELECT coalesce(max(id), 0) FROM tickets), "
                            "(SELECT coalesce(max(id), 0) FROM user_tokens)").fetchone()


# Every table that holds rows of a ticket (foreign keys to tickets, and the statistics' facts).
TICKET_ROWS = ("notifications", "ticket_events", "attachments", "patrol_reports", "stats_pending",
               "stats_facts", "co_handling_tasks", "ticket_supervisions", "ticket_reporters")


def delete_own_rows(url: str, newest: tuple[int, int]) -> None:
    """Delete the reports this run sent through the API (tickets newer than ``newest`` with the
    benchmark's description) and every row of them, so that the city measured next is the city
    as built: left in place, ~20 runs made a city's open tickets 6× and its idle sweep 4× slower
    (docs/PERFORMANCE.md, 2026-12-05). And the API tokens it took (a few dozen per run)."""
    after_ticket, after_token = newest
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        # Only rows of these tickets: without the foreign-key triggers (see raw_intake).
        conn.execute("SET session_replication_role = replica")
        conn.execute("CREATE TEMPORARY TABLE own_intakes AS SELECT id FROM tickets "
                     "WHERE id > %s AND description LIKE %s",
                     (after_ticket, INTAKE_DESCRIPTION + "%"))
        for table in TICKET_ROWS:
            conn.execute(f"DELETE FROM {table} WHERE ticket_id IN (SELECT id FROM own_intakes)")
        deleted = conn.execute("DELETE FROM tickets WHERE id IN (SELECT id FROM own_intakes)")
        tokens = conn.execute("DELETE FROM user_tokens WHERE id > %s", (after_token,))
        vacuum_after_deleting(conn, (*TICKET_ROWS, "tickets", "user_tokens"))
    log(f"deleted the run's own {deleted.rowcount:,} intakes and {tokens.rowcount} API tokens")


def vacuum_after_deleting(conn: psycopg.Connection, tables) -> None:
    """VACUUM (ANALYZE) the tables a run deleted from or rolled back (``conn`` in autocommit
    mode), not left to autovacuum: a host may run PostgreSQL without it (these machines'
    configuration turns it off), and then every run's dead rows — tens of thousands of tickets, events and messages,
    from the intakes and the raw ceiling — stay in the tables and their indexes and slow the
    next figure down (2.5 M dead outbox rows beside 1,500 live ones after a session's runs,
    2026-12-07). A few seconds on the city: the rest of its pages are all-visible."""
    for table in tables:
        conn.execute(f"VACUUM (ANALYZE) {table}")


def bare_read_one(url, plan, port, workers, threads, targets, top) -> dict:
    env = dict(os.environ, DATABASE_URL=app_url(url))
    server = Server("bench.bare:app", port, env, workers, threads)
    try:
        base = f"http://127.0.0.1:{port}"
        requests = read_one_load(targets, [], prefix="/t/")
        run_load(base, top, plan.warmup_seconds / 2, requests)
        return load_figure("bare_read_one", base, top, plan.load_seconds, requests)
    finally:
        server.stop()


def raw_intake(url: str, threads: int, seconds: float) -> dict:
    """The rows a typical intake of the app wrote (ticket, events, outbox rows), inserted by
    psycopg in one transaction per ticket, then deleted again. Typical: the latest of the app's
    last 500 intakes with the most common number of outbox rows (a report dispatched to a
    department of ten people writes ten; the last one alone moved this ceiling by 1.8×)."""
    with psycopg.connect(plain_url(url)) as conn:
        ticket = conn.execute("""
            WITH recent AS (SELECT id FROM tickets WHERE source = 'api' ORDER BY id DESC LIMIT 500),
                 counted AS (SELECT recent.id, count(n.id) AS rows FROM recent
                             LEFT JOIN notifications n ON n.ticket_id = recent.id GROUP BY recent.id),
                 usual AS (SELECT mode() WITHIN GROUP (ORDER BY rows) AS rows FROM counted)
            SELECT * FROM tickets WHERE id = (SELECT max(counted.id) FROM counted, usual
                                              WHERE counted.rows = usual.rows)""")
        columns = [d.name for d in ticket.description]
        template = dict(zip(columns, ticket.fetchone()))
        events = conn.execute("SELECT * FROM ticket_events WHERE ticket_id = %s ORDER BY seq",
                              (template["id"],))
        event_columns = [d.name for d in events.description if d.name != "id"]
        event_rows = [dict(zip([d.name for d in events.description], r)) for r in events.fetchall()]
        outbox = conn.execute("SELECT * FROM notifications WHERE ticket_id = %s", (template["id"],))
        outbox_columns = [d.name for d in outbox.description if d.name != "id"]
        outbox_rows = [dict(zip([d.name for d in outbox.description], r)) for r in outbox.fetchall()]
    ticket_columns = [c for c in columns if c != "id"]
    for rows in (event_rows, outbox_rows):
        for row in rows:
            for key, value in row.items():
                if isinstance(value, (dict, list)):
                    row[key] = json.dumps(value)
    for key, value in template.items():
        if isinstance(value, (dict, list)):
            template[key] = json.dumps(value)
    counter = iter(range(10 ** 9))
    lock = threading.Lock()
    ticket_sql = (f"INSERT INTO tickets ({', '.join(ticket_columns)}) VALUES "
                  f"({', '.join(['%s'] * len(ticket_columns))}) RETURNING id")
    event_sql = (f"INSERT INTO ticket_events ({', '.join(event_columns)}) VALUES "
                 f"({', '.join(['%s'] * len(event_columns))}) RETURNING id")
    outbox_sql = (f"INSERT INTO notifications ({', '.join(outbox_columns)}) VALUES "
                  f"({', '.join(['%s'] * len(outbox_columns))})")
    results: list[float] = []
    stop_at = time.perf_counter() + seconds
    barrier = threading.Barrier(threads)

    def worker() -> None:
        local = []
        with psycopg.connect(plain_url(url)) as conn:
            barrier.wait()
            while time.perf_counter() < stop_at:
                with lock:
                    n = next(counter)
                t0 = time.perf_counter()
                row = dict(template, number=f"RAW{os.getpid()}{n:09d}"[:24],
                           tracking_code=f"R{n:010d}"[:16])
                tid = conn.execute(ticket_sql, [row[c] for c in ticket_columns]).fetchone()[0]
                event_ids = {}
                for event in event_rows:
                    values = dict(event, ticket_id=tid)
                    event_ids[event["id"]] = conn.execute(
                        event_sql, [values[c] for c in event_columns]).fetchone()[0]
                for message in outbox_rows:
                    values = dict(message, ticket_id=tid, event_id=event_ids.get(message["event_id"]),
                                  dedupe_key=f"raw:{tid}:{message['dedupe_key']}"[:160])
                    conn.execute(outbox_sql, [values[c] for c in outbox_columns])
                conn.commit()
                local.append((time.perf_counter() - t0) * 1000)
        with lock:
            results.extend(local)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        # Only the rows written above, which nothing else references: without the foreign-key
        # triggers (each deleted event would scan the unindexed notifications.event_id).
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM notifications WHERE dedupe_key LIKE 'raw:%%'")
        conn.execute("DELETE FROM ticket_events WHERE ticket_id IN "
                     "(SELECT id FROM tickets WHERE number LIKE 'RAW%%')")
        conn.execute("DELETE FROM tickets WHERE number LIKE 'RAW%%'")
        vacuum_after_deleting(conn, ("notifications", "ticket_events", "tickets"))
    result = figure(results, len(results) / elapsed, concurrency=threads,
                    rows_per_ticket={"tickets": 1, "ticket_events": len(event_rows),
                                     "notifications": len(outbox_rows)})
    log(f"raw_intake             {result['per_s']:>9,.1f}/s  p50 {result['p50_ms']} ms  "
        f"p95 {result['p95_ms']} ms  c={threads} ({len(event_rows)} events, {len(outbox_rows)} outbox rows)")
    return result


def bracketing(before: dict, after: dict) -> dict:
    """The raw limit measured just before and just after the intake's top figure, as one: their
    mean rate (a shared host's speed drifts from minute to minute; measured on both sides, a
    steady drift moves the limit as it moved the intake), the worse p95."""
    return dict(after, per_s=round((before["per_s"] + after["per_s"]) / 2, 1),
                p50_ms=round((before["p50_ms"] + after["p50_ms"]) / 2, 2),
                p95_ms=max(before["p95_ms"], after["p95_ms"]), runs=before["runs"] + after["runs"],
                before_per_s=before["per_s"], after_per_s=after["per_s"])


def gunicorn_mix(url: str, plan: Plan, port: int, mixes: list[tuple[int, int]]) -> dict:
    """Intake and read one at the top concurrency for several workers × threads mixes."""
    env = dict(os.environ, DATABASE_URL=app_url(url), GRIDDESK_SCHEDULER_IN_PROCESS="0")
    targets = Targets(url)
    top = max(plan.concurrencies)
    base = f"http://127.0.0.1:{port}"
    out = {}
    newest = newest_rows(url)
    for workers, threads in mixes:
        server = Server("wsgi:app", port, env, workers, threads)
        try:
            tokens = [api_token(base, targets.intake_user) for _ in range(top)]
            run_load(base, top, plan.warmup_seconds, intake_load(targets, tokens, plan.warmup_seconds))
            out[f"mix_{workers}x{threads}_intake"] = load_figure(
                f"{workers}x{threads} intake", base, top, plan.load_seconds,
                intake_load(targets, tokens, plan.load_seconds))
            out[f"mix_{workers}x{threads}_read_one"] = load_figure(
                f"{workers}x{threads} read_one", base, top, plan.load_seconds,
                read_one_load(targets, tokens))
        finally:
            server.stop()
    delete_own_rows(url, newest)
    return out


def run(url: str, scale: str, only: set[str] | None, port: int, workers: int | None,
        threads: int | None, tune: bool, against: Path | None = None) -> dict:
    plan = PLANS[scale]
    if tune:
        apply_tuning(url)
    wanted = set(FIGURES) if not only else set(only)
    unknown = wanted - set(FIGURES) - set(ON_REQUEST)
    if unknown:
        raise SystemExit(f"unknown figure(s) {sorted(unknown)}; names: "
                         f"{', '.join(FIGURES + ON_REQUEST)}")
    result = {"machine": machine_info(), "commit": commit_id(), "dataset": dataset_info(url, scale),
              "postgresql": pg_settings(url), "tuning_applied": TUNING if tune else {},
              "figures": {}}
    result["machine"]["postgresql"] = result["postgresql"]
    log(f"dataset: {result['dataset']}")
    figures = result["figures"]
    figures.update(in_process_figures(url, plan, wanted))
    http = wanted - {"point_to_grid", "point_to_grid_city", "sweep", "sweep_idle", "mix",
                     "intake_against"}
    if http:
        got = app_figures(url, plan, http, port, workers, threads)
        result["server"] = got.pop("_server", {})
        figures.update(got)
    if "mix" in wanted:
        figures.update(gunicorn_mix(url, plan, port, [(2, 4), (3, 4), (5, 4), (4, 2), (8, 1)]))
    if against is not None or "intake_against" in wanted:
        if against is None:
            raise SystemExit("intake_against needs --against DIR (another checkout)")
        from bench.compare import intake_against

        figures["intake_against"] = intake_against(url, plan, port, against, workers, threads)
    result["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return result
