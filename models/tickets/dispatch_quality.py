"""Dispatch quality (派单质量): how well each dispatch rule (and each matrix cell without a rule)
routes tickets, read from the timeline.

A routing is one automatic dispatch event and what followed it on the ticket until the next
dispatch (a category correction dispatches again). It *came back* when the department returned
it (退回), was *transferred* when a transfer followed, was *re-dispatched* when a manager assigned
it to another department. A rule whose routings move too often (a share and a minimum number,
settings DISPATCH_QUALITY_MOVED_SHARE and DISPATCH_QUALITY_MIN_TICKETS) is flagged, with the
departments its tickets ended up with and, where one of them took most, a suggested change.

Which rule routed a ticket is in the dispatch event's details (``rule_id``; since this feature
also ``category_id`` and ``area_id``). An older event without ``rule_id`` is attributed to the
rule the matrix gives the ticket's category and place today — a best guess, marked ``derived``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

import sqlalchemy as sa
from flask_babel import gettext as _

from models.base import db, utcnow
from models.people.access import department_serves
from models.people.department import Department
from models.settings import setting
from models.tickets.actions import Action
from models.tickets.dispatch import check_dispatch_rule, ticket_owner
from models.tickets.dispatch_rules import DispatchRule
from models.tickets.tables import Ticket, TicketEvent
from models.vocabulary import AreaLevel, ResponsibleKind

FOLLOWING = (Action.DISPATCH.value, Action.RETURN.value, Action.TRANSFER.value,
             Action.ASSIGN.value, Action.ACCEPT.value)
_CHUNK = 500


def moved_share_threshold() -> float:
    return float(setting("DISPATCH_QUALITY_MOVED_SHARE", 0.3))


def min_tickets() -> int:
    return int(setting("DISPATCH_QUALITY_MIN_TICKETS", 5))


def suggest_share() -> float:
    """A department that ended up with at least this share of a flagged rule's tickets is
    suggested as the rule's department."""
    return float(setting("DISPATCH_QUALITY_SUGGEST_SHARE", 0.5))


def window_days() -> int:
    return int(setting("DISPATCH_QUALITY_DAYS", 365))


@dataclass
class Routing:
    """One dispatch of one ticket and what followed it."""

    ticket_id: int
    rule_id: int | None
    derived: bool
    category_id: int
    area_ids: dict[AreaLevel, int | None]
    department_id: int | None  # where dispatch sent it
    returned: bool = False
    transferred: bool = False
    redispatched: bool = False
    accept_seconds: float | None = None
    ended_with: int | None = None  # the ticket's department now

    @property
    def moved(self) -> bool:
        return self.returned or self.transferred or self.redispatched


@dataclass
class Figures:
    """The routings of one rule (or one rule-less cell), counted."""

    rule_id: int | None
    category_id: int | None = None
    area_id: int | None = None
    routed: int = 0
    returned: int = 0
    transferred: int = 0
    redispatched: int = 0
    moved: int = 0
    derived: int = 0
    accept_seconds: list[float] = field(default_factory=list)
    ended_with: Counter = field(default_factory=Counter)
    ticket_ids: list[int] = field(default_factory=list)
    moved_ticket_ids: list[int] = field(default_factory=list)

    def add(self, routing: Routing) -> None:
        self.routed += 1
        self.returned += routing.returned
        self.transferred += routing.transferred
        self.redispatched += routing.redispatched
        self.moved += routing.moved
        self.derived += routing.derived
        if routing.accept_seconds is not None:
            self.accept_seconds.append(routing.accept_seconds)
        self.ended_with[routing.ended_with] += 1
        self.ticket_ids.append(routing.ticket_id)
        if routing.moved:
            self.moved_ticket_ids.append(routing.ticket_id)

    @property
    def moved_share(self) -> float:
        return self.moved / self.routed if self.routed else 0.0

    @property
    def median_accept_hours(self) -> float | None:
        return round(median(self.accept_seconds) / 3600, 1) if self.accept_seconds else None

    @property
    def flagged(self) -> bool:
        return self.routed >= min_tickets() and self.moved_share >= moved_share_threshold()

    def end_departments(self) -> list[tuple[int | None, int, float]]:
        """(department id, tickets, share of routed), most first."""
        return [(dep, n, n / self.routed) for dep, n in self.ended_with.most_common()]


@dataclass
class Suggestion:
    rule: DispatchRule
    department: Department
    share: float


# --- reading the timeline ----------------------------------------------------------------------

