"""The scheduler's jobs. Each is a sweep: a loop over a query from models/ calling a domain
operation for each ticket it finds. One run catches up with everything due (also after
downtime), and a second run right after the first changes nothing.

The sweeps write no events and no outbox rows themselves. Each ticket's step runs in its own
savepoint: a ticket whose step fails is logged and left as it was, and the sweep goes on (the
walk is by id, so a ticket that fails on every run never keeps the others from their turn).
The deadline sweep's steps take a page of tickets at once (a few statements per page); a page
whose batch fails is undone and its tickets take the one-ticket step each.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Callable, Iterator

import sqlalchemy as sa

from models import Ticket, db, utcnow
from models.calendar import MISSING, PUBLISHED, generate_year, year_states
from models.clock import local_zone
from models.errors import WorkflowError
from models.notify.notices import tell_administrators
from models.settings import setting
from models.tickets import supervision, timeouts

BATCH = 500
log = logging.getLogger("griddesk.jobs")


def each_ticket(query: sa.Select) -> Iterator[Ticket]:
    """Every ticket the query selects, read by id in pages of BATCH (keyset); each page's work
    is committed before the next page is read."""
    last_id = 0
    while True:
        page = db.session.execute(query.where(Ticket.id > last_id).order_by(Ticket.id)
                                  .limit(BATCH)).scalars().all()
        if page:
            last_id = page[-1].id
        yield from page
        db.session.commit()
        if len(page) < BATCH:
            return


def step(operation: Callable, ticket: Ticket, now: datetime):
    """One ticket's step in its own savepoint: the operation's result, or None when it was
    refused or failed — then this ticket's step is undone and logged, and the sweep goes on."""
    number = ticket.number
    try:
        with db.session.begin_nested():
            return operation(ticket, now)
    except WorkflowError as exc:  # refused, e.g. no office configured above: say why
        log.warning("%s of %s refused: %s", operation.__name__, number, exc.message)
    except Exception:  # anything else: this ticket waits for the next run, the others go on
        log.exception("%s of %s failed", operation.__name__, number)
    return None


def each_page(query: sa.Select) -> Iterator[list[sa.Row]]:
    """For a batch step: the (id, version) of every ticket the query selects, read at once (one
    query, not one per page: each would read the due tickets again), in pages of BATCH; each
    page's work is committed before the next. A ticket changed after the read is left alone by
    its step (its version differs) until the next run."""
    due = db.session.execute(query.with_only_columns(Ticket.id, Ticket.version)
                             .order_by(Ticket.id)).all()
    for start in range(0, len(due), BATCH):
        yield due[start:start + BATCH]
        db.session.commit()
    if not due:
        db.session.commit()


def page_step(batch: Callable, single: Callable, page: list[sa.Row], now: datetime) -> list:
    """A page's step in one savepoint (the batch form); should it fail, the page is undone and
    its tickets take the one-ticket step each (``step``), so one bad ticket keeps no other from
    its turn. The results of the tickets done (a refused or failed one: None)."""
    try:
        with db.session.begin_nested():
            return batch([tuple(row) for row in page], now)
    except Exception:
        log.warning("%s of a page from ticket %s failed, one ticket at a time instead",
                    batch.__name__, page[0].id, exc_info=True)
    results = []
    for row in page:
        ticket = db.session.get(Ticket, row.id, populate_existing=True)
        results.append(step(single, ticket, now) if ticket is not None else None)
    return results


def deadline_sweep(now: datetime | None = None) -> dict:
    """Warn at the warning share, mark overdue tickets (and tell the centre), escalate by policy."""
    now = now or utcnow()
    counts = {"warned": 0, "overdue": 0, "escalated": 0}
    for page in each_page(timeouts.due_for_warning(now)):
        counts["warned"] += sum(done is not None for done in page_step(
            timeouts.warn_deadlines_near, timeouts.warn_deadline_near, page, now))
    for page in each_page(timeouts.newly_overdue(now)):
        for outcome in page_step(timeouts.mark_all_overdue, timeouts.mark_overdue, page, now):
            if outcome is None:
                continue
            counts["overdue"] += 1
            counts["escalated"] += outcome.escalated
            if outcome.refusal:
                log.warning("escalation of overdue %s refused: %s", outcome.number,
                            outcome.refusal)
    return counts


