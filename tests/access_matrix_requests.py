"""The request the access matrix sends for each row: the URL's ids filled with objects inside or
outside the caller's scope, and for state-changing requests a body that would be valid there
(so that "allowed" changes something and "refused" changes nothing)."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from models import DispatchRule, Ticket, User, db


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(buffer, "JPEG")
    return buffer.getvalue()


PHOTO = jpeg()


@dataclass
class Req:
    method: str
    url: str
    data: dict | None = None
    json: dict | None = None
    api: bool = False  # a bearer token instead of the session
    environ: dict | None = None
    headers: dict = field(default_factory=dict)

# Variables of a rule that name something a user owns or that lies in an area.
SCOPED_VARIABLES = {"token", "ticket_id", "attachment_id", "task_id", "job_id", "notification_id",
                    "round_id", "check_in_id"}
CONVERTER = re.compile(r"<(?:[^:<>]+(?:\([^)]*\))?:)?([a-z_]+)>")


def rules_of(app) -> set[tuple[str, str]]:
    """Every (method, rule) the app answers, without HEAD/OPTIONS and the static files."""
    found = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method, rule.rule))
    return found


def variables(rule: str) -> list[str]:
    return CONVERTER.findall(rule)


class Ctx:
    """One request being built: the caller, inside or outside, and the objects made for it."""

    def __init__(self, world, callers_state, caller: str, inside: bool, fresh: bool):
        self.world, self.state = world, callers_state
        self.caller, self.inside, self.fresh = caller, inside, fresh
        self._ticket = None
        self.for_task = False

    @property
    def ticket(self) -> Ticket:
        if self._ticket is None:
            caller = self.caller
            if self.for_task and caller == "handler" and self.inside:
                caller = "gridworker"  # a case the handler's department co-handles
            self._ticket = self.world.ticket(caller, self.inside, self.fresh)
        return self._ticket

    @property
    def user(self) -> User | None:
        return None if self.caller == "anonymous" else db.session.get(
            User, self.world.ids[self.caller])

    def owner(self) -> str:
        """Whose personal object (export, notification, upload) the request names."""
        if self.inside and self.caller != "anonymous":
            return self.caller
        return "spare" if self.caller != "spare" else "admin"

    def value(self, name: str, rule: str):
        w = self.world
        if name == "ticket_id":
            return self.ticket.id
        if name == "attachment_id":
            return w.attachment(self.ticket)
        if name == "task_id":
            return w.task(self.ticket, self.inside)
        if name == "job_id":
            return self.state["jobs"][self.owner()]
        if name == "notification_id":  # a new one: reading it is the change
            found = self.world.notification(db.session.get(User, self.world.ids[self.owner()]))
            db.session.commit()
            return found
        if name in ("round_id", "check_in_id"):
            owner = self.caller if self.inside and self.caller == "gridworker" else (
                "gridworker" if self.inside else "far")
            return self.state["rounds" if name == "round_id" else "check_ins"][owner]
        if name == "token":
            if rule.startswith("/open311"):
                return self.state["tracking_code"]
            return self.state["ledgers"].get(self.owner(), self.state["ledgers"]["spare"])
        if name == "code":
            if rule.startswith("/lang"):
                return "zh"
            if rule.startswith("/open311"):
                return w.live().categories["garbage"].code
            return self.state["tracking_code"]
        if name == "service_request_id":
            return self.ticket.number
        return FIXED[name](self)


FIXED = {
    "export_type": lambda c: "csv",
    "action_name": lambda c: "note",
    "action": lambda c: "note",
    "step": lambda c: "note" if c.caller == "handler" else "close",
    "kind": lambda c: "edit",
    "key": lambda c: "grid",
    "mode": lambda c: "import",
    "channel": lambda c: "webhook",
    "rule_id": lambda c: c.world.rule_id,
    "fmt": lambda c: "json",
    "size": lambda c: "thumbnail",
    "filename": lambda c: "css/griddesk.css",
    "rest": lambda c: "nothing.json",
}


def url_of(rule: str, ctx: Ctx) -> str:
    def fill(match):
        return str(ctx.value(match.group(1), rule))
    return CONVERTER.sub(fill, rule)


# --- bodies of the state-changing requests --------------------------------------------------
def from_req(**kwargs) -> Req:
    return Req(**kwargs)


def note_body(c: Ctx) -> dict:
    return {"note": "矩阵测试", "version": str(c.ticket.version)}


def api_action(c: Ctx, url: str) -> object:
    return from_req(method="POST", url=url, api=True,
                    json={"note": "矩阵测试", "version": c.ticket.version})


SPECIAL = {}


def special(method: str, rule: str):
    def register(fn):
        SPECIAL[(method, rule)] = fn
        return fn
    return register


@special("POST", "/admin/ticket/act/<int:ticket_id>/<action_name>")
def _admin_act(c, url):
    return from_req(method="POST", url=url, data=note_body(c))


@special("POST", "/admin/ticket/task/<int:ticket_id>/<int:task_id>/<step>")
def _admin_task(c, url):
    return from_req(method="POST", url=url, data=note_body(c))


@special("POST", "/admin/ticket/supervision/<int:ticket_id>/<step>")
def _admin_supervise(c, url):
    url = url.rsplit("/", 1)[0] + "/supervise"
    return from_req(method="POST", url=url, data={
        "level": "supervise", "note": "请尽快处理", "version": str(c.ticket.version),
        "expected_by": (date.today() + timedelta(days=3)).isoformat()})


@special("POST", "/api/v1/tickets/<int:ticket_id>/actions/<action>")
def _api_act(c, url):
    return api_action(c, url)


@special("POST", "/api/v1/tickets/<int:ticket_id>/tasks/<int:task_id>/actions/<action>")
def _api_task(c, url):
    step = "note" if c.caller == "handler" else "close"
    return api_action(c, url.rsplit("/", 1)[0] + "/" + step)


@special("POST", "/api/v1/tickets/<int:ticket_id>/actions/supervise")
def _api_supervise(c, url):
    return from_req(method="POST", url=url, api=True, json={
        "level": "supervise", "note": "请尽快处理", "version": c.ticket.version,
        "expected_by": (date.today() + timedelta(days=3)).isoformat()})


@special("POST", "/api/v1/tickets/<int:ticket_id>/actions/co_handle")
def _api_co_handle(c, url):
    water = c.world.live().departments["water"]  # 区水务局: every manager of the district may call it
    return from_req(method="POST", url=url, api=True, json={
        "version": c.ticket.version, "department_ids": [water.id], "note": "请协助处理积水"})


@special("POST", "/api/v1/tickets/<int:ticket_id>/actions/lift_supervision")
def _api_lift(c, url):
    c.world.supervise(c.ticket)
    return api_action(c, url)


@special("POST", "/api/v1/tickets/<int:ticket_id>/actions/supervision_reply")
def _api_reply(c, url):
    c.world.supervise(c.ticket)
    return api_action(c, url)


@special("POST", "/api/v1/tickets/<int:ticket_id>/attachments")
def _api_attach(c, url):
    return from_req(method="POST", url=url, api=True, data={
        "kind": "other", "note": "现场照片", "file": (io.BytesIO(PHOTO), "scene.jpg")})


@special("POST", "/api/v1/tickets")
def _api_create(c, url):
    grid = c.world.live().areas["grid1"]
    return from_req(method="POST", url=url, api=True, json={
        "category": c.world.live().categories["garbage"].code, "title": "矩阵上报",
        "description": "垃圾桶满溢", "lat": grid.centroid_lat, "lon": grid.centroid_lon})


@special("POST", "/api/v1/auth/token")
def _api_token(c, url):
    return from_req(method="POST", url=url, api=True, json={
        "username": "spare", "password": "demo12345"})


@special("POST", "/m/api/tickets/<int:ticket_id>/actions/<action>")
def _m_act(c, url):
    return from_req(method="POST", url=url, data=note_body(c))


@special("POST", "/m/api/tickets/<int:ticket_id>/tasks/<int:task_id>/actions/<action>")
def _m_task(c, url):
    return from_req(method="POST", url=url, data=note_body(c))


@special("POST", "/m/api/reports")
def _m_report(c, url):
    grid = c.world.live().areas["grid1"]
    return from_req(method="POST", url=url, data={
        "category_id": str(c.world.live().categories["garbage"].id), "description": "垃圾桶满溢",
        "lat": str(grid.centroid_lat), "lon": str(grid.centroid_lon)})


@special("POST", "/report")
def _public_report(c, url):
    grid = c.world.live().areas["grid1"]
    n = c.world.next_serial()  # each resident their own address and phone (limits per sender)
    return from_req(method="POST", url=url, environ={"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250}"},
                    data={"category_id": str(c.world.live().categories["garbage"].id),
                          "description": "垃圾桶满溢了", "lat": str(grid.centroid_lat),
                          "lon": str(grid.centroid_lon), "phone": f"139{n:08d}"})


@special("POST", "/open311/v2/requests.<any(json, xml):fmt>")
def _open311_post(c, url):
    grid = c.world.live().areas["grid1"]
    return from_req(method="POST", url=url, api=True, data={
        "api_key": c.state["api_key"], "service_code": c.world.live().categories["garbage"].code,
        "description": "垃圾桶满溢", "lat": str(grid.centroid_lat),
        "long": str(grid.centroid_lon)})


@special("POST", "/track/<code>/<any(rate, reopen):action>")
def _track(c, url):
    code = c.state["closed_code_fn"]()
    return from_req(method="POST", url=f"/track/{code}/rate", data={
        "rating": "5", "note": "很好", "version": str(c.state["closed"]["ticket"].version)})


@special("POST", "/login")
def _login(c, url):
    return from_req(method="POST", url=url, data={"username": "spare", "password": "demo12345"})


@special("POST", "/admin/ticket/edit/")
def _ticket_edit(c, url):
    t = c.ticket
    return from_req(method="POST", url=f"{url}?id={t.id}", data={
        "title": "矩阵改题", "priority": t.priority.value, "description": t.description or "x",
        "expected_version": str(t.version)})


@special("POST", "/admin/ticket/new/")
def _ticket_new(c, url):
    grid = c.world.live().areas["grid1"]
    return from_req(method="POST", url=url, data={
        "source": "phone", "category_id": str(c.world.live().categories["garbage"].id),
        "title": "矩阵热线", "description": "垃圾桶满溢", "area_id": str(grid.id),
        "lat": str(grid.centroid_lat), "lon": str(grid.centroid_lon), "priority": "normal",
        "reporter_name": "李四", "reporter_phone": "13900002222", "confirm": "1"})


@special("POST", "/admin/ticket/action/")
def _ticket_list_action(c, url):
    c.world.submit_for_review(c.ticket)  # so that a reviewer's bulk approval closes it
    return from_req(method="POST", url=url, data={"action": "bulk_approve",
                                                   "rowid": str(c.ticket.id)})


@special("POST", "/admin/ledger/<token>/step/<mode>")
def _ledger_step(c, url):
    """The import of the caller's uploaded sheet, its columns mapped (its one row lies in 甲一网格)."""
    return from_req(method="POST", url=url, data={
        "restart": "1", "map_date": "0", "map_place": "1", "map_description": "2",
        "map_category": "3", "map_grid": "4"})


