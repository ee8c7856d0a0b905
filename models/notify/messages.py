"""The text of outgoing notifications: Chinese defaults per event kind and channel, admin
overrides (NotificationTemplate), rendered in a sandboxed Jinja environment.

A template sees a flat set of variables (``{{ number }}``, ``{{ title }}``, ``{{ status }}``, …,
see ``VARIABLES``) built from the outbox row's payload and the ticket. Delivery never fails
because of a template: a broken override falls back to the default text and the problem is
reported back to the caller (and recorded in the row's ``last_error``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from models.base import db, utcnow
from models.clock import format_local
from models.settings import setting
from models.tickets.actions import Action, action_label
from models.vocabulary import Channel, Priority, TicketStatus

ACTION_VALUES = {a.value for a in Action}

MESSAGE_LOCALE = "zh_Hans_CN"  # residents and staff read the messages in Chinese
MAX_OUTPUT = 20000

# Who hears about each kind: staff (in-app, group robots) or the reporter (SMS, e-mail).
STAFF = "staff"
REPORTER = "reporter"
ADMINS = "admins"  # about the system, not a ticket

# kind: (audience, short subject, one-sentence headline) — Jinja source, Chinese.
KINDS: dict[Action | str, tuple[str, str, str]] = {
    Action.DISPATCH: (STAFF, "新工单待受理 {{ number }}",
                      "新工单待受理：{{ number }} {{ title }}"),
    Action.ASSIGN: (STAFF, "工单已指派给您 {{ number }}",
                    "工单已指派给您：{{ number }} {{ title }}"),
    Action.TRANSFER: (STAFF, "工单已转交给您 {{ number }}",
                      "工单已转交给您：{{ number }} {{ title }}"),
    Action.ESCALATE: (STAFF, "工单已上报 {{ number }}",
                      "工单已上报至{{ level or '上级' }}，请处理：{{ number }} {{ title }}"),
    Action.RETURN: (STAFF, "工单被退回 {{ number }}",
                    "工单被退回，请重新派单：{{ number }} {{ title }}"),
    Action.REJECT: (STAFF, "审核未通过，请返工 {{ number }}",
                    "审核未通过，请返工：{{ number }} {{ title }}"),
    Action.APPROVE_EXTENSION: (STAFF, "延期申请已批准 {{ number }}",
                               "延期申请已批准，新的处置期限为 {{ handle_deadline }}：{{ number }} {{ title }}"),
    Action.REFUSE_EXTENSION: (STAFF, "延期申请未获批准 {{ number }}",
                              "延期申请未获批准，请在 {{ handle_deadline }} 前办结：{{ number }} {{ title }}"),
    Action.REOPEN: (STAFF, "工单被重新打开 {{ number }}",
                    "群众对处理结果不满意，工单已重新打开：{{ number }} {{ title }}"),
    Action.DEADLINE_WARNING: (STAFF, "工单即将到期 {{ number }}",
                              "工单即将到期（处置期限 {{ handle_deadline }}）：{{ number }} {{ title }}"),
    Action.OVERDUE: (STAFF, "工单已超期 {{ number }}",
                     "工单已超期（处置期限 {{ handle_deadline }}）：{{ number }} {{ title }}"),
    Action.SUBMIT: (STAFF, "处置结果待审核 {{ number }}",
                    "处置结果待审核：{{ number }} {{ title }}"),
    Action.REQUEST_EXTENSION: (STAFF, "延期申请待审批 {{ number }}",
                               "延期申请待审批：{{ number }} {{ title }}"),
    Action.CO_HANDLE: (STAFF, "请协办工单 {{ number }}",
                       "您的部门被邀请协办（吹哨报到）：{{ number }} {{ title }}"
                       "{% if task_deadline %}，协办期限 {{ task_deadline }}{% endif %}"),
    Action.TASK_SUBMIT: (STAFF, "协办单位已完成 {{ number }}",
                         "{{ task_department }}已完成协办部分：{{ number }} {{ title }}"),
    Action.TASK_RETURN: (STAFF, "协办任务被退回 {{ number }}",
                         "{{ task_department }}退回了协办任务：{{ number }} {{ title }}"),
    Action.TASK_CLOSE: (STAFF, "协办任务已关闭 {{ number }}",
                        "您部门的协办任务已由管理人员关闭：{{ number }} {{ title }}"),
    Action.SUPERVISE: (STAFF, "工单被{{ supervision_word }} {{ number }}",
                       "工单被{{ supervision_word }}，请于 {{ expected_by }} 前办结并回复："
                       "{{ number }} {{ title }}"),
    Action.SUPERVISION_REPLY: (STAFF, "督办回复 {{ number }}",
                               "承办人已回复督办：{{ number }} {{ title }}"),
    Action.LIFT_SUPERVISION: (STAFF, "督办已解除 {{ number }}",
                              "工单的督办已解除：{{ number }} {{ title }}"),
    Action.SUPERVISION_DUE: (STAFF, "督办期限已过 {{ number }}",
                             "{{ supervision_word }}工单已过期望办结日期 {{ expected_by }}，"
                             "请尽快办结并回复：{{ number }} {{ title }}"),
    "reporter_accepted": (REPORTER, "您反映的问题已受理（{{ number }}）",
                          "您反映的问题（工单号 {{ number }}）已受理，正在处理。"),
    "reporter_closed": (REPORTER, "您反映的问题已办结（{{ number }}）",
                        "您反映的问题（工单号 {{ number }}）已办结，欢迎对处理结果进行评价。"),
    "reporter_reopened": (REPORTER, "您反映的问题已重新办理（{{ number }}）",
                          "您反映的问题（工单号 {{ number }}）已重新办理，我们将尽快处理。"),
    "reporter_invalidated": (REPORTER, "您反映的问题已核实（{{ number }}）",
                             "您反映的问题（工单号 {{ number }}）经核实不属于需要办理的事项，工单已作废。"
                             "如有疑问，请联系所在社区或拨打服务热线。"),
    "reporter_joined": (REPORTER, "您反映的问题正在办理（{{ number }}）",
                        "您反映的问题与正在办理的工单 {{ number }} 为同一问题，已将您登记为反映人，"
                        "办结时会通知您。"),
    "master_closed": (REPORTER, "您反映的问题已办结（{{ number }}）",
                      "您反映的问题与工单 {{ master_number }} 为同一问题，已一并办结（工单号 {{ number }}）。"),
    "calendar_missing": (ADMINS, "{{ year }} 年工作日历尚未导入",
                         "工作日历缺少 {{ year }} 年的数据：请在“系统配置 → 工作日历”中导入，"
                         "否则该年的期限按周一至周五计算，不含法定节假日和调休。"),
    "calendar_provisional": (ADMINS, "{{ year }} 年放假安排为暂定",
                             "工作日历中 {{ year }} 年的节假日是按《全国年节及纪念日放假办法》推算的"
                             "暂定安排（国务院调休安排尚未录入）：国务院公布后，请在“系统配置 → "
                             "工作日历”中录入该年的放假安排。"),
}
EVENT_KINDS = [str(kind) for kind in KINDS]
# The supervision levels as the messages name them ({{ supervision_word }}).
SUPERVISION_WORDS = {"watch": "关注", "supervise": "督办", "listed": "挂牌督办"}


# Labels of the kinds that are not timeline actions; an action's kind is labelled by the action.
MESSAGE_LABELS = {
    "reporter_accepted": _l("Reporter: accepted"), "reporter_closed": _l("Reporter: closed"),
    "reporter_reopened": _l("Reporter: reopened"),
    "reporter_invalidated": _l("Reporter: marked invalid"),
    "master_closed": _l("Reporter: closed with the case it duplicated"),
    "reporter_joined": _l("Reporter: joined an open case"),
    "calendar_missing": _l("Work calendar of next year missing"),
    "calendar_provisional": _l("Work calendar of a year provisional"),
}


def _lazy_label(kind: str):
    if kind in ACTION_VALUES:
        return Action(kind).lazy_label
    return MESSAGE_LABELS.get(kind, kind)


def kind_label(kind: str) -> str:
    return str(_lazy_label(kind))


def kind_choices() -> list[tuple[str, object]]:
    """(kind, lazy label) pairs: usable in forms built before any request."""
    return [(str(k), _lazy_label(k)) for k in EVENT_KINDS]


def audience_label(kind: str) -> str:
    audience = KINDS.get(kind, (STAFF,))[0]
    labels = {REPORTER: _l("Reporter"), ADMINS: _l("Administrators"), STAFF: _l("Staff")}
    return str(labels[audience])


# The variables a template can use, for the admin page (name, explanation).
VARIABLES = [
    ("number", _l("Ticket number")), ("title", _l("Title")), ("status", _l("Status")),
    ("category", _l("Category")), ("district", _l("District")), ("street", _l("Street")),
    ("community", _l("Community")), ("grid", _l("Grid")), ("address", _l("Address")),
    ("location", _l("Community, grid and address in one line")),
    ("priority", _l("Priority")), ("level", _l("Current level")),
    ("assignee", _l("Assigned department or person")),
    ("accept_deadline", _l("Acceptance deadline (local time)")),
    ("handle_deadline", _l("Handling deadline (local time)")),
    ("created_at", _l("Reported at (local time)")), ("note", _l("Note of the event")),
    ("action", _l("What happened")), ("tracking_code", _l("Tracking code")),
    ("tracking_url", _l("Tracking page link (when configured)")),
    ("reporter_name", _l("Reporter's name")),
    ("master_number", _l("Number of the case a duplicate was merged into")),
    ("task_department", _l("Co-handling department (co-handling messages)")),
    ("task_deadline", _l("Deadline of the co-handling task (local time)")),
    ("year", _l("Year (work calendar message)")),
    ("supervision_word", _l("Supervision level (关注, 督办 or 挂牌督办)")),
    ("expected_by", _l("Date the supervisor expects the case settled by")),
    ("payload", _l("All values stored with the message")),
]

# --- default texts per channel ---------------------------------------------------------------

_DETAILS = ("工单号：{{ number }}\n标题：{{ title }}\n类别：{{ category }}\n"
            "位置：{{ location }}\n状态：{{ status }}\n"
            "{% if handle_deadline %}处置期限：{{ handle_deadline }}\n{% endif %}"
            "{% if note %}说明：{{ note }}\n{% endif %}")
_REPORTER_DETAILS = ("工单号：{{ number }}\n问题：{{ title }}\n当前状态：{{ status }}\n"
                     "{% if tracking_code %}查询码：{{ tracking_code }}\n{% endif %}"
                     "{% if tracking_url %}查询进度：{{ tracking_url }}\n{% endif %}")
_MAIL_FOOTER = "\n\n此邮件由网格事件工单系统自动发送，请勿直接回复。\n"


def default_template(kind: str, channel: Channel | str) -> tuple[str, str]:
    """The built-in (subject, body) Jinja source of one kind on one channel."""
    channel = Channel(channel)
    audience, short, headline = KINDS.get(kind, (STAFF, "工单通知 {{ number }}",
                                                 "工单有新动态：{{ number }} {{ title }}"))
    if audience == ADMINS:  # nothing about a ticket to add
        if channel == Channel.EMAIL:
            return "【网格事件工单】" + short, headline + _MAIL_FOOTER
        if channel in (Channel.WECOM, Channel.DINGTALK):
            return short, "### " + short + "\n" + headline
        return short, headline
    if channel == Channel.IN_APP:  # the headline is the subject; the body adds the details
        body = ("{{ category }}{{ ' · ' ~ location if location }}\n"
                "{% if handle_deadline %}处置期限：{{ handle_deadline }}\n{% endif %}"
                "{% if note %}说明：{{ note }}{% endif %}")
        return headline, body
    if channel == Channel.WEBHOOK:  # an SMS through the gateway: short
        if audience == REPORTER:
            body = ("【网格工单】" + headline + "{% if tracking_code %}查询码：{{ tracking_code }}"
                    "{% endif %}{% if tracking_url %} {{ tracking_url }}{% endif %}")
        else:
            body = "【网格工单】" + headline
        return short, body
    if channel == Channel.EMAIL:
        subject = "【网格事件工单】" + short
        if audience == REPORTER:
            body = ("您好{% if reporter_name %}，{{ reporter_name }}{% endif %}：\n\n" + headline
                    + "\n\n" + _REPORTER_DETAILS + _MAIL_FOOTER)
        else:
            body = headline + "\n\n" + _DETAILS + _MAIL_FOOTER
        return subject, body
    # WeCom and DingTalk group robots: markdown.
    lines = ("> 工单号：{{ number }}\n> 标题：{{ title }}\n> 类别：{{ category }}\n"
             "> 位置：{{ location }}\n> 状态：{{ status }}\n"
             "{% if handle_deadline %}> 处置期限：{{ handle_deadline }}\n{% endif %}"
             "{% if note %}> 说明：{{ note }}\n{% endif %}")
    body = "### " + short + "\n" + headline + "\n\n" + lines
    return short, body


# --- rendering -------------------------------------------------------------------------------

_ENV = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True,
                            keep_trailing_newline=False)


@functools.lru_cache(maxsize=512)
def _compiled(source: str):
    return _ENV.from_string(source)


class TemplateProblem(ValueError):
    """A template that does not compile or does not render."""


def syntax_problem(source: str) -> str | None:
    """A readable message when the Jinja source does not parse, else None."""
    error = _parse_error(source or "")
    if error is None:
        return None
    return _("Template error on line %(line)s: %(error)s", line=error[0], error=error[1])


@functools.lru_cache(maxsize=512)
def _parse_error(source: str) -> tuple[int, str] | None:
    """Where and why the source does not parse (each source is parsed once per process: a
    message is rendered per recipient)."""
    try:
        _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return exc.lineno, exc.message
    return None


def render_source(source: str, context: dict) -> str:
    """Render one Jinja source in the sandbox; TemplateProblem on any failure."""
    problem = syntax_problem(source)
    if problem:
        raise TemplateProblem(problem)
    try:
        text = _compiled(source or "").render(**context)
    except Exception as exc:  # SecurityError, UndefinedError, TypeError… from the admin's text
        raise TemplateProblem(_("The template could not be rendered: %(error)s",
                                error=f"{type(exc).__name__}: {exc}")) from None
    return text.strip()[:MAX_OUTPUT]


def check_template(subject: str, body: str) -> dict[str, str]:
    """Errors by field ('subject', 'body') for an admin's template, rendered with the sample."""
    errors = {}
    context = sample_context("dispatch")
    for field, source in (("subject", subject or ""), ("body", body or "")):
        try:
            render_source(source, context)
        except TemplateProblem as exc:
            errors[field] = str(exc)
    if not (body or "").strip():
        errors.setdefault("body", _("The body may not be empty."))
    return errors


