"""GridDesk settings, read from the environment with safe defaults for the demo."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("GRIDDESK_INSTANCE", BASE_DIR / "instance"))


MIN_SECRET_KEY_BYTES = 32


class ConfigError(RuntimeError):
    """The environment does not describe a runnable GridDesk."""


def _demo_secret_key() -> str:
    """The demo keeps one generated key in instance/ so sessions survive restarts."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _env_bool(env, name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def parse_work_periods(text: str) -> tuple:
    """"09:00-12:00,13:30-17:30" → ((time(9), time(12)), (time(13, 30), time(17, 30)))."""
    from datetime import time

    periods = []
    for part in text.split(","):
        try:
            begin, end = (time.fromisoformat(p.strip()) for p in part.split("-"))
        except ValueError:
            raise ConfigError(f"GRIDDESK_WORK_PERIODS: {part!r} is not like 09:00-12:00") from None
        if begin >= end or (periods and begin < periods[-1][1]):
            raise ConfigError("GRIDDESK_WORK_PERIODS must be increasing, non-overlapping periods")
        periods.append((begin, end))
    if not periods:
        raise ConfigError("GRIDDESK_WORK_PERIODS is empty")
    return tuple(periods)


def engine_options(env, url: str) -> dict[str, object]:
    """Connection pool: no ping per checkout (a round trip on every request); connections are
    recycled after GRIDDESK_DB_POOL_RECYCLE seconds instead, so none outlives a server-side or
    firewall idle timeout. On PostgreSQL each process keeps one connection per Gunicorn thread
    (GRIDDESK_THREADS) and opens up to 8 more for bursts (closed when returned: the scheduler's
    or the dev server's extra threads), and as many again for reads (``reading_pool_options``);
    all workers, the scheduler and psql must fit in max_connections (docs/OPERATIONS.md)."""
    options: dict[str, object] = {
        "pool_recycle": int(env.get("GRIDDESK_DB_POOL_RECYCLE", "1800"))}
    if url.startswith("postgresql"):
        options["pool_size"] = int(env.get("GRIDDESK_DB_POOL_SIZE",
                                           env.get("GRIDDESK_THREADS", "4")))
        options["max_overflow"] = int(env.get("GRIDDESK_DB_MAX_OVERFLOW", "8"))
    return options


def reading_pool_options(options: dict[str, object]) -> dict[str, object]:
    """PostgreSQL: a second pool for the reads that run outside any transaction (the API's read
    of one ticket, models/transactions.py), its connections in autocommit mode for good — nothing
    to switch on and off or to roll back around each read. As many as the main pool keeps and
    none beyond: a read that finds them all busy runs in the session's transaction instead."""
    return {"isolation_level": "AUTOCOMMIT", "pool_size": options.get("pool_size", 4),
            "max_overflow": 0, "pool_timeout": 0, "pool_reset_on_return": None}


