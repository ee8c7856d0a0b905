"""The synthetic city: areas, staff, rules and a year of tickets, loaded with COPY, resumable.

Layout (per ``Scale``): districts × streets × communities × grids, each a block of a jittered
lattice, so the grid polygons tile the city exactly (city: 16 × 20 × 10 × 8 = 25,600 grids of
about 400 m × 390 m). Reference data: the demo's category tree (through the demo's own
``_seed_categories``), per district a command centre, the demo's functional departments and its
district-wide dispatch rules (checked by ``check_dispatch_rule``); per street a command centre,
per community an office; one user per centre and street, two per community, one grid worker
per grid, two handlers per department (all with the password ``PASSWORD``).

Tickets: ``scale.tickets`` over the 365 days before now, ids growing with time; seasonality
per category (the demo's), weekday and time-of-day peaks, a slight rise over the year; grids
weighted log-normally with 2 % hotspots (×6). The owner is the responsibility matrix's
(``resolve_owner``, generalised from one grid per district). Each ticket has a lifecycle from its
category's deadlines, and its status is where "now" falls in it, plus a stuck backlog of older
tickets (≈ 1 % open overall). Timelines of 4–6 events that replay to the ticket
(``models.tickets.timeline.replays_to_ticket``). Loaded in chunks, each one transaction of two
COPYs and a progress row: a re-run continues after the last finished chunk. Secondary indexes
are dropped for the load and re-created after (their definitions are kept in ``bench_progress``).
Then VACUUM ANALYZE, reference checks, and the statistics rollups from the project's own
fact definition (``rebuild_rollups``, also resumable).
"""
from __future__ import annotations

import bisect
import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench12345"
LOCAL = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving
CELL = (0.004, 0.0035)  # degrees lon × lat: about 390 m × 390 m at 40° N
ORIGIN = (116.0, 39.6)
JITTER = 0.2  # share of a cell side; below 0.25 keeps every quadrilateral convex
SEED = 20261202


@dataclass(frozen=True)
class Scale:
    name: str
    districts: tuple[int, int]  # columns × rows of each level inside its parent
    streets: tuple[int, int]
    communities: tuple[int, int]
    grids: tuple[int, int]
    tickets: int
    chunk: int

    def count(self, level: str) -> int:
        n = 1
        for name in ("districts", "streets", "communities", "grids"):
            cols, rows = getattr(self, name)
            n *= cols * rows
            if name == level:
                return n
        raise ValueError(level)