@dataclass
class Message:
    subject: str
    body: str
    source: str  # "custom" or "default"
    error: str | None = None  # a broken custom template (the default was used instead)


def find_override(kind: str, channel: Channel, cache: dict | None = None):
    from models.notify.outbox import NotificationTemplate

    key = (kind, Channel(channel))
    if cache is not None and key in cache:
        return cache[key]
    row = db.session.execute(sa.select(NotificationTemplate).where(
        NotificationTemplate.event_kind == kind, NotificationTemplate.channel == Channel(channel),
        NotificationTemplate.active.is_(True))).scalar_one_or_none()
    found = (row.subject or "", row.body) if row is not None else None
    if cache is not None:
        cache[key] = found
    return found


def render_message(kind: str, channel: Channel | str, context: dict, *,
                   subject: str | None = None, body: str | None = None,
                   cache: dict | None = None) -> Message:
    """Render with the given source, else the active admin template, else the default.

    A failing custom template falls back to the default text and says why in ``error``."""
    channel = Channel(channel)
    custom = (subject or "", body) if body is not None else find_override(kind, channel, cache)
    with force_locale(MESSAGE_LOCALE):
        if custom is not None:
            try:
                return Message(render_source(custom[0], context), render_source(custom[1], context),
                               "custom")
            except TemplateProblem as exc:
                error = str(exc)
        else:
            error = None
        default_subject, default_body = default_template(kind, channel)
        return Message(render_source(default_subject, context),
                       render_source(default_body, context), "default", error)


