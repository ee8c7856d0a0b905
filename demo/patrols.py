"""Patrol rounds of the last weeks: grid workers walking their grids through the patrol operations
(start, route points, check-ins with a photo, end with a summary). The patrol reports of those
weeks were made on a round of that day, so they are linked to it; some grids go unpatrolled, so
the coverage page has something to show."""
from __future__ import annotations

import math
import random
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from shapely.geometry import Point

from demo.city import City, Grid
from demo.photos import _pictures
from models.base import db
from models.clock import local_zone, to_local
from models.patrol.rounds import add_route_points, check_in, end_round, start_round
from models.patrol.route import MAX_POINTS_PER_REQUEST
from models.patrol.tables import PatrolReport
from models.tickets.attachments import Upload
from models.tickets.tables import Ticket
from models.vocabulary import AttachmentKind, Source

SEED = 20261216
DAYS = 21
STEP_SECONDS = 20
SUMMARIES = ["沿主路和小区内部道路巡查一圈，整体情况良好。", "重点查看了垃圾投放点和消防通道。",
             "发现的问题已现场上报，其余正常。", "雨后巡查积水点，排水基本通畅。", None]
PLACES = ["垃圾分类投放点", "消防通道", "小区东门", "沿街商铺", "非机动车停放点", "健身广场"]


AWAY_GRIDS = 2  # workers on leave this past week: their grids show as unpatrolled, whatever
AWAY_DAYS = 7   # the year's tickets happen to hold (their patrol reports stay without a round)


def seed_patrols(city: City) -> int:
    """Rounds in the last DAYS days; returns how many. Runs after the tickets (it links them)."""
    rng = random.Random(SEED)
    reports = _patrol_reports(city)
    walked = [g for g in city.grids if city.grid_worker.get(g.area.id) is not None]
    away = {g.area.id for g in random.Random(SEED + 1).sample(walked, min(AWAY_GRIDS, len(walked)))}
    count = 0
    for grid in walked:
        worker = city.grid_worker[grid.area.id]
        diligence = rng.choice([0.0, 0.08, 0.25, 0.45, 0.6])  # some grids are rarely walked
        for back in range(DAYS, 0, -1):
            day = (to_local(city.now) - timedelta(days=back)).date()
            found = reports.get((worker.id, day), [])
            if (found or rng.random() < diligence) and not (grid.area.id in away
                                                             and back <= AWAY_DAYS):
                count += _walk(city, rng, grid, worker, day, found)
    return count


def _patrol_reports(city: City) -> dict:
    since = city.now - timedelta(days=DAYS + 1)
    tickets = db.session.execute(sa.select(Ticket).where(
        Ticket.source == Source.PATROL, Ticket.created_at >= since,
        Ticket.created_by_id.is_not(None)).order_by(Ticket.created_at)).scalars()
    found: dict = {}
    for ticket in tickets:
        found.setdefault((ticket.created_by_id, to_local(ticket.created_at).date()), []).append(ticket)
    return found


def _walk(city: City, rng: random.Random, grid: Grid, worker, day, found: list[Ticket]) -> bool:
    """Walk one round of that day (False: it would not have ended yet)."""
    if found:
        start = min(t.created_at for t in found) - timedelta(minutes=rng.randint(10, 40))
        end = max(t.created_at for t in found) + timedelta(minutes=rng.randint(10, 30))
    else:
        start = datetime.combine(day, time(rng.randint(8, 15), rng.randint(0, 59)), local_zone())
        end = start
    end = max(end, start + timedelta(minutes=rng.randint(35, 80)))
    if end > city.now:
        return False
    patrol = start_round(worker, now=start)
    points = _route(rng, grid, start, end)
    for first in range(0, len(points), MAX_POINTS_PER_REQUEST):
        add_route_points(worker, patrol.id, points[first:first + MAX_POINTS_PER_REQUEST], now=end)
    for _ in range(rng.randint(1, 3)):
        at = points[rng.randrange(len(points))]
        picture = Upload(kind=AttachmentKind.OTHER, filename="打卡.jpg",
                         data=rng.choice(_pictures()))
        check_in(worker, patrol.id, photo=picture, lon=at["lon"], lat=at["lat"],
                 place=rng.choice(PLACES), note=rng.choice([None, "正常", "已提醒商户整改"]),
                 now=datetime.fromtimestamp(at["t"] / 1000, tz=start.tzinfo))
    for ticket in found:
        db.session.add(PatrolReport(ticket_id=ticket.id, round=patrol, reported_at=ticket.created_at))
    end_round(worker, patrol.id, summary=rng.choice(SUMMARIES), now=end)
    return True


def _route(rng: random.Random, grid: Grid, start: datetime, end: datetime) -> list[dict]:
    """A walk at 1–1.5 m/s that stays inside the grid, a point every STEP_SECONDS."""
    polygon = grid.polygon
    min_x, min_y, max_x, max_y = polygon.bounds
    lon, lat = polygon.representative_point().x, polygon.representative_point().y
    heading = rng.uniform(0, 2 * math.pi)
    points, at = [], start
    while at <= end:
        points.append({"lon": lon, "lat": lat, "t": at.timestamp() * 1000, "accuracy": 10})
        metres = rng.uniform(1.0, 1.5) * STEP_SECONDS
        for _ in range(8):
            heading += rng.uniform(-0.5, 0.5)
            dlon = metres * math.cos(heading) / (111_320 * math.cos(math.radians(lat)))
            dlat = metres * math.sin(heading) / 110_540
            if polygon.contains(Point(lon + dlon, lat + dlat)):
                lon, lat = lon + dlon, lat + dlat
                break
            heading += math.pi / 2
        at += timedelta(seconds=STEP_SECONDS)
    return points
