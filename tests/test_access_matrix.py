"""Who may do what, everywhere: every rule of the real app's url_map, for every role, with an
id inside the caller's scope and one outside it (tests/access_matrix.py is the table).

A rule without a row fails (and a row without a rule). Each answer is checked for its status
and for its effect: a state-changing request that is refused changes nothing, an allowed one
changes something, and an answer about something outside the scope never shows its number.
`GD_MATRIX_PRINT=1 pytest tests/test_access_matrix.py -s` prints the answers the app gives
today in the table's own notation, to write the row of a new endpoint (decide it by DESIGN.md,
not by copying).
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from models import (Attachment, AttachmentKind, Category, Department, DepartmentKind,
                    DispatchRule, ResponsibleKind, Role, Ticket, User, db)
from models.notify.outbox import Notification
from models.tickets.attachments import Upload, save_attachment

from .access_matrix import CALLERS, ROWS, Expected, parse
from .access_matrix_requests import PHOTO, Req, build, prepare, rules_of
from .conftest import login, session_csrf_token, wipe
from .factories import World as FactoryWorld
from .factories import add_area, add_user, build_world, make_ticket, square

# The resident's pages and Open311 are public by design: anyone may read what they show.
PUBLIC = ("/open311/", "/report", "/track")
PRINT = bool(os.environ.get("GD_MATRIX_PRINT"))
TEXT_SHOWN = int(os.environ.get("GD_MATRIX_TEXT", "300"))  # of each answer, with GD_MATRIX_PRINT=2
# Bookkeeping that a refused request may write (a failed sign-in is counted, a token issued,
# the answer kept for a retry with the same Idempotency-Key).
UNTRACKED = {"login_throttles", "report_counts", "work_calendar_days", "alembic_version",
             "ticket_number_counters", "idempotency_records"}


class World:
    """The factories' world and a second district, with one object of each kind the URLs name,
    inside and outside each caller's scope."""

    def __init__(self, app):
        from models.areas.locate import invalidate_area_index

        self.app = app
        invalidate_area_index()
        w = build_world()
        far = add_area(w, "district2", "T02", "远区", w.areas["district"].level, None,
                       square(121.0, 31.0, 0.01, 0.01))
        s = add_area(w, "far_street", "T0201", "远街道", w.areas["street1"].level, far,
                     square(121.0, 31.0, 0.01, 0.01))
        c = add_area(w, "far_community", "T020101", "远社区", w.areas["community1"].level, s,
                     square(121.0, 31.0, 0.01, 0.01))
        add_area(w, "far_grid", "T02010101", "远网格", w.areas["grid1"].level, c,
                 square(121.0, 31.0, 0.01, 0.01))
        add_user(w, "spare", Role.GRID_WORKER, w.areas["grid2"])
        add_user(w, "far", Role.GRID_WORKER, w.areas["far_grid"])
        w.departments["water"] = Department(name="区水务局", kind=DepartmentKind.FUNCTIONAL,
                                            area=w.areas["district"])
        db.session.add(w.departments["water"])
        # What the configuration forms change (the rest of the world stays as it is)
        add_user(w, "edited", Role.GRID_WORKER, w.areas["grid2"])
        add_area(w, "edited", "T010102", "待改社区", w.areas["community1"].level,
                 w.areas["street1"])
        w.departments["edited"] = Department(name="待改部门", kind=DepartmentKind.OTHER,
                                             area=w.areas["district"])
        w.categories["edited"] = Category(code="99", name="待改类别")
        db.session.add_all([w.departments["edited"], w.categories["edited"]])
        db.session.add(DispatchRule(category=w.categories["garbage"], area=w.areas["district"],
                                    responsible_kind=ResponsibleKind.GRID_WORKER))
        db.session.flush()
        self.w = w
        self.ids = {key: u.id for key, u in w.users.items()}
        self.keys = {"areas": {k: a.id for k, a in w.areas.items()},
                     "departments": {k: d.id for k, d in w.departments.items()},
                     "categories": {k: c.id for k, c in w.categories.items()}}
        self.fixed = {(caller, inside): self.new_ticket(caller, inside)
                      for caller in CALLERS for inside in (True, False)}
        db.session.commit()

    # --- tickets ----------------------------------------------------------------------------
    def live(self) -> FactoryWorld:
        """The world's objects in the current session (each request has its own)."""
        from models import Area, Category, Department

        live = FactoryWorld()
        live.users = {k: db.session.get(User, i) for k, i in self.ids.items()}
        live.areas = {k: db.session.get(Area, i) for k, i in self.keys["areas"].items()}
        live.departments = {k: db.session.get(Department, i)
                            for k, i in self.keys["departments"].items()}
        live.categories = {k: db.session.get(Category, i)
                           for k, i in self.keys["categories"].items()}
        return live

    def new_ticket(self, caller: str, inside: bool) -> int:
        w = self.live()
        users, depts = w.users, w.departments
        if inside:
            if caller == "handler":
                t = make_ticket(w, "grid1", assignee=users["handler"],
                                department=depts["sanitation"])
            else:
                t = make_ticket(w, "grid1", assignee=users["gridworker"])
        elif caller in ("street", "community"):
            t = make_ticket(w, "grid3", department=depts["office2"])
        elif caller == "gridworker":
            t = make_ticket(w, "grid2", assignee=users["gridworker2"])
        elif caller == "handler":
            t = make_ticket(w, "grid1", assignee=users["gridworker"], department=depts["office1"])
        else:
            t = make_ticket(w, "far_grid", department=depts["sanitation"], title="远区垃圾")
        self.add_photo(t)
        db.session.flush()
        return t.id

    def add_photo(self, ticket: Ticket) -> None:
        """A photo on the ticket's creation: stored once, the later ones point at the same file."""
        created = ticket.events[0]
        stored = getattr(self, "stored_photo", None)
        if stored is None:
            item = save_attachment(ticket, created, Upload(AttachmentKind.BEFORE, "scene.jpg",
                                                           PHOTO), None)
            db.session.flush()
            self.stored_photo = {k: getattr(item, k) for k in (
                "kind", "stored_path", "thumbnail_path", "sha256", "mime", "size", "width",
                "height", "original_name")}
        else:
            db.session.add(Attachment(ticket_id=ticket.id, event_id=created.id, **stored))

    def ticket(self, caller: str, inside: bool, fresh: bool) -> Ticket:
        if fresh:
            ticket_id = self.new_ticket(caller, inside)
            db.session.commit()
        else:
            ticket_id = self.fixed[(caller, inside)]
        return db.session.get(Ticket, ticket_id)

    def record(self, view: str) -> object:
        """The id of a configuration record a generated admin URL names."""
        from models import ApiClient
        from models.notify.outbox import NotificationTemplate
        from models.audit import ConfigChange

        w = self.w
        found = {
            "area": lambda: self.keys["areas"]["edited"],
            "department": lambda: self.keys["departments"]["edited"],
            "user": lambda: self.ids["edited"],
            "category": lambda: self.keys["categories"]["edited"],
            "dispatchrule": lambda: self.rule_id,
            "calendar": lambda: "2026-10-01",
            "notification": lambda: self.state["notifications"]["spare"],
            "notifytemplate": lambda: self.template_id(),
            "apiclient": lambda: db.session.execute(sa.select(ApiClient.id)).scalars().first(),
            "configchange": lambda: db.session.execute(
                sa.select(ConfigChange.id)).scalars().first(),
        }
        return found[view]()

    def template_id(self) -> int:
        """A custom message template (the world has none until one is made)."""
        from models.notify.outbox import NotificationTemplate
        from models.vocabulary import Channel

        found = db.session.execute(sa.select(NotificationTemplate.id)).scalars().first()
        if found is None:
            template = NotificationTemplate(event_kind="dispatch", channel=Channel.IN_APP,
                                            subject="新工单：{{ number }}", body="{{ title }}",
                                            active=True)
            db.session.add(template)
            db.session.commit()
            found = template.id
        return found

    def referenced(self, view: str) -> object:
        """A record that tickets, users or rules point at (to delete)."""
        return {"area": self.keys["areas"]["community1"],
                "department": self.keys["departments"]["office1"],
                "category": self.keys["categories"]["garbage"],
                }.get(view) or self.record(view)

    def next_serial(self) -> int:
        self.serial = getattr(self, "serial", 0) + 1
        return self.serial

    def config_body(self, view: str, verb: str) -> dict:
        """A valid form of the configuration view (administrators only)."""
        n = self.next_serial()
        district = str(self.keys["areas"]["district"])
        if view == "calendar" and verb == "edit":  # 2026-10-01 stays the holiday it is
            return {"day": "2026-10-01", "note": f"国庆节（矩阵{n}）"}
        bodies = {
            "dispatchrule": {"category": str(self.keys["categories"]["edited"]),
                             "area": district, "responsible_kind": "department",
                             "department": str(self.keys["departments"]["water"]),
                             "sort_order": str(n), "active": "y", "note": f"矩阵规则{n}"},
            "apiclient": {"name": f"矩阵对接系统{n}", "active": "y"},
            "calendar": {"day": (date(2031, 1, 1) + timedelta(days=n)).isoformat(),
                         "is_workday": "y", "note": f"矩阵{n}"},
            "notifytemplate": {"event_kind": "reopen",  # one template per event and channel
                               "channel": ("in_app", "email", "webhook", "wecom", "dingtalk")[n % 5],
                               "subject": f"矩阵模板{n}：{{{{ number }}}}",
                               "body": "工单 {{ number }} 已受理", "active": "y"},
            "department": {"name": f"矩阵部门{n}", "kind": "functional",
                           "area": str(self.keys["areas"]["district"]), "active": "y"},
            "area": {"code": f"T0199{n:02d}", "name": f"矩阵社区{n}", "level": "community",
                     "parent": str(self.keys["areas"]["street1"]), "active": "y"},
            "category": {"code": f"09{n:02d}", "name": f"矩阵类别{n}", "active": "y"},
            "user": {"username": f"matrix{n}", "display_name": f"矩阵{n}", "role": "leader",
                     "scope_area": str(self.keys["areas"]["district"]),
                     "new_password": "Matrix12345!",
                     "active": "y"},
        }
        return bodies.get(view, {"note": "矩阵"})

    def submit_for_review(self, ticket: Ticket) -> None:
        """The ticket's handler submits it: it waits for a reviewer."""
        from models import TicketStatus
        from models.tickets.timeline import append_event

        handler = ticket.assigned_user
        if ticket.status == TicketStatus.PENDING:
            append_event(ticket, "accept", actor=handler, to_status=TicketStatus.IN_PROGRESS)
        append_event(ticket, "submit", actor=handler, to_status=TicketStatus.PENDING_REVIEW)
        db.session.commit()

    def unpublished_month(self) -> str:
        self.months = getattr(self, "months", 0) + 1
        year, month = divmod(self.months - 1, 12)
        return f"{2024 - year}-{month + 1:02d}"

    def route_points(self, grid) -> list:
        """Three points 30 m apart, a few seconds after the last batch (a walk, not a jump)."""
        import time

        self.route_clock = max(getattr(self, "route_clock", 0), time.time()) + 10
        return [[grid.centroid_lon + 0.0003 * ((self.route_clock + i) % 7), grid.centroid_lat,
                 int((self.route_clock + 3 * i) * 1000), 8] for i in range(3)]

    def fixed_number(self, caller: str) -> str:
        """The number of the caller's ticket outside their scope (admins have none)."""
        return db.session.get(Ticket, self.fixed[(caller, False)]).number

    def task(self, ticket: Ticket, inside: bool) -> int:
        """A co-handling task on the ticket: of the handler's department (区环卫中心) inside,
        of another department outside."""
        from models.tickets.cohandling import add_co_handlers, ticket_tasks
        from models.tickets.actions import Actor

        tasks = ticket_tasks(ticket.id)
        if not tasks:
            admin = db.session.get(User, self.ids["admin"])
            helper = self.keys["departments"]["sanitation" if inside else "water"]
            add_co_handlers(ticket, Actor.staff(admin), department_ids=[helper], note="协办")
            db.session.commit()
            tasks = ticket_tasks(ticket.id)
        return tasks[0].id

    def supervise(self, ticket: Ticket) -> None:
        from models.tickets.supervision import current_supervision, supervise

        if current_supervision(ticket) is None:
            supervise(ticket, db.session.get(User, self.ids["admin"]), level="supervise",
                      note="督办", expected_by=(date.today() + timedelta(days=3)).isoformat(),
                      expected_version=ticket.version)
            db.session.commit()

    def export_job(self, user: User) -> int:
        from models.exports.jobs import queue_export

        return queue_export(user, "tickets", {}).id

    def notification(self, user: User) -> int:
        from models.vocabulary import Channel, NotificationState

        item = Notification(recipient_user_id=user.id, channel=Channel.IN_APP, template="test",
                            payload={}, dedupe_key=f"matrix-{user.id}-{self.next_serial()}",
                            state=NotificationState.SENT)
        db.session.add(item)
        db.session.flush()
        return item.id

    def attachment(self, ticket: Ticket) -> int:
        return db.session.execute(sa.select(Attachment.id).where(
            Attachment.ticket_id == ticket.id)).scalars().first()