def tracking_url(code: str | None) -> str:
    """The public tracking page of a code, when GRIDDESK_TRACKING_URL is configured
    (``https://…/track/{code}`` or a base URL the code is appended to)."""
    base = setting("GRIDDESK_TRACKING_URL", "")
    if not base or not code:
        return ""
    return base.replace("{code}", code) if "{code}" in base else base.rstrip("/") + "/" + code


def message_context(notification, ticket=None) -> dict:
    """The variables of one outbox row: its payload, completed from the ticket when there is one."""
    payload = dict(notification.payload or {})
    payload.pop("_rendered", None)
    context = {"number": payload.get("number", ""), "title": payload.get("title", ""),
               "status": "", "category": "", "district": "", "street": "", "community": "",
               "grid": "", "address": "", "location": "", "priority": "", "level": "",
               "assignee": "", "accept_deadline": "", "handle_deadline": "", "created_at": "",
               "note": payload.get("note") or "", "tracking_code": payload.get("tracking_code", ""),
               "reporter_name": "", "master_number": payload.get("master_number", ""),
               "event_kind": notification.template}
    action = payload.get("action")
    with force_locale(MESSAGE_LOCALE):
        if payload.get("status"):
            try:
                context["status"] = TicketStatus(payload["status"]).label
            except ValueError:
                context["status"] = payload["status"]
        if action:
            context["action"] = action_label(action)
        if ticket is not None:
            status_at_event = context["status"]  # the payload's: the state when it happened
            context.update(ticket_context(ticket))
            if status_at_event:
                context["status"] = status_at_event
            for own in ("reporter_name", "tracking_code"):  # the addressed reporter's, when
                if own in payload:                           # several reported the ticket
                    context[own] = payload[own] or ""
        context.setdefault("action", kind_label(notification.template))
    context["supervision_word"] = SUPERVISION_WORDS.get(payload.get("supervision_level"), "督办")
    for key, value in payload.items():  # e.g. {{ year }} of a system message
        if isinstance(value, (str, int, float)) and key.isidentifier():
            context.setdefault(key, value)
    context["tracking_url"] = tracking_url(context.get("tracking_code"))
    context["payload"] = payload
    return context