SCALES = {
    "demo": Scale("demo", (1, 1), (2, 1), (1, 2), (4, 2), 1_000, 500),
    "district": Scale("district", (1, 1), (5, 4), (2, 5), (4, 2), 300_000, 50_000),
    "city": Scale("city", (4, 4), (5, 4), (2, 5), (4, 2), 10_000_000, 100_000),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def app_url(url: str) -> str:
    return plain_url(url).replace("postgresql://", "postgresql+psycopg://", 1)


# ---- progress ------------------------------------------------------------------------------
def progress(conn, key: str, default=None):
    row = conn.execute("SELECT value FROM bench_progress WHERE key = %s", (key,)).fetchone()
    return default if row is None else row[0]


def set_progress(conn, key: str, value) -> None:
    conn.execute("""INSERT INTO bench_progress (key, value) VALUES (%s, %s)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
                 (key, json.dumps(value)))


def ensure_database(url: str, fresh: bool) -> None:
    """Create the database (drop it first with ``fresh``: only names containing "bench")."""
    url = plain_url(url)
    server, name = url.rsplit("/", 1)
    if "bench" not in name:
        raise SystemExit(f"refusing to use {name!r}: benchmark databases have 'bench' in their name")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


# ---- the lattice ---------------------------------------------------------------------------
class Lattice:
    def __init__(self, scale: Scale, rng: random.Random):
        self.scale = scale
        self.cols = scale.districts[0] * scale.streets[0] * scale.communities[0] * scale.grids[0]
        self.rows = scale.districts[1] * scale.streets[1] * scale.communities[1] * scale.grids[1]
        self.points = {}
        for i in range(self.cols + 1):
            for j in range(self.rows + 1):
                edge_i, edge_j = i in (0, self.cols), j in (0, self.rows)
                jx = 0 if edge_i else rng.uniform(-JITTER, JITTER)
                jy = 0 if edge_j else rng.uniform(-JITTER, JITTER)
                self.points[i, j] = (round(ORIGIN[0] + (i + jx) * CELL[0], 6),
                                     round(ORIGIN[1] + (j + jy) * CELL[1], 6))

    def ring(self, i0: int, j0: int, i1: int, j1: int) -> list[tuple[float, float]]:
        """Counter-clockwise boundary of the block of cells [i0, i1) × [j0, j1)."""
        p = self.points
        ring = [p[i, j0] for i in range(i0, i1 + 1)] + [p[i1, j] for j in range(j0 + 1, j1 + 1)]
        ring += [p[i, j1] for i in range(i1 - 1, i0 - 1, -1)]
        ring += [p[i0, j] for j in range(j1 - 1, j0 - 1, -1)]
        return ring


def area_rows(scale: Scale, rng: random.Random) -> list[dict]:
    """Every area, parents first, with ids, paths, boundaries and centroids."""
    from shapely.geometry import Polygon

    lattice = Lattice(scale, rng)
    rows: list[dict] = []

    def add(level, code, name, parent, block):
        ring = lattice.ring(*block)
        centre = Polygon(ring).centroid
        area = {"id": len(rows) + 1, "code": code, "name": name, "level": level,
                "parent_id": parent["id"] if parent else None,
                "boundary": {"type": "Polygon", "coordinates": [[list(pt) for pt in ring]]},
                "lon": round(centre.x, 7), "lat": round(centre.y, 7), "block": block}
        area["path"] = (parent["path"] if parent else "/") + f"{area['id']}/"
        rows.append(area)
        return area

    def children(block, shape):
        i0, j0, i1, j1 = block
        cols, rows_ = shape
        w, h = (i1 - i0) // cols, (j1 - j0) // rows_
        # north to south, west to east (the demo's grid order)
        return [(i0 + c * w, j1 - (r + 1) * h, i0 + (c + 1) * w, j1 - r * h)
                for r in range(rows_) for c in range(cols)]

    whole = (0, 0, lattice.cols, lattice.rows)
    for d, d_block in enumerate(children(whole, scale.districts), start=1):
        district = add("district", f"9{d:05d}", f"第{d}区", None, d_block)
        for s, s_block in enumerate(children(d_block, scale.streets), start=1):
            street = add("street", f"{district['code']}{s:03d}", f"{d}区{s}街道", district, s_block)
            for c, c_block in enumerate(children(s_block, scale.communities), start=1):
                community = add("community", f"{street['code']}{c:03d}", f"{d}-{s}-{c}社区",
                                street, c_block)
                for g, g_block in enumerate(children(c_block, scale.grids), start=1):
                    add("grid", f"{community['code']}{g:03d}", f"{d}-{s}-{c}社区第{g}网格",
                        community, g_block)
    return rows


# ---- reference data ------------------------------------------------------------------------
def copy_rows(conn, table: str, columns: list[str], rows) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def person_name(rng: random.Random) -> str:
    from demo.texts import GIVEN_CHARS, SURNAMES
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2))))


def build_reference(url: str, scale: Scale) -> None:
    """Areas, departments and users by COPY; categories, rules and schemes through the app."""
    from demo.city import FUNCTIONAL, OTHER
    from werkzeug.security import generate_password_hash

    rng = random.Random(SEED)
    now = datetime.now(timezone.utc)
    areas = area_rows(scale, rng)
    with psycopg.connect(plain_url(url)) as conn:
        copy_rows(conn, "areas", ["id", "code", "name", "level", "parent_id", "path", "boundary",
                                  "centroid_lon", "centroid_lat", "created_at", "updated_at",
                                  "active"],
                  ((a["id"], a["code"], a["name"], a["level"], a["parent_id"], a["path"],
                    json.dumps(a["boundary"]), a["lon"], a["lat"], now, now, True) for a in areas))
        departments, users = [], []

        def department(name, kind, area_id):
            departments.append((len(departments) + 1, name, kind, area_id,
                                "010-6" + "".join(rng.choice("0123456789") for _ in range(7)), True))
            return len(departments)

        password_hash = generate_password_hash(PASSWORD, method=os.environ.get(
            "GRIDDESK_PASSWORD_HASH_METHOD", "scrypt"))

        def user(username, role, scope_id, department_id):
            phone = "13" + "".join(rng.choice("0123456789") for _ in range(9))
            users.append((len(users) + 1, username, person_name(rng), phone, password_hash, role,
                          scope_id, department_id, True, 0, now, 0))

        user("admin", "admin", None, None)
        by_id = {a["id"]: a for a in areas}
        for area in areas:
            level, code = area["level"], area["code"]
            if level == "district":
                centre = department(f"{area['name']}网格化服务管理指挥中心", "command_centre", area["id"])
                user(f"d{code}", "district_centre", area["id"], centre)
                for key, name, count in list(FUNCTIONAL) + [OTHER]:
                    dep = department(name.replace("云栖区", area["name"]),
                                     "other" if key == OTHER[0] else "functional", area["id"])
                    for n in range(1, count + 1):
                        user(f"{key}{code}_{n}", "handler", area["id"], dep)
            elif level == "street":
                centre = department(f"{area['name']}指挥中心", "command_centre", area["id"])
                user(f"s{code}", "street_centre", area["id"], centre)
            elif level == "community":
                office = department(f"{area['name']}居民委员会", "community_office", area["id"])
                area["office"] = office
                for k in (1, 2):
                    user(f"c{code}_{k}", "community_staff", area["id"], office)
            else:
                user(f"g{code}", "grid_worker", area["id"], by_id[area["parent_id"]]["office"])
        copy_rows(conn, "departments", ["id", "name", "kind", "area_id", "phone", "active"],
                  departments)
        copy_rows(conn, "users", ["id", "username", "display_name", "phone", "password_hash",
                                  "role", "scope_area_id", "department_id", "active",
                                  "failed_logins", "created_at", "session_version"], users)
        for table in ("areas", "departments", "users"):
            conn.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
    log(f"reference: {len(areas):,} areas ({scale.count('grids'):,} grids), "
        f"{len(departments):,} departments, {len(users):,} users")
    _seed_matrix_through_app()


def _seed_matrix_through_app() -> None:
    """Categories (the demo's tree), the district-wide rules per district, evaluation schemes."""
    from admin_app import create_app
    from demo.city import FUNCTIONAL, OTHER, RULES, City, _seed_categories
    from models import Area, AreaLevel, Department, db
    from models.evaluation.schemes import ensure_default_schemes
    from models.tickets.dispatch import check_dispatch_rule
    from models.tickets.dispatch_rules import DispatchRule

    app = create_app()
    names = {key: name for key, name, _count in list(FUNCTIONAL) + [OTHER]}
    with app.app_context():
        city = City(rng=random.Random(SEED), now=datetime.now(timezone.utc))
        _seed_categories(city)
        rules = 0
        for district in db.session.query(Area).filter(Area.level == AreaLevel.DISTRICT):
            deps = {d.name: d for d in db.session.query(Department).filter(
                Department.area_id == district.id)}
            for code, where, kind, key, handle, note in RULES:
                if where != "district" or (key and key not in names):
                    continue
                department = deps[names[key].replace("云栖区", district.name)] if key else None
                rule = DispatchRule(category=city.categories[code], area=district,
                                    responsible_kind=kind, department=department,
                                    handle_deadline=handle[0] if handle else None,
                                    handle_deadline_unit=handle[1] if handle else None,
                                    sort_order=100, note=note)
                check_dispatch_rule(rule)
                db.session.add(rule)
                rules += 1
        ensure_default_schemes()
        db.session.commit()
    log(f"reference: {len(city.categories)} categories, {rules} dispatch rules")


# ---- what the tickets are drawn from -------------------------------------------------------
@dataclass
class Model:
    grids: list[dict]  # id, community, street, district, lat, lon, name, worker, office, ...
    grid_cum: list[float]
    categories: list[dict]
    month_cum: dict[int, list[float]]
    owners: dict[tuple[int, int], tuple]  # (district, category) → (kind, department, level)
    people: dict[int, int]  # department → a person who takes its tickets
    street_user: dict[int, int]
    hour_cum: list[float]
    start: float  # epoch seconds of the first hour


SOURCES = [("patrol", 36), ("phone", 24), ("wechat", 18), ("web", 8), ("walk_in", 8), ("api", 6)]
PHRASES = ["已持续多日，影响周边居民正常生活", "早晚高峰尤为明显，居民多次反映",
           "存在安全隐患，请相关部门尽快核实处置", "现场照片已上传，请尽快派人查看",
           "之前反映过一次，目前仍未解决", "周边老人小孩较多，希望尽快处理",
           "夜间情况更严重，影响休息", "物业称不归其管理，请街道协调"]
TOD = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.0, 1.7, 1.1, 1.3, 1.8, 1.9, 1.8,
       1.5, 1.1, 0.9, 0.8, 0.6, 0.4, 0.25]  # local hour 0–23


def hours_of(amount: int, unit: str) -> float:
    """A deadline in calendar hours (working hours ≈ 1.5 h, a working day ≈ 1.4 days)."""
    return amount * {"natural_hours": 1.0, "working_hours": 1.5}.get(unit, 33.6)


def build_model(url: str, now: datetime) -> Model:
    os.environ["DATABASE_URL"] = app_url(url)
    from admin_app import create_app
    from demo.city import CATEGORY_TREE
    from demo.plans import SEASONALITY
    from models import Area, AreaLevel, Category, User, db
    from models.tickets.dispatch import resolve_owner

    weights = {code: w for _p, children in CATEGORY_TREE for code, _n, _l, _a, _h, _ph, w in children}
    app = create_app()
    with app.app_context():
        areas = {a.id: a for a in db.session.query(Area)}
        users = db.session.query(User.id, User.role, User.scope_area_id, User.department_id).all()
        worker = {u.scope_area_id: u.id for u in users if u.role.value == "grid_worker"}
        street_user = {u.scope_area_id: u.id for u in users if u.role.value == "street_centre"}
        people: dict[int, int] = {}
        for u in sorted(users, key=lambda u: u.id):
            if u.department_id and u.role.value != "grid_worker":
                people.setdefault(u.department_id, u.id)
        office = {}
        centre = {}
        from models import Department
        for dep in db.session.query(Department):
            if dep.kind.value == "community_office":
                office[dep.area_id] = dep.id
            elif dep.kind.value == "command_centre":
                centre[dep.area_id] = dep.id
        rng = random.Random(SEED + 1)
        grids = []
        for area in sorted((a for a in areas.values() if a.level == AreaLevel.GRID), key=lambda a: a.code):
            community = areas[area.parent_id]
            street = areas[community.parent_id]
            weight = math.exp(rng.gauss(0, 0.6)) * (6 if rng.random() < 0.02 else 1)
            grids.append({"id": area.id, "community": community.id, "street": street.id,
                          "district": street.parent_id, "lat": area.centroid_lat,
                          "lon": area.centroid_lon, "name": area.name, "worker": worker[area.id],
                          "office": office[community.id], "centre": centre[street.id],
                          "weight": weight})
        leaves = db.session.query(Category).filter(Category.parent_id.is_not(None)).all()
        categories = [{"id": c.id, "code": c.code, "name": c.name,
                       "accept_h": hours_of(c.accept_deadline, c.accept_deadline_unit.value),
                       "handle_h": hours_of(c.handle_deadline, c.handle_deadline_unit.value)}
                      for c in sorted(leaves, key=lambda c: c.code)]
        month_cum = {m: list(accumulate(weights.get(c["code"], 1) * SEASONALITY.get(c["code"], {})
                                        .get(m, 1.0) for c in categories)) for m in range(1, 13)}
        owners = {}
        first_grid = {}
        for g in grids:
            first_grid.setdefault(g["district"], g)
        for district_id, g in first_grid.items():
            for c, cat in zip(categories, leaves):
                owner = resolve_owner(cat, areas[g["id"]])
                dep = owner.department.id if owner.department else None
                if owner.user is not None and owner.user.id == g["worker"]:
                    kind = "grid_worker"
                elif dep == g["office"]:
                    kind = "office"
                elif dep == g["centre"]:
                    kind = "street"
                else:
                    kind = "department"
                owners[district_id, c["id"]] = (kind, dep, owner.level.value)
    start = (now - timedelta(days=365)).replace(minute=0, second=0, microsecond=0)
    hour_weights = []
    for h in range(365 * 24):
        moment = (start + timedelta(hours=h)).astimezone(LOCAL)
        season = 1.0 + 0.15 * math.sin((moment.month - 4) / 12 * 2 * math.pi)
        week = 0.75 if moment.weekday() >= 5 else 1.0
        hour_weights.append((1.0 + 0.4 * h / 8760) * season * week * TOD[moment.hour])
    return Model(grids=grids, grid_cum=list(accumulate(g["weight"] for g in grids)),
                 categories=categories, month_cum=month_cum, owners=owners, people=people,
                 street_user=street_user, hour_cum=list(accumulate(hour_weights)),
                 start=start.timestamp())


# ---- tickets -------------------------------------------------------------------------------
TICKET_COLUMNS = [
    "id", "number", "title", "description", "category_id", "priority", "source", "status",
    "district_id", "street_id", "community_id", "grid_id", "lat", "lon", "address",
    "location_flagged", "reporter_name", "reporter_phone", "tracking_code", "created_by_id",
    "assigned_department_id", "assigned_user_id", "current_level", "accept_deadline",
    "handle_deadline", "accepted_at", "submitted_at", "closed_at", "rating", "rated_at",
    "rating_source", "rework_count", "reopen_count", "submitted_by_id", "suspended_at",
    "resume_status", "warned_at", "overdue_at", "event_seq", "version", "created_at",
    "updated_at", "last_activity_at"]
EVENT_COLUMNS = ["ticket_id", "seq", "action", "actor_kind", "actor_user_id", "from_status",
                 "to_status", "to_user_id", "to_department_id", "note", "details", "created_at"]
N = "\\N"


_HOURS: dict[int, str] = {}


def ts(epoch: float | None) -> str:
    """COPY text of a UTC moment, to the second (an hour prefix cached: this runs ~15× a ticket)."""
    if epoch is None:
        return N
    seconds = int(epoch)
    hour, rest = divmod(seconds, 3600)
    prefix = _HOURS.get(hour)
    if prefix is None:
        prefix = _HOURS[hour] = datetime.fromtimestamp(hour * 3600, timezone.utc).strftime("%Y-%m-%d %H:")
    minute, second = divmod(rest, 60)
    return f"{prefix}{minute:02d}:{second:02d}+00"


_JSON = {}


def js(key: str, value) -> str:
    """A one-key JSON object (few distinct values: cached)."""
    text = _JSON.get((key, value))
    if text is None:
        text = _JSON[key, value] = json.dumps({key: value})
    return text


def status_at(rng: random.Random, age_days: float) -> str | None:
    """A stuck backlog: some older tickets are still open whatever their lifecycle says."""
    if age_days > 2 and rng.random() < 0.0035:
        r = rng.random()
        return ("pending" if r < 0.05 else "in_progress" if r < 0.6
                else "pending_review" if r < 0.8 else "suspended")
    return None


def ticket_lines(model: Model, first: int, count: int, total: int, base_id: int, now: float,
                 seed: int) -> tuple[list[str], list[str], int]:
    """The COPY lines of tickets ``first`` … ``first + count - 1`` (of ``total``)."""
    rng = random.Random(seed * 1_000_003 + first)
    tickets, events, open_count = [], [], 0
    span = model.hour_cum[-1]
    for k in range(first, first + count):
        tid = base_id + k + 1
        u = (k + rng.random()) / total * span
        h = bisect.bisect_left(model.hour_cum, u)
        created = min(model.start + h * 3600 + rng.random() * 3600, now - 60)
        local = datetime.fromtimestamp(created, LOCAL)
        cum = model.month_cum[local.month]
        cat = model.categories[bisect.bisect_left(cum, rng.random() * cum[-1])]
        g = model.grids[min(bisect.bisect_left(model.grid_cum, rng.random() * model.grid_cum[-1]),
                            len(model.grids) - 1)]
        r = rng.random() * 100
        source = next(s for s, w in _SOURCE_CUM if r < w)
        kind, dep, level = model.owners[g["district"], cat["id"]]
        if kind == "grid_worker":
            dep_id, owner_user, person = dep and g["office"], g["worker"], g["worker"]
        elif kind == "office":
            dep_id, owner_user = g["office"], None
            person = model.people[dep_id]
        elif kind == "street":
            dep_id, owner_user = g["centre"], None
            person = model.people[dep_id]
        else:
            dep_id, owner_user = dep, None
            person = model.people.get(dep_id, model.street_user[g["street"]])
        reviewer = model.street_user[g["street"]]
        accept_dl = created + cat["accept_h"] * 3600
        handle_dl = created + cat["handle_h"] * 3600
        late_a, late_h = rng.random() < 0.06, rng.random() < 0.08
        accepted = created + cat["accept_h"] * 3600 * (rng.uniform(1, 2) if late_a else rng.uniform(0.05, 0.9))
        submitted = accepted + (handle_dl - accepted) * (rng.uniform(1.05, 1.8) if late_h else rng.uniform(0.1, 0.95))
        if submitted <= accepted:
            submitted = accepted + 600
        closed = submitted + rng.uniform(0.5, 20) * 3600
        rated = rng.random() < 0.55 and source != "patrol"
        rated_at = closed + rng.uniform(1, 48) * 3600
        rating = rng.choices((1, 2, 3, 4, 5), (3, 4, 10, 30, 53))[0]
        invalid = rng.random() < 0.05
        status = status_at(rng, (now - created) / 86400)
        if status is None:
            if now < accepted:
                status = "pending"
            elif now < submitted:
                status = "suspended" if rng.random() < 0.1 else "in_progress"
            elif now < closed:
                status = "pending_review"
            else:
                status = "invalid" if invalid else "closed"
        if status in ("pending", "in_progress", "pending_review", "suspended"):
            open_count += 1
            accepted = min(accepted, now - 30)
            submitted = min(submitted, now - 20)
        if status == "closed" and rated and rated_at > now:
            rated = False
        creator = g["worker"] if source == "patrol" else (reviewer if source in ("phone", "walk_in") else None)
        phone = N if source == "patrol" else "13" + f"{int(400_000 * rng.random() ** 2.5):09d}"
        name = N if source == "patrol" else "市民"
        desc = f"群众反映：{g['name']}附近{cat['name']}问题，{PHRASES[tid % len(PHRASES)]}。"
        ev = [("create", "reporter" if creator is None else "user", creator, N, "pending", N, N,
               desc, js("source", source), created),
              ("dispatch", "system", None, "pending", "pending", owner_user, dep_id, N,
               js("level", level), created + 1)]
        last = created + 1
        acc = sub = clo = susp = warned = overdue = None
        if status == "pending":
            ev.append(("assign", "user", reviewer, "pending", "pending", person, dep_id, N, "{}",
                       created + 120))
            ev.append(("note", "user", person, "pending", "pending", person, dep_id, "已联系报告人",
                       "{}", created + 240))
            last = created + 240
        else:
            ev.append(("accept", "user", person, "pending", "in_progress", person, dep_id, N,
                       js("in_time", accepted <= accept_dl), accepted))
            acc, last = accepted, accepted
            if status == "in_progress":
                ev.append(("note", "user", person, "in_progress", "in_progress", person, dep_id,
                           "已到现场查看", "{}", accepted + 60))
                last = accepted + 60
            elif status == "suspended":
                susp = accepted + 7200 if accepted + 7200 < now else accepted + 1
                ev.append(("suspend", "user", person, "in_progress", "suspended", person, dep_id,
                           "等待配合单位", "{}", susp))
                last = susp
            elif status == "invalid":
                clo = submitted
                ev.append(("invalidate", "user", reviewer, "in_progress", "invalid", person, dep_id,
                           "经核实不属实", "{}", clo))
                last = clo
            else:
                ev.append(("submit", "user", person, "in_progress", "pending_review", person,
                           dep_id, "已处理完毕", js("in_time", submitted <= handle_dl),
                           submitted))
                sub, last = submitted, submitted
                if status == "closed":
                    ev.append(("approve", "user", reviewer, "pending_review", "closed", person,
                               dep_id, N, js("in_time", submitted <= handle_dl), closed))
                    clo, last = closed, closed
                    if rated:
                        ev.append(("rate", "reporter", None, "closed", "closed", person, dep_id,
                                   N, js("rating", rating), rated_at))
                        last = rated_at
        if status in ("in_progress", "pending_review") and now > created + (handle_dl - created) * 0.8:
            warned = created + (handle_dl - created) * 0.8
        if (status in ("pending", "in_progress") and now > handle_dl) or \
                (status == "closed" and submitted > handle_dl):
            overdue = handle_dl + 60
        is_rated = status == "closed" and rated
        row = [
            tid, f"GD{local:%Y%m%d}{tid:08d}", f"{cat['name']}：{g['name']}"[:40], desc,
            cat["id"], "urgent" if tid % 40 == 0 else "normal", source, status,
            g["district"], g["street"], g["community"], g["id"],
            round(g["lat"] + (rng.random() - 0.5) * 0.0008, 7),
            round(g["lon"] + (rng.random() - 0.5) * 0.001, 7), f"{g['name']}附近", "f",
            name, phone, f"S{tid:011d}", creator if creator else N, dep_id if dep_id else N,
            person, level, ts(accept_dl), ts(handle_dl), ts(acc), ts(sub), ts(clo),
            rating if is_rated else N, ts(rated_at) if is_rated else N,
            "reporter" if is_rated else N, 0, 0, person if sub else N, ts(susp),
            "in_progress" if susp else N, ts(warned), ts(overdue), len(ev), 1,
            ts(created), ts(last), ts(last)]
        tickets.append("\t".join(N if v is None else str(v) for v in row))
        for seq, (action, actor_kind, actor, frm, to, to_user, to_dep, note, details, at) in \
                enumerate(ev, start=1):
            events.append("\t".join((str(tid), str(seq), action, actor_kind,
                                     N if actor is None else str(actor), frm, to,
                                     N if to_user is None else str(to_user),
                                     N if to_dep is None else str(to_dep), note, details, ts(at))))
    return tickets, events, open_count


_SOURCE_CUM = list(zip([s for s, _ in SOURCES],
                       accumulate(w * 100 / sum(w for _, w in SOURCES) for _, w in SOURCES)))
_SOURCE_CUM[-1] = (_SOURCE_CUM[-1][0], 101)


def secondary_indexes(conn, tables=("tickets", "ticket_events")) -> list[list[str]]:
    return [list(r) for r in conn.execute("""
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s) AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname""", (list(tables),)).fetchall()]


def load_tickets(url: str, scale: Scale, model: Model, now: float) -> dict:
    chunks = math.ceil(scale.tickets / scale.chunk)
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        done = progress(conn, "chunks_done", 0)
        if done >= chunks:
            return {}
        base_id = progress(conn, "base_id")
        if base_id is None:
            base_id = max(conn.execute("SELECT coalesce(max(id), 0) FROM tickets").fetchone()[0], 1000)
            set_progress(conn, "base_id", base_id)
            set_progress(conn, "now", now)
        now = progress(conn, "now")
        if progress(conn, "indexes") is None:
            defs = secondary_indexes(conn)
            with conn.transaction():
                set_progress(conn, "indexes", defs)
                for name, _definition in defs:
                    conn.execute(f'DROP INDEX "{name}"')
            log(f"dropped {len(defs)} secondary indexes for the load")
        conn.execute("SET session_replication_role = replica")  # FK checked afterwards
        conn.execute("SET synchronous_commit = off")
        started, rows_done = time.perf_counter(), 0
        for chunk in range(done, chunks):
            first = chunk * scale.chunk
            count = min(scale.chunk, scale.tickets - first)
            tickets, events, _open = ticket_lines(model, first, count, scale.tickets, base_id,
                                                  now, SEED)
            with conn.transaction():
                with conn.cursor() as cur:
                    for table, columns, lines in (("tickets", TICKET_COLUMNS, tickets),
                                                  ("ticket_events", EVENT_COLUMNS, events)):
                        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
                            for i in range(0, len(lines), 5000):
                                cp.write(("\n".join(lines[i:i + 5000]) + "\n").encode())
                set_progress(conn, "chunks_done", chunk + 1)
            rows_done += count
            rate = rows_done / (time.perf_counter() - started)
            left = (scale.tickets - first - count) / rate
            log(f"tickets {first + count:>11,} / {scale.tickets:,} ({(chunk + 1) / chunks:5.1%}), "
                f"{rate:,.0f}/s, ~{left / 60:.1f} min left")
        conn.execute("SET session_replication_role = origin")
    return {"load_s": round(time.perf_counter() - started, 1)}


def finish_load(url: str) -> None:
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        defs = progress(conn, "indexes") or []
        existing = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
        conn.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in defs:
            if name not in existing:
                t0 = time.perf_counter()
                conn.execute(definition)
                log(f"index {name}: {time.perf_counter() - t0:.1f} s")
        for table in ("tickets", "ticket_events"):
            conn.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        log("VACUUM (ANALYZE) …")
        conn.execute("VACUUM (ANALYZE) tickets")
        conn.execute("VACUUM (ANALYZE) ticket_events")
        conn.execute("ANALYZE")


CHECKS = [
    ("tickets.grid lineage", """SELECT count(*) FROM tickets t WHERE NOT EXISTS
        (SELECT 1 FROM areas a JOIN areas c ON c.id = a.parent_id JOIN areas s ON s.id = c.parent_id
         WHERE a.id = t.grid_id AND c.id = t.community_id AND s.id = t.street_id
           AND s.parent_id = t.district_id)"""),
    ("tickets.users", """SELECT count(*) FROM tickets t WHERE EXISTS (SELECT 1 FROM unnest(ARRAY[
        t.assigned_user_id, t.created_by_id, t.submitted_by_id]) u(id) WHERE u.id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM users x WHERE x.id = u.id))"""),
    ("tickets.department", """SELECT count(*) FROM tickets t WHERE assigned_department_id IS NOT
        NULL AND NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = t.assigned_department_id)"""),
    ("events replay to the ticket", """SELECT count(*) FROM tickets t JOIN (
        SELECT DISTINCT ON (ticket_id) ticket_id, seq, to_status, to_user_id, to_department_id
        FROM ticket_events ORDER BY ticket_id, seq DESC) e ON e.ticket_id = t.id
        WHERE e.seq <> t.event_seq OR e.to_status <> t.status
           OR e.to_user_id IS DISTINCT FROM t.assigned_user_id
           OR e.to_department_id IS DISTINCT FROM t.assigned_department_id"""),
]


def verify(url: str) -> dict:
    with psycopg.connect(plain_url(url)) as conn:
        conn.execute("SET work_mem = '256MB'")
        bad = {name: conn.execute(sql).fetchone()[0] for name, sql in CHECKS}
    log(f"reference checks (bad rows): {bad}")
    if any(bad.values()):
        raise SystemExit(f"the synthetic city is inconsistent: {bad}")
    return bad


def rebuild_rollups(url: str, batch: int = 5000, workers: int | None = None) -> None:
    """The statistics rollups from every ticket: the facts of each ticket from the project's own
    ``models.stats.rollups._new_facts`` (``ticket_facts``, the one definition of what counts),
    written with COPY; then the daily sums as one GROUP BY of the facts — what
    ``rollups.rebuild`` would write, without its row-by-row upserts (hours at city scale).
    The facts are folded by one process per core, each over its own stripe of ticket ids;
    resumable by ticket id per stripe."""
    import multiprocessing

    from models.stats.tables import DIMENSIONS, MEASURES

    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        stripes = progress(conn, "facts_stripes")
        if stripes is None:
            stripes = _id_stripes(conn, workers or os.cpu_count() or 1)
            with conn.transaction():
                conn.execute("TRUNCATE stats_facts, stats_daily, stats_pending")
                set_progress(conn, "facts_stripes", stripes)
    with multiprocessing.get_context("spawn").Pool(len(stripes)) as pool:
        pool.starmap(_fold_stripe, [(url, k, low, high, batch)
                                    for k, (low, high) in enumerate(stripes)])
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        if not progress(conn, "daily_done"):
            sums = ", ".join(f"sum({m})" for m in MEASURES)
            nonzero = " OR ".join(f"sum({m}) <> 0" for m in MEASURES)
            conn.execute("SET work_mem = '512MB'")
            conn.execute("SET maintenance_work_mem = '1GB'")
            with conn.transaction():
                conn.execute("TRUNCATE stats_daily")
                # ~0.9 daily rows per fact: built without the six scope indexes, which are then
                # built in one sorted pass each (dropped and made again in this transaction)
                defs = secondary_indexes(conn, ("stats_daily",))
                for name, _definition in defs:
                    conn.execute(f'DROP INDEX "{name}"')
                t0 = time.perf_counter()
                conn.execute(f"""INSERT INTO stats_daily (day, {', '.join(DIMENSIONS)}, {', '.join(MEASURES)})
                    SELECT day, {', '.join(DIMENSIONS)}, {sums} FROM stats_facts
                    GROUP BY day, {', '.join(DIMENSIONS)} HAVING {nonzero}""")
                log(f"daily sums: {time.perf_counter() - t0:.0f} s")
                for name, definition in defs:
                    t0 = time.perf_counter()
                    conn.execute(definition)
                    log(f"index {name}: {time.perf_counter() - t0:.1f} s")
                set_progress(conn, "daily_done", True)
            conn.execute("VACUUM (ANALYZE) stats_facts")
            conn.execute("VACUUM (ANALYZE) stats_daily")
        if not progress(conn, "monthly_done"):
            t0 = time.perf_counter()
            _monthly_sums()
            conn.execute("VACUUM (ANALYZE) stats_monthly")
            set_progress(conn, "monthly_done", True)
            log(f"monthly sums: {time.perf_counter() - t0:.0f} s")
        rows = conn.execute("SELECT count(*) FROM stats_daily").fetchone()[0]
        months = conn.execute("SELECT count(*) FROM stats_monthly").fetchone()[0]
        log(f"rollups: {rows:,} daily rows, {months:,} monthly rows")


def _monthly_sums() -> None:
    """The monthly rows from the daily ones, as the app sums them (``refresh_months``)."""
    import sqlalchemy as sa

    from admin_app import create_app
    from models import db
    from models.stats.rollups import refresh_months
    from models.stats.tables import StatsDaily

    with create_app().app_context():
        first, last = db.session.execute(
            sa.select(sa.func.min(StatsDaily.day), sa.func.max(StatsDaily.day))).one()
        if first is not None:
            db.session.execute(sa.text("SET LOCAL work_mem = '512MB'"))
            refresh_months(first, last)
            db.session.commit()


def _id_stripes(conn, count: int) -> list[list[int]]:
    """``count`` ranges (low, high] of ticket ids with about as many tickets each."""
    total = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    bounds = [0]
    for k in range(1, count):
        row = conn.execute("SELECT id FROM tickets ORDER BY id OFFSET %s LIMIT 1",
                           (total * k // count,)).fetchone()
        if row and row[0] > bounds[-1]:
            bounds.append(row[0])
    bounds.append(conn.execute("SELECT coalesce(max(id), 0) FROM tickets").fetchone()[0])
    return [[low, high] for low, high in zip(bounds, bounds[1:]) if high > low]


def _fold_stripe(url: str, k: int, low: int, high: int, batch: int) -> None:
    """One process's stripe of ticket ids (low, high]: their facts, COPYed batch by batch."""
    from admin_app import create_app
    from models import db
    from models.stats.rollups import _new_facts
    from models.stats.tables import DIMENSIONS, MEASURES

    columns = ["ticket_id", "seq", "day", *DIMENSIONS, *MEASURES]
    app = create_app()
    with psycopg.connect(plain_url(url), autocommit=True) as conn, app.app_context():
        _freeze_calendar()
        key = f"facts_upto_id_{k}"
        last_id = progress(conn, key) or low
        total = conn.execute("SELECT count(*) FROM tickets WHERE id > %s AND id <= %s",
                             (last_id, high)).fetchone()[0]
        started, done = time.perf_counter(), 0
        while True:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM tickets WHERE id > %s AND id <= %s ORDER BY id LIMIT %s",
                (last_id, high, batch))]
            if not ids:
                break
            facts = _new_facts(ids)
            db.session.rollback()
            with conn.transaction():
                copy_rows(conn, "stats_facts", columns,
                          ([f.get(c) or 0 for c in columns] for f in facts))
                set_progress(conn, key, ids[-1])
            last_id, done = ids[-1], done + len(ids)
            if done % (batch * 10) == 0 or len(ids) < batch:
                rate = done / (time.perf_counter() - started)
                log(f"rollup facts, stripe {k + 1}: "
                    f"{done:,} / {total:,} tickets, {rate:,.0f}/s, "
                    f"~{(total - done) / rate / 60:.1f} min left")


def _freeze_calendar() -> None:
    """In this process only: one WorkCalendar for the whole rebuild (the calendar does not change
    while the city is built; the app builds it anew from every day of the table per ticket)."""
    from models.tickets import deadlines

    calendar = deadlines.work_calendar()
    deadlines.work_calendar = lambda: calendar


def upgrade_schema(url: str) -> None:
    """Bring a city built by an earlier commit to this commit's migrations, as a deployment
    would (new indexes at city scale take a while)."""
    env = dict(os.environ, DATABASE_URL=app_url(url), GRIDDESK_SCHEDULER_IN_PROCESS="0")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "run.py"), "init-db"], cwd=ROOT, check=True,
                   env=env, stdout=subprocess.DEVNULL)
    log(f"schema at this commit's migrations ({time.perf_counter() - t0:.1f} s)")


