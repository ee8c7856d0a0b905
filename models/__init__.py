"""GridDesk's models and the domain rules that belong to them."""
from models.areas.hierarchy import Area
from models.audit import ConfigChange
from models import audit_subjects  # noqa: F401  (the audit trail's flush listener)
from models.base import Base, db, utcnow
from models.calendar import WorkCalendarDay
from models.categories import Category
from models.category_suggestion import CategoryModel
from models.evaluation.publishing import EvaluationMonth, EvaluationResult
from models.evaluation.schemes import ScoringScheme
from models.exports.jobs import ExportJob
from models.notify.outbox import ChannelSetting, Notification, NotificationTemplate
from models.people.api_clients import ApiClient, IdempotencyRecord, UserToken
from models.people.department import Department
from models.people import sessions  # noqa: F401  (ending sessions when a user's rights change)
from models.people.login_limits import LoginThrottle
from models.people.user import User
from models.reference_cache import ReferenceVersion
from models.patrol.tables import PatrolCheckIn, PatrolReport, PatrolRound
from models.stats.tables import StatsDaily, StatsFact, StatsMonthly, StatsPending
from models.tickets.co_tasks import CoHandlingTask
from models.tickets.dispatch_rules import DispatchRule
from models.tickets.public_limits import ReportCount
from models.tickets.reporters import TicketReporter
from models.tickets.supervision import Supervision
from models.tickets.tables import Attachment, Ticket, TicketEvent, TicketNumberCounter
from models.vocabulary import (ActorKind, AreaLevel, AttachmentKind, Channel, DeadlineUnit,
                               DepartmentKind, HandlingLevel, NotificationState, Priority,
                               ResponsibleKind, Role, Source, TicketStatus)

__all__ = [
    "Supervision", "ReferenceVersion",
    "ApiClient", "ChannelSetting", "ConfigChange", "ConfigChange", "IdempotencyRecord", "LoginThrottle", "NotificationTemplate", "UserToken",
    "ActorKind", "Area", "AreaLevel", "Attachment", "AttachmentKind", "Base", "Category", "Channel",
    "DeadlineUnit", "Department", "ExportJob", "DepartmentKind", "DispatchRule", "HandlingLevel",
    "Notification", "NotificationState", "PatrolCheckIn", "PatrolReport", "PatrolRound", "Priority",
    "ResponsibleKind", "Role", "Source", "StatsDaily", "StatsFact", "StatsMonthly",
    "StatsPending", "Ticket",
    "EvaluationMonth", "EvaluationResult", "ScoringScheme",
    "ReportCount", "TicketReporter", "CoHandlingTask", "CategoryModel",
    "TicketEvent", "TicketNumberCounter", "TicketStatus", "User", "WorkCalendarDay", "db", "utcnow",
]
