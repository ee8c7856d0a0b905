"""The demo district: a fictional district of Hangzhou with its staff, rules and a year of tickets.

``seed_demo`` fills an empty, migrated database through the operations the application itself
uses: the city through the area, user, category and dispatch-rule checks (demo/city.py,
demo/people.py); every case through intake (``report_ticket``: placed in its grid, dispatched,
deadlines from the one deadline function), then through ``perform`` for each later step at its
moment in the past, with the scheduler's escalations in between (demo/lives.py,
demo/stories.py). So every timeline obeys the rules the users meet. Every choice is drawn from
one seeded ``random.Random`` relative to now; the caller commits.
"""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from demo.city import (CATEGORY_TREE, DISTRICT_CODE, DISTRICT_NAME, City, seed_city,
                       seed_co_handling_rule, seed_matrix)
from demo.history import settle_history
from demo.lives import Life
from demo.patrols import seed_patrols
from demo.people import DEMO_PASSWORD, seed_people
from demo.plans import SEASONALITY, plan_tickets
from demo.reports import report
from models.areas.hierarchy import Area
from models.base import db, utcnow
from models.calendar import WorkCalendarDay, fill_calendar
from models.category_suggestion import train_category_model
from models.evaluation.schemes import ensure_default_schemes
from models.tickets.actions import Actor
from models.tickets.intake import Report, report_ticket
from models.tickets.tables import Ticket
from models.tickets.workflow import perform
from models.vocabulary import OPEN_STATUSES, Source, TicketStatus

__all__ = ["CATEGORY_TREE", "DEMO_PASSWORD", "SEASONALITY", "seed_demo"]  # bench/city.py reads two

SEED = 20261123
MIN_TICKETS = 500


def seed_district() -> City:
    """The demo district without its year of tickets: areas, departments, staff, the matrix, the
    calendar and the scoring schemes (the soak starts from this); the caller commits."""
    city = City(rng=random.Random(SEED), now=utcnow())
    seed_city(city)
    seed_people(city)
    seed_matrix(city)
    fill_calendar()
    ensure_default_schemes()
    db.session.flush()
    return city


def count_demo_statistics() -> int:
    """Fold the seeded tickets into the statistics now, as the scheduler would within a minute:
    the demo opens with this month's figures, not zeros. Returns the tickets folded."""
    from models.stats.rollups import fold_pending

    total = 0
    while folded := fold_pending():
        total += folded
    db.session.commit()
    return total


def seed_demo(ticket_count: int = 600) -> dict[str, int]:
    """Create the demo district, its staff, rules and a year of tickets; the caller commits."""
    if ticket_count < MIN_TICKETS:
        raise ValueError(f"the demo needs at least {MIN_TICKETS} tickets")
    if db.session.execute(sa.select(Area.id).where(Area.code == DISTRICT_CODE)).first():
        raise ValueError(f"the demo district {DISTRICT_CODE} {DISTRICT_NAME} already exists")
    city = seed_district()
    tickets = _seed_tickets(city, ticket_count)
    tickets += _work_for_the_demo_grid_worker(city, tickets)
    settle_history(city.now)
    db.session.flush()
    patrol_rounds = seed_patrols(city)
    seed_co_handling_rule(city)
    db.session.flush()
    model = train_category_model(city.now)  # as the scheduler would have done last night
    count = sa.select(sa.func.count())
    return {
        "areas": 1 + len(city.streets) + len(city.communities) + len(city.grids),
        "departments": len(city.departments),
        "users": len(city.users),
        "categories": len(city.categories),
        "dispatch_rules": len(city.rules),
        "calendar_days": db.session.execute(count.select_from(WorkCalendarDay)).scalar_one(),
        "tickets": len(tickets),
        "open_tickets": sum(1 for ticket in tickets if ticket.status in OPEN_STATUSES),
        "events": sum(ticket.event_seq for ticket in tickets),
        "patrol_rounds": patrol_rounds,
        "category_model_tickets": model.ticket_count,
    }


# What the demo grid worker finds on the phone whatever the hour the demo is seeded: a case to
# accept and one in hand (the README offers this account for trying the phone app; the year of
# cases alone sometimes left it nothing open). (category, description, minutes ago, accepted)
TODAYS_WORK = (("0101", "小区北门垃圾桶满溢，周边有散落垃圾，气味较大", 40, False),
               ("0103", "3号楼一单元楼道堆放纸箱和旧家具，影响通行", 150, True))


def _work_for_the_demo_grid_worker(city: City, tickets: list[Ticket]) -> list[Ticket]:
    grid = city.grids[0]
    worker = city.grid_worker[grid.area.id]
    staff = city.community_staff[city.communities[grid.community_index].id][0]
    has = {t.status for t in tickets if t.assigned_user_id == worker.id}
    made = []
    for code, text, minutes_ago, accepted in TODAYS_WORK:
        if (TicketStatus.IN_PROGRESS if accepted else TicketStatus.PENDING) in has:
            continue
        at = city.now - timedelta(minutes=minutes_ago)
        ticket = report_ticket(Report(
            category_id=city.categories[code].id, description=text, source=Source.PHONE,
            lat=grid.area.centroid_lat, lon=grid.area.centroid_lon,
            reporter_phone=f"139{city.rng.randrange(10 ** 8):08d}"), now=at).ticket
        if ticket.assigned_user_id != worker.id:
            perform(ticket, "assign", Actor.staff(staff), expected_version=None,
                    now=at + timedelta(minutes=5), user_id=worker.id, note="请网格员到现场处理")
        if accepted:
            perform(ticket, "accept", Actor.staff(worker), expected_version=None,
                    now=at + timedelta(minutes=20))
        made.append(ticket)
    return made


def _seed_tickets(city: City, count: int) -> list[Ticket]:
    """Each case in the order it was reported, told from its report to where it stands now."""
    plans = plan_tickets(city, count)
    tickets: list[Ticket] = []
    # The workflow flushes each event itself; what the queries in between would flush besides
    # is written with the next event.
    with db.session.no_autoflush:
        for plan in plans:
            ticket = report(city, plan, plans, tickets)
            master = tickets[plan.merge_of] if plan.merge_of is not None else None
            Life(city, ticket, plan).live(master)
            tickets.append(ticket)
    return tickets
