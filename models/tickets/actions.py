"""The actions of the closed loop: their labels, the states they start from, and who may take them.

One table for every caller: the workflow, the admin buttons, the API and the mobile pages.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models.people.user import User
from models.vocabulary import OPEN_STATUSES, ActorKind, Role, TicketStatus

P, IP, PR, C, S, INV = (TicketStatus.PENDING, TicketStatus.IN_PROGRESS,
                        TicketStatus.PENDING_REVIEW, TicketStatus.CLOSED,
                        TicketStatus.SUSPENDED, TicketStatus.INVALID)
MANAGER_ROLES = {Role.ADMIN, Role.DISTRICT_CENTRE, Role.STREET_CENTRE, Role.COMMUNITY_STAFF}

# Who may act, as relations between the actor and the ticket:
#   manager  — administrator, command centre or community staff whose scope holds the ticket
#   assignee — the person the ticket is assigned to
#   queue    — a member of the assigned department while no person has taken the ticket
#   reviewer — a manager who did not submit the result under review
#   reporter — the resident, through the tracking code
#   system   — the scheduler


@dataclass(frozen=True)
class ActionRule:
    label: object
    from_statuses: frozenset
    who: frozenset


RULES: dict[str, ActionRule] = {
    "assign": ActionRule(_l("Assign"), frozenset({P, IP}), frozenset({"manager"})),
    "accept": ActionRule(_l("Accept"), frozenset({P}), frozenset({"assignee", "queue"})),
    "return": ActionRule(_l("Return"), frozenset({P, IP}), frozenset({"assignee", "queue"})),
    "escalate": ActionRule(_l("Escalate"), frozenset({P, IP}),
                           frozenset({"assignee", "queue", "manager", "system"})),
    "transfer": ActionRule(_l("Transfer"), frozenset({P, IP}), frozenset({"manager"})),
    "note": ActionRule(_l("Progress note"), frozenset(OPEN_STATUSES),
                       frozenset({"assignee", "queue", "manager"})),
    "request_extension": ActionRule(_l("Request extension"), frozenset({IP}),
                                    frozenset({"assignee"})),
    "approve_extension": ActionRule(_l("Approve extension"), frozenset({IP}),
                                    frozenset({"manager"})),
    "refuse_extension": ActionRule(_l("Refuse extension"), frozenset({IP}),
                                   frozenset({"manager", "system"})),
    "suspend": ActionRule(_l("Suspend"), frozenset({P, IP}), frozenset({"manager"})),
    "resume": ActionRule(_l("Resume"), frozenset({S}), frozenset({"manager", "system"})),
    "submit": ActionRule(_l("Submit result"), frozenset({IP}), frozenset({"assignee"})),
    "approve": ActionRule(_l("Approve"), frozenset({PR}), frozenset({"reviewer"})),
    "reject": ActionRule(_l("Reject review"), frozenset({PR}), frozenset({"reviewer"})),
    "invalidate": ActionRule(_l("Mark invalid"), frozenset({P, IP, S}), frozenset({"manager"})),
    "merge": ActionRule(_l("Merge as duplicate"), frozenset({P, IP, S}), frozenset({"manager"})),
    "reopen": ActionRule(_l("Reopen"), frozenset({C}), frozenset({"manager", "reporter"})),
    "rate": ActionRule(_l("Rate"), frozenset({C}), frozenset({"manager", "reporter"})),
}
ACTIONS = tuple(RULES)
@dataclass
class Actor:
    """Who acts: a staff user, the system (scheduler) or the reporter (tracking code)."""

    user: User | None = None
    kind: ActorKind = ActorKind.USER

    @classmethod
    def staff(cls, user: User) -> "Actor":
        return cls(user, ActorKind.USER)

    @classmethod
    def system(cls) -> "Actor":
        return cls(None, ActorKind.SYSTEM)

    @classmethod
    def reporter(cls) -> "Actor":
        return cls(None, ActorKind.REPORTER)
