"""GridDesk entry point.

    python run.py                 the demo: migrate, seed when empty, serve on 127.0.0.1
                                  (python run.py demo --host 0.0.0.0 opens it to the network)
    python run.py init-db         migrate the database to the newest schema
    python run.py seed-demo       create the demo district, users and tickets
    python run.py create-admin U  create an administrator
    python run.py import-areas F  import areas from a GeoJSON FeatureCollection
    python run.py import-tickets F.xlsx [--dry-run]  import an old Excel ledger
    python run.py create-api-client NAME [--scope CODE]  an integration token
    python run.py scheduler       the job scheduler (one per deployment)
    python run.py serve           serve (use Gunicorn in production)
    python run.py backup [F]      one archive: database, photos on disk, manifest
    python run.py restore F [--force]  restore an archive into an empty database
    python run.py db ...          Flask-Migrate (Alembic) commands
"""
from __future__ import annotations

import sys

from flask.cli import FlaskGroup

from admin_app import create_app
from config import ConfigError


def main(argv: list[str]) -> None:
    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                     add_version_option=False, load_dotenv=False,
                     help="GridDesk: community grid event tickets.")
    args = argv or ["demo"]
    try:
        cli.main(args=args, prog_name="python run.py")
    except ConfigError as error:  # a setting that cannot run: say which, without a traceback
        print(f"GridDesk cannot start: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
