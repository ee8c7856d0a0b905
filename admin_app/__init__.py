"""GridDesk application factory: a list of small configure steps."""
from __future__ import annotations

import functools
from pathlib import Path

from babel import Locale
from flask import Flask, has_request_context, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from config import INSTANCE_DIR, Config, reading_pool_options

from .extensions import babel, csrf, db, login_manager
from .migrations import migration_commands


def create_app(config: Config | dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    configure_settings(app, config)
    configure_logging(app)
    configure_url_numbers(app)
    configure_extensions(app)
    configure_input_checks(app)
    configure_security_headers(app)
    configure_storage(app)
    configure_i18n(app)
    configure_login(app)
    configure_blueprints(app)
    configure_mobile(app)
    configure_admin(app)
    configure_cli(app)
    configure_template_helpers(app)
    configure_error_handlers(app)
    return app


def configure_settings(app: Flask, config: Config | dict | None) -> None:
    settings = Config() if config is None else config
    app.config.from_mapping(settings.as_dict() if isinstance(settings, Config) else settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)


def configure_logging(app: Flask) -> None:
    """No secret in any log line: api_key, tokens and passwords are written as [redacted]."""
    from .logs import install_log_redaction

    install_log_redaction()


def configure_url_numbers(app: Flask) -> None:
    """An id in a URL fits a BIGINT: a longer one is no such page (404), never a database error."""
    from werkzeug.routing import IntegerConverter

    class BoundedIntegerConverter(IntegerConverter):
        def __init__(self, map, fixed_digits=0, min=None, max=2 ** 63 - 1, signed=False):
            super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
            # The digits 0–9 only: werkzeug's \d takes "١" (an Arabic one) for ticket 1.
            self.regex = "-?[0-9]+" if signed else "[0-9]+"

    app.url_map.converters["int"] = BoundedIntegerConverter


def configure_extensions(app: Flask) -> None:
    from models.base import json_from_database
    from models.transactions import READS_POOL

    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    options = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
               "json_deserializer": json_from_database}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql"):  # (a bind takes none of the options above by itself)
        app.config["SQLALCHEMY_BINDS"] = {**app.config.get("SQLALCHEMY_BINDS", {}), READS_POOL: {
            **options, **reading_pool_options(options), "url": uri}}
    db.init_app(app)
    app.cli.add_command(migration_commands)  # Flask-Migrate itself is loaded when a command runs
    csrf.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)
    else:
        _keep_prepared_statements(app)
        _convert_statements_once()


def configure_input_checks(app: Flask) -> None:
    """A NUL character anywhere in a request is refused before any view reads it (400)."""
    from views.inputs import refuse_unstorable_input

    app.before_request(refuse_unstorable_input)


def configure_security_headers(app: Flask) -> None:
    """CSP with a per-answer nonce, no framing, nosniff, referrer policy, HSTS in production
    (admin_app/headers.py says why each source is allowed)."""
    from .headers import install_security_headers

    install_security_headers(app)


def configure_storage(app: Flask) -> None:
    """Photos on disk under UPLOAD_DIR, or in an S3-compatible bucket (GRIDDESK_PHOTO_STORAGE=s3)."""
    from models.tickets.attachments import install_photo_storage

    if app.config["PHOTO_STORAGE"] == "s3":
        from integrations.storage.s3 import S3Storage

        install_photo_storage(app, S3Storage.from_config(app.config))
    else:
        from integrations.storage.disk import DiskStorage

        install_photo_storage(app, DiskStorage(app.config["UPLOAD_DIR"]))


def _keep_prepared_statements(app: Flask) -> None:
    """A transaction that only read ends with COMMIT, so psycopg keeps its prepared statements
    (models/transactions.py says why)."""
    from models.transactions import track_writes

    with app.app_context():
        track_writes(db.engine)


# Statements of up to this many parameters and characters have their SQL converted to
# PostgreSQL's form once per process (psycopg's own limits are 50 and 4,096): the new ticket's
# INSERT has 52 parameters, the intake's one statement (ticket, events, mark, messages) ~5,000
# characters, and psycopg parsed them anew with a regular expression on every intake (~0.15 ms
# each).
CONVERTED_ONCE_MAX_PARAMS = 400
CONVERTED_ONCE_MAX_LENGTH = 16_384