@special("POST", "/admin/evaluation/publish")
def _publish(c, url):
    """Each caller publishes a month of their own (a published month cannot be published twice)
    for their own area (the administrator: the whole system)."""
    user = c.user
    area = user.scope_area.code if user is not None and user.scope_area is not None else ""
    return from_req(method="POST", url=url, data={
        "month": c.world.unpublished_month(), "role": "grid_worker", "area": area})


@special("POST", "/m/patrol/<int:round_id>/points")
def _points(c, url):
    grid = c.world.live().areas["grid1"]
    return from_req(method="POST", url=url, json={"points": c.world.route_points(grid)},
                    headers={"Idempotency-Key": f"matrix-points-{c.world.next_serial()}"})


@special("POST", "/m/patrol/<int:round_id>/report")
def _patrol_report(c, url):
    grid = c.world.live().areas["grid1"]
    return from_req(method="POST", url=url, data={
        "category_id": str(c.world.live().categories["garbage"].id), "note": "巡查发现垃圾堆放",
        "lon": str(grid.centroid_lon), "lat": str(grid.centroid_lat),
        "photo": (io.BytesIO(PHOTO), "found.jpg")})


@special("POST", "/admin/ticket/bulk/<kind>")
def _ticket_bulk(c, url):
    return from_req(method="POST", url=url, data={"ids": str(c.ticket.id), "priority": "urgent",
                                                   "note": "矩阵更正"})


