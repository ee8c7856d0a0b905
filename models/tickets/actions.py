"""The actions of the closed loop: one vocabulary with its labels, the states each action starts
from, who may take it and what its form asks for.

One table for every caller: the workflow, the timeline, the notifications and their message
templates, the admin buttons, the API and the mobile pages. Values are stored in the timeline
(``TicketEvent.action``), so they never change; labels are what every page and message shows.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models.people.user import User
from models.vocabulary import OPEN_STATUSES, ActorKind, LabelledEnum, TicketStatus

P, IP, PR, C, S, INV = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS,
                        TicketStatus.PENDING_REVIEW, TicketStatus.CLOSED,
                        TicketStatus.SUSPENDED, TicketStatus.INVALID)


class Action(LabelledEnum):
    """Everything that can happen to a ticket, as its timeline records it."""

    # What people do (the workflow's actions, RULES below)
    ASSIGN = "assign"
    ACCEPT = "accept"
    RETURN = "return"
    ESCALATE = "escalate"
    TRANSFER = "transfer"
    NOTE = "note"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    SUSPEND = "suspend"
    RESUME = "resume"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    INVALIDATE = "invalidate"
    MERGE = "merge"
    REOPEN = "reopen"
    RATE = "rate"
    FOLLOW_UP = "follow_up"  # a phone follow-up (回访) staff record for the reporter
    # A further reporter of the same problem joins the ticket (models/tickets/reporters.py):
    # intake's, not the workflow's, so it has no rule below; it changes no state.
    JOIN = "join"
    # Co-handling (主办/协办, models/tickets/cohandling.py): a manager calls departments onto the
    # ticket, each with its own task; the task's steps are the department's, not the workflow's
    # (they change no ticket state and have no rule below, except calling departments in).
    CO_HANDLE = "co_handle"
    TASK_ACCEPT = "task_accept"
    TASK_NOTE = "task_note"
    TASK_SUBMIT = "task_submit"
    TASK_RETURN = "task_return"
    TASK_CLOSE = "task_close"
    # What else the timeline records: intake, automatic dispatch, corrections, ledger imports
    # and the scheduler's deadline steps
    CREATE = "create"
    DISPATCH = "dispatch"
    EDIT = "edit"
    IMPORT = "import"
    DEADLINE_WARNING = "deadline_warning"
    OVERDUE = "overdue"
    # Supervision (督办, models/tickets/supervision.py): set or changed, the handler's reply,
    # lifted, and the scheduler's reminder when the expected date has passed. No state changes.
    SUPERVISE = "supervise"
    SUPERVISION_REPLY = "supervision_reply"
    LIFT_SUPERVISION = "lift_supervision"
    SUPERVISION_DUE = "supervision_due"

    @classmethod
    def _labels(cls):
        return {
            cls.ASSIGN: _l("Assign"), cls.ACCEPT: _l("Accept"), cls.RETURN: _l("Return"),
            cls.ESCALATE: _l("Escalate"), cls.TRANSFER: _l("Transfer"),
            cls.NOTE: _l("Progress note"), cls.REQUEST_EXTENSION: _l("Request extension"),
            cls.APPROVE_EXTENSION: _l("Approve extension"),
            cls.REFUSE_EXTENSION: _l("Refuse extension"), cls.SUSPEND: _l("Suspend"),
            cls.RESUME: _l("Resume"), cls.SUBMIT: _l("Submit result"),
            cls.APPROVE: _l("Approve"), cls.REJECT: _l("Reject review"),
            cls.INVALIDATE: _l("Mark invalid"), cls.MERGE: _l("Merge as duplicate"),
            cls.REOPEN: _l("Reopen"), cls.RATE: _l("Rate"),
            cls.FOLLOW_UP: _l("Record phone follow-up"),
            cls.JOIN: _l("Further reporter joined"),
            cls.CO_HANDLE: _l("Call in co-handling departments"),
            cls.TASK_ACCEPT: _l("Co-handling task accepted"),
            cls.TASK_NOTE: _l("Co-handling progress note"),
            cls.TASK_SUBMIT: _l("Co-handling part done"),
            cls.TASK_RETURN: _l("Co-handling task returned"),
            cls.TASK_CLOSE: _l("Co-handling task closed"),
            cls.CREATE: _l("Reported"), cls.DISPATCH: _l("Dispatched"),
            cls.EDIT: _l("Corrected"), cls.IMPORT: _l("Imported"),
            cls.DEADLINE_WARNING: _l("Deadline warning"), cls.OVERDUE: _l("Overdue"),
            cls.SUPERVISE: _l("Put under supervision"),
            cls.SUPERVISION_REPLY: _l("Reply to supervision"),
            cls.LIFT_SUPERVISION: _l("Lift supervision"),
            cls.SUPERVISION_DUE: _l("Supervision: expected date passed"),
        }


def action_label(action: str) -> str:
    """The label of a stored action name (an unknown name is shown as it is)."""
    try:
        return str(Action(action).label)
    except ValueError:
        return str(action)


# Who may act, as relations between the actor and the ticket:
#   manager  — administrator, command centre or community staff whose scope holds the ticket
#   assignee — the person the ticket is assigned to
#   queue    — a member of the assigned department while no person has taken the ticket
#   author   — the staff member who reported the ticket (a grid worker's patrol find): adds
#              notes and photos to it while it is open, whoever handles it
#   reviewer — a manager who did not submit the result under review
#   reporter — a resident who reported the ticket, through their tracking code: the first
#              reporter or one who joined it later, each rating and reopening alike
#   system   — the scheduler


@dataclass(frozen=True)
class ActionRule:
    from_statuses: frozenset
    who: frozenset
    # The inputs the action's form asks for; "note!" is a required note.
    asks: tuple[str, ...] = ("note",)


def _rule(from_statuses, who, *asks: str) -> ActionRule:
    return ActionRule(frozenset(from_statuses), frozenset(who), asks or ("note",))


A = Action
RULES: dict[Action, ActionRule] = {
    A.ASSIGN: _rule({P, IP}, {"manager"}, "department_id", "user_id", "note"),
    A.ACCEPT: _rule({P}, {"assignee", "queue"}),
    A.RETURN: _rule({P, IP}, {"assignee", "queue"}, "note!"),
    A.ESCALATE: _rule({P, IP}, {"assignee", "queue", "manager", "system"}, "note!"),
    A.TRANSFER: _rule({P, IP}, {"manager"}, "department_id", "note!"),
    A.NOTE: _rule(OPEN_STATUSES, {"assignee", "queue", "manager", "author"}, "note!", "photos"),
    A.REQUEST_EXTENSION: _rule({IP}, {"assignee"}, "until", "note!"),
    A.APPROVE_EXTENSION: _rule({IP}, {"manager"}),
    A.REFUSE_EXTENSION: _rule({IP}, {"manager", "system"}, "note!"),
    A.SUSPEND: _rule({P, IP}, {"manager"}, "note!"),
    A.RESUME: _rule({S}, {"manager", "system"}),
    A.SUBMIT: _rule({IP}, {"assignee"}, "note!", "after_photos"),
    A.APPROVE: _rule({PR}, {"reviewer"}),
    A.REJECT: _rule({PR}, {"reviewer"}, "note!"),
    A.INVALIDATE: _rule({P, IP, S}, {"manager"}, "note!"),
    A.MERGE: _rule({P, IP, S}, {"manager"}, "master", "note"),
    A.REOPEN: _rule({C}, {"manager", "reporter"}, "note!"),
    A.RATE: _rule({C}, {"reporter"}, "rating", "note"),
    # Staff do not rate for the reporter; they record a phone follow-up (回访) as such.
    A.FOLLOW_UP: _rule({C}, {"manager"}, "rating", "note!"),
    # 主办/协办 (吹哨报到): several departments called onto the case in one action.
    A.CO_HANDLE: _rule({P, IP}, {"manager"}, "department_ids", "note!"),
}
ACTIONS = tuple(RULES)


@dataclass
class Actor:
    """Who acts: a staff user, the system (scheduler) or a reporter (tracking code): the first
    reporter, or one who joined the ticket later (``reporter_id``, their TicketReporter row)."""

    user: User | None = None
    kind: ActorKind = ActorKind.USER
    reporter_id: int | None = None

    @classmethod
    def staff(cls, user: User) -> "Actor":
        return cls(user, ActorKind.USER)

    @classmethod
    def system(cls) -> "Actor":
        return cls(None, ActorKind.SYSTEM)

    @classmethod
    def reporter(cls, reporter_id: int | None = None) -> "Actor":
        return cls(None, ActorKind.REPORTER, reporter_id)