def ticket_context(ticket) -> dict:
    """The ticket's variables; names come from the cached reference rows (a message is rendered
    per recipient: loading seven related objects for each was most of a delivery's time)."""
    from models.reference_cache import area_rows, category_rows, department_rows, user_rows

    areas = area_rows()

    def area_name(area_id: int | None) -> str:
        row = areas.get(area_id) if area_id is not None else None
        return row.name if row is not None else ""

    community, grid = area_name(ticket.community_id), area_name(ticket.grid_id)
    person = user_rows().get(ticket.assigned_user_id) if ticket.assigned_user_id else None
    unit = department_rows().get(ticket.assigned_department_id) \
        if ticket.assigned_department_id else None
    assignee = person.display_name if person else unit.name if unit else ""
    category = category_rows().get(ticket.category_id)
    return {
        "number": ticket.number, "title": ticket.title, "status": ticket.status.label,
        "category": category.name if category else "",
        "district": area_name(ticket.district_id),
        "street": area_name(ticket.street_id), "community": community,
        "grid": grid, "address": ticket.address or "",
        "location": " · ".join(p for p in (community, grid, ticket.address or "") if p),
        "priority": ticket.priority.label, "level": ticket.current_level.label,
        "assignee": assignee, "accept_deadline": format_local(ticket.accept_deadline),
        "handle_deadline": format_local(ticket.handle_deadline),
        "created_at": format_local(ticket.created_at), "tracking_code": ticket.tracking_code,
        "reporter_name": ticket.reporter_name or "",
    }


