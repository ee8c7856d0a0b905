"""The soak (`make soak`, not part of `make test`): a mixed load on PostgreSQL under Gunicorn with
the scheduler running beside it, for SOAK_SECONDS (default 600).

    make soak                                   # 10 minutes
    SOAK_SECONDS=60 make soak                   # a short look
    .venv/bin/python tests/soak/run_soak.py --seconds 600 --clients 8

It creates (or empties) the database SOAK_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/gd_soak; its name must contain "soak", since its schema is
dropped), migrates it, seeds the demo district's areas, staff, dispatch rules and calendar (not
its year of history: the load brings its own tickets), switches the generic webhook on
towards a receiver in this process, then starts Gunicorn (gunicorn.conf.py, GRIDDESK_ENV=production)
and `run.py scheduler`, and lets --clients threads loop over a weighted mix:

    intake   POST /api/v1/tickets (an integration's token) in a grid of the district
    list     GET  /api/v1/tickets as the district centre, status-filtered or the next page
    read     GET  /api/v1/tickets/<id> as the ticket's handler (before each action)
    action   POST /api/v1/tickets/<id>/actions/accept|note by the ticket's handler
    photo    POST /api/v1/tickets/<id>/attachments (a 1280×960 JPEG) by the ticket's handler

It fails (exit 1) on any 5xx, any failed request, an unexpected 4xx (a 409 when two clients act on
the same ticket at once is the expected answer and counted apart), a Gunicorn worker that died or
was replaced, a traceback in a log, an outbox row failed or still waiting once the scheduler has had
a minute to drain it, or a web worker whose resident memory grew after the warm-up (the first fifth
of the run) by more than max(10 %, 16 MB) (the median of the first tenth of the samples after the
warm-up against the median of the last tenth, sampled every 5 s from /proc/PID/status). It
prints the figures as a Markdown block for docs/OPERATIONS.md and writes them as JSON to
SOAK_REPORT (default /tmp/griddesk-soak.json).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo12345"  # demo/people.py DEMO_PASSWORD
WEIGHTS = {"intake": 30, "list": 35, "action": 25, "photo": 10}
EXPECTED = {"intake": {201}, "list": {200}, "read": {200}, "action": {200, 409},
            "photo": {201, 409}}
RSS_TOLERANCE = (0.10, 16 * 1024)  # share, kB: growth allowed after the warm-up


# --- the database and the processes ---------------------------------------------------------

def fresh_database(url: str) -> None:
    name = sa.engine.make_url(url).database or ""
    if "soak" not in name:
        sys.exit(f"refusing to drop the schema of {name!r}: the soak database's name must "
                 "contain 'soak'")
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": name}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def environment(url: str, instance: str, env_name: str) -> dict:
    return dict(os.environ, DATABASE_URL=url, GRIDDESK_ENV=env_name, GRIDDESK_INSTANCE=instance,
                SECRET_KEY="soak-" + "s" * 40, GRIDDESK_UPLOAD_DIR=str(Path(instance) / "uploads"),
                GRIDDESK_SCHEDULER_IN_PROCESS="0", GRIDDESK_SWEEP_SECONDS="15",
                PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", NO_PROXY="127.0.0.1,localhost")


def run(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"run.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr


class Logged:
    """A child process whose output is collected by a thread (a full pipe never stalls it)."""

    def __init__(self, command: list[str], env: dict):
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout),
                         daemon=True).start()

    def text(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def wait_for(url: str, process: Logged, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.process.poll() is not None:
            sys.exit("the server stopped:\n" + process.text()[-3000:])
        try:
            requests.get(url, timeout=2, proxies={"http": None})
            return
        except requests.RequestException:
            time.sleep(0.3)
    sys.exit(f"{url} never answered")


# --- memory -----------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{pid}$", status, re.M):
                found.append(int(entry.name))
    return sorted(found)


def rss_kb(pid: int) -> int | None:
    try:
        match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) if match else None


class MemoryWatch:
    def __init__(self, gunicorn: Logged, scheduler: Logged, every: float = 5.0):
        self.master, self.scheduler, self.every = gunicorn.process.pid, scheduler.process.pid, every
        self.workers = children(self.master)
        self.samples: list[tuple[float, dict[int, int]]] = []
        self.seen_workers = set(self.workers)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        started = time.time()
        while not self.stopped.is_set():
            self.seen_workers.update(children(self.master))
            pids = self.workers + [self.scheduler]
            self.samples.append((time.time() - started, {p: rss_kb(p) for p in pids}))
            self.stopped.wait(self.every)

    def figures(self, warm_up: float) -> dict:
        rows = {}
        for pid in self.workers + [self.scheduler]:
            series = [(t, s[pid]) for t, s in self.samples if s.get(pid)]
            warm = [kb for t, kb in series if t >= warm_up]
            if not series or not warm:
                rows[pid] = {"missing": True}
                continue
            # A photo being re-encoded lifts one sample; the median of a window does not move.
            window = max(3, len(warm) // 10)
            start, end = statistics.median(warm[:window]), statistics.median(warm[-window:])
            rows[pid] = {"role": "scheduler" if pid == self.scheduler else "web worker",
                         "first_kb": series[0][1], "warm_kb": round(start), "end_kb": round(end),
                         "max_kb": max(kb for _t, kb in series), "growth_kb": round(end - start)}
        return rows


# --- the load ---------------------------------------------------------------------------------

class Receiver:
    """The SMS gateway of the soak: answers 200 and counts messages and repeated keys."""

    def __init__(self):
        self.keys: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.keys.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"


def grid_point(boundary) -> tuple[float, float]:
    from shapely.geometry import shape

    document = json.loads(boundary) if isinstance(boundary, str) else boundary
    point = shape(document.get("geometry", document)).representative_point()
    return point.y, point.x


def photo_jpeg() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1280, 960), (90, 120, 90))
    draw = ImageDraw.Draw(image)
    rng = random.Random(7)
    for _ in range(400):
        x, y = rng.randrange(1280), rng.randrange(960)
        draw.rectangle((x, y, x + rng.randrange(8, 80), y + rng.randrange(8, 80)),
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


class Load:
    def __init__(self, base: str, engine, client_token: str):
        self.base, self.engine = base, engine
        self.client_headers = {"Authorization": f"Bearer {client_token}"}
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.answers: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.tickets: list[int] = []
        self.tokens: dict[str, str] = {}
        self.photo = photo_jpeg()
        with engine.connect() as conn:
            self.categories = conn.execute(sa.text(
                "SELECT c.code FROM categories c JOIN categories p ON p.id = c.parent_id "
                "WHERE c.active AND NOT c.requires_after_photo ORDER BY c.code")).scalars().all()
            boundaries = conn.execute(sa.text(
                "SELECT boundary FROM areas WHERE level = 'grid' AND boundary IS NOT NULL "
                "ORDER BY code")).scalars().all()
        self.places = [grid_point(b) for b in boundaries]

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        return s

    def record(self, kind: str, started: float, response) -> None:
        elapsed = time.perf_counter() - started
        with self.lock:
            self.timings[kind].append(elapsed)
            self.answers[kind][response.status_code] += 1
            if response.status_code not in EXPECTED[kind] and len(self.failures) < 50:
                self.failures.append(f"{kind} {response.status_code}: {response.text[:300]}")

    def call(self, http, kind: str, method: str, path: str, **kwargs):
        started = time.perf_counter()
        try:
            response = http.request(method, self.base + path, timeout=60, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.answers[kind][0] += 1
                self.failures.append(f"{kind} {path}: {exc!r}")
            return None
        self.record(kind, started, response)
        return response

    def token(self, http, username: str) -> dict:
        if username not in self.tokens:
            response = http.post(self.base + "/api/v1/auth/token", timeout=60,
                                 json={"username": username, "password": PASSWORD})
            if response.status_code != 200:
                raise RuntimeError(f"no token for {username}: {response.status_code}")
            self.tokens[username] = response.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def handler_of(self, ticket_id: int) -> str | None:
        """Who acts on the ticket: its assigned person, else someone of its department."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT u.username FROM tickets t JOIN users u ON "
                "(u.id = t.assigned_user_id OR (t.assigned_user_id IS NULL AND "
                " u.department_id = t.assigned_department_id AND u.role = 'handler')) "
                "WHERE t.id = :t AND u.active ORDER BY u.id LIMIT 1"), {"t": ticket_id}).scalar()

    # one step of each kind
    def intake(self, http, rng) -> None:
        lat, lon = rng.choice(self.places)
        response = self.call(http, "intake", "POST", "/api/v1/tickets", headers=self.client_headers,
                             json={"category": rng.choice(self.categories),
                                   "description": f"浸泡测试上报 {rng.randrange(10**6)}",
                                   "lat": lat, "lon": lon,
                                   "reporter_phone": f"139{rng.randrange(10**8):08d}"})
        if response is not None and response.status_code == 201:
            with self.lock:
                self.tickets.append(response.json()["id"])

    def list(self, http, rng) -> None:
        headers = self.token(http, "district")
        query = rng.choice(["?limit=50", "?status=pending&limit=50", "?status=in_progress",
                            "?overdue=true&limit=20"])
        response = self.call(http, "list", "GET", "/api/v1/tickets" + query, headers=headers)
        if response is not None and response.status_code == 200 and response.json().get("next"):
            self.call(http, "list", "GET", f"/api/v1/tickets?limit=50&cursor="
                      f"{response.json()['next']}", headers=headers)

    def pick(self, rng) -> int | None:
        with self.lock:
            recent = self.tickets[-200:]
        return rng.choice(recent) if recent else None

    def act(self, http, rng, photo: bool) -> None:
        ticket_id = self.pick(rng)
        username = ticket_id and self.handler_of(ticket_id)
        if not username:
            return self.intake(http, rng)
        headers = self.token(http, username)
        read = self.call(http, "read", "GET", f"/api/v1/tickets/{ticket_id}", headers=headers)
        if read is None or read.status_code != 200:
            return None
        ticket = read.json()
        allowed = ticket.get("allowed_actions") or []
        if photo and "note" in allowed:
            self.call(http, "photo", "POST", f"/api/v1/tickets/{ticket_id}/attachments",
                      headers=headers, data={"version": ticket["version"], "kind": "other",
                                             "note": "现场照片"},
                      files={"file": ("scene.jpg", self.photo, "image/jpeg")})
        elif "accept" in allowed or "note" in allowed:
            action = "accept" if "accept" in allowed else "note"
            self.call(http, "action", "POST", f"/api/v1/tickets/{ticket_id}/actions/{action}",
                      headers=headers, json={"version": ticket["version"], "note": "已到现场处理"})
        return None

    def client(self, seed: int, deadline: float) -> None:
        rng = random.Random(seed)
        kinds, weights = zip(*WEIGHTS.items())
        with self.session() as http:
            while time.time() < deadline:
                kind = rng.choices(kinds, weights)[0]
                try:
                    if kind == "intake":
                        self.intake(http, rng)
                    elif kind == "list":
                        self.list(http, rng)
                    else:
                        self.act(http, rng, photo=kind == "photo")
                except Exception as exc:  # a driver failure is a failure of the run
                    with self.lock:
                        self.failures.append(f"{kind}: {exc!r}")


