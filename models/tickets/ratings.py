"""Satisfaction ratings (评价) of a closed case.

A rating is the reporter's own ("rate": through the tracking code, actor kind reporter), or a
phone follow-up (回访评价, "follow_up") that a manager records as such: what the reporter said,
with the recorder's name. Staff never "rate" on the reporter's behalf. The ticket keeps which
of the two it was (``rating_source``, ``rated_by_id``), so statistics can tell them apart.

Every reporter rates once: the first reporter's rating (or the follow-up) is the case's, on the
ticket; a resident who joined the ticket later (models/tickets/reporters.py) rates on their own
row, and their rating event names that row (``details.reporter_id``). The case's statistics
count the case's rating only (one rating per closed case).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models.base import utcnow
from models.errors import ActionInvalid
from models.settings import setting
from models.tickets.actions import Action, Actor
from models.tickets.reporters import further_reporters, joined_reporter
from models.tickets.tables import Ticket, TicketEvent
from models.tickets.timeline import record_event
from models.vocabulary import RatingSource

RATING_ACTIONS = (Action.RATE, Action.FOLLOW_UP)


def rating_window() -> int:
    return setting("RATING_WINDOW_DAYS", 7)


def rating_refusal(ticket: Ticket, now: datetime | None = None,
                   actor: Actor | None = None):
    """Why the ticket cannot be rated at ``now`` (by either path; by a joined reporter: by this
    one) as a lazy message, or None."""
    now = now or utcnow()
    if own_rating(ticket, actor) is not None:
        return _l("This ticket has already been rated.")
    if ticket.closed_at is not None and now - ticket.closed_at > timedelta(days=rating_window()):
        return _l("Ratings are taken within %(days)s days of closing.", days=rating_window())
    return None


def own_rating(ticket: Ticket, actor: Actor | None = None) -> int | None:
    """The rating this actor gave (a joined reporter's own), else the case's rating."""
    joined = joined_reporter(ticket, actor.reporter_id) if actor is not None else None
    return joined.rating if joined is not None else ticket.rating


def _stars(rating) -> int:
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise ActionInvalid(_("Give a rating from 1 to 5."))
    return value


def rate(ticket: Ticket, actor: Actor, now: datetime, rating=None, note=None,
         **_ignored) -> TicketEvent:
    """The reporter's own rating."""
    value = _stars(rating)
    comment = (note or "").strip() or None
    details = {"rating": value}
    joined = joined_reporter(ticket, actor.reporter_id)
    if joined is None:
        _store(ticket, value, comment, now, RatingSource.REPORTER, None)
    else:
        joined.rating, joined.rating_comment, joined.rated_at = value, comment, now
        details["reporter_id"] = joined.id
    return record_event(ticket, Action.RATE, actor=actor.user, actor_kind=actor.kind, at=now,
                        note=comment, details=details)


def record_follow_up(ticket: Ticket, actor: Actor, now: datetime, rating=None, note=None,
                     **_ignored) -> TicketEvent:
    """Staff phoned the reporter (回访) and write down the rating they were given."""
    value = _stars(rating)
    comment = (note or "").strip()
    if not comment:
        raise ActionInvalid(_("Say how the reporter was reached and what they said."))
    recorder = actor.user
    _store(ticket, value, comment, now, RatingSource.FOLLOW_UP, recorder.id if recorder else None)
    return record_event(ticket, Action.FOLLOW_UP, actor=recorder, actor_kind=actor.kind, at=now,
                        note=comment, details={"rating": value})


def clear_ratings(ticket: Ticket) -> None:
    """A reopened case waits for new ratings of its next closing, the first reporter's and those
    of the residents who joined: the old ones stay on the timeline, and in the statistics of the
    closing they followed (models/stats/facts.py reads the events)."""
    ticket.rating = ticket.rating_comment = ticket.rated_at = None
    ticket.rating_source = ticket.rated_by_id = None
    for joined in further_reporters(ticket):
        joined.rating = joined.rating_comment = joined.rated_at = None


def _store(ticket: Ticket, value: int, comment: str | None, now: datetime,
           source: RatingSource, recorder_id: int | None) -> None:
    ticket.rating, ticket.rating_comment, ticket.rated_at = value, comment, now
    ticket.rating_source, ticket.rated_by_id = source, recorder_id