def generation_state(url: str) -> dict:
    """The timings so far and whether the city is complete, without building anything."""
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        return {**progress(conn, "timings", {}), "complete": bool(progress(conn, "done")),
                "rollups_done": bool(progress(conn, "daily_done"))}


def generate(url: str, scale: Scale, fresh: bool = False) -> dict:
    """Build (or continue building) the synthetic city in ``url``; returns timings."""
    os.environ["DATABASE_URL"] = app_url(url)
    os.environ.setdefault("GRIDDESK_SCHEDULER_IN_PROCESS", "0")
    ensure_database(url, fresh)
    timings: dict[str, float] = {}
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_progress (key text PRIMARY KEY, value jsonb)")
        recorded = progress(conn, "scale")
        if recorded and recorded != scale.name:
            raise SystemExit(f"this database holds the {recorded} scale; use --fresh or another URL")
        set_progress(conn, "scale", scale.name)
        if progress(conn, "done"):
            log(f"the {scale.name} city is complete in this database")
            return progress(conn, "timings", {})
        timings = progress(conn, "timings", {})
    t0 = time.perf_counter()
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        stage = progress(conn, "reference")
    if not stage:
        with psycopg.connect(plain_url(url), autocommit=True) as conn:
            if conn.execute("SELECT to_regclass('areas') IS NOT NULL").fetchone()[0] and \
                    conn.execute("SELECT count(*) FROM areas").fetchone()[0]:
                raise SystemExit("a previous run stopped while writing the reference data; "
                                 "start again with --fresh")
        subprocess.run([sys.executable, str(ROOT / "run.py"), "init-db"], cwd=ROOT, check=True,
                       env=dict(os.environ), stdout=subprocess.DEVNULL)
        build_reference(url, scale)
        with psycopg.connect(plain_url(url), autocommit=True) as conn:
            set_progress(conn, "reference", True)
        timings["reference_s"] = round(time.perf_counter() - t0, 1)
    model = build_model(url, datetime.now(timezone.utc))
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        now = progress(conn, "now") or time.time()
    timings.update(load_tickets(url, scale, model, now))
    for step, call in (("indexes_vacuum_s", finish_load), ("verify_s", verify),
                       ("rollups_s", rebuild_rollups)):
        t1 = time.perf_counter()
        call(url)
        timings[step] = round(time.perf_counter() - t1, 1)
        with psycopg.connect(plain_url(url), autocommit=True) as conn:
            set_progress(conn, "timings", timings)
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        set_progress(conn, "done", True)
    log(f"the {scale.name} city is ready: {timings}")
    return timings
