"""Command-line operations: database setup, demo data, administrators, area import, serving."""
from __future__ import annotations

import functools
import getpass
import json
import logging
import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app

from models import Role, Ticket, User, db
from models.base import empty_pools
from models.people.accounts import create_user

DEMO_PASSWORD = "demo12345"
DEMO_ACCOUNTS = [
    ("admin", "Administrator"), ("district", "District command centre"),
    ("street", "Street command centre of the first street"),
    ("community", "Staff of the first community"), ("gridworker", "Grid worker of the first grid"),
    ("handler", "Handler in a functional department"), ("leader", "Leader, read-only"),
]


def init_db(calendar_years: tuple[int, ...] = ()) -> None:
    """Migrate to the newest schema and fill the work calendar: the years chinese-calendar knows,
    this year and the next (by the law's holidays, provisional), and any year asked for."""
    from admin_app.migrations import upgrade

    from models.calendar import fill_calendar, fill_year, provisional_years

    from models.evaluation.schemes import ensure_default_schemes

    upgrade()
    written = fill_calendar() + sum(fill_year(year) for year in calendar_years)
    ensure_default_schemes()
    db.session.commit()
    if written:
        click.echo(f"Work calendar: {written} days written.")
    for year in provisional_years():
        click.echo(f"Work calendar: {year} is provisional (statutory holidays by law; the State "
                   "Council's arrangement not entered yet).")


def database_is_empty() -> bool:
    """No users, areas or tickets (the work calendar and default schemes init-db writes do not
    count)."""
    from models import Area

    return not any(db.session.execute(sa.select(model.id).limit(1)).first()
                   for model in (User, Area, Ticket))


def refuse_demo_data(app: Flask) -> None:
    """Demo data (accounts with a published password) never goes into a production database."""
    if app.config["GRIDDESK_ENV"] == "production":
        raise click.ClickException(
            "GRIDDESK_ENV=production: demo data (accounts with the password "
            f"{DEMO_PASSWORD}) is never seeded. Create an administrator with "
            "`python run.py create-admin NAME` (docs/OPERATIONS.md).")


def serve(app: Flask, *, host: str | None = None, port: int | None = None) -> None:
    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    click.echo(f"\nGridDesk is running: http://127.0.0.1:{port}/login")
    if host in ("127.0.0.1", "localhost", "::1"):
        click.echo("Only this computer can open it. To open it to other devices on the network: "
                   "python run.py demo --host 0.0.0.0 (or GRIDDESK_HOST=0.0.0.0 make demo).")
    else:
        click.echo(f"Listening on {host}: other devices on the network can open it too.")
    if app.config["GRIDDESK_ENV"] != "production":
        click.echo(f"Demo accounts (password {DEMO_PASSWORD}):")
        for username, who in DEMO_ACCOUNTS:
            click.echo(f"  {username:<11} {who}")
    click.echo("Press Ctrl+C to stop.\n")
    if app.config.get("SCHEDULER_IN_PROCESS", True):
        from jobs.scheduler import start_in_background

        start_in_background(app)  # the demo is one process; it waits if a scheduler runs already
    # app.run() is ignored inside a Flask CLI command; run the server directly.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


def as_command_line(name: str, callback):
    """Configuration changed by a command is recorded as made on the command line, by the
    account that ran it."""
    @functools.wraps(callback)
    def run(*args, **kwargs):
        from models.audit import acting_as

        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = ""
        with acting_as(f"cli:{name}@{who}" if who else f"cli:{name}"):
            return callback(*args, **kwargs)
    return run


