"""Every kind of page runs under the Content-Security-Policy without a single violation: the admin
(lists, details, edit and create forms, dashboard, map, board, reports), the resident's /report
and /track pages and the phone app /m/. A violation is what the browser reports — a
securitypolicyviolation event or its console message — or a script error."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import Ticket, User, db

from ..conftest import PASSWORD

ADMIN_PAGES = [
    "/admin/", "/admin/ticket/", "/admin/ticket/new/", "/admin/board/", "/admin/matrix/",
    "/admin/stats/", "/admin/stats/analysis/", "/admin/stats/map/", "/admin/report/",
    "/admin/stats/definitions/", "/admin/stats/figure/?measure=dispatched",
    "/admin/evaluation/", "/admin/evaluationscheme/", "/admin/exports/", "/admin/ledger/",
    "/admin/patrol/", "/admin/patrol-coverage/", "/admin/area/", "/admin/department/",
    "/admin/user/", "/admin/user/new/", "/admin/category/", "/admin/dispatchrule/",
    "/admin/calendar/", "/admin/apiclient/", "/admin/configchange/", "/admin/notification/",
    "/admin/notifytemplate/", "/admin/notifychannels/", "/admin/inbox/",
]
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' at ' +
                    e.sourceFile + ':' + e.lineNumber);
});
"""


@pytest.fixture()
def watched(browser):
    """A desktop page that records CSP violations, console CSP messages and script errors."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                  geolocation={"latitude": 30.5405, "longitude": 114.3305},
                                  permissions=["geolocation"])
    context.set_default_timeout(20_000)
    context.add_init_script(WATCH)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: page.problems.append(f"script error: {error}"))
    yield page
    context.close()


def visit(page, url: str) -> list[str]:
    """Open url, let its scripts run, and return every problem seen on it."""
    page.problems.clear()
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status < 400, f"{url}: {response and response.status}"
    assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()} \
        or "content-security-policy" in response.headers, url
    page.wait_for_timeout(400)  # charts, maps and deferred scripts
    return page.problems + page.evaluate("window.__csp || []")


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state("load")


def some_ticket() -> Ticket:
    return db.session.execute(sa.select(Ticket).where(Ticket.tracking_code.is_not(None))
                              .order_by(Ticket.id)).scalars().first()


def test_no_page_violates_the_content_security_policy(app, demo, live_url, watched):
    with app.app_context():
        ticket = some_ticket()
        ticket_id, code = ticket.id, ticket.tracking_code
        user_id = db.session.execute(sa.select(User.id).where(User.username == "admin")).scalar()
        assignee = db.session.execute(sa.select(Ticket.id).where(
            Ticket.assigned_user.has(User.username == "gridworker"))).scalars().first()
    problems = {}

    for url in ["/login", "/report", "/track", f"/track/{code}"]:
        problems[url] = visit(watched, live_url + url)
    log_in(watched, live_url, "admin")
    pages = ADMIN_PAGES + [f"/admin/ticket/details/?id={ticket_id}",
                           f"/admin/ticket/edit/?id={ticket_id}",
                           f"/admin/user/edit/?id={user_id}"]
    for url in pages:
        problems[url] = visit(watched, live_url + url)
    # The list actions and the row delete button work without inline handlers.
    watched.goto(f"{live_url}/admin/area/")
    assert watched.locator("[onclick], [onchange], [onsubmit]").count() == 0
    asked = []
    watched.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    watched.locator("button[data-gd-confirm]").first.click()
    watched.wait_for_timeout(300)
    assert asked and watched.url.endswith("/admin/area/")  # asked first; "no" deletes nothing
    watched.goto(f"{live_url}/admin/ticket/")
    watched.locator("input.action-checkbox").first.check()
    watched.locator("a.dropdown-toggle", has_text="选中的").first.click()
    watched.locator("[data-gd-action=bulk_edit]").click()
    watched.wait_for_url("**/admin/ticket/bulk/**")

    watched.context.clear_cookies()
    log_in(watched, live_url, "gridworker")
    mobile = ["/m/", "/m/me", "/m/patrol"] + ([f"/m/tickets/{assignee}"] if assignee else [])
    for url in mobile:
        problems[url] = visit(watched, live_url + url)

    found = {url: seen for url, seen in problems.items() if seen}
    assert not found, "\n".join(f"{url}: {seen}" for url, seen in found.items())
