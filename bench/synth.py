"""Synthetic city for benchmarks: the demo district plus N bulk-inserted tickets on PostgreSQL.

    .venv/bin/python bench/synth.py                       # griddesk_bench, 1,000,000 tickets
    .venv/bin/python bench/synth.py --tickets 200000      # smaller
    .venv/bin/python bench/synth.py --no-fresh            # add tickets to an existing bench db

Steps (each timed and printed):

1. (``--fresh``, the default) drop and create the database (only names starting with
   ``griddesk_bench`` are ever dropped), then ``run.py init-db`` and ``run.py seed-demo`` with
   ``DATABASE_URL`` pointing at it: the demo district, 32 grids, 62 users, 35 categories,
   19 dispatch rules, 600 demo tickets with real timelines.
2. The responsibility matrix is resolved once per (grid, leaf category) with the application's
   own ``models.tickets.dispatch.resolve_owner``, so the synthetic tickets carry the department, person
   and level the dispatcher would have given them.
3. The tickets are written by one ``INSERT ... SELECT`` over ``generate_series`` (not the ORM),
   in ``created_at`` order so that ids grow with time as in production. The secondary indexes of
   ``tickets`` and ``ticket_events`` are dropped before and re-created after (same definitions,
   read from ``pg_get_indexdef``); the primary and unique keys stay and check uniqueness.
   Foreign-key triggers are skipped during the load (``session_replication_role = replica``)
   and the references are verified by anti-joins afterwards.
4. Two timeline events per ticket (``--events full``): seq 1 ``create`` (to pending, note = the
   description, like ``open_ticket``) and seq 2, either ``dispatch`` (still pending, to the owner)
   or one synthetic summary step ``import`` (details.synthetic = true) from pending to the final
   state, so every timeline replays to its ticket (``models.tickets.timeline.replays_to_ticket``).
   ``--events create`` writes only seq 1 (then the timeline does not replay for tickets that are
   no longer pending); ``--events none`` writes no events.
5. ``VACUUM (ANALYZE)`` of both tables (a steady-state production table is vacuumed by
   autovacuum; without it the first reads set hint bits and index-only scans fetch the heap).

Shape of the data (deterministic for a given ``--seed``):
* created_at over the 365 days before now, more in recent months, local day-time peaks
  (Asia/Shanghai); grids weighted 0.6–1.6 like the demo; categories by the demo's weights and
  seasonality; sources by the demo's weights.
* a lifecycle per ticket: accepted within 90 % of the acceptance SLA, result submitted after a
  share of the handling SLA (~8 % late), review approved 0.5–20 h later; the status is where
  ``now`` falls in that life, so recent tickets are open and old ones closed. On top, a backlog
  of ``--stuck`` (0.6 %) of the older tickets is still open (in progress past the deadline,
  suspended, waiting for review). About 1–1.5 % open overall; 5 % of the finished ones invalid.
* deadlines from the category SLA (working hours/days approximated as 1.5 h/1.4 d, no calendar);
  ~8 % of closed tickets late; open tickets past their deadline carry ``overdue_at`` and
  the ones past 80 % carry ``warned_at``, as if the scheduler had run (steady state).
* numbers ``GD`` + local yyyymmdd + the 8-digit id (18 characters: unique, matches the app's
  ``GD\\d{8,}`` search shortcut, and never collides with the app's own 4-digit daily sequence,
  so intake keeps working on the same day); tracking codes ``S`` + 11-digit id (12 characters,
  the app's are 10).
* reporter phones from a skewed pool of 400,000 numbers (repeat callers), none for patrols.

Writes bench/synth_result.json (timings, reference checks, counts). ``SYNTH_EXPLAIN=1`` prints
EXPLAIN ANALYZE of the ticket INSERT instead of only running it (for tuning the generator).
1,000,000 tickets took 79 s on a 2-vCPU machine (see docs/PERFORMANCE.md).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402  (the app's own driver, installed in .venv)

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_DB = "griddesk_bench"
TZ = "Asia/Shanghai"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Timer:
    def __init__(self, timings: dict, name: str):
        self.timings, self.name = timings, name

    def __enter__(self):
        self.start = time.perf_counter()
        log(f"{self.name} …")
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.start
        self.timings[self.name] = round(seconds, 2)
        if exc[0] is None:
            log(f"{self.name}: {seconds:.1f} s")


def sqlalchemy_url(server: str, db: str) -> str:
    base = server.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{db}"


def run_cli(args: list[str], env: dict) -> None:
    subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=env, check=True)


# --- 1. fresh database -----------------------------------------------------------------------
def fresh_database(server: str, db: str, env: dict) -> None:
    if not db.startswith("griddesk_bench"):
        raise SystemExit(f"refusing to drop {db!r}: only griddesk_bench* databases are recreated")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    run_cli(["init-db"], env)
    run_cli(["seed-demo"], env)


# --- 2. lookup tables from the demo ------------------------------------------------------------
def owner_matrix(env: dict) -> tuple[list[dict], list[dict], list[dict]]:
    """Grids (lineage, centroid, weight), owner per grid × leaf category (via the app's own
    resolve_owner) and the leaf categories with weights and SLA hours."""
    os.environ.update(env)
    from admin_app import create_app
    from demo.seed import CATEGORY_TREE, SEASONALITY
    from models import Area, AreaLevel, Category, Department, Role, User, db
    from models.tickets.dispatch import resolve_owner

    weights = {code: weight for _parent, children in CATEGORY_TREE
               for code, _n, _l, _a, _h, _p, weight in children}
    app = create_app()
    grids, owners = [], []
    with app.app_context():
        people: dict[int, int] = {}  # department → the person who takes its tickets
        for dep in db.session.query(Department).order_by(Department.id):
            person = db.session.query(User.id).filter(
                User.department_id == dep.id, User.active.is_(True),
                User.role.in_([Role.HANDLER, Role.COMMUNITY_STAFF, Role.STREET_CENTRE,
                               Role.DISTRICT_CENTRE])).order_by(User.id).first()
            if person:
                people[dep.id] = person[0]
        creators = {}  # street id → a street centre user (hotline / walk-in entries)
        for user in db.session.query(User).filter(User.role == Role.STREET_CENTRE):
            creators.setdefault(user.scope_area_id, user.id)
        leaves = db.session.query(Category).filter(Category.parent_id.is_not(None),
                                                   Category.active.is_(True)).all()
        grid_rows = db.session.query(Area).filter(Area.level == AreaLevel.GRID).order_by(Area.code).all()
        rng = random.Random(20261123)
        for k, grid in enumerate(grid_rows):
            community = grid.parent
            street = community.parent
            worker = db.session.query(User.id).filter(
                User.scope_area_id == grid.id, User.role == Role.GRID_WORKER).order_by(User.id).first()
            grids.append({"k": k, "grid_id": grid.id, "community_id": community.id,
                          "street_id": street.id, "district_id": street.parent_id,
                          "lat": grid.centroid_lat, "lon": grid.centroid_lon, "name": grid.name,
                          "worker_id": worker[0] if worker else None,
                          "creator_id": creators.get(street.id),
                          "weight": round(rng.uniform(0.6, 1.6), 3)})
            for cat in leaves:
                owner = resolve_owner(cat, grid)
                dep_id = owner.department.id if owner.department else None
                owners.append({
                    "grid_id": grid.id, "category_id": cat.id,
                    "department_id": dep_id,
                    "user_id": owner.user.id if owner.user else None,
                    "person_id": owner.user.id if owner.user else people.get(dep_id),
                    "level": owner.level.value})
        categories = []
        for cat in leaves:
            def hours(amount, unit):
                unit = unit.value
                return amount * (1.0 if unit == "natural_hours" else 1.5 if unit == "working_hours"
                                 else 33.6)  # a working day ≈ 1.4 calendar days
            categories.append({
                "category_id": cat.id, "code": cat.code, "name": cat.name,
                "weight": weights.get(cat.code, 1),
                "season": SEASONALITY.get(cat.code, {}),
                "accept_h": hours(cat.accept_deadline, cat.accept_deadline_unit),
                "handle_h": hours(cat.handle_deadline, cat.handle_deadline_unit)})
    return grids, owners, categories


# --- 3. the bulk load ------------------------------------------------------------------------
SOURCES = [("patrol", 36), ("phone", 24), ("wechat", 18), ("web", 8), ("walk_in", 8), ("api", 6)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
PHRASES = ["已持续多日，影响周边居民正常生活", "早晚高峰尤为明显，居民多次反映",
           "存在安全隐患，请相关部门尽快核实处置", "现场照片已上传，请尽快派人查看",
           "之前反映过一次，目前仍未解决", "周边老人小孩较多，希望尽快处理",
           "夜间情况更严重，影响休息", "物业称不归其管理，请街道协调",
           "网格员巡查发现，已现场劝导但未整改", "雨天积水后情况加重"]


def slot_table(conn, name: str, rows: list[tuple], weights: list[float], slots: int = 1000) -> None:
    """A table of ``slots`` rows where each choice fills slots in proportion to its weight, so a
    weighted random pick is an equality join on floor(random() * slots)."""
    total = sum(weights)
    counts = [max(1, round(w / total * slots)) for w in weights]
    while sum(counts) > slots:
        counts[counts.index(max(counts))] -= 1
    while sum(counts) < slots:
        counts[counts.index(max(counts))] += 1
    values, slot = [], 0
    for row, count in zip(rows, counts):
        for _ in range(count):
            values.append((slot, *row))
            slot += 1
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(values[0]))})", values)


def secondary_indexes(conn, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, definition) of indexes that back no constraint (safe to drop and re-create)."""
    return conn.execute("""
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s) AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname""", (list(tables),)).fetchall()