class Config:
    """One configuration object, built from the environment at app creation."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.GRIDDESK_ENV = env.get("GRIDDESK_ENV", "demo")  # demo | production | test
        self.SQLALCHEMY_DATABASE_URI = env.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'griddesk.db'}"
        )
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgres://"):
            self.SQLALCHEMY_DATABASE_URI = "postgresql://" + self.SQLALCHEMY_DATABASE_URI[11:]
        secret = env.get("SECRET_KEY")
        if not secret:
            if self.GRIDDESK_ENV == "production":
                raise ConfigError("SECRET_KEY must be set when GRIDDESK_ENV=production")
            secret = _demo_secret_key()
        if self.GRIDDESK_ENV == "production" and len(secret.encode()) < MIN_SECRET_KEY_BYTES:
            raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes when "
                              "GRIDDESK_ENV=production (anyone who guesses it can sign in as "
                              "anyone); make one with: "
                              "python3 -c \"import secrets; print(secrets.token_hex(32))\"")
        self.SECRET_KEY = secret
        # The built-in server (demo, `run.py serve`) listens on this address: this computer only,
        # unless opened to the network on purpose (GRIDDESK_HOST=0.0.0.0 or --host 0.0.0.0).
        self.HOST = env.get("GRIDDESK_HOST", "127.0.0.1")
        self.PORT = int(env.get("PORT", "5000"))
        self.GRIDDESK_TIMEZONE = env.get("GRIDDESK_TIMEZONE", "Asia/Shanghai")
        self.UPLOAD_DIR = env.get("GRIDDESK_UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
        # Photos: accepted sizes, thumbnail size, and where they are kept: "disk" (UPLOAD_DIR) or
        # "s3" (any S3-compatible object storage: bucket, endpoint URL, keys and region below).
        self.PHOTO_MAX_BYTES = int(env.get("GRIDDESK_PHOTO_MAX_BYTES", str(15 * 1024 * 1024)))
        self.PHOTO_MAX_PIXELS = int(env.get("GRIDDESK_PHOTO_MAX_PIXELS", "50000000"))
        self.PHOTO_THUMBNAIL_SIZE = int(env.get("GRIDDESK_PHOTO_THUMBNAIL_SIZE", "320"))
        self.PHOTO_STORAGE = env.get("GRIDDESK_PHOTO_STORAGE", "disk").strip().lower()
        if self.PHOTO_STORAGE not in ("disk", "s3"):
            raise ConfigError("GRIDDESK_PHOTO_STORAGE must be disk or s3")
        self.S3_BUCKET = env.get("GRIDDESK_S3_BUCKET", "")
        self.S3_ENDPOINT_URL = env.get("GRIDDESK_S3_ENDPOINT_URL") or None
        self.S3_REGION = env.get("GRIDDESK_S3_REGION") or None
        self.S3_ACCESS_KEY_ID = env.get("GRIDDESK_S3_ACCESS_KEY_ID") or None
        self.S3_SECRET_ACCESS_KEY = env.get("GRIDDESK_S3_SECRET_ACCESS_KEY") or None
        self.S3_PREFIX = env.get("GRIDDESK_S3_PREFIX", "photos/")
        if self.PHOTO_STORAGE == "s3" and not self.S3_BUCKET:
            raise ConfigError("GRIDDESK_S3_BUCKET must be set when GRIDDESK_PHOTO_STORAGE=s3")
        # Width of the daily sequence in ticket numbers (GD + yyyymmdd + sequence).
        self.TICKET_NUMBER_DIGITS = int(env.get("GRIDDESK_TICKET_NUMBER_DIGITS", "4"))
        # Lists stop counting past this many rows and say so on the page.
        self.LIST_COUNT_CAP = int(env.get("GRIDDESK_LIST_COUNT_CAP", "10000"))
        # Signing in: wrong passwords from one address for one account, and from one address
        # for all accounts, before each further try waits (doubling, from BACKOFF up to
        # BACKOFF_MAX seconds); counted in the database, shared by every web worker.
        self.LOGIN_MAX_FAILURES = int(env.get("GRIDDESK_LOGIN_MAX_FAILURES", "5"))
        self.LOGIN_MAX_FAILURES_PER_ADDRESS = int(
            env.get("GRIDDESK_LOGIN_MAX_FAILURES_PER_ADDRESS", "30"))
        self.LOGIN_BACKOFF_SECONDS = int(env.get("GRIDDESK_LOGIN_BACKOFF_SECONDS", "30"))
        self.LOGIN_BACKOFF_MAX_SECONDS = int(env.get("GRIDDESK_LOGIN_BACKOFF_MAX_SECONDS", "900"))
        # A signed-in session ends after this long without a request, and this long after
        # signing in, whatever happens in between.
        self.SESSION_IDLE_MINUTES = int(env.get("GRIDDESK_SESSION_IDLE_MINUTES", "120"))
        self.SESSION_MAX_HOURS = int(env.get("GRIDDESK_SESSION_MAX_HOURS", "12"))
        # Workflow and deadline policy.
        self.DEADLINE_WARNING_SHARE = float(env.get("GRIDDESK_DEADLINE_WARNING_SHARE", "0.8"))
        # Working hours count only inside these local periods, e.g. "09:00-12:00,13:30-17:30".
        self.GRIDDESK_WORK_PERIODS = parse_work_periods(
            env.get("GRIDDESK_WORK_PERIODS", "09:00-12:00,13:30-17:30"))
        self.STALLED_AFTER_HOURS = int(env.get("GRIDDESK_STALLED_AFTER_HOURS", "48"))
        self.REOPEN_WINDOW_DAYS = int(env.get("GRIDDESK_REOPEN_WINDOW_DAYS", "7"))
        self.DUPLICATE_WINDOW_DAYS = int(env.get("GRIDDESK_DUPLICATE_WINDOW_DAYS", "7"))
        # A point in no grid is placed in the nearest community up to this far outside it.
        self.OUTSIDE_AREA_LIMIT_M = int(env.get("GRIDDESK_OUTSIDE_AREA_LIMIT_M", "5000"))
        self.PRIORITY_DEADLINE_FACTORS = {"normal": 1.0, "urgent": 0.5, "emergency": 0.25}
        self.RATING_WINDOW_DAYS = int(env.get("GRIDDESK_RATING_WINDOW_DAYS", "7"))
        self.SUSPENSION_MAX_DAYS = int(env.get("GRIDDESK_SUSPENSION_MAX_DAYS", "30"))
        self.CALENDAR_WARN_WEEKS = int(env.get("GRIDDESK_CALENDAR_WARN_WEEKS", "8"))
        # Scheduler: seconds between runs of each job.
        self.JOB_INTERVALS = {"deadline_sweep": int(env.get("GRIDDESK_SWEEP_SECONDS", "60")),
                              "acceptance_timeouts": int(env.get("GRIDDESK_SWEEP_SECONDS", "60")),
                              "expiries": 300, "deliver_notifications": 15,
                              "calendar_check": 6 * 3600, "fold_statistics": 30,
                              "forget_report_counts": 3600, "supervision_reminders": 600,
                              "train_category_model": 3600}
        # Category suggestion: no suggestions below this many closed tickets.
        self.CATEGORY_SUGGEST_MIN_TICKETS = int(env.get("GRIDDESK_CATEGORY_SUGGEST_MIN_TICKETS",
                                                        "200"))
        # The resident page's suggestion endpoint: requests per IP and minute.
        self.PUBLIC_SUGGESTIONS_PER_IP_MINUTE = int(
            env.get("GRIDDESK_PUBLIC_SUGGESTIONS_PER_IP_MINUTE", "60"))
        self.SCHEDULER_IN_PROCESS = _env_bool(env, "GRIDDESK_SCHEDULER_IN_PROCESS", True)
        # Notification delivery: attempts before "failed", first retry delay (doubling), how long
        # a claimed message may stay "sending" before another deliverer takes it over.
        self.NOTIFY_MAX_ATTEMPTS = int(env.get("GRIDDESK_NOTIFY_MAX_ATTEMPTS", "6"))
        self.NOTIFY_BACKOFF_SECONDS = int(env.get("GRIDDESK_NOTIFY_BACKOFF_SECONDS", "60"))
        self.NOTIFY_LEASE_SECONDS = int(env.get("GRIDDESK_NOTIFY_LEASE_SECONDS", "300"))
        # A delivery run stops after this many seconds (the next starts on its interval); in-app
        # messages are marked sent in batches of this many rows, one transaction each.
        self.NOTIFY_RUN_SECONDS = max(1, int(env.get("GRIDDESK_NOTIFY_RUN_SECONDS", "10")))
        self.NOTIFY_IN_APP_BATCH = max(1, int(env.get("GRIDDESK_NOTIFY_IN_APP_BATCH", "200")))
        self.NOTIFY_HTTP_TIMEOUT = float(env.get("GRIDDESK_NOTIFY_HTTP_TIMEOUT", "10"))
        # Public tracking link in messages to reporters, e.g. https://example.cn/track/{code}.
        self.GRIDDESK_TRACKING_URL = env.get("GRIDDESK_TRACKING_URL", "")
        # The resident report page /report: accepted reports per IP and hour, per phone and day
        # (counted in the database, shared by every web worker), photos and characters per report.
        self.PUBLIC_REPORTS_PER_IP_HOUR = int(env.get("GRIDDESK_PUBLIC_REPORTS_PER_IP_HOUR", "10"))
        self.PUBLIC_REPORTS_PER_PHONE_DAY = int(
            env.get("GRIDDESK_PUBLIC_REPORTS_PER_PHONE_DAY", "5"))
        self.PUBLIC_REPORT_MAX_PHOTOS = int(env.get("GRIDDESK_PUBLIC_REPORT_MAX_PHOTOS", "6"))
        self.PUBLIC_REPORT_MAX_TEXT = int(env.get("GRIDDESK_PUBLIC_REPORT_MAX_TEXT", "1000"))
        # Behind a reverse proxy: trust one proxy's X-Forwarded-* headers (scheme, host).
        self.PROXY_FIX = _env_bool(env, "GRIDDESK_PROXY_FIX", False)
        # Open311 discovery.
        self.OPEN311_CONTACT = env.get("GRIDDESK_OPEN311_CONTACT", "")
        self.OPEN311_KEY_SERVICE = env.get("GRIDDESK_OPEN311_KEY_SERVICE", "")
        self.OPEN311_CHANGESET = env.get("GRIDDESK_OPEN311_CHANGESET", "2026-11-23T00:00:00+08:00")
        # Statistics map: a tile URL template, e.g. Tianditu's (WGS-84, with its key tk=…), and
        # its attribution and subdomains ("01234567"). Empty: no tiles; the grid polygons are
        # drawn on a plain background. Tiles in GCJ-02 (AMap, Tencent) would be offset.
        self.MAP_TILE_URL = env.get("GRIDDESK_MAP_TILE_URL", "")
        self.MAP_TILE_ATTRIBUTION = env.get("GRIDDESK_MAP_TILE_ATTRIBUTION", "")
        self.MAP_TILE_SUBDOMAINS = env.get("GRIDDESK_MAP_TILE_SUBDOMAINS", "")
        # The categories the dashboard answers its standing questions for (names, comma-separated):
        # where they are reported most, and in which months they peak.
        self.STATS_FOCUS_CATEGORIES = [name.strip() for name in env.get(
            "GRIDDESK_STATS_FOCUS_CATEGORIES", "乱停车,下水道堵塞").split(",") if name.strip()]
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(env, self.SQLALCHEMY_DATABASE_URI)
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False
        self.BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
        self.BABEL_DEFAULT_TIMEZONE = self.GRIDDESK_TIMEZONE
        self.LANGUAGES = {"zh_Hans_CN": "中文", "en": "English"}
        self.FLASK_ADMIN_SWATCH = "default"
        self.FLASK_ADMIN_FLUID_LAYOUT = True
        self.WTF_CSRF_TIME_LIMIT = None
        self.WTF_CSRF_ENABLED = _env_bool(env, "WTF_CSRF_ENABLED", True)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool(env, "SESSION_COOKIE_SECURE",
                                             self.GRIDDESK_ENV == "production")
        self.MAX_CONTENT_LENGTH = 32 * 1024 * 1024
        # Werkzeug's default (scrypt) in production; tests may choose a cheaper one.
        self.PASSWORD_HASH_METHOD = env.get("GRIDDESK_PASSWORD_HASH_METHOD", "scrypt")
        if self.GRIDDESK_ENV == "test":
            self.TESTING = True

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k.isupper()}
