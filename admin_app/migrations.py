"""Flask-Migrate (Alembic), bound to the app only where a migration runs: `python run.py db …`,
`init-db`, the tests and the benchmark. Importing it loads Alembic, Mako and Pygments (~9 MB of
every web worker's memory, which no request uses)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo

from models.base import db

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def bind_migrations(app: Flask) -> None:
    """Flask-Migrate on ``app`` (once): what its commands and ``migrations/env.py`` read."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)


def upgrade(revision: str = "head") -> None:
    """The current app's database migrated to ``revision``."""
    from flask_migrate import upgrade as run_upgrade

    bind_migrations(current_app)
    run_upgrade(revision=revision)


class MigrationCommands(click.Group):
    """``python run.py db …``: Flask-Migrate's own command group, loaded when it is run (its
    context is the real group's: its options and its commands)."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        from flask_migrate.cli import db as commands

        bind_migrations(parent.ensure_object(ScriptInfo).load_app())
        return commands.make_context(info_name, args, parent=parent, **extra)


migration_commands = MigrationCommands("db", help="Flask-Migrate (Alembic) commands.")