def record_commands_as_command_line(app: Flask) -> None:
    for name, command in app.cli.commands.items():
        if command.callback is not None:  # a group without its own step (db)
            command.callback = as_command_line(name, command.callback)


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    @click.option("--calendar-year", "calendar_years", type=click.IntRange(2000, 2100),
                  multiple=True, help="Also fill (or re-fill) this year of the work calendar; "
                  "days an administrator entered are kept.")
    def init_db_command(calendar_years: tuple[int, ...]):
        """Migrate the database to the newest schema and fill the work calendar."""
        init_db(calendar_years)
        click.echo("Database is at the newest schema.")

    @app.cli.command("seed-demo")
    @click.option("--tickets", default=600, show_default=True, type=click.IntRange(min=500),
                  help="How many demo tickets (at least 500: the stories need them).")
    def seed_demo_command(tickets: int):
        """Create the demo district, users and tickets (only into an empty, non-production
        database)."""
        from demo.seed import count_demo_statistics, seed_demo

        refuse_demo_data(current_app)
        if not sa.inspect(db.engine).has_table("users"):
            raise click.ClickException("The database has no tables yet: run "
                                       "'python run.py init-db' first.")
        if not database_is_empty():
            raise click.ClickException("The database already has users, areas or tickets; "
                                       "nothing seeded. Demo data goes into an empty database "
                                       "only.")
        summary = seed_demo(ticket_count=tickets)
        db.session.commit()
        count_demo_statistics()
        click.echo("Demo data: " + ", ".join(f"{k} {v}" for k, v in summary.items()))

    @app.cli.command("train-category-model")
    def train_category_model_command():
        """Learn the category suggestion from the closed tickets now (the scheduler does it
        nightly) and print its accuracy on the held-out month."""
        from models.category_suggestion import train_category_model

        row = train_category_model()
        db.session.commit()
        click.echo(f"Category model: {row.ticket_count} closed tickets, "
                   f"{row.category_count} categories.")
        if not row.enough_history:
            click.echo("Not enough history: no suggestions until there are more closed tickets.")
        elif row.accuracy_top1 is not None:
            click.echo(f"Held-out month {row.held_out_month} ({row.held_out_count} tickets): "
                       f"top-1 {row.accuracy_top1:.0%}, top-3 {row.accuracy_top3:.0%}.")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password", help="Asked for when not given.")
    @click.option("--display-name", default=None)
    def create_admin_command(username: str, password: str | None, display_name: str | None):
        """Create an administrator account."""
        if db.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none():
            raise click.ClickException(f"user {username!r} already exists")
        if password is None:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Again: "):
                raise click.ClickException("the passwords differ")
        user = User(username=username, display_name=display_name or username, role=Role.ADMIN)
        try:
            create_user(user, password)
        except ValueError as exc:
            raise click.ClickException(str(exc))
        db.session.commit()
        click.echo(f"Administrator {username} created.")

    @app.cli.command("import-areas")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_areas_command(path: str):
        """Import areas from a GeoJSON FeatureCollection (all or nothing)."""
        from models.areas.hierarchy import AreaImportError, import_areas

        try:
            with open(path, encoding="utf-8-sig") as handle:
                data = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{path} is not GeoJSON: {exc}")
        try:
            counts = import_areas(data)
            db.session.commit()
        except AreaImportError as exc:
            db.session.rollback()
            click.echo("Nothing was imported. Problems:", err=True)
            for line in exc.errors:
                click.echo(f"  - {line}", err=True)
            sys.exit(1)
        click.echo(f"Areas imported: {counts['created']} created, {counts['updated']} updated.")

    @app.cli.command("create-api-client")
    @click.argument("name")
    @click.option("--scope", "scope_code", default=None,
                  help="Area code the client may report in and read (default: everywhere).")
    def create_api_client_command(name: str, scope_code: str | None):
        """Create an integration client and print its token (shown only once)."""
        from models import Area
        from models.people.tokens import create_api_client

        scope = None
        if scope_code:
            scope = db.session.execute(sa.select(Area).where(Area.code == scope_code)).scalar_one_or_none()
            if scope is None:
                raise click.ClickException(f"no area with code {scope_code}")
        try:
            client, token = create_api_client(name, scope)
        except ValueError as exc:
            raise click.ClickException(str(exc))
        db.session.commit()
        click.echo(f"API client {client.name} created (id {client.id}). Its token, shown only now:")
        click.echo(token)

    @app.cli.command("scheduler")
    def scheduler_command():
        """Run the job scheduler (one per deployment; a second one waits and takes over)."""
        from jobs.scheduler import run_forever

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        run_forever(current_app._get_current_object())

    @app.cli.command("run-jobs")
    @click.argument("names", nargs=-1)
    def run_jobs_command(names):
        """Run the given jobs (default: all) once now, e.g. from cron or to catch up by hand."""
        from jobs.scheduler import run_job
        from jobs.sweeps import JOBS

        app_object = current_app._get_current_object()
        for name in names or JOBS:
            if name not in JOBS:
                raise click.ClickException(f"unknown job {name}; jobs: {', '.join(JOBS)}")
            click.echo(f"{name}: {run_job(app_object, name)}")

    @app.cli.command("rebuild-rollups")
    @click.option("--from", "day_from", required=True, help="First local day, YYYY-MM-DD.")
    @click.option("--to", "day_to", required=True, help="Last local day, YYYY-MM-DD (included).")
    def rebuild_rollups_command(day_from: str, day_to: str):
        """Recompute the statistics rollups of a range of days from the tickets and events."""
        from models.clock import DateOutOfRange, parse_day
        from models.stats.rollups import rebuild

        try:
            first, last = parse_day(day_from), parse_day(day_to)
        except DateOutOfRange as exc:
            raise click.ClickException(str(exc)) from None
        except ValueError:
            raise click.ClickException("--from and --to are dates: YYYY-MM-DD") from None
        if first > last:
            raise click.ClickException("--from is after --to")
        tickets = rebuild(first, last)
        click.echo(f"Statistics rebuilt for {first} – {last}: {tickets} tickets read.")

    @app.cli.command("serve")
    @click.option("--host", default=None, help="Defaults to GRIDDESK_HOST (127.0.0.1: this "
                  "computer only); 0.0.0.0 opens it to the network.")
    @click.option("--port", type=int, default=None, help="Defaults to PORT (5000).")
    def serve_command(host: str, port: int | None):
        """Serve GridDesk with the built-in server (use Gunicorn in production)."""
        serve(current_app._get_current_object(), host=host, port=port)

    @app.cli.command("demo")
    @click.option("--host", default=None, help="Defaults to GRIDDESK_HOST (127.0.0.1: this "
                  "computer only); 0.0.0.0 opens it to the network.")
    def demo_command(host: str | None):
        """Migrate, seed the demo when the database is empty, and serve."""
        from demo.seed import count_demo_statistics, seed_demo

        refuse_demo_data(current_app)
        init_db()
        if database_is_empty():
            click.echo("Seeding the demo district (takes a few seconds)…")
            summary = seed_demo()
            db.session.commit()
            count_demo_statistics()
            click.echo("Demo data: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
        else:
            tickets = db.session.execute(sa.select(sa.func.count()).select_from(Ticket)).scalar_one()
            click.echo(f"Using the existing database ({tickets} tickets).")
        serve(current_app._get_current_object(), host=host)

    @app.cli.command("import-tickets")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
    @click.option("--mapping", "mapping_json", default=None,
                  help='Columns as JSON, by header text or column letter, e.g. '
                       '\'{"date": "上报时间", "grid": "C", "phone": null}\' (the rest is guessed).')
    def import_tickets_command(path: str, dry_run: bool, mapping_json: str | None):
        """Import an Excel ledger (.xlsx) as historical tickets; rows imported before are skipped.

        Exit status 0 when the file was processed (rows with problems are listed and skipped),
        2 when the file or the mapping cannot be used."""
        import os

        from integrations.ledger.importer import (FIELDS, LedgerError, error_workbook,
                                                   guess_mapping, import_ledger, mapping_from_names,
                                                   mapping_labels, mapping_problems, read_ledger)

        try:
            ledger = read_ledger(path)
            mapping = guess_mapping(ledger.headers)
            if mapping_json:
                try:
                    names = json.loads(mapping_json)
                except json.JSONDecodeError as exc:
                    raise LedgerError(f"--mapping is not JSON: {exc}")
                if not isinstance(names, dict):
                    raise LedgerError('--mapping must be a JSON object like {"date": "日期"}')
                mapping = mapping_from_names(ledger, names, base=mapping)
            problems = mapping_problems(ledger, mapping)
            if problems:
                raise LedgerError(" ".join(problems))
        except LedgerError as exc:
            click.echo(f"{path}: {exc.message}", err=True)
            sys.exit(2)
        labels = mapping_labels(ledger, mapping)
        click.echo(f"{os.path.basename(path)}: sheet {ledger.sheet}, header in row "
                   f"{ledger.header_row}, {len(ledger.rows)} data rows"
                   + (f", {ledger.blank_rows} blank rows skipped" if ledger.blank_rows else ""))
        for f in FIELDS:
            click.echo(f"  {f.key:<12} ← {labels.get(f.key, '—')}")
        mapped = {i for i in mapping.values() if i is not None}
        extra = [ledger.column_label(i) for i in range(len(ledger.headers)) if i not in mapped]
        if extra:
            click.echo("  kept with each ticket as extra data: " + ", ".join(extra))
        report = import_ledger(
            ledger, mapping, dry_run=dry_run, file_name=os.path.basename(path),
            progress=lambda done, total: click.echo(f"  … {done}/{total} rows"))
        verb = "would be imported" if dry_run else "imported"
        click.echo(f"{'Dry run, nothing written. ' if dry_run else ''}"
                   f"{report.total} rows: {report.imported} {verb}, "
                   f"{report.skipped_existing} already imported (skipped), "
                   f"{report.invalid} with problems (skipped); {report.elapsed:.1f} s.")
        for row, column, reason in report.issues:
            click.echo(f"  row {row} [{column or '-'}]: {reason}")
        for item in report.existing:
            where = item["number"] or f"row {item['same_as_row']} of this file"
            click.echo(f"  row {item['row']}: already imported ({where})")
        for item in report.warnings:
            click.echo(f"  row {item['row']} [{item['column']}] note: {item['reason']}")
        if report.invalid:
            target = os.path.splitext(path)[0] + "-errors.xlsx"
            try:
                with open(target, "wb") as handle:
                    handle.write(error_workbook(report))
                click.echo(f"The rows not imported are listed in {target}.")
            except OSError as exc:
                click.echo(f"The error sheet could not be written ({exc}).", err=True)

    @app.cli.command("backup")
    @click.argument("path", required=False, type=click.Path(dir_okay=False))
    def backup_command(path: str | None):
        """Write one archive (tar.gz) with the database, the photos on the local disk and a
        manifest; default: instance/backups/griddesk-<UTC date and time>.tar.gz."""
        from config import INSTANCE_DIR
        from integrations.backup import BackupError, backup, default_archive

        config = current_app.config
        db.session.remove()
        try:
            outcome = backup(config["SQLALCHEMY_DATABASE_URI"],
                             path or default_archive(INSTANCE_DIR),
                             upload_dir=config.get("UPLOAD_DIR"),
                             photo_storage=config.get("PHOTO_STORAGE", "disk"))
        except BackupError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"Backup written: {outcome.archive}")
        echo_manifest(outcome)

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--force", is_flag=True, help="Replace a database that has tickets or users.")
    def restore_command(path: str, force: bool):
        """Restore an archive written by `backup` into DATABASE_URL and the photo folder, then
        check the counts against its manifest. Stop the web workers and the scheduler first."""
        from integrations.backup import BackupError, restore

        config = current_app.config
        db.session.remove()
        empty_pools()  # the restore replaces the database under this process
        try:
            outcome = restore(path, config["SQLALCHEMY_DATABASE_URI"],
                              upload_dir=config.get("UPLOAD_DIR"),
                              photo_storage=config.get("PHOTO_STORAGE", "disk"), force=force)
        except BackupError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"Restored from {outcome.archive}; the counts match the backup:")
        echo_manifest(outcome)


def echo_manifest(outcome) -> None:
    manifest = outcome.manifest
    click.echo(f"  made {manifest['created_at']} from commit {manifest['app_commit']}, "
               f"schema {manifest['alembic_revision']}")
    click.echo(f"  tickets {manifest['tickets']}, events {manifest['events']}, attachments "
               f"{manifest['attachments']}, outbox rows {manifest['outbox']}"
               + (f", photo files {manifest['photo_files']}" if "photo_files" in manifest else ""))
    for note in outcome.notes:
        click.echo(f"  {note}")