@special("GET", "/admin/ticket/bulk/<kind>")
def _ticket_bulk_get(c, url):
    return from_req(method="GET", url=f"{url}?ids={c.ticket.id}")


@special("GET", "/admin/ticket/filter-options/<key>")
def _filter_options(c, url):
    return from_req(method="GET", url=f"{url}?q=%E7%BD%91%E6%A0%BC")  # 网格


def _grid1_point(c) -> str:
    grid = c.world.live().areas["grid1"]
    return f"lon={grid.centroid_lon}&lat={grid.centroid_lat}"


@special("GET", "/api/v1/areas/lookup")
def _lookup(c, url):
    return from_req(method="GET", url=f"{url}?{_grid1_point(c)}", api=True)


@special("GET", "/report/grids.geojson")
def _grids(c, url):
    return from_req(method="GET", url=f"{url}?bbox=119.9,29.9,120.1,30.1")


@special("GET", "/report/nearby")
def _nearby(c, url):
    garbage = c.world.live().categories["garbage"].id
    return from_req(method="GET", url=f"{url}?{_grid1_point(c)}&category_id={garbage}")


@special("GET", "/admin/stats/figure/")
def _figure(c, url):
    return from_req(method="GET", url=f"{url}?measure=returned")


@special("GET", "/static/<path:filename>")
def _static(c, url):
    return from_req(method="GET", url="/static/css/griddesk.css")


