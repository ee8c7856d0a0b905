"""The statistics pages (dashboard, analysis, map) through the real app on the demo."""
from __future__ import annotations

import pytest

from models import db
from models.stats.rollups import fold_pending


@pytest.fixture(scope="module")
def folded(demo, app):
    with app.app_context():
        while fold_pending():
            pass
    return demo


def test_dashboard_renders(folded, login_as):
    page = login_as("district").get("/admin/stats/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:3000]
    open("/tmp/dash.html", "w").write(html)