def snapshot() -> tuple:
    """What a request may change: the number of rows of every table, the tickets' versions,
    the notifications read, the users' sessions and states (one query)."""
    from models import User
    from models.patrol.tables import PatrolRound

    columns = [sa.select(sa.func.count()).select_from(t).scalar_subquery()
               for t in db.metadata.sorted_tables if t.name not in UNTRACKED]
    columns += [
        sa.select(sa.func.coalesce(sa.func.sum(Ticket.version), 0)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.read_at.is_not(None)).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.sum(User.session_version), 0)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(User).where(User.active.is_(True)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(PatrolRound).where(
            PatrolRound.ended_at.is_not(None)).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.sum(PatrolRound.point_count), 0)).scalar_subquery(),
    ]
    values = tuple(db.session.execute(sa.select(*columns)).one())
    db.session.rollback()
    return values


def body_text(response) -> str:
    data = response.get_data()
    if data[:2] == b"PK":  # a workbook: its strings
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return " ".join(book.read(n).decode("utf-8", "replace") for n in book.namelist()
                            if n.endswith(".xml"))
    return data.decode("utf-8", "replace")


class Callers:
    """A signed-in browser and an API token per role, signed in once."""

    def __init__(self, app):
        self.app = app
        self.browsers, self.tokens = {}, {}
        for caller in CALLERS:
            self.browsers[caller] = self.sign_in(caller)
            if caller != "anonymous":
                answer = app.test_client().post("/api/v1/auth/token", json={
                    "username": caller, "password": "demo12345"})
                self.tokens[caller] = answer.get_json()["token"]

    def sign_in(self, caller: str):
        client = self.app.test_client()
        if caller != "anonymous":
            assert login(client, caller).status_code == 302, caller
        return client

    def sign_in_again(self, caller: str) -> None:
        """After a request that ended sessions (signing out ends every session of the user)."""
        self.browsers[caller] = self.sign_in(caller)
        if caller != "anonymous":
            answer = self.app.test_client().post("/api/v1/auth/token", json={
                "username": caller, "password": "demo12345"})
            self.tokens[caller] = answer.get_json()["token"]

    def send(self, caller: str, req: Req, *, fresh_client: bool = False):
        client = self.sign_in(caller) if fresh_client else self.browsers[caller]
        headers = dict(req.headers)
        if req.api:
            client = self.app.test_client()
            if caller != "anonymous":
                headers["Authorization"] = f"Bearer {self.tokens[caller]}"
        data = req.data
        if req.method != "GET" and not req.api and data is not None:
            data = {"csrf_token": session_csrf_token(client), **data}
            headers.setdefault("X-CSRFToken", data["csrf_token"])
        elif req.method != "GET" and not req.api and req.json is not None:
            headers.setdefault("X-CSRFToken", session_csrf_token(client))
        return client.open(req.url, method=req.method, data=data, json=req.json, headers=headers,
                           environ_overrides=req.environ)


