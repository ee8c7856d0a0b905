"""Excel ledger import page (being written)."""
from flask_admin import expose

from .base import GridDeskView


class LedgerImportView(GridDeskView):
    @expose("/")
    def index(self):
        return self.render("admin/home.html", counts={"by_status": {}, "overdue": 0},
                           missing_years=[])