TICKETS_SQL = """
INSERT INTO tickets (
    id, number, title, description, category_id, priority, source, status,
    district_id, street_id, community_id, grid_id, lat, lon, address, location_flagged,
    reporter_name, reporter_phone, reporter_email, tracking_code, created_by_id,
    assigned_department_id, assigned_user_id, current_level,
    accept_deadline, handle_deadline, accepted_at, submitted_at, closed_at,
    rating, rating_comment, rated_at, rating_source, rework_count, reopen_count, submitted_by_id,
    suspended_at, resume_status, warned_at, overdue_at,
    event_seq, version, created_at, updated_at, last_activity_at)
SELECT
    s.id,
    'GD' || to_char(s.created_at AT TIME ZONE %(tz)s, 'YYYYMMDD') || lpad(s.id::text, 8, '0'),
    left(c.name || '：' || s.address, 40),
    '群众反映：' || s.address || '附近' || c.name || '问题，' || s.phrase || '。',
    s.category_id, s.priority, s.source, s.status,
    g.district_id, g.street_id, g.community_id, g.grid_id,
    g.lat + (s.r_lat - 0.5) * 0.008, g.lon + (s.r_lon - 0.5) * 0.010,
    s.address, false,
    CASE WHEN s.source = 'patrol' THEN NULL ELSE s.reporter_name END,
    CASE WHEN s.source = 'patrol' THEN NULL ELSE s.phone END,
    NULL,
    'S' || lpad(s.id::text, 11, '0'),
    CASE WHEN s.source = 'patrol' THEN g.worker_id
         WHEN s.source IN ('phone', 'walk_in') THEN g.creator_id END,
    o.department_id,
    CASE WHEN s.status IN ('pending', 'invalid') THEN o.user_id ELSE o.person_id END,
    o.level,
    s.accept_deadline, s.handle_deadline,
    CASE WHEN s.status NOT IN ('pending', 'invalid') THEN s.accepted_at END,
    CASE WHEN s.status IN ('pending_review', 'closed') THEN s.submitted_by_now END,
    CASE WHEN s.status IN ('closed', 'invalid') THEN s.closed_at END,
    CASE WHEN s.rated THEN s.rating END,
    CASE WHEN s.rated AND s.rating <= 2 THEN '处理太慢，问题反复出现' END,
    CASE WHEN s.rated THEN s.closed_at + interval '3 hours' END,
    CASE WHEN s.rated THEN 'reporter' END,
    CASE WHEN s.status = 'closed' AND s.r_misc < 0.05 THEN 1 ELSE 0 END,
    0,
    CASE WHEN s.status IN ('pending_review', 'closed') THEN o.person_id END,
    CASE WHEN s.status = 'suspended' THEN s.accepted_at + interval '2 hours' END,
    CASE WHEN s.status = 'suspended' THEN 'in_progress' END,
    -- as if the scheduler's deadline sweep had run: warned past 80 %%, overdue past the deadline
    CASE WHEN s.status IN ('in_progress', 'pending_review')
          AND now() > s.created_at + (s.handle_deadline - s.created_at) * 0.8
         THEN s.created_at + (s.handle_deadline - s.created_at) * 0.8 END,
    CASE WHEN (s.status IN ('pending', 'in_progress') AND now() > s.handle_deadline)
           OR (s.status = 'closed' AND s.closed_at > s.handle_deadline)
         THEN s.handle_deadline + interval '1 minute' END,
    %(event_seq)s,
    1,
    s.created_at,
    s.last_at, s.last_at
FROM (
    SELECT t.*,
        least(t.submitted_at, now() - interval '1 second') AS submitted_by_now,
        (t.status = 'closed' AND t.rated_draw AND t.source <> 'patrol') AS rated,
        CASE t.status WHEN 'pending' THEN t.created_at
                      WHEN 'in_progress' THEN t.accepted_at
                      WHEN 'suspended' THEN t.accepted_at + interval '2 hours'
                      WHEN 'pending_review' THEN least(t.submitted_at, now() - interval '1 second')
                      ELSE t.closed_at END AS last_at
    FROM (
        SELECT r.*,
            CASE
                -- a stuck backlog: older tickets still open (overdue, suspended, review waiting)
                WHEN r.age_days > 2 AND r.r_status < %(stuck)s THEN
                    CASE WHEN r.r_state < 0.05 THEN 'pending' WHEN r.r_state < 0.55 THEN 'in_progress'
                         WHEN r.r_state < 0.80 THEN 'suspended' ELSE 'pending_review' END
                WHEN now() < r.accepted_at THEN 'pending'
                WHEN now() < r.submitted_at THEN 'in_progress'
                WHEN now() < r.closed_at THEN 'pending_review'
                WHEN r.r_state < 0.05 THEN 'invalid'
                ELSE 'closed'
            END AS status
        FROM (
            SELECT q.*,
                q.created_at + make_interval(secs => q.accept_h * q.pf * 3600) AS accept_deadline,
                q.created_at + make_interval(secs => q.handle_h * q.pf * 3600) AS handle_deadline,
                q.created_at + make_interval(secs => 60 + q.r_acc * q.accept_h * q.pf * 3600 * 0.9) AS accepted_at,
                q.created_at + make_interval(secs => 60 + q.r_acc * q.accept_h * q.pf * 3600 * 0.9
                                             + 1800 + q.hf * q.handle_h * q.pf * 3600) AS submitted_at,
                q.created_at + make_interval(secs => 60 + q.r_acc * q.accept_h * q.pf * 3600 * 0.9
                                             + 1800 + q.hf * q.handle_h * q.pf * 3600
                                             + 900 + power(q.r_rev, 3) * 12 * 3600) AS closed_at
            FROM (
                SELECT b.*, cs.category_id, cc.accept_h, cc.handle_h, src.source,
                    CASE WHEN b.r_prio < 0.02 THEN 'emergency' WHEN b.r_prio < 0.10 THEN 'urgent'
                         ELSE 'normal' END AS priority,
                    CASE WHEN b.r_prio < 0.02 THEN 0.25 WHEN b.r_prio < 0.10 THEN 0.5 ELSE 1.0 END AS pf,
                    -- share of the handling SLA used: ~8 %% late, the rest well inside it
                    CASE WHEN b.r_misc < 0.08 THEN 1.0 + b.r_dur * 0.6 ELSE 0.05 + b.r_dur * 0.6 END AS hf,
                    (ARRAY{phrases})[1 + floor(b.r_txt * {n_phrases})::int] AS phrase,
                    substr({surnames!r}, 1 + floor(b.r_name * {n_surnames})::int, 1)
                        || CASE WHEN floor(b.r_name * 1000)::int %% 2 = 0 THEN '先生' ELSE '女士' END AS reporter_name,
                    '1' || (ARRAY['33','35','37','38','39','50','51','52','55','57','58','59','86','87','88','89'])[1 + floor(b.r_phone * 16)::int]
                        || lpad(floor(power(b.r_phone2, 2) * 400000)::text, 8, '0') AS phone,
                    gname.name || '附近' || (1 + floor(b.r_addr * 300))::int || '号' AS address,
                    (b.r_rate < 0.55) AS rated_draw,
                    CASE WHEN b.r_rate2 < 0.60 THEN 5 WHEN b.r_rate2 < 0.85 THEN 4 WHEN b.r_rate2 < 0.93 THEN 3
                         WHEN b.r_rate2 < 0.97 THEN 2 ELSE 1 END AS rating,
                    gs.k
                FROM syn b
                JOIN grid_slots gs ON gs.slot = b.g_slot
                JOIN syn_grids gname ON gname.k = gs.k
                JOIN cat_slots cs ON cs.slot = b.c_slot AND cs.month = b.month
                JOIN syn_categories cc ON cc.category_id = cs.category_id
                JOIN source_slots src ON src.slot = b.s_slot
                OFFSET 0
            ) q
            OFFSET 0
        ) r
        OFFSET 0
    ) t
) s
JOIN syn_grids g ON g.k = s.k
JOIN syn_categories c ON c.category_id = s.category_id
JOIN syn_owners o ON o.grid_id = g.grid_id AND o.category_id = s.category_id
ORDER BY s.id
"""