@special("GET", "/admin/static/<path:filename>")
def _admin_static(c, url):
    return from_req(method="GET", url="/admin/static/admin/css/bootstrap4/admin.css")


@special("POST", "/m/patrol/<int:round_id>/check-in")
def _check_in(c, url):
    grid = c.world.live().areas["grid1"]
    return from_req(method="POST", url=url, data={
        "lon": str(grid.centroid_lon), "lat": str(grid.centroid_lat), "note": "打卡",
        "photo": (io.BytesIO(PHOTO), "a.jpg")})


@special("POST", "/m/patrol/<int:round_id>/end")
def _end_round(c, url):
    return from_req(method="POST", url=url, data={"summary": "巡查结束"})


@special("POST", "/admin/ticket/export-all/")
def _export_all(c, url):
    return from_req(method="POST", url=url, data={})


def model_view(c: Ctx, method: str, rule: str):
    """Flask-Admin's generated URLs: ?id= of a ticket (scoped) or of a configuration record."""
    view, verb = re.match(r"/admin/([a-z_]+)/([a-z]+)?", rule).groups()
    record = c.ticket.id if view == "ticket" else c.world.record(view)
    if verb in ("details", "edit") and method == "GET":
        return from_req(method="GET", url=f"{rule}?id={record}")
    if verb == "delete":  # a record the history points at: deactivated, never deleted
        record = c.ticket.id if view == "ticket" else c.world.referenced(view)
        return from_req(method="POST", url=rule, data={"id": str(record)})
    if verb == "action":
        return from_req(method="POST", url=rule, data={"action": "deactivate",
                                                       "rowid": str(record)})
    if verb == "ajax" and "lookup" in rule:
        return from_req(method="GET", url=f"{rule}?name=area&query=")
    if verb == "ajax":
        return from_req(method="POST", url=rule, data={"list_form_pk": str(record), "title": "x"})
    if verb in ("edit", "new") and method == "POST":
        body = c.world.config_body(view, verb)
        url = f"{rule}?id={record}" if verb == "edit" else rule
        return from_req(method="POST", url=url, data=body)
    return None