@pytest.fixture(scope="module")
def matrix(app):
    from models.calendar import WorkCalendarDay
    from models.tickets.deadlines import invalidate_calendar

    with app.app_context():
        wipe()
        calendar = [dict(row._mapping) for row in db.session.execute(
            sa.select(WorkCalendarDay.__table__))]
        world = World(app)
        callers = Callers(app)
        prepare(world, callers)
        yield world, callers
        db.session.rollback()
        # The calendar outlives wipe(): put back the days the calendar forms changed.
        db.session.execute(sa.delete(WorkCalendarDay))
        db.session.execute(sa.insert(WorkCalendarDay), calendar)
        db.session.commit()
        invalidate_calendar()
        wipe()


def test_every_rule_has_a_row_and_every_row_a_rule(app):
    present = rules_of(app)
    listed = {(row.method, row.rule) for row in ROWS}
    missing = sorted(present - listed)
    stale = sorted(listed - present)
    assert not missing, "no row in tests/access_matrix.py for: " + "; ".join(
        f"{m} {r}" for m, r in missing)
    assert not stale, "rows for rules the app no longer has: " + "; ".join(
        f"{m} {r}" for m, r in stale)


def answer_token(response, before: tuple) -> str:
    status = response.status_code
    if status == 302 and "/login" in response.headers.get("Location", "") \
            and "next=" in response.headers.get("Location", ""):
        token = "login"
    else:
        token = str(status)
    return token + ("*" if snapshot() != before else "")


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.rule}")
def test_access_matrix(matrix, row):
    world, callers = matrix
    expected: Expected = parse(row.expect)
    got, problems = {}, []
    for caller in CALLERS:
        answers = []
        for inside in ((True, False) if row.scoped else (True,)):
            with world.app.app_context():
                req, outside_number = build(row, world, caller, inside)
                before = snapshot()
            with world.app.app_context():
                response = callers.send(caller, req, fresh_client=row.fresh_client)
            with world.app.app_context():
                token = answer_token(response, before)
            answers.append(token)
            if os.environ.get("GD_MATRIX_PRINT") == "2":
                text = " ".join(re.sub(r"<[^>]+>", " ", body_text(response)).split())
                print(f"  {caller} {'in' if inside else 'out'} {req.method} {req.url} → {token}"
                      f" {response.headers.get('Location', '')} {text[:TEXT_SHOWN]}")
            if outside_number and not row.rule.startswith(PUBLIC) \
                    and outside_number in body_text(response):
                problems.append(f"{caller}: the answer shows {outside_number}, outside the scope")
            if response.status_code >= 500:
                problems.append(f"{caller}: {response.status_code}")
        if row.fresh_client:
            callers.sign_in_again(caller)
        got[caller] = "/".join(answers) if len(set(answers)) > 1 or not row.scoped \
            else answers[0]
    if PRINT:
        for problem in problems:
            print("    # PROBLEM", problem)
        print(f'\n    Row("{row.method}", "{row.rule}", "{" ".join(got[c] for c in CALLERS)}"'
              + (", scoped=True" if row.scoped else "") + "),")
        return
    for caller in CALLERS:
        want = expected[caller]
        have = got[caller]
        if "/" in want and "/" not in have:
            have = f"{have}/{have}"
        if "/" in have and "/" not in want:
            want = f"{want}/{want}"
        if want != have:
            problems.append(f"{caller}: expected {want}, got {have}")
    assert not problems, f"{row.method} {row.rule}: " + "; ".join(problems)