def load(conn, n: int, base_id: int, seed: float, events: str, stuck: float, timings: dict,
         grids: list[dict], owners: list[dict], categories: list[dict]) -> dict:
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute("SET synchronous_commit = off")
    with Timer(timings, "lookup tables"):
        conn.execute("""CREATE TEMP TABLE syn_grids (k int PRIMARY KEY, grid_id int, community_id int,
            street_id int, district_id int, lat float8, lon float8, name text, worker_id int,
            creator_id int)""")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO syn_grids VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", [
                (g["k"], g["grid_id"], g["community_id"], g["street_id"], g["district_id"],
                 g["lat"], g["lon"], g["name"], g["worker_id"], g["creator_id"]) for g in grids])
        conn.execute("""CREATE TEMP TABLE syn_owners (grid_id int, category_id int, department_id int,
            user_id int, person_id int, level text, PRIMARY KEY (grid_id, category_id))""")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO syn_owners VALUES (%s,%s,%s,%s,%s,%s)", [
                (o["grid_id"], o["category_id"], o["department_id"], o["user_id"], o["person_id"],
                 o["level"]) for o in owners])
        conn.execute("""CREATE TEMP TABLE syn_categories (category_id int PRIMARY KEY, name text,
            accept_h float8, handle_h float8)""")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO syn_categories VALUES (%s,%s,%s,%s)", [
                (c["category_id"], c["name"], c["accept_h"], c["handle_h"]) for c in categories])
        conn.execute("CREATE TEMP TABLE grid_slots (slot int PRIMARY KEY, k int)")
        slot_table(conn, "grid_slots", [(g["k"],) for g in grids], [g["weight"] for g in grids])
        conn.execute("CREATE TEMP TABLE source_slots (slot int PRIMARY KEY, source text)")
        slot_table(conn, "source_slots", [(s,) for s, _w in SOURCES], [w for _s, w in SOURCES])
        # Categories per month (seasonality): 12 × 1000 slots.
        conn.execute("CREATE TEMP TABLE cat_slots (slot int, month int, category_id int, "
                     "PRIMARY KEY (month, slot))")
        conn.execute("CREATE TEMP TABLE cat_slots_m (slot int, category_id int)")
        for month in range(1, 13):
            conn.execute("TRUNCATE cat_slots_m")
            slot_table(conn, "cat_slots_m", [(c["category_id"],) for c in categories],
                       [c["weight"] * c["season"].get(month, 1.0) for c in categories])
            conn.execute("INSERT INTO cat_slots SELECT slot, %s, category_id FROM cat_slots_m", (month,))
        conn.execute("ANALYZE syn_grids, syn_owners, syn_categories, grid_slots, source_slots, cat_slots")

    with Timer(timings, f"draw {n:,} tickets (temp table)"):
        conn.execute("SELECT setseed(%s)", (seed,))
        # Day weights: a little more lately (1.0 → 1.5 over the year); local day-time peaks.
        conn.execute(f"""
            CREATE TEMP TABLE syn AS
            WITH d AS (
                -- density 1.5 → 1.0 from today back to a year ago (inverse CDF)
                SELECT (date_trunc('day', now() AT TIME ZONE '{TZ}')
                        - make_interval(days => floor(365 * (3 - 2 * sqrt(2.25 - 1.25 * random())))::int)
                        ) AS local_day,
                       random() AS r_tod, random() AS r_tod2
                FROM generate_series(1, %(n)s)
            ), t AS (
                SELECT CASE WHEN ts > now() THEN ts - interval '1 day' ELSE ts END AS created_at
                FROM (SELECT (local_day + make_interval(secs =>
                                 CASE WHEN r_tod2 < 0.85 THEN 7 * 3600 + r_tod * 14 * 3600
                                      ELSE r_tod * 86400 END)) AT TIME ZONE '{TZ}' AS ts
                      FROM d) x
            )
            SELECT %(base)s + row_number() OVER (ORDER BY created_at) AS id, created_at,
                   extract(month FROM created_at AT TIME ZONE '{TZ}')::int AS month,
                   extract(epoch FROM now() - created_at) / 86400.0 AS age_days,
                   CASE WHEN now() - created_at < interval '2 days' THEN 0.70
                        WHEN now() - created_at < interval '14 days' THEN 0.12
                        WHEN now() - created_at < interval '60 days' THEN 0.03
                        ELSE 0.004 END AS p_open,
                   floor(random() * 1000)::int AS g_slot, floor(random() * 1000)::int AS c_slot,
                   floor(random() * 1000)::int AS s_slot,
                   random() AS r_status, random() AS r_state, random() AS r_prio,
                   random() AS r_lat, random() AS r_lon, random() AS r_addr, random() AS r_txt,
                   random() AS r_name, random() AS r_phone, random() AS r_phone2,
                   random() AS r_acc, random() AS r_dur, random() AS r_rate, random() AS r_rate2,
                   random() AS r_misc, random() AS r_rev
            FROM t""", {"n": n, "base": base_id})

    idx_defs = secondary_indexes(conn, ("tickets", "ticket_events"))
    with Timer(timings, f"drop {len(idx_defs)} secondary indexes"):
        for name, _definition in idx_defs:
            conn.execute(f'DROP INDEX "{name}"')

    conn.execute("SET session_replication_role = replica")  # no FK triggers during the load
    event_seq = {"full": "2", "create": "1", "none": "0"}[events]
    sql = TICKETS_SQL.replace("%(event_seq)s", event_seq).format(
        phrases="[" + ", ".join("'" + p + "'" for p in PHRASES) + "]", n_phrases=len(PHRASES),
        surnames=SURNAMES, n_surnames=len(SURNAMES))
    with Timer(timings, f"insert {n:,} tickets"):
        if os.environ.get("SYNTH_EXPLAIN"):
            for line in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, {"tz": TZ, "stuck": stuck}):
                print(line[0])
        else:
            conn.execute(sql, {"tz": TZ, "stuck": stuck})
    if events != "none":
        with Timer(timings, "insert events seq 1 (create)"):
            conn.execute("""
                INSERT INTO ticket_events (ticket_id, seq, action, actor_kind, actor_user_id,
                    from_status, to_status, from_user_id, to_user_id, from_department_id,
                    to_department_id, note, details, created_at)
                SELECT id, 1, 'create', CASE WHEN created_by_id IS NULL THEN 'reporter' ELSE 'user' END,
                       created_by_id, NULL, 'pending', NULL, NULL, NULL, NULL, description,
                       json_build_object('source', source), created_at
                FROM tickets WHERE id > %s ORDER BY id""", (base_id,))
    if events == "full":
        with Timer(timings, "insert events seq 2 (dispatch / synthetic final step)"):
            conn.execute("""
                INSERT INTO ticket_events (ticket_id, seq, action, actor_kind, actor_user_id,
                    from_status, to_status, from_user_id, to_user_id, from_department_id,
                    to_department_id, note, details, created_at)
                SELECT id, 2,
                       CASE WHEN status = 'pending' THEN 'dispatch' ELSE 'import' END,
                       'system', NULL, 'pending', status, NULL, assigned_user_id, NULL,
                       assigned_department_id,
                       CASE WHEN status = 'pending' THEN NULL ELSE '合成数据：处理过程从略' END,
                       CASE WHEN status = 'pending' THEN json_build_object('fallback', NULL)
                            ELSE json_build_object('synthetic', true) END,
                       CASE WHEN status = 'pending' THEN created_at ELSE last_activity_at END
                FROM tickets WHERE id > %s ORDER BY id""", (base_id,))
    conn.execute("SET session_replication_role = origin")
    with Timer(timings, f"re-create {len(idx_defs)} secondary indexes"):
        for _name, definition in idx_defs:
            conn.execute(definition)
    conn.execute("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))")
    conn.execute("SELECT setval('ticket_events_id_seq', (SELECT max(id) FROM ticket_events))")
    conn.execute("DROP TABLE syn")
    return {"secondary_indexes_rebuilt": [name for name, _ in idx_defs]}