def acceptance_timeouts(now: datetime | None = None) -> dict:
    """A ticket nobody accepted in time goes to the command centre one level up."""
    now = now or utcnow()
    escalated = 0
    for ticket in each_ticket(timeouts.not_accepted_in_time(now)):
        escalated += step(timeouts.escalate_unaccepted, ticket, now) is not None
    return {"escalated": escalated}


def expiries(now: datetime | None = None) -> dict:
    """Undecided extension requests lapse at the deadline; long suspensions end by themselves."""
    now = now or utcnow()
    counts = {"extensions_lapsed": 0, "resumed": 0}
    for ticket in each_ticket(timeouts.lapsed_extension_requests(now)):
        counts["extensions_lapsed"] += step(timeouts.lapse_extension_request, ticket,
                                            now) is not None
    for ticket in each_ticket(timeouts.suspended_too_long(now)):
        counts["resumed"] += step(timeouts.end_long_suspension, ticket, now) is not None
    return counts


def supervision_reminders(now: datetime | None = None) -> dict:
    """Supervised tickets still open after the date their supervisor expected: the handler and
    the supervisor are reminded, once per expected date."""
    now = now or utcnow()
    reminded = 0
    for ticket in each_ticket(supervision.reminders_due(now)):
        reminded += step(supervision.remind_expected_date_passed, ticket, now) is not None
    return {"reminded": reminded}


def calendar_check(now: datetime | None = None) -> dict:
    """Fill this year and the next into the work calendar where days are missing (by the
    law, provisionally, as ``init-db`` does: on 1 January the new next year appears without a
    deployment), then tell the administrators when this year, or (weeks before it starts) the
    next, is missing or still provisional (the State Council's arrangement not entered)."""
    now = now or utcnow()
    today = now.astimezone(local_zone()).date()
    filled = 0
    for year in (today.year, today.year + 1):
        filled += generate_year(None, year)
    weeks = setting("CALENDAR_WARN_WEEKS", 8)
    years = [today.year]
    if date(today.year + 1, 1, 1) - today <= timedelta(weeks=weeks):
        years.append(today.year + 1)
    due = {y: state for y, state in year_states(years).items() if state != PUBLISHED}
    warned = 0
    for year, state in due.items():
        template = "calendar_missing" if state == MISSING else "calendar_provisional"
        cause = f"{'calendar' if state == MISSING else template}:{year}"
        warned += len(tell_administrators(cause, template, {"year": year}))
    db.session.commit()
    return {"warned": warned, "days_filled": filled}


def deliver_notifications(now: datetime | None = None) -> dict:
    from integrations.delivery.runner import deliver_due

    return deliver_due(now)


def exports(now: datetime | None = None) -> dict:
    """Exports whose web worker stopped before finishing them, and files past their keeping."""
    from integrations.exports.runner import run_abandoned

    return run_abandoned(now)


def fold_statistics(now: datetime | None = None) -> dict:
    """Fold the tickets whose timeline changed into the statistics rollups (every 30 s, every
    waiting batch, so "today" is current within a minute)."""
    from models.stats.rollups import fold_until_current

    return {"tickets": fold_until_current()}


def forget_report_counts(now: datetime | None = None) -> dict:
    """The public report page's counters of windows long past, and the failed sign-ins of
    addresses quiet for a day."""
    from models.people.login_limits import forget_old_failures
    from models.tickets.public_limits import forget_old_counts

    now = now or utcnow()
    forgotten = forget_old_counts(now)
    login_counters = forget_old_failures(now)
    db.session.commit()
    return {"forgotten": forgotten, "login_counters": login_counters}


def train_category_model(now: datetime | None = None) -> dict:
    """Nightly: relearn the category suggestion from the closed tickets (catches up once)."""
    from models.category_suggestion import train_category_model as train, training_due

    if not training_due(now):
        return {"trained": 0}
    row = train(now)
    db.session.commit()
    return {"trained": row.ticket_count}


JOBS = {
    "deadline_sweep": deadline_sweep,
    "acceptance_timeouts": acceptance_timeouts,
    "expiries": expiries,
    "supervision_reminders": supervision_reminders,
    "deliver_notifications": deliver_notifications,
    "calendar_check": calendar_check,
    "exports": exports,
    "fold_statistics": fold_statistics,
    "forget_report_counts": forget_report_counts,
    "train_category_model": train_category_model,
}