def build(row, world, caller: str, inside: bool):
    """(the request, the number of a ticket its answer must not show)."""
    ctx = Ctx(world, world.state, caller, inside, fresh=row.method != "GET")
    ctx.for_task = "task_id" in row.rule
    url = url_of(row.rule, ctx) if "<" in row.rule else row.rule
    maker = SPECIAL.get((row.method, row.rule))
    req = maker(ctx, url) if maker else None
    if req is None and row.rule.startswith("/admin/") and re.match(
            r"/admin/[a-z_]+/(details|edit|delete|action|ajax|new)/", row.rule):
        req = model_view(ctx, row.method, row.rule)
    if req is None:
        api = row.rule.startswith(("/api/", "/open311/"))
        req = from_req(method=row.method, url=url, api=api,
                       data=None if row.method == "GET" or api else {})
    hidden = world.fixed_number(caller) if caller != "admin" else None
    if not inside and ctx._ticket is not None and caller != "admin":
        hidden = ctx._ticket.number
    return req, hidden


def ledger_file(owner: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["日期", "地址", "问题描述", "类别", "网格"])
    sheet.append(["2026-03-01", "测试路1号", f"垃圾桶满溢（{owner}的台账）", "垃圾清运", "甲一网格"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def closed_ticket(world) -> Ticket:
    from models import TicketStatus

    from .factories import make_ticket

    live = world.live()
    ticket = make_ticket(live, "grid1", assignee=live.users["gridworker"],
                         status=TicketStatus.CLOSED)
    db.session.commit()
    return ticket


def prepare(world, callers) -> None:
    """The objects that belong to someone: exports, notifications, ledger uploads, patrol rounds,
    a closed ticket with its tracking code, an integration's key."""
    from integrations.ledger.importer import StoredLedger
    from models import ApiClient
    from models.patrol import rounds
    from models.people.api_clients import hash_token
    from models.tickets.attachments import Upload
    from models.vocabulary import AttachmentKind


    state = {"jobs": {}, "notifications": {}, "ledgers": {}, "rounds": {}, "check_ins": {}}
    world.state = state
    world.rule_id = db.session.execute(sa.select(DispatchRule.id)).scalars().first()
    people = ("admin", "district", "street", "community", "gridworker", "handler", "leader",
              "spare")
    for name in people:
        user = db.session.get(User, world.ids[name])
        state["jobs"][name] = world.export_job(user)
        state["notifications"][name] = world.notification(user)
        state["ledgers"][name] = StoredLedger.create(ledger_file(name), "台账.xlsx", user).token
    for name in ("gridworker", "far"):
        worker = db.session.get(User, world.ids[name])
        patrol = rounds.start_round(worker)
        grid = worker.scope_area
        db.session.flush()
        photo = Upload(AttachmentKind.OTHER, "a.jpg", PHOTO)
        point = rounds.check_in(worker, patrol.id, photo=photo,
                                lon=grid.centroid_lon, lat=grid.centroid_lat, note="打卡")
        db.session.flush()
        state["rounds"][name], state["check_ins"][name] = patrol.id, point.id
    db.session.add(ApiClient(name="热线系统", token_hash=hash_token("matrix-key"),
                             token_hint="matrix"))
    state["api_key"] = "matrix-key"
    db.session.commit()
    state["tracking_code"] = db.session.get(Ticket, world.fixed[("gridworker", True)]).tracking_code
    closed = {}

    def closed_code():
        closed["ticket"] = closed_ticket(world)
        return closed["ticket"].tracking_code

    state["closed"] = closed
    state["closed_code_fn"] = closed_code