# --- the run ----------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def outbox_states(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT state, count(*), sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) "
            "FROM notifications GROUP BY state")).all()
    return {state: {"rows": count, "retried": int(retried or 0)} for state, count, retried in rows}


def drain_outbox(engine, seconds: float = 90) -> dict:
    deadline = time.time() + seconds
    while True:
        states = outbox_states(engine)
        waiting = sum(states.get(s, {}).get("rows", 0) for s in ("pending", "sending"))
        if waiting == 0 or time.time() > deadline:
            return states
        time.sleep(3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", 8)))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SOAK_WORKERS", 3)))
    parser.add_argument("--url", default=os.environ.get(
        "SOAK_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gd_soak"))
    args = parser.parse_args()
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1) \
        if args.url.startswith("postgresql://") else args.url
    instance = tempfile.mkdtemp(prefix="griddesk-soak-")
    print(f"soak: {args.seconds} s, {args.clients} clients, {args.workers} Gunicorn workers, "
          f"database {sa.engine.make_url(url).database}", flush=True)
    fresh_database(url)
    setup_env = environment(url, instance, "demo")
    run(setup_env, "init-db")
    receiver = Receiver()
    client_token = seed_district(url, instance, receiver.url)

    env = environment(url, instance, "production")
    port = free_port()
    gunicorn = Logged([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                       "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                       "--access-logfile", "/dev/null", "wsgi:app"], env)
    scheduler = Logged([sys.executable, "run.py", "scheduler"], env)
    engine = sa.create_engine(url)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", gunicorn)
        time.sleep(2)  # the workers are forked after the master answers
        watch = MemoryWatch(gunicorn, scheduler)
        watch.thread.start()
        load = Load(f"http://127.0.0.1:{port}", engine, client_token)
        started = time.time()
        deadline = started + args.seconds
        threads = [threading.Thread(target=load.client, args=(i, deadline))
                   for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.time() - started
        outbox = drain_outbox(engine)
        watch.stopped.set()
        watch.thread.join()
    finally:
        gunicorn.stop()
        scheduler.stop()
    report = figures(args, load, watch, elapsed, outbox, receiver, gunicorn, scheduler, engine)
    Path(os.environ.get("SOAK_REPORT", "/tmp/griddesk-soak.json")).write_text(
        json.dumps(report, ensure_ascii=False, indent=2))
    print(markdown(report))
    problems = report["problems"]
    for problem in problems:
        print("PROBLEM:", problem)
    print("soak:", "FAILED" if problems else "passed")
    return 1 if problems else 0


SETUP = """
import sys
from admin_app import create_app
from demo.seed import seed_district
from integrations.delivery.channels import save_channel_settings
from models import db, Channel
from models.people.tokens import create_api_client
app = create_app()
with app.app_context():
    seed_district()
    save_channel_settings(Channel.WEBHOOK, True, {"url": sys.argv[1]})
    _client, token = create_api_client("浸泡测试")
    db.session.commit()
    print(token)
"""


def seed_district(url: str, instance: str, receiver_url: str) -> str:
    """The demo district's areas, staff, dispatch rules and calendar, without its year of
    tickets (the load brings its own); the webhook switched on; an integration's token."""
    done = subprocess.run([sys.executable, "-c", SETUP, receiver_url], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200,
                          env=environment(url, instance, "demo"))
    if done.returncode != 0:
        sys.exit("could not seed the district:\n" + done.stderr[-3000:])
    return re.search(r"gdc_\S+", done.stdout).group(0)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def figures(args, load: Load, watch: MemoryWatch, elapsed: float, outbox: dict,
            receiver: Receiver, gunicorn: Logged, scheduler: Logged, engine) -> dict:
    kinds = {}
    for kind in ("intake", "list", "read", "action", "photo"):
        times = load.timings.get(kind, [])
        kinds[kind] = {"requests": len(times), "per_second": round(len(times) / elapsed, 2),
                       "p50_ms": round(percentile(times, 0.5) * 1000, 1),
                       "p95_ms": round(percentile(times, 0.95) * 1000, 1),
                       "answers": dict(sorted(load.answers.get(kind, {}).items()))}
    memory = watch.figures(warm_up=elapsed / 5)
    problems = list(load.failures)
    server_errors = sum(n for a in load.answers.values() for code, n in a.items() if code >= 500)
    if server_errors:
        problems.append(f"{server_errors} answers 5xx")
    for pid, row in memory.items():
        if row.get("missing"):
            problems.append(f"process {pid} vanished during the run")
        elif row["role"] == "web worker" and row["growth_kb"] > max(
                RSS_TOLERANCE[0] * row["warm_kb"], RSS_TOLERANCE[1]):
            problems.append(f"web worker {pid} grew {row['growth_kb']} kB after the warm-up")
    if watch.seen_workers != set(watch.workers):
        problems.append(f"Gunicorn replaced workers: {sorted(watch.seen_workers)}")
    for name, process in (("gunicorn", gunicorn), ("scheduler", scheduler)):
        text = process.text()
        if "Traceback" in text or "WORKER TIMEOUT" in text:
            problems.append(f"{name} logged an error:\n" + text[text.find("Traceback") - 500:][:3000])
    failed = outbox.get("failed", {}).get("rows", 0)
    waiting = sum(outbox.get(s, {}).get("rows", 0) for s in ("pending", "sending"))
    if failed or waiting:
        problems.append(f"outbox: {failed} failed, {waiting} still waiting after the drain")
    with engine.connect() as conn:
        tickets = conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar_one()
        photos = conn.execute(sa.text("SELECT count(*) FROM attachments")).scalar_one()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
            "machine": f"{platform.node()}, {os.cpu_count()} cores, "
                       f"{platform.python_implementation()} {platform.python_version()}",
            "load_average_end": os.getloadavg(), "seconds": round(elapsed),
            "clients": args.clients, "workers": args.workers, "kinds": kinds,
            "outbox": outbox, "webhook_requests": len(receiver.keys),
            "webhook_repeated_keys": len(receiver.keys) - len(set(receiver.keys)),
            "tickets_end": tickets, "attachments_end": photos, "memory": memory,
            "problems": problems}


def markdown(report: dict) -> str:
    lines = [f"Soak {report['date']}, commit {report['commit']}, {report['machine']}; "
             f"{report['seconds']} s, {report['clients']} client threads, Gunicorn "
             f"{report['workers']} workers × 4 threads + `run.py scheduler`; load average at the "
             f"end {', '.join(f'{x:.1f}' for x in report['load_average_end'])}.", "",
             "| kind | requests | per s | p50 ms | p95 ms | answers |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for kind, row in report["kinds"].items():
        answers = ", ".join(f"{code}×{n}" for code, n in row["answers"].items())
        lines.append(f"| {kind} | {row['requests']} | {row['per_second']} | {row['p50_ms']} | "
                     f"{row['p95_ms']} | {answers} |")
    lines += ["", "| process | RSS first | after warm-up (median) | end (median) | max | "
                  "growth after warm-up |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for pid, row in report["memory"].items():
        if row.get("missing"):
            lines.append(f"| {pid} | vanished | | | | |")
            continue
        mb = lambda kb: f"{kb / 1024:.1f} MB"  # noqa: E731
        lines.append(f"| {row['role']} {pid} | {mb(row['first_kb'])} | {mb(row['warm_kb'])} | "
                     f"{mb(row['end_kb'])} | {mb(row['max_kb'])} | {row['growth_kb'] / 1024:+.1f} MB |")
    outbox = ", ".join(f"{state} {v['rows']} (retried {v['retried']})"
                       for state, v in sorted(report["outbox"].items()))
    lines += ["", f"Outbox after the drain: {outbox}; the webhook receiver got "
                  f"{report['webhook_requests']} requests, {report['webhook_repeated_keys']} with a "
                  f"repeated Idempotency-Key. Tickets at the end: {report['tickets_end']}, photos: "
                  f"{report['attachments_end']}. Problems: {len(report['problems'])}."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