def sample_context(kind: str = "dispatch") -> dict:
    """A made-up ticket for previews (nothing is read from or written to the database)."""
    now = utcnow()
    with force_locale(MESSAGE_LOCALE):
        context = {
            "number": "GD202611230001", "title": "幸福小区东门垃圾桶满溢",
            "status": TicketStatus.IN_PROGRESS.label, "category": "垃圾清运",
            "district": "示例区", "street": "示例街道", "community": "幸福社区",
            "grid": "幸福社区第一网格", "address": "幸福路1号东门",
            "location": "幸福社区 · 幸福社区第一网格 · 幸福路1号东门",
            "priority": Priority.NORMAL.label, "level": "社区", "assignee": "区环卫中心",
            "accept_deadline": format_local(now + timedelta(hours=2)),
            "handle_deadline": format_local(now + timedelta(days=1)),
            "created_at": format_local(now), "note": "请尽快清运并上传处置后照片",
            "action": kind_label(kind), "tracking_code": "ABCD234567",
            "reporter_name": "张女士", "master_number": "GD202611220007", "event_kind": kind,
            "task_department": "区市场监督管理局",
            "task_deadline": format_local(now + timedelta(days=2)),
            "year": now.year + 1,
        }
    context["tracking_url"] = tracking_url(context["tracking_code"]) or \
        "https://example.gov.cn/track/ABCD234567"
    context["payload"] = {k: v for k, v in context.items() if isinstance(v, str)}
    return context


def preview(kind: str, channel: Channel | str, *, subject: str | None = None,
            body: str | None = None, ticket=None) -> Message:
    """Render a template (the given source, the saved one, or the default) for the admin page,
    with a real ticket when one is given, otherwise with the sample ticket."""
    if ticket is not None:
        with force_locale(MESSAGE_LOCALE):
            context = sample_context(kind)
            context.update(ticket_context(ticket))
            context["tracking_url"] = tracking_url(ticket.tracking_code)
            context["payload"] = {"number": ticket.number, "title": ticket.title}
    else:
        context = sample_context(kind)
    return render_message(kind, channel, context, subject=subject, body=body)
