"""GridDesk's models and the domain rules that belong to them."""
from .api_client import ApiClient, IdempotencyRecord, UserToken
from .area import Area
from .base import Base, db, utcnow
from .calendar import WorkCalendarDay
from .category import Category
from .department import Department
from .dispatch_rule import DispatchRule
from .enums import (ActorKind, AreaLevel, AttachmentKind, Channel, DeadlineUnit, DepartmentKind,
                    HandlingLevel, NotificationState, Priority, ResponsibleKind, Role, Source,
                    TicketStatus)
from .notification import ChannelSetting, Notification, NotificationTemplate
from .ticket import Attachment, Ticket, TicketEvent, TicketNumberCounter
from .user import User

__all__ = [
    "ApiClient", "ChannelSetting", "IdempotencyRecord", "NotificationTemplate", "UserToken",
    "ActorKind", "Area", "AreaLevel", "Attachment", "AttachmentKind", "Base", "Category", "Channel",
    "DeadlineUnit", "Department", "DepartmentKind", "DispatchRule", "HandlingLevel",
    "Notification", "NotificationState", "Priority", "ResponsibleKind", "Role", "Source", "Ticket",
    "TicketEvent", "TicketNumberCounter", "TicketStatus", "User", "WorkCalendarDay", "db", "utcnow",
]