def routings(since: datetime | None = None) -> list[Routing]:
    """Every automatic dispatch since ``since`` (default: the window setting), with what
    followed it, in the order of the timeline."""
    since = since or utcnow() - timedelta(days=window_days())
    dispatches = db.session.execute(
        sa.select(TicketEvent).where(TicketEvent.action == Action.DISPATCH.value,
                                     TicketEvent.created_at >= since)
        .order_by(TicketEvent.ticket_id, TicketEvent.seq)).scalars().all()
    ticket_ids = sorted({e.ticket_id for e in dispatches})
    tickets: dict[int, Ticket] = {}
    following: dict[int, list[TicketEvent]] = {}
    for start in range(0, len(ticket_ids), _CHUNK):
        chunk = ticket_ids[start:start + _CHUNK]
        tickets.update({t.id: t for t in db.session.execute(
            sa.select(Ticket).where(Ticket.id.in_(chunk))).scalars()})
        for event in db.session.execute(
                sa.select(TicketEvent).where(TicketEvent.ticket_id.in_(chunk),
                                             TicketEvent.action.in_(FOLLOWING))
                .order_by(TicketEvent.ticket_id, TicketEvent.seq)).scalars():
            following.setdefault(event.ticket_id, []).append(event)
    return [_routing(d, tickets[d.ticket_id], following.get(d.ticket_id, []))
            for d in dispatches]


def _routing(dispatch: TicketEvent, ticket: Ticket, events: list[TicketEvent]) -> Routing:
    details = dispatch.details or {}
    derived = "rule_id" not in details
    if derived:
        rule = ticket_owner(ticket)[0].rule
        rule_id = rule.id if rule is not None else None
    else:
        rule_id = details.get("rule_id")
    routing = Routing(
        ticket_id=ticket.id, rule_id=rule_id, derived=derived,
        category_id=details.get("category_id") or ticket.category_id,
        area_ids={AreaLevel.DISTRICT: ticket.district_id, AreaLevel.STREET: ticket.street_id,
                  AreaLevel.COMMUNITY: ticket.community_id, AreaLevel.GRID: ticket.grid_id},
        department_id=dispatch.to_department_id, ended_with=ticket.assigned_department_id)
    for event in events:
        if event.seq <= dispatch.seq:
            continue
        if event.action == Action.DISPATCH.value:
            break  # the next routing starts here
        if event.action == Action.RETURN.value:
            routing.returned = True
        elif event.action == Action.TRANSFER.value:
            routing.transferred = True
        elif event.action == Action.ASSIGN.value \
                and event.to_department_id != routing.department_id:
            routing.redispatched = True
        elif event.action == Action.ACCEPT.value and routing.accept_seconds is None:
            routing.accept_seconds = (event.created_at - dispatch.created_at).total_seconds()
    return routing


# --- figures per rule and per rule-less cell ---------------------------------------------------

@dataclass
class DispatchQuality:
    by_rule: dict[int, Figures]
    by_cell: dict[tuple[int, int], Figures]  # (category id, area id) of rule-less routings
    level: AreaLevel

    def flagged_rules(self) -> list[Figures]:
        return sorted((f for f in self.by_rule.values() if f.flagged),
                      key=lambda f: -f.moved_share)

    def flagged_cells(self) -> list[Figures]:
        return sorted((f for f in self.by_cell.values() if f.flagged),
                      key=lambda f: -f.moved_share)


def dispatch_quality(level: AreaLevel = AreaLevel.COMMUNITY,
                     since: datetime | None = None) -> DispatchQuality:
    """Figures per rule, and per (category, area at ``level``) for routings no rule made."""
    by_rule: dict[int, Figures] = {}
    by_cell: dict[tuple[int, int], Figures] = {}
    for routing in routings(since):
        if routing.rule_id is not None:
            by_rule.setdefault(routing.rule_id, Figures(routing.rule_id)).add(routing)
            continue
        area_id = routing.area_ids.get(level)
        key = (routing.category_id, area_id)
        by_cell.setdefault(key, Figures(None, routing.category_id, area_id)).add(routing)
    return DispatchQuality(by_rule, by_cell, level)


def suggestion(rule: DispatchRule, figures: Figures) -> Suggestion | None:
    """For a flagged rule: the department most of its tickets ended up with, when that is not
    the rule's own department, is active and took at least the suggest share."""
    if not figures.flagged:
        return None
    for department_id, _count, share in figures.end_departments():
        if department_id is None or department_id == rule.department_id:
            continue
        if share < suggest_share():
            return None
        department = db.session.get(Department, department_id)
        if department is None or not department.active \
                or not department_serves(department, rule.area):  # (check_dispatch_rule's)
            return None
        return Suggestion(rule, department, share)
    return None


class SuggestionGone(ValueError):
    pass


def apply_suggestion(rule: DispatchRule, department_id: int) -> DispatchRule:
    """The administrator's one click: the rule's responsible party becomes the suggested
    department, checked as the rule form checks it; the audit listener records the change.
    Refused when the figures no longer suggest that department. The caller commits."""
    figures = dispatch_quality().by_rule.get(rule.id)
    current = suggestion(rule, figures) if figures is not None else None
    if current is None or current.department.id != department_id:
        raise SuggestionGone(_("The figures no longer suggest this change; the rule was not "
                               "changed."))
    rule.responsible_kind = ResponsibleKind.DEPARTMENT
    rule.department = current.department
    check_dispatch_rule(rule)
    return rule
