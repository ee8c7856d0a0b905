"""Browser tests: the real app served on 127.0.0.1, driven by Playwright through Debian's Chromium.

No browser is ever downloaded (never run ``playwright install``): Playwright launches
/usr/bin/chromium as its executable. Without it (or without the playwright package) every test
here is skipped with the reason. Fixtures:

- ``live_url``: the base URL of the session's app on a free port (the database is the one the
  other fixtures use — take ``ctx``/``world``/``demo`` as usual to fill it first);
- ``browser``: one headless Chromium per session;
- ``phone``: a fresh page in a 375×812 phone context (zh-CN, touch, geolocation allowed at
  ``PHONE_LOCATION``); ``phone_at(lat, lon)`` builds one at another place.
"""
from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path

import pytest

from ..conftest import database_url, served

CHROMIUM = Path(os.environ.get("GRIDDESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu"]
PHONE_VIEWPORT = {"width": 375, "height": 812}
# Where the fake phone is (WGS-84) unless a test asks phone_at(lat, lon) for another place.
PHONE_LOCATION = {"latitude": 30.5405, "longitude": 114.3305}

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - requirements-dev.txt pins it
    sync_playwright = None


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} is missing: browser tests need Debian's chromium "
                "(apt-get install chromium fonts-noto-cjk; .ci/run does it)")
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_url(app):
    with served(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def phone_at(browser):
    contexts = []

    def _open(latitude: float = PHONE_LOCATION["latitude"],
              longitude: float = PHONE_LOCATION["longitude"]):
        context = browser.new_context(
            viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True,
            locale="zh-CN", geolocation={"latitude": latitude, "longitude": longitude},
            permissions=["geolocation"])
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture()
def phone(phone_at):
    """A phone-sized page with the browser's location at PHONE_LOCATION."""
    return phone_at()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A browser test that failed also reports what the served app's threads and the database
    sessions were doing at that moment (a wait that timed out: a request still running, and on
    what it waits), so a rare failure can be understood from CI's log alone."""
    outcome = yield
    report = outcome.get_result()
    here = Path(__file__).parent
    if report.when == "call" and report.failed and here in Path(str(item.fspath)).parents:
        state = _pages_state(item.funcargs.get("browser")) + "\n" + _app_state()
        report.sections.append(("what the pages, the app and the database were doing", state))
        _keep_for_the_end_of_the_log(item.nodeid, state)


def _keep_for_the_end_of_the_log(nodeid: str, state: str) -> None:
    """tests/run_suite.py prints these notes after every run's output: CI's log keeps its
    beginning and its end, and a failure's report sits in the middle."""
    folder = os.environ.get("GRIDDESK_FAILURE_NOTES")
    if folder:
        with open(Path(folder) / f"{os.getpid()}.txt", "a", encoding="utf-8") as notes:
            notes.write(f"--- {nodeid} ({os.environ.get('TEST_DATABASE_URL') or 'SQLite'})\n")
            notes.write(state + "\n")


def _pages_state(browser) -> str:
    """Each open page's address and the messages it shows (a flash says why an action did not
    succeed)."""
    lines = []
    for context in getattr(browser, "contexts", []):
        for page in context.pages:
            try:
                shown = page.evaluate(
                    "() => [...document.querySelectorAll('.alert, .m-flash, .m-form-msg, .p-error')]"
                    ".map(e => e.className + ': ' + e.innerText.trim()).join(' | ')")
            except Exception as exc:  # noqa: BLE001 - a report, never a second failure
                shown = f"(unreadable: {exc})"
            lines.append(f"--- page {page.url}: {shown or 'no message shown'}")
    return "\n".join(lines)


def _app_state() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    lines = []
    for ident, frame in sys._current_frames().items():
        stack = traceback.format_stack(frame)
        if any("/views/" in line or "/models/" in line or "werkzeug/serving" in line
               for line in stack):
            lines.append(f"--- thread {names.get(ident, ident)}")
            lines += [line.rstrip() for line in stack[-14:]]
    url = database_url()
    if url.startswith("postgresql"):
        try:
            import psycopg

            plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(plain, connect_timeout=5) as conn:
                rows = conn.execute(
                    "SELECT pid, state, wait_event_type, wait_event, now() - xact_start, "
                    "left(query, 160) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() ORDER BY xact_start").fetchall()
            lines.append("--- pg_stat_activity (pid, state, wait, transaction age, query)")
            lines += [repr(row) for row in rows]
        except Exception as exc:  # noqa: BLE001 - a report, never a second failure
            lines.append(f"pg_stat_activity unavailable: {exc}")
    return "\n".join(lines)
