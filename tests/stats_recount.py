"""An independent recount of the statistics indicators, straight from tickets and events.

Written apart from models/stats (which it never calls): plain SELECTs of the rows, then plain
Python following the definitions in models/stats/definitions.py. Tests compare its figures with
the ones the rollups give.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from models import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
RUNNING = {"pending", "in_progress", "pending_review"}
FROM_OWNER = {"approve", "reject", "return", "escalate", "reopen", "merge", "invalidate"}


def is_closure(e) -> bool:
    """审核通过, or a ledger row imported as closed (its historical closed date)."""
    return e.action == "approve" or (e.action == "import" and e.to_status == "closed")


def rated_after(timeline, index: int) -> bool:
    """Whether a rating came after the closure at ``index`` and before it was reopened."""
    for later in timeline[index + 1:]:
        if later.action in ("reopen", "approve") or is_closure(later):
            return False
        if later.action in ("rate", "follow_up") and _details(later).get("rating") \
                and not _details(later).get("reporter_id"):
            return True
    return False


def load():
    """(tickets by id, events by ticket id in order) read with simple SELECTs."""
    tickets = {row.id: row for row in db.session.execute(sa.text(
        "SELECT id, district_id, street_id, community_id, grid_id, category_id, source, status, "
        "accept_deadline, handle_deadline, assigned_user_id, assigned_department_id, "
        "created_by_id FROM tickets"))}
    events = defaultdict(list)
    for row in db.session.execute(sa.text(
            "SELECT ticket_id, seq, action, to_status, created_at, details, actor_user_id, "
            "from_user_id, to_user_id, from_department_id, to_department_id "
            "FROM ticket_events ORDER BY ticket_id, seq")):
        events[row.ticket_id].append(row)
    return tickets, events


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))


def _details(row) -> dict:
    import json

    value = row.details
    if isinstance(value, str):
        value = json.loads(value)
    return value or {}


def local_day(moment) -> date:
    return _aware(moment).astimezone(SHANGHAI).date()


class Workdays:
    def __init__(self) -> None:
        self.days = {(d if isinstance(d, date) else date.fromisoformat(str(d)[:10])): bool(w)
                     for d, w in db.session.execute(sa.text(
                         "SELECT day, is_workday FROM work_calendar_days"))}
        self.periods = current_app.config.get("GRIDDESK_WORK_PERIODS") or (
            ((9, 0), (12, 0)), ((13, 30), (17, 30)))

    def seconds(self, start: datetime, end: datetime) -> float:
        total = 0.0
        start, end = _aware(start).astimezone(SHANGHAI), _aware(end).astimezone(SHANGHAI)
        day = start.date()
        while day <= end.date():
            if self.days.get(day, day.weekday() < 5):
                for begin, finish in self.periods:
                    b = datetime(day.year, day.month, day.day, begin.hour if hasattr(begin, "hour") else begin[0],
                                 begin.minute if hasattr(begin, "minute") else begin[1], tzinfo=SHANGHAI)
                    f = datetime(day.year, day.month, day.day, finish.hour if hasattr(finish, "hour") else finish[0],
                                 finish.minute if hasattr(finish, "minute") else finish[1], tzinfo=SHANGHAI)
                    overlap = (min(end, f) - max(start, b)).total_seconds()
                    total += max(0.0, overlap)
            day += timedelta(days=1)
        return total


def facts(tickets, events, workdays: Workdays) -> list[dict]:
    """One dict per counted thing: day, place, owner and what it counts."""
    out = []
    for ticket_id, timeline in events.items():
        ticket = tickets[ticket_id]
        place = dict(district=ticket.district_id, street=ticket.street_id,
                     community=ticket.community_id, grid=ticket.grid_id,
                     category=ticket.category_id)
        reported = [e for e in timeline if e.action in ("create", "import")][:1]
        for index, e in enumerate(timeline):
            owner = ((e.from_department_id, e.from_user_id)
                     if e.action in FROM_OWNER or is_closure(e)
                     else (e.to_department_id, e.to_user_id))
            base = dict(place, day=local_day(e.created_at), department=owner[0] or 0,
                        assignee=owner[1] or 0)
            d = _details(e)
            kinds = []
            if reported and e is reported[0]:
                kinds.append("received")
                if ticket.source == "patrol" and e.actor_user_id:
                    out.append(dict(base, department=0, assignee=e.actor_user_id,
                                    kind="patrol_found"))
            if e.action in ("dispatch", "assign", "transfer", "escalate") and (
                    e.to_department_id or e.to_user_id):
                out.append(dict(base, department=e.to_department_id or 0,
                                assignee=e.to_user_id or 0, kind="dispatched"))
            simple = {"reject": "rework", "return": "returned", "escalate": "escalated",
                      "reopen": "reopened", "overdue": "overdue_marked", "merge": "merged",
                      "invalidate": "invalidated"}
            if e.action in simple:
                kinds.append(simple[e.action])
            if e.action == "accept":
                kinds.append("accepted")
                if d.get("in_time", True):
                    kinds.append("accepted_in_time")
            if is_closure(e):
                kinds.append("closed")
                if d.get("in_time", True):
                    kinds.append("closed_in_time")
                if rated_after(timeline, index):
                    kinds.append("closed_rated")
                natural = working = 0.0
                for before, after in zip(timeline[:index], timeline[1:index + 1]):
                    if before.to_status in RUNNING:
                        natural += (_aware(after.created_at) - _aware(before.created_at)).total_seconds()
                        working += workdays.seconds(before.created_at, after.created_at)
                base = dict(base, natural=natural, working=working)
            if e.action in ("rate", "follow_up") and d.get("rating"):
                stars = int(d["rating"])
                kinds.append("rated")
                kinds.append("rated_by_reporter" if e.action == "rate" else "follow_ups")
                if stars >= 4:
                    kinds.append("satisfied")
                base = dict(base, stars=stars)
            if e.action in ("co_handle", "task_submit") and d.get("department_id"):
                # A co-handling task counts for its own department (and the person acting).
                task = dict(base, department=int(d["department_id"]),
                            assignee=e.actor_user_id or 0)
                if e.action == "co_handle":
                    out.append(dict(task, kind="co_handled"))
                else:
                    out.append(dict(task, kind="co_handled_done"))
                    if d.get("in_time", True):
                        out.append(dict(task, kind="co_handled_in_time"))
            for kind in kinds:
                out.append(dict(base, kind=kind))
    return out


def figures(rows: list[dict]) -> dict:
    """The indicators of a set of recounted facts."""
    count = defaultdict(int)
    for row in rows:
        count[row["kind"]] += 1
    stars = [row["stars"] for row in rows if row["kind"] == "rated"]
    closures = [row for row in rows if row["kind"] == "closed"]

    def ratio(a, b):
        return a / b if b else None

    natural = [r["natural"] for r in closures]
    working = [r["working"] for r in closures]
    result = {k: count[k] for k in (
        "received", "dispatched", "accepted", "accepted_in_time", "closed", "closed_in_time",
        "rework", "returned", "reopened", "escalated", "rated", "rated_by_reporter",
        "follow_ups", "merged", "invalidated", "patrol_found", "co_handled", "co_handled_done",
        "co_handled_in_time")}
    result.update(
        ever_overdue=count["overdue_marked"],
        response_rate=ratio(count["accepted_in_time"], count["accepted"]),
        on_time_rate=ratio(count["closed_in_time"], count["closed"]),
        overdue_rate=ratio(count["closed"] - count["closed_in_time"], count["closed"]),
        rework_rate=ratio(count["rework"], count["rework"] + count["closed"]),
        return_rate=ratio(count["returned"], count["dispatched"]),
        satisfaction_rate=ratio(count["satisfied"], count["rated"]),
        average_rating=ratio(sum(stars), len(stars)),
        rating_coverage=ratio(count["closed_rated"], count["closed"]),
        avg_hours=ratio(sum(natural), len(natural) * 3600),
        median_hours=median(natural) / 3600 if natural else None,
        avg_work_hours=ratio(sum(working), len(working) * 3600),
        median_work_hours=median(working) / 3600 if working else None,
        co_handled_on_time_rate=ratio(count["co_handled_in_time"], count["co_handled_done"]),
    )
    return result


def overdue_now(tickets, now: datetime, keep=lambda t: True) -> int:
    """Open tickets past the deadline their clock runs against (pending: acceptance; in
    progress or waiting for review: handling; suspended: none)."""
    total = 0
    for t in tickets.values():
        if not keep(t):
            continue
        deadline = (t.accept_deadline if t.status == "pending" else
                    t.handle_deadline if t.status in ("in_progress", "pending_review") else None)
        if deadline is not None and _aware(deadline) < now:
            total += 1
    return total


def compare(got: dict, expected: dict, what: str = "") -> None:
    """Every recounted indicator equals the rollups' (seconds rounded: durations are whole
    seconds in the rollups)."""
    import pytest

    for code, value in expected.items():
        if value is None or isinstance(value, int):
            assert got[code] == value, f"{what} {code}: {got[code]} != {value}"
        else:
            tolerance = 2 / 3600 if "hours" in code else 1e-9
            assert got[code] == pytest.approx(value, abs=tolerance), \
                f"{what} {code}: {got[code]} != {value}"
