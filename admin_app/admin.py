"""Flask-Admin registration. The Admin object is built per app (see FLASK_NOTES)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from models import (ApiClient, Area, Category, ConfigChange, Department, DispatchRule, Notification,
                     NotificationTemplate, Ticket, User, WorkCalendarDay, db)
from views.admin.audit_views import ConfigChangeView, install_change_log
from views.admin.board import BoardView, MatrixView
from views.admin.dispatch_quality_views import DispatchQualityView
from views.admin.supervision_views import SupervisionListView
from views.admin.suggestion_views import CategorySuggestionView
from views.admin.evaluation_views import RankingView, SchemeView
from views.admin.export_views import ExportView
from views.admin.config_views import (ApiClientView, AreaView, CategoryView, DepartmentView,
                                      DispatchRuleView, UserView, WorkCalendarView)
from views.admin.home import HomeView
from views.admin.ledger_views import LedgerImportView
from views.admin.patrol_views import PatrolCoverageView, PatrolRoundsView
from views.admin.notification_views import (ChannelSettingsView, InboxView, OutboxView,
                                            TemplateView, unread_for_current_user)
from views.admin.statistics.analysis import AnalysisView
from views.admin.statistics.dashboard import DashboardView
from views.admin.statistics.definitions import DefinitionsView
from views.admin.statistics.figure_tickets import FigureTicketsView
from views.admin.statistics.map import MapView
from views.admin.statistics.monthly_report import ReportView
from views.admin.ticket_views import TicketView

from .headers import csp_nonce


def build_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name=_l("GridDesk"),
        theme=Bootstrap4Theme(base_template="admin/griddesk_base.html", fluid=True),
        index_view=HomeView(name=_l("Home"), url="/admin"),
        csp_nonce_generator=csp_nonce,  # Flask-Admin's inline scripts (admin_app/headers.py)
        # Flask-Admin's messages compiled anew from its .po (the Makefile's admin.mo)
        translations_path=str(Path(__file__).parent / "translations"),
    )
    tickets = _l("Tickets")
    config = _l("Configuration")
    admin.add_view(TicketView(Ticket, db, name=_l("Ticket list"), category=tickets,
                              endpoint="ticket"))
    admin.add_view(BoardView(name=_l("Board"), category=tickets, endpoint="board"))
    admin.add_view(SupervisionListView(name=_l("Supervised tickets"), category=tickets,
                                       endpoint="supervision"))
    admin.add_view(MatrixView(name=_l("Responsibility matrix"), category=tickets,
                              endpoint="matrix"))
    admin.add_view(ExportView(name=_l("My exports"), endpoint="exports"))
    admin.add_view(LedgerImportView(name=_l("Import Excel ledger"), category=tickets,
                                    endpoint="ledger"))
    patrol = _l("Patrol")
    admin.add_view(PatrolRoundsView(name=_l("Patrol rounds"), category=patrol, endpoint="patrol"))
    admin.add_view(PatrolCoverageView(name=_l("Patrol coverage"), category=patrol,
                                      endpoint="patrolcoverage", url="patrol-coverage"))
    admin.add_view(AreaView(Area, db, name=_l("Areas"), category=config, endpoint="area"))
    admin.add_view(DepartmentView(Department, db, name=_l("Departments"), category=config,
                                  endpoint="department"))
    admin.add_view(UserView(User, db, name=_l("Users"), category=config, endpoint="user"))
    admin.add_view(CategoryView(Category, db, name=_l("Categories"), category=config,
                                endpoint="category"))
    admin.add_view(DispatchRuleView(DispatchRule, db, name=_l("Dispatch rules"), category=config,
                                    endpoint="dispatchrule"))
    admin.add_view(DispatchQualityView(name=_l("Dispatch quality"), category=config,
                                       endpoint="dispatchquality", url="dispatch-quality"))
    admin.add_view(WorkCalendarView(WorkCalendarDay, db, name=_l("Work calendar"),
                                    category=config, endpoint="calendar"))
    admin.add_view(ApiClientView(ApiClient, db, name=_l("API clients"), category=config,
                                 endpoint="apiclient"))
    change_log = ConfigChangeView(ConfigChange, db, name=_l("Change log"), category=config,
                                  endpoint="configchange")
    admin.add_view(change_log)
    admin.add_view(CategorySuggestionView(name=_l("Category suggestion"), category=config,
                                          endpoint="category_suggestion"))
    install_change_log(app, change_log)
    statistics = _l("Statistics")
    admin.add_view(DashboardView(name=_l("Dashboard"), category=statistics, endpoint="stats",
                                 url="/admin/stats"))
    admin.add_view(AnalysisView(name=_l("Analysis"), category=statistics,
                                endpoint="stats_analysis", url="/admin/stats/analysis"))
    admin.add_view(MapView(name=_l("Map"), category=statistics, endpoint="stats_map",
                           url="/admin/stats/map"))
    admin.add_view(DefinitionsView(name=_l("Definitions of the figures"), category=statistics,
                                   endpoint="stats_definitions", url="/admin/stats/definitions"))
    admin.add_view(FigureTicketsView(name=_l("Tickets behind a figure"), endpoint="stats_figure",
                                     url="/admin/stats/figure"))
    admin.add_view(RankingView(name=_l("Performance evaluation"), category=statistics,
                               endpoint="evaluation"))
    admin.add_view(SchemeView(name=_l("Scoring schemes"), category=statistics,
                              endpoint="evaluationscheme"))
    admin.add_view(ReportView(name=_l("Monthly report"), category=statistics,
                              endpoint="report", url="/admin/report"))
    notifications = _l("Notifications")
    admin.add_view(OutboxView(Notification, db, name=_l("Notification outbox"),
                              category=notifications, endpoint="notification"))
    admin.add_view(TemplateView(NotificationTemplate, db, name=_l("Message templates"),
                                category=notifications, endpoint="notifytemplate"))
    admin.add_view(ChannelSettingsView(name=_l("Channel settings"), category=notifications,
                                       endpoint="notifychannels"))
    admin.add_view(InboxView(name=_l("My notifications"), endpoint="inbox"))
    # The bell in the navbar (griddesk_base.html): unread in-app messages of the current user.
    app.jinja_env.globals["gd_unread_count"] = unread_for_current_user
    return admin