FK_CHECKS = [
    ("tickets.category_id", "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.id = t.category_id)"),
    ("tickets.grid/community/street/district", """SELECT count(*) FROM tickets t WHERE NOT EXISTS
        (SELECT 1 FROM areas a JOIN areas c ON c.id = a.parent_id JOIN areas s ON s.id = c.parent_id
         WHERE a.id = t.grid_id AND c.id = t.community_id AND s.id = t.street_id AND s.parent_id = t.district_id)"""),
    ("tickets.assigned_department_id", "SELECT count(*) FROM tickets t WHERE assigned_department_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = t.assigned_department_id)"),
    ("tickets.user columns", """SELECT count(*) FROM tickets t WHERE EXISTS (SELECT 1 FROM unnest(ARRAY[
        t.assigned_user_id, t.created_by_id, t.submitted_by_id]) u(id) WHERE u.id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM users x WHERE x.id = u.id))"""),
    ("ticket_events.ticket_id", "SELECT count(*) FROM ticket_events e WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = e.ticket_id)"),
    ("ticket_events.user/department columns", """SELECT count(*) FROM ticket_events e WHERE
        (e.actor_user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.actor_user_id))
        OR (e.to_user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.to_user_id))
        OR (e.to_department_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = e.to_department_id))"""),
    ("tickets.event_seq = last event", """SELECT count(*) FROM tickets t WHERE t.event_seq <>
        coalesce((SELECT max(seq) FROM ticket_events e WHERE e.ticket_id = t.id), 0)"""),
]


