"""What a ticket's timeline counts for: one fact per counted event.

Each fact has the Asia/Shanghai day its event happened (models.clock), the ticket's place
(district, street, community, grid) and category, and the unit it counts for:

* the owner after the event (to_department / to_user) for a report, a dispatch, an acceptance,
  a rating and an overdue mark;
* the owner before it (from_*) for what that owner did or is judged on: a return (退回), an
  escalation (上报), a rejected result (审核退回, rework), a closure (审核通过), a reopening;
* the reporting staff member (the event's actor) for a patrol find (a report from a patrol);
* the co-handling department of the task (details.department_id; the actor as the person) for
  a co-handling task given to it and for its part submitted — counted apart from the lead's
  dispatches and closures (主办/协办).

A closure is an approval (审核通过), or the import of a case the ledger shows closed (its
historical closed date, in time against the category's deadline counted from its report, as the
importer wrote it). A closure is "rated" when a rating (the reporter's or a phone follow-up)
follows it before the case is reopened; the fact stays on the closure's day, so rating coverage
compares the closures of a period with how many of them were rated, whenever that happened.
Acceptance and closure "in time" are what the workflow wrote on the event (details.in_time,
from deadlines.in_time at that moment); an overdue mark is the scheduler's "overdue" event
(deadlines.py's one definition); rework is a "reject" event. Handling time of a closure is the
time the case spent open and running (pending, in progress, waiting for review) from its report
to that closure: suspended periods and the closed time before a reopening do not count; in
natural seconds and in working seconds (deadlines.working_seconds_between, the work calendar).
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

from models.clock import local_zone
from models.stats.tables import MEASURES
from models.tickets.actions import Action
from models.tickets.deadlines import working_seconds_between
from models.vocabulary import Source, TicketStatus

RUNNING = {TicketStatus.PENDING.value, TicketStatus.IN_PROGRESS.value,
           TicketStatus.PENDING_REVIEW.value}
DISPATCHING = {Action.DISPATCH.value, Action.ASSIGN.value, Action.TRANSFER.value,
               Action.ESCALATE.value}
RECEIVING = {Action.CREATE.value, Action.IMPORT.value}
RATING = {Action.RATE.value, Action.FOLLOW_UP.value}


def closes(event) -> bool:
    """An approval, or the import of a case the ledger shows closed."""
    return event.action == Action.APPROVE.value or (
        event.action == Action.IMPORT.value
        and _value(event.to_status) == TicketStatus.CLOSED.value)


def rated_closures(events: list) -> set[int]:
    """The sequence numbers of the closures a rating followed before any reopening."""
    rated, last = set(), None
    for event in events:
        if closes(event):
            last = event.seq
        elif event.action == Action.REOPEN.value:
            last = None
        elif event.action in RATING and (event.details or {}).get("rating") and last \
                and not (event.details or {}).get("reporter_id"):
            rated.add(last)
    return rated


def _value(enum_or_str) -> str | None:
    return getattr(enum_or_str, "value", enum_or_str)


def local_day(moment) -> date:
    return moment.astimezone(local_zone()).date()


def ticket_facts(ticket, events: Iterable) -> list[dict]:
    """The facts of one ticket (an object with the Ticket columns) from its events in order."""
    place = {"district_id": ticket.district_id or 0, "street_id": ticket.street_id or 0,
             "community_id": ticket.community_id or 0, "grid_id": ticket.grid_id or 0,
             "category_id": ticket.category_id or 0}
    facts: list[dict] = []
    events = list(events)
    rated = rated_closures(events)
    running_since = None
    natural = working = 0.0  # seconds, summed exactly; whole seconds on the closure's fact
    received = False
    for event in events:
        action, to_status = event.action, _value(event.to_status)
        at = event.created_at
        if running_since is not None and to_status not in RUNNING:
            natural += (at - running_since).total_seconds()
            working += working_seconds_between(running_since, at)
            running_since = None
        elif running_since is None and to_status in RUNNING:
            running_since = at

        def fact(owner: str = "to", **measures) -> None:
            facts.append({"ticket_id": ticket.id, "seq": event.seq, "day": local_day(at),
                          **place, **_owner(event, owner), **dict.fromkeys(MEASURES, 0),
                          **measures})

        details = event.details or {}
        if action in RECEIVING and not received:
            received = True
            fact(received=1)
            if _value(ticket.source) == Source.PATROL.value and event.actor_user_id:
                fact("actor", patrol_found=1)
        if action in DISPATCHING and (event.to_department_id or event.to_user_id):
            fact(dispatched=1)
        if action == Action.ACCEPT.value:
            fact(accepted=1, accepted_in_time=int(bool(details.get("in_time", True))))
        elif closes(event):
            fact("from", closed=1, closed_in_time=int(bool(details.get("in_time", True))),
                 handling_seconds=round(natural), handling_work_seconds=round(working),
                 closed_rated=int(event.seq in rated))
        elif action == Action.REJECT.value:
            fact("from", rework=1)
        elif action == Action.RETURN.value:
            fact("from", returned=1)
        elif action == Action.ESCALATE.value:
            fact("from", escalated=1)
        elif action == Action.REOPEN.value:
            fact("from", reopened=1)
        elif action == Action.OVERDUE.value:
            fact(overdue_marked=1)
        elif action == Action.MERGE.value:
            fact("from", merged=1)
        elif action == Action.INVALIDATE.value:
            fact("from", invalidated=1)
        elif action == Action.CO_HANDLE.value and details.get("department_id"):
            fact("task", co_handled=1)
        elif action == Action.TASK_SUBMIT.value and details.get("department_id"):
            fact("task", co_handled_done=1,
                 co_handled_in_time=int(bool(details.get("in_time", True))))
        elif action in RATING and details.get("rating") \
                and not details.get("reporter_id"):  # the case's rating, not a joined resident's
            stars = int(details["rating"])
            by_reporter = action == Action.RATE.value
            fact(rated=1, rating_sum=stars, satisfied=int(stars >= 4),
                 rated_by_reporter=int(by_reporter), follow_ups=int(not by_reporter))
    return facts


def _owner(event, which: str) -> dict:
    if which == "task":
        return {"department_id": int((event.details or {}).get("department_id") or 0),
                "user_id": event.actor_user_id or 0}
    if which == "actor":
        return {"department_id": 0, "user_id": event.actor_user_id or 0}
    if which == "from":
        return {"department_id": event.from_department_id or 0, "user_id": event.from_user_id or 0}
    return {"department_id": event.to_department_id or 0, "user_id": event.to_user_id or 0}