def _convert_statements_once() -> None:
    import psycopg._queries

    psycopg._queries.MAX_CACHED_STATEMENT_PARAMS = max(
        psycopg._queries.MAX_CACHED_STATEMENT_PARAMS, CONVERTED_ONCE_MAX_PARAMS)
    psycopg._queries.MAX_CACHED_STATEMENT_LENGTH = max(
        psycopg._queries.MAX_CACHED_STATEMENT_LENGTH, CONVERTED_ONCE_MAX_LENGTH)


def _sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def select_locale() -> str:
    if not has_request_context():  # CLI and scheduler messages are Chinese, the default
        return "zh_Hans_CN"
    languages = app_languages()
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return "zh_Hans_CN"


@functools.cache
def _locale(identifier: str) -> Locale:
    return Locale.parse(identifier)


def request_locale() -> Locale:
    """Flask-Babel's locale selector: the chosen locale as a ``Locale`` built once per process.
    Given its name, Flask-Babel parses it on every request, and babel checks on each parse that
    the locale's data file exists on disk: ~2 % of an intake's CPU (docs/PERFORMANCE.md)."""
    return _locale(select_locale())


def app_languages() -> dict[str, str]:
    from flask import current_app

    return current_app.config["LANGUAGES"]


def configure_i18n(app: Flask) -> None:
    from .catalogs import compile_stale_catalogs

    try:
        compile_stale_catalogs()
    except OSError as error:  # a read-only install must have run `make install`
        app.logger.warning("translation catalogs not compiled: %s", error)
    babel.init_app(app, locale_selector=request_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))

    @app.route("/lang/<code>")
    def set_language(code: str):
        if code in app.config["LANGUAGES"]:
            session["lang"] = code
        target = request.referrer or ""
        from views.auth import is_local_url

        return redirect(target if is_local_url(target) else url_for("admin.index"))


def configure_login(app: Flask) -> None:
    from views.auth import session_user

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    login_manager.user_loader(session_user)  # checks that the session has not ended
    # Sessions end by version, idle time and age (models/people/sessions.py); "fresh" logins are
    # not used. Flask-Login's "basic" protection only marks an anonymous session not fresh — a
    # cookie write that, answered after a sign-in (the login page's icon), signed the user out.
    login_manager.session_protection = None
    app.session_interface = CookieSessionWhenSent()

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to continue.")


class CookieSessionWhenSent(SecureCookieSessionInterface):
    """Flask's signed cookie session, its signer set up only when a request brings a cookie:
    API calls and integrations carry a bearer token and none (~30 µs of each of their requests)."""

    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def configure_blueprints(app: Flask) -> None:
    from views.api import bp as api_bp
    from views.auth import bp as auth_bp
    from views.health import bp as health_bp
    from views.open311 import bp as open311_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(health_bp)
    # Machine interfaces authenticate with tokens, not session cookies: no CSRF token applies.
    csrf.exempt(api_bp)
    csrf.exempt(open311_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(open311_bp)
    from views.public import bp as public_bp

    app.register_blueprint(public_bp)  # the resident's pages: no account, CSRF on their forms

    @app.route("/")
    def root():
        return redirect(url_for("admin.index"))

    @app.route("/favicon.ico")
    def favicon():  # browsers ask for it on every page that names no icon
        return app.send_static_file("mobile/icons/icon-192.png")


def configure_mobile(app: Flask) -> None:
    """The field staff's phone app /m/ (views/mobile): session sign-in, CSRF on its forms."""
    from views.mobile import bp as mobile_bp

    app.register_blueprint(mobile_bp)


def configure_admin(app: Flask) -> None:
    from .admin import build_admin

    build_admin(app)


def configure_cli(app: Flask) -> None:
    from .cli import record_commands_as_command_line, register_commands

    register_commands(app)
    record_commands_as_command_line(app)


def configure_error_handlers(app: Flask) -> None:
    """400/403/404/405/500 in Chinese, in the admin layout (menu kept); JSON for the machine
    interfaces, the GeoReport error list for Open311; input refused at the edge likewise."""
    from werkzeug.exceptions import InternalServerError

    from views.inputs import InputRefused

    from .error_pages import error_response, refused_input_response

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, error_response)
    app.register_error_handler(InternalServerError, error_response)
    app.register_error_handler(InputRefused, refused_input_response)


def configure_template_helpers(app: Flask) -> None:
    from models.clock import format_local
    from models.tickets.actions import action_label
    from views.admin.formatting import supervision_badge

    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.globals["event_label"] = action_label
    app.jinja_env.globals["supervision_badge"] = supervision_badge

    @app.context_processor
    def inject_languages():
        return {"griddesk_languages": app.config["LANGUAGES"], "current_lang": select_locale()}