def verify(conn) -> dict:
    problems = {}
    for name, sql in FK_CHECKS:
        count = conn.execute(sql).fetchone()[0]
        problems[name] = count
        log(f"check {name}: {count} bad rows")
    return problems


def summary(conn) -> dict:
    row = conn.execute("""
        SELECT count(*), count(*) FILTER (WHERE status IN ('pending','in_progress','pending_review','suspended')),
               min(created_at), max(created_at), count(DISTINCT reporter_phone)
        FROM tickets""").fetchone()
    by_status = dict(conn.execute("SELECT status, count(*) FROM tickets GROUP BY 1 ORDER BY 2 DESC").fetchall())
    by_street = dict(conn.execute("""SELECT a.name, count(*) FROM tickets t JOIN areas a ON a.id = t.street_id
                                     GROUP BY 1 ORDER BY 1""").fetchall())
    sizes = dict(conn.execute("""SELECT relname, pg_size_pretty(pg_total_relation_size(oid))
        FROM pg_class WHERE relname IN ('tickets', 'ticket_events')""").fetchall())
    events = conn.execute("SELECT count(*) FROM ticket_events").fetchone()[0]
    return {"tickets": row[0], "open_tickets": row[1], "open_share": round(row[1] / row[0], 4),
            "created_from": row[2].isoformat(), "created_to": row[3].isoformat(),
            "distinct_phones": row[4], "by_status": by_status, "by_street": by_street,
            "ticket_events": events, "sizes": sizes}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--server", default=os.environ.get("BENCH_PG_SERVER", DEFAULT_SERVER),
                        help="PostgreSQL server URL without database (default %(default)s)")
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--fresh", action=argparse.BooleanOptionalAction, default=True,
                        help="drop/create the database, init-db, seed-demo (default on)")
    parser.add_argument("--events", choices=("full", "create", "none"), default="full")
    parser.add_argument("--seed", type=float, default=0.20261123)
    parser.add_argument("--stuck", type=float, default=0.006,
                        help="share of tickets older than 2 days still open (backlog; default %(default)s)")
    parser.add_argument("--no-verify", action="store_true", help="skip the reference checks")
    args = parser.parse_args(argv)

    url = sqlalchemy_url(args.server, args.db)
    env = dict(os.environ, DATABASE_URL=url, GRIDDESK_SCHEDULER_IN_PROCESS="0")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if args.fresh:
        with Timer(timings, f"fresh database {args.db} (init-db + seed-demo)"):
            fresh_database(args.server, args.db, env)
    with Timer(timings, "responsibility matrix via resolve_owner"):
        grids, owners, categories = owner_matrix(env)
    with psycopg.connect(f"{args.server}/{args.db}", autocommit=True) as conn:
        base_id = conn.execute("SELECT coalesce(max(id), 0) FROM tickets").fetchone()[0]
        base_id = max(base_id, 1000)  # leave room above the demo's own tickets
        extra = load(conn, args.tickets, base_id, args.seed, args.events, args.stuck, timings,
                     grids, owners, categories)
        with Timer(timings, "VACUUM (ANALYZE)"):
            conn.execute("VACUUM (ANALYZE) tickets")
            conn.execute("VACUUM (ANALYZE) ticket_events")
            conn.execute("ANALYZE")
        checks = {} if args.no_verify else verify(conn)
        info = summary(conn)
    total = round(time.perf_counter() - started, 1)
    result = {"database": args.db, "synthetic_tickets": args.tickets, "first_synthetic_id": base_id + 1,
              "events": args.events, "seed": args.seed, "timings_s": timings, "total_s": total,
              "reference_checks_bad_rows": checks, **extra, "summary": info}
    out = ROOT / "bench" / "synth_result.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    log(f"done in {total:.0f} s: {info['tickets']:,} tickets ({info['open_tickets']:,} open, "
        f"{info['open_share']:.2%}), {info['ticket_events']:,} events, sizes {info['sizes']}")
    log(f"wrote {out.relative_to(ROOT)}")
    if any(checks.values()):
        raise SystemExit("reference checks failed: " + json.dumps(checks))
    return result


if __name__ == "__main__":
    main()
