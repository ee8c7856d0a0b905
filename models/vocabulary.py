"""The fixed vocabularies of GridDesk. Values are stored; labels are translated for the UI."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


_LABELS: dict[tuple[type, str], dict] = {}  # (enum, locale) → {member: translated label}


class LabelledEnum(str, enum.Enum):
    @property
    def label(self) -> str:
        """Translated once per enum and locale (building the lazy strings on every call cost a
        list page of 100 tickets several milliseconds)."""
        return self.labels()[self]

    @classmethod
    def labels(cls) -> dict:
        """{member: label} in the current locale; a member is also found by its value. Finding
        the locale is most of a label's cost: code that labels many values asks once."""
        from flask_babel import get_locale

        key = (cls, str(get_locale()))
        labels = _LABELS.get(key)
        if labels is None:
            labels = _LABELS[key] = {m: str(text) for m, text in cls._labels().items()}
        return labels

    @property
    def lazy_label(self):
        """The label translated when shown: for forms and tables built before any request."""
        return self._labels()[self]

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m._labels()[m]) for m in cls]

    def __str__(self) -> str:
        return self.value


class AreaLevel(LabelledEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"

    @classmethod
    def _labels(cls):
        return {cls.DISTRICT: _l("District"), cls.STREET: _l("Street"),
                cls.COMMUNITY: _l("Community"), cls.GRID: _l("Grid")}

    @property
    def depth(self) -> int:
        return AREA_LEVELS.index(self)

    @property
    def parent_level(self) -> "AreaLevel | None":
        return AREA_LEVELS[self.depth - 1] if self.depth > 0 else None


AREA_LEVELS = [AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID]


class DepartmentKind(LabelledEnum):
    COMMAND_CENTRE = "command_centre"
    FUNCTIONAL = "functional"
    COMMUNITY_OFFICE = "community_office"
    PROPERTY_COMPANY = "property_company"
    OTHER = "other"

    @classmethod
    def _labels(cls):
        return {cls.COMMAND_CENTRE: _l("Command centre"), cls.FUNCTIONAL: _l("Functional department"),
                cls.COMMUNITY_OFFICE: _l("Community office"),
                cls.PROPERTY_COMPANY: _l("Property company"), cls.OTHER: _l("Other")}


class Role(LabelledEnum):
    ADMIN = "admin"
    DISTRICT_CENTRE = "district_centre"
    STREET_CENTRE = "street_centre"
    COMMUNITY_STAFF = "community_staff"
    GRID_WORKER = "grid_worker"
    HANDLER = "handler"
    LEADER = "leader"

    @classmethod
    def _labels(cls):
        return {cls.ADMIN: _l("Administrator"), cls.DISTRICT_CENTRE: _l("District command centre"),
                cls.STREET_CENTRE: _l("Street command centre"),
                cls.COMMUNITY_STAFF: _l("Community staff"), cls.GRID_WORKER: _l("Grid worker"),
                cls.HANDLER: _l("Department handler"), cls.LEADER: _l("Leader (read-only)")}


class DeadlineUnit(LabelledEnum):
    NATURAL_HOURS = "natural_hours"
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"

    @classmethod
    def _labels(cls):
        return {cls.NATURAL_HOURS: _l("Natural hours"), cls.WORKING_HOURS: _l("Working hours"),
                cls.WORKING_DAYS: _l("Working days")}


class HandlingLevel(LabelledEnum):
    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"

    @classmethod
    def _labels(cls):
        return {cls.COMMUNITY: _l("Community"), cls.STREET: _l("Street"), cls.DISTRICT: _l("District")}


class ResponsibleKind(LabelledEnum):
    DEPARTMENT = "department"
    GRID_WORKER = "grid_worker"
    COMMUNITY_OFFICE = "community_office"

    @classmethod
    def _labels(cls):
        return {cls.DEPARTMENT: _l("Department"), cls.GRID_WORKER: _l("The grid's own worker"),
                cls.COMMUNITY_OFFICE: _l("The community office")}


class Priority(LabelledEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @classmethod
    def _labels(cls):
        return {cls.NORMAL: _l("Normal"), cls.URGENT: _l("Urgent"), cls.EMERGENCY: _l("Emergency")}


class Source(LabelledEnum):
    PATROL = "patrol"
    PHONE = "phone"
    WALK_IN = "walk_in"
    WEB = "web"
    WECHAT = "wechat"
    API = "api"
    OPEN311 = "open311"
    IMPORT = "import"

    @classmethod
    def _labels(cls):
        return {cls.PATROL: _l("Patrol"), cls.PHONE: _l("Phone hotline"), cls.WALK_IN: _l("Walk-in"),
                cls.WEB: _l("Web"), cls.WECHAT: _l("WeChat"), cls.API: _l("API"),
                cls.OPEN311: _l("Open311"), cls.IMPORT: _l("Import")}


# The channels a staff member enters a report from by hand (the intake form): not those that
# write their own reports (API, Open311, ledger import).
HAND_ENTERED_SOURCES = frozenset({Source.PHONE, Source.WALK_IN, Source.PATROL, Source.WECHAT,
                                  Source.WEB})


class TicketStatus(LabelledEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PENDING_REVIEW = "pending_review"
    CLOSED = "closed"
    SUSPENDED = "suspended"
    INVALID = "invalid"

    @classmethod
    def _labels(cls):
        return {cls.PENDING: _l("Pending"), cls.IN_PROGRESS: _l("In progress"),
                cls.PENDING_REVIEW: _l("Pending review"), cls.CLOSED: _l("Closed"),
                cls.SUSPENDED: _l("Suspended"), cls.INVALID: _l("Invalid")}


OPEN_STATUSES = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS,
                 TicketStatus.PENDING_REVIEW, TicketStatus.SUSPENDED)
# The statuses in which the handling deadline runs (models/tickets/deadlines.py).
HANDLING_STATUSES = (TicketStatus.IN_PROGRESS, TicketStatus.PENDING_REVIEW)


class TaskStatus(LabelledEnum):
    """A co-handling task (协办任务): open until the department accepts it, then submitted (its
    part done) or returned (not theirs, with the reason), or closed by a manager (with a reason)."""

    OPEN = "open"
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    CLOSED = "closed"

    @classmethod
    def _labels(cls):
        return {cls.OPEN: _l("Waiting for acceptance"), cls.ACCEPTED: _l("Being handled"),
                cls.SUBMITTED: _l("Part done"), cls.RETURNED: _l("Returned"),
                cls.CLOSED: _l("Closed by the manager")}


# Tasks still owed by their department: the lead cannot submit the case while one is left.
ACTIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.ACCEPTED)


class ActorKind(LabelledEnum):
    USER = "user"
    SYSTEM = "system"
    REPORTER = "reporter"

    @classmethod
    def _labels(cls):
        return {cls.USER: _l("Staff"), cls.SYSTEM: _l("System"), cls.REPORTER: _l("Reporter")}


class RatingSource(LabelledEnum):
    """Whose satisfaction a rating is: the reporter's own (tracking code), or what staff wrote
    down on a phone follow-up (回访) — statistics tell the two apart."""

    REPORTER = "reporter"
    FOLLOW_UP = "follow_up"

    @classmethod
    def _labels(cls):
        return {cls.REPORTER: _l("Rated by the reporter"),
                cls.FOLLOW_UP: _l("Phone follow-up")}


class AttachmentKind(LabelledEnum):
    BEFORE = "before"
    AFTER = "after"
    OTHER = "other"

    @classmethod
    def _labels(cls):
        return {cls.BEFORE: _l("Before"), cls.AFTER: _l("After"), cls.OTHER: _l("Other")}


class Channel(LabelledEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"
    WECOM = "wecom"
    DINGTALK = "dingtalk"

    @classmethod
    def _labels(cls):
        return {cls.IN_APP: _l("In-app"), cls.EMAIL: _l("E-mail"), cls.WEBHOOK: _l("Webhook"),
                cls.WECOM: _l("WeCom robot"), cls.DINGTALK: _l("DingTalk robot")}


class NotificationState(LabelledEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    READ = "read"

    @classmethod
    def _labels(cls):
        return {cls.PENDING: _l("Pending"), cls.SENDING: _l("Sending"), cls.SENT: _l("Sent"),
                cls.FAILED: _l("Failed"), cls.READ: _l("Read")}


class ExportState(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @classmethod
    def _labels(cls):
        return {cls.QUEUED: _l("Waiting to start"), cls.RUNNING: _l("Running"),
                cls.DONE: _l("Ready"), cls.FAILED: _l("Failed")}
