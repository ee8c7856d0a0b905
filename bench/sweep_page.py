"""Issue 14: one page of the deadline sweep measured in-process — N tickets just overdue, a
share of them in a category that escalates by policy — its statements, wall time and this
process's CPU time (steadier than wall time on a shared machine; PostgreSQL's own time is not
in it).

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gd_x \
        .venv/bin/python -m bench.sweep_page [--tickets 500] [--share 0.25] [--runs 5]

Builds the tests' small world (tests/factories.py) in that database, WIPING it first as the test
suite does (use a scratch database). Each run marks and escalates the page in one transaction
that is rolled back afterwards, so every run sees the same page.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--share", type=float, default=0.25, help="of them escalating")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import sqlalchemy as sa
    from admin_app.migrations import upgrade

    from admin_app import create_app
    from jobs.sweeps import deadline_sweep
    from models import DispatchRule, ResponsibleKind, TicketStatus, db
    from models.calendar import fill_calendar
    from tests.conftest import database_url, reset_schema, test_config, wipe
    from tests.factories import build_world, make_ticket

    reset_schema(database_url())
    app = create_app(test_config())
    with app.app_context():
        upgrade()
        fill_calendar()
        db.session.commit()
        wipe()
        world = build_world()
        db.session.add(DispatchRule(category=world.categories["garbage"],
                                    area=world.areas["district"],
                                    responsible_kind=ResponsibleKind.GRID_WORKER))
        world.categories["top"].escalate_when_overdue = False
        db.session.commit()
        deadline, every = START + timedelta(days=1), round(1 / args.share) if args.share else 0
        for n in range(args.tickets):
            grid, worker = (("grid1", "gridworker") if n % 2 else ("grid2", "gridworker2"))
            ticket = make_ticket(world, grid, assignee=world.users[worker],
                                 status=TicketStatus.IN_PROGRESS)
            if not (every and n % every == 0):  # the others' category does not escalate
                ticket.category = world.categories["top"]
            ticket.created_at, ticket.handle_deadline = START, deadline
            if n % 100 == 99:
                db.session.commit()
        db.session.commit()
        late = deadline + timedelta(minutes=5)
        original, runs, cpu, executed, counts = db.session.commit, [], [], Counter(), {}

        def count(_conn, _cursor, statement, *_args):
            executed[statement.split(None, 1)[0].upper()] += 1

        db.session.commit = db.session.flush  # one transaction per run, rolled back
        try:
            for run in range(args.runs + 1):  # the first warms the caches, not counted
                executed.clear()
                sa.event.listen(db.engine, "before_cursor_execute", count)
                t, c = time.perf_counter(), time.process_time()
                try:
                    counts = deadline_sweep(late)
                finally:
                    if run:
                        runs.append((time.perf_counter() - t) * 1000)
                        cpu.append((time.process_time() - c) * 1000)
                    sa.event.remove(db.engine, "before_cursor_execute", count)
                db.session.rollback()
        finally:
            db.session.commit = original
        print(f"{db.engine.dialect.name}: {args.tickets} just overdue, {counts}; "
              f"{sum(executed.values())} statements {dict(executed)}; "
              f"wall p50 {statistics.median(runs):.0f} ms, min {min(runs):.0f}, "
              f"max {max(runs):.0f}; this process's CPU p50 {statistics.median(cpu):.0f} ms, "
              f"min {min(cpu):.0f} ({args.runs} runs)")


if __name__ == "__main__":
    main()
