"""Patrol operations: start a round, record its route, check in, report on the way, end it.

Only the worker's own open round can be changed, and a worker has one open round at a time.
Every refusal is an ActionInvalid/ActionForbidden/Conflict with a message and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from models.areas.coordinates import WGS84
from models.base import db, utcnow
from models.categories import Category
from models.errors import ActionForbidden, ActionInvalid, Conflict
from models.people.roles import PATROLLING_ROLES
from models.people.user import User
from models.patrol.route import check_position, check_times, extend_route, parse_points
from models.patrol.tables import PatrolCheckIn, PatrolReport, PatrolRound
from models.tickets.attachments import Upload, open_thumbnail, photo_storage, store_photo
from models.tickets.intake import Report, report_ticket
from models.tickets.tables import Ticket
from models.vocabulary import AreaLevel, AttachmentKind, Source

MAX_NOTE = 500
MAX_SUMMARY = 2000


@dataclass(frozen=True)
class RoundSummary:
    duration: timedelta
    distance_m: float
    check_ins: int
    problems: int


def open_round_of(worker: User) -> PatrolRound | None:
    return db.session.execute(sa.select(PatrolRound).where(
        PatrolRound.open_worker_id == worker.id)).scalar_one_or_none()


def start_round(worker: User, *, now: datetime | None = None) -> PatrolRound:
    now = now or utcnow()
    if not worker.active or worker.role not in PATROLLING_ROLES:
        raise ActionForbidden(_("Only grid workers walk patrol rounds."))
    grid = worker.scope_area
    if grid is None or grid.level != AreaLevel.GRID or not grid.active:
        raise ActionInvalid(_("You have no active grid to patrol: ask an administrator."))
    if open_round_of(worker) is not None:
        raise Conflict(_("You already have a patrol round under way: end it first."))
    patrol = PatrolRound(worker_id=worker.id, open_worker_id=worker.id, grid_id=grid.id,
                         started_at=now, route=[])
    try:
        with db.session.begin_nested():
            db.session.add(patrol)
    except IntegrityError:  # a second "start" raced this one
        raise Conflict(_("You already have a patrol round under way: end it first.")) from None
    return patrol


def own_open_round(worker: User, round_id: int) -> PatrolRound:
    """The round, locked for the change, if it is this worker's and still open."""
    patrol = db.session.execute(sa.select(PatrolRound).where(PatrolRound.id == round_id)
                                .with_for_update()).scalar_one_or_none()
    if patrol is None:
        raise ActionInvalid(_("No such patrol round."))
    if patrol.worker_id != worker.id:
        raise ActionForbidden(_("This patrol round is another worker's: only they can change it."))
    if not patrol.is_open:
        raise Conflict(_("This patrol round has ended and can no longer be changed."))
    return patrol


def add_route_points(worker: User, round_id: int, raw_points: object, *,
                     now: datetime | None = None) -> int:
    """Record GPS points on the worker's open round; returns how many were kept."""
    now = now or utcnow()
    points = parse_points(raw_points)
    patrol = own_open_round(worker, round_id)
    check_times(points, patrol.started_at, now)
    route, added_m, kept = extend_route(patrol.route, points, patrol.started_at)
    patrol.route = route
    patrol.point_count = len(route)
    patrol.distance_m = (patrol.distance_m or 0.0) + added_m
    return kept


def check_in(worker: User, round_id: int, *, photo: Upload | None, lon: object, lat: object,
             note: str | None = None, place: str | None = None,
             now: datetime | None = None) -> PatrolCheckIn:
    """A check-in (打卡) at a place: the photo is required, the point must be in China."""
    now = now or utcnow()
    patrol = own_open_round(worker, round_id)
    lon_f, lat_f = check_position(lon, lat)
    note, place = _text(note, MAX_NOTE), _text(place, 100)
    if photo is None or not photo.data:
        raise ActionInvalid(_("Take a photo of the place to check in."))
    key, _thumbnail = store_photo(photo)
    visit = PatrolCheckIn(round=patrol, at=now, lon=lon_f, lat=lat_f, note=note, place=place,
                          photo_key=key, photo_mime=photo.mime, photo_sha256=photo.sha256,
                          photo_size=len(photo.data))
    db.session.add(visit)
    return visit


def open_check_in_photo(visit: PatrolCheckIn, *, thumbnail: bool = False) -> tuple[BinaryIO, str]:
    """The check-in's photo (or its thumbnail, for lists) and its MIME type; FileNotFoundError
    when it is missing. Who may see it is the caller's check (visible_check_in)."""
    if thumbnail:
        return open_thumbnail(visit.photo_key, visit.photo_sha256), "image/jpeg"
    return photo_storage().open(visit.photo_key), visit.photo_mime


def report_during_round(worker: User, round_id: int, *, category_id: int | None,
                        photo: Upload | None, lon: object, lat: object,
                        note: str | None = None, now: datetime | None = None) -> Ticket:
    """A problem found on the round, in two taps: photo and category, at the phone's position.
    It goes through intake (source 巡查) and is linked to the round."""
    now = now or utcnow()
    patrol = own_open_round(worker, round_id)
    lon_f, lat_f = check_position(lon, lat)
    if photo is None or not photo.data:
        raise ActionInvalid(_("Take a photo of the problem."))
    photo.kind = AttachmentKind.BEFORE
    category = db.session.get(Category, category_id) if category_id else None
    description = _text(note, MAX_NOTE) or _("Found on patrol: %(category)s",
                                              category=category.name if category else "")
    report = Report(category_id=category_id, description=description, lat=lat_f, lon=lon_f,
                    coord_system=WGS84, source=Source.PATROL, photos=[photo])
    ticket = report_ticket(report, actor=worker, now=now).ticket
    db.session.add(PatrolReport(ticket_id=ticket.id, round=patrol, reported_at=now))
    return ticket


def end_round(worker: User, round_id: int, *, summary: str | None = None,
              now: datetime | None = None) -> RoundSummary:
    now = now or utcnow()
    patrol = own_open_round(worker, round_id)
    patrol.summary = _text(summary, MAX_SUMMARY)
    patrol.ended_at = max(now, patrol.started_at)
    patrol.open_worker_id = None
    db.session.flush()
    return round_summary(patrol, now=now)


def round_summary(patrol: PatrolRound, *, now: datetime | None = None) -> RoundSummary:
    """Duration (so far, for an open round), distance, check-ins and problems reported."""
    end = patrol.ended_at or now or utcnow()
    return RoundSummary(duration=max(end - patrol.started_at, timedelta(0)),
                        distance_m=patrol.distance_m or 0.0, check_ins=len(patrol.check_ins),
                        problems=len(patrol.reports))


def _text(value: str | None, limit: int) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise ActionInvalid(_("The text is too long (at most %(max)s characters).", max=limit))
    return text or None
