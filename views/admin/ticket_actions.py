"""Workflow actions from the admin panel: the ticket page's action forms, list bulk actions,
the staff intake form and the Excel export. All changes go through models.tickets.workflow / models.tickets.intake.
"""
from __future__ import annotations

import io
from datetime import datetime

import sqlalchemy as sa
from flask import flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from integrations.excel import MEDIA_TYPE
from models import (AreaLevel, AttachmentKind, Category, Priority, Role, Source, Ticket, User, db,
                    utcnow)
from models.clock import local_zone
from models.vocabulary import HAND_ENTERED_SOURCES
from models.custom_fields import attribute_definitions
from models.errors import ActionInvalid, WorkflowError
from models.exports.ticket_rows import (custom_field_columns, export_categories, export_condition,
                                        row_batches)
from models.people.access import (can_edit_tickets, can_see_ticket, pickable_areas,
                                  pickable_departments, pickable_people, ticket_scope)
from models.tickets.actions import Action
from models.tickets.attachments import Upload
from models.tickets.co_tasks import CoHandlingTask
from models.tickets.cohandling import (TASK_STEPS, act_on_task, allowed_task_actions,
                                       open_tasks_refusal, task_overdue, ticket_tasks)
from models.tickets.deadlines import deadline_state
from models.tickets.duplicates import possible_duplicates
from models.tickets.intake import Report, check_report, report_ticket
from models.tickets.records import TicketChangedError, correct_tickets
from models.tickets.reporters import join_ticket, joinable
from models.tickets.workflow import RULES, Actor, allowed_actions, perform, relations
from views.inputs import BIGINT_MAX, whole_number

from .export_views import begin_export

BUTTON_STYLE = {Action.ACCEPT: "success", Action.APPROVE: "success", Action.SUBMIT: "primary",
                Action.REJECT: "warning", Action.RETURN: "warning", Action.ESCALATE: "warning",
                Action.INVALIDATE: "danger", Action.MERGE: "danger", Action.SUSPEND: "secondary",
                Action.CO_HANDLE: "info"}
TASK_BUTTON_STYLE = {"accept": "success", "submit": "primary", "return": "warning",
                     "close": "outline-danger", "note": "outline-primary"}


def staff_actor() -> Actor:
    return Actor.staff(current_user._get_current_object())


def person_label(user: User) -> str:
    return person_label_of(user.display_name, user.department.name if user.department else None)


def person_label_of(display_name: str, department_name: str | None) -> str:
    return f"{display_name}（{department_name or '—'}）"


def department_choices() -> list[tuple[int, str]]:
    return [(d.id, d.name) for d in pickable_departments(current_user)]


def assignable_user_choices() -> list[tuple[int, str]]:
    return [(u.id, person_label(u)) for u in pickable_people(current_user)]


def action_params(action_name: str) -> dict:
    """Read an action's inputs from the submitted form."""
    form, params = request.form, {"note": request.form.get("note")}
    asks = RULES[action_name].asks
    if "department_id" in asks:
        params["department_id"] = form.get("department_id") or None
    if "user_id" in asks:
        params["user_id"] = form.get("user_id") or None
    if "department_ids" in asks:
        params["department_ids"] = form.getlist("department_ids")
    if action_name == "request_extension":
        params["until"] = form.get("until")
    if "rating" in asks:
        params["rating"] = form.get("rating")
    if action_name == "merge":
        params["master_number"] = form.get("master")
    kind = AttachmentKind.AFTER if action_name == "submit" else AttachmentKind.OTHER
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if files:
        params["attachments"] = [Upload.from_file(kind, f) for f in files]
    return params


def run_action(ticket: Ticket, action_name: str, params: dict, expected_version: int | None):
    """Perform and commit, or roll back and return the user's error message."""
    try:
        perform(ticket, action_name, staff_actor(), expected_version=expected_version, **params)
        db.session.commit()
        return None
    except WorkflowError as exc:
        db.session.rollback()
        return exc.message
    except StaleDataError:
        db.session.rollback()
        return TicketChangedError.default_message()


class TicketActionsMixin:
    """Mixed into TicketView (which provides get_one with the scope check)."""

    def action_context(self, ticket: Ticket) -> dict:
        names = allowed_actions(staff_actor(), ticket)
        needs_people = any(f in ("department_id", "user_id", "department_ids")
                           for n in names for f in RULES[n].asks)
        return {
            "actions": [(n.value, n.label, RULES[n].asks, BUTTON_STYLE.get(n, "outline-primary"))
                        for n in names],
            "department_choices": department_choices() if needs_people else [],
            "user_choices": assignable_user_choices() if needs_people else [],
            "deadline_state": deadline_state(ticket, utcnow()),
            "duplicates": possible_duplicates(ticket.category, ticket.lon, ticket.lat,
                                              exclude_id=ticket.id, seen_by=current_user)
            if ticket.is_open else [],
            **self.co_handling_context(ticket),
        }

    def co_handling_context(self, ticket: Ticket) -> dict:
        """The ticket's co-handling tasks (主办/协办), each with the steps the user may take."""
        actor, now = staff_actor(), utcnow()
        tasks = ticket_tasks(ticket.id)
        # The lead sees why its submit button is missing: which departments it waits for.
        leads = ticket.status in RULES[Action.SUBMIT].from_statuses \
            and relations(actor, ticket) & RULES[Action.SUBMIT].who
        return {"submit_waits": open_tasks_refusal(ticket) if leads and tasks else None,
                "co_tasks": [(task, task_overdue(task, now),
                              [(name, TASK_STEPS[name].event.label,
                                TASK_BUTTON_STYLE.get(name, "outline-primary"),
                                TASK_STEPS[name].note_required)
                               for name in allowed_task_actions(actor, ticket, task)])
                             for task in tasks]}

    @expose("/task/<int:ticket_id>/<int:task_id>/<step>", methods=["POST"])
    def task_act(self, ticket_id: int, task_id: int, step: str):
        """A co-handling department's step on its task, or a manager closing it."""
        ticket = self.get_one(ticket_id)  # 404 outside the scope
        task = db.session.get(CoHandlingTask, task_id)
        if task is None or task.ticket_id != ticket.id or step not in TASK_STEPS:
            flash(_("No such co-handling task on this ticket."), "danger")
            return redirect(url_for(".details_view", id=ticket_id))
        version = whole_number(request.form.get("version"))
        try:
            act_on_task(ticket, task, step, staff_actor(), note=request.form.get("note"),
                        expected_version=version if version is not None else -1)
            db.session.commit()
            flash(_("%(action)s: done.", action=TASK_STEPS[step].event.label), "success")
        except WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        except StaleDataError:
            db.session.rollback()
            flash(TicketChangedError.default_message(), "danger")
        return redirect(url_for(".details_view", id=ticket_id))

    @expose("/act/<int:ticket_id>/<action_name>", methods=["POST"])
    def act(self, ticket_id: int, action_name: str):
        ticket = self.get_one(ticket_id)  # 404 outside the scope
        if action_name not in RULES:
            flash(_("Unknown action %(action)s.", action=action_name), "danger")
        else:
            try:
                version = int(request.form.get("version", ""))
            except ValueError:
                version = -1
            error = run_action(ticket, action_name, action_params(action_name), version)
            if error:
                flash(error, "danger")
            else:
                flash(_("%(action)s: done.", action=Action(action_name).label), "success")
                if not can_see_ticket(current_user, ticket):  # e.g. escalated or returned
                    flash(_("Ticket %(number)s is now outside your view.", number=ticket.number),
                          "info")
                    return redirect(url_for(".index_view"))
        return redirect(url_for(".details_view", id=ticket_id))

    # --- list actions ------------------------------------------------------------------------
    def is_action_allowed(self, name):
        if not current_user.is_authenticated or not super().is_action_allowed(name):
            return False
        if name == "export":
            return True
        return can_edit_tickets(current_user)

    def selected(self, ids) -> list[Ticket]:
        wanted = [n for i in ids if (n := whole_number(i, BIGINT_MAX)) is not None]
        return db.session.execute(
            sa.select(Ticket).where(Ticket.id.in_(wanted), ticket_scope(current_user))
            .order_by(Ticket.created_at.desc())).scalars().all()

    @action("bulk_assign", Action.ASSIGN.lazy_label)
    def action_bulk_assign(self, ids):
        return redirect(url_for(".bulk", kind="assign", ids=",".join(ids)))

    @action("bulk_approve", Action.APPROVE.lazy_label, _l("Approve every selected result?"))
    def action_bulk_approve(self, ids):
        return self.bulk_report(Action.APPROVE.label, [
            (t, run_action(t, Action.APPROVE, {"note": None}, t.version))
            for t in self.selected(ids)])

    @action("bulk_return", Action.RETURN.lazy_label)
    def action_bulk_return(self, ids):
        return redirect(url_for(".bulk", kind="return", ids=",".join(ids)))

    @action("bulk_edit", _l("Correct category, priority or deadline"))
    def action_bulk_edit(self, ids):
        return redirect(url_for(".bulk", kind="edit", ids=",".join(ids)))

    @action("export", _l("Export to Excel"))
    def action_export(self, ids):
        return export_workbook([n for i in ids if (n := whole_number(i, BIGINT_MAX)) is not None])

    @expose("/export-all/", methods=["POST"])
    def export_all(self):
        """Every ticket the list shows with its current filters and search (not only this page),
        written in the background; the user follows its progress."""
        job = begin_export("tickets", self.list_spec())
        return redirect(url_for("exports.job", job_id=job.id))

    @expose("/bulk/<kind>", methods=["GET", "POST"])
    def bulk(self, kind: str):
        if kind not in ("assign", "return", "edit") or not can_edit_tickets(current_user):
            return redirect(url_for(".index_view"))
        ids = (request.values.get("ids") or "").split(",")
        tickets = self.selected(ids)
        if request.method == "POST":
            note = request.form.get("note")
            if kind == "edit":
                results = self.bulk_edit(tickets, note)
            else:
                params = {"note": note}
                if kind == "assign":
                    params.update(department_id=request.form.get("department_id") or None,
                                  user_id=request.form.get("user_id") or None)
                results = [(t, run_action(t, kind, dict(params), t.version)) for t in tickets]
            return self.bulk_report(Action(kind).label if kind in RULES else _("Correct"), results)
        categories = db.session.execute(sa.select(Category).where(
            Category.parent_id.is_not(None), Category.active.is_(True))
            .order_by(Category.code)).scalars().all()
        return self.render("admin/ticket_bulk.html", kind=kind, tickets=tickets,
                           ids=",".join(str(t.id) for t in tickets),
                           department_choices=department_choices(),
                           user_choices=assignable_user_choices(), categories=categories,
                           priorities=Priority.choices())

    def bulk_edit(self, tickets: list[Ticket], reason: str | None):
        changes = {}
        if request.form.get("category_id"):
            category_id = whole_number(request.form["category_id"])
            changes["category"] = db.session.get(Category, category_id) if category_id else None
            if changes["category"] is None:
                return [(t, _("Choose a category from the list.")) for t in tickets]
        if request.form.get("priority"):
            if request.form["priority"] not in {p.value for p in Priority}:
                return [(t, _("Choose a priority from the list.")) for t in tickets]
            changes["priority"] = Priority(request.form["priority"])
        if request.form.get("handle_deadline"):
            changes["handle_deadline"] = request.form["handle_deadline"]  # read by the model
        results = []
        for ticket in tickets:
            try:
                correction = correct_tickets(ticket, current_user._get_current_object(),
                                             dict(changes), reason)
                db.session.commit()
                results.append((ticket, None))
                if correction.message:
                    flash(f"{ticket.number}：{correction.message}", "info")
            except WorkflowError as exc:
                db.session.rollback()
                results.append((ticket, exc.message))
        return results

    def bulk_report(self, title, results):
        done = sum(1 for _t, error in results if error is None)
        flash(_("%(done)s of %(total)s tickets done.", done=done, total=len(results)),
              "success" if done == len(results) else "warning")
        visible = {t.id for t, _error in results if can_see_ticket(current_user, t)}
        return self.render("admin/ticket_bulk_report.html", title=title, results=results,
                           visible=visible)

    # --- staff intake (hotline / walk-in) --------------------------------------------------------
    @expose("/new/", methods=["GET", "POST"])
    def create_view(self):
        if not self.can_create:
            return redirect(url_for(".index_view"))
        patrol = current_user.role == Role.GRID_WORKER  # a grid worker reports what they found
        values = request.form.to_dict() if request.method == "POST" else {
            "source": (Source.PATROL if patrol else Source.PHONE).value}
        duplicates, error = [], None
        if request.method == "POST":
            try:
                report = report_from_form(values)
                report.answers = custom_field_answers(report.category_id)
                category, area, lon, lat, _flagged = check_report(report)
                if whole_number(values.get("join"), BIGINT_MAX) is not None:
                    return self.join_caller(whole_number(values["join"], BIGINT_MAX), report,
                                            category, lon, lat)
                duplicates = possible_duplicates(category, lon, lat, seen_by=current_user)
                if values.get("confirm") == "1" or not duplicates:
                    result = report_ticket(report, actor=current_user._get_current_object())
                    db.session.commit()
                    ticket = result.ticket
                    flash(_("Ticket %(number)s created and dispatched.", number=ticket.number),
                          "success")
                    if not can_see_ticket(current_user, ticket):
                        # Reported outside the user's own area: it went to that area's owner.
                        flash(_("It lies outside your area and went to %(owner)s.",
                                owner=ticket.assigned_department.name
                                if ticket.assigned_department else "—"), "info")
                        return redirect(url_for(".index_view"))
                    return redirect(url_for(".details_view", id=ticket.id))
            except WorkflowError as exc:
                db.session.rollback()
                error = exc.message
        categories = db.session.execute(sa.select(Category).where(
            Category.parent_id.is_not(None), Category.active.is_(True))
            .order_by(Category.code)).scalars().all()
        return self.render("admin/ticket_create.html", values=values, error=error,
                           custom_fields=[(c.id, attribute_definitions(c)) for c in categories
                                          if c.custom_fields],
                           answers={name: request.form.getlist(name) for name in request.form
                                    if name.startswith("attr-")},
                           duplicates=duplicates, categories=categories,
                           areas=intake_area_choices(), priorities=Priority.choices(),
                           page_heading=_("Patrol report") if patrol
                           else _("New ticket (hotline / walk-in)"),
                           sources=[(s.value, s.label) for s in
                                    ((Source.PATROL, Source.PHONE, Source.WALK_IN) if patrol else
                                     (Source.PHONE, Source.WALK_IN, Source.PATROL))
                                    + (Source.WECHAT, Source.WEB)])

    def join_caller(self, ticket_id: int, report: Report, category, lon, lat):
        """The caller reports a problem already open nearby: add them as a further reporter of
        that ticket (told when it closes) instead of opening a second one."""
        ticket = db.session.get(Ticket, ticket_id)
        if not joinable(ticket, category, lon, lat, public=False,
                        staff=current_user._get_current_object()):
            raise ActionInvalid(_("That ticket can no longer be joined; save a new ticket."))
        joined = join_ticket(ticket, Actor.staff(current_user._get_current_object()),
                             source=report.source, name=report.reporter_name,
                             phone=report.reporter_phone, email=report.reporter_email,
                             note=report.description)
        db.session.commit()
        flash(_("The caller was added as a further reporter of %(number)s (tracking code "
                "%(code)s); they will be told when it closes.", number=ticket.number,
                code=joined.tracking_code), "success")
        if can_see_ticket(current_user, ticket):
            return redirect(url_for(".details_view", id=ticket.id))
        return redirect(url_for(".index_view"))


def report_from_form(values: dict) -> Report:
    def number(name):
        text = (values.get(name) or "").strip()
        try:
            return float(text) if text else None
        except ValueError:
            return text  # locate() refuses it with a clear message
    try:
        source = Source(values.get("source") or "phone")
        priority = Priority(values.get("priority") or "normal")
    except ValueError:
        raise ActionInvalid(_("Choose the channel and the priority from the lists.")) from None
    if source not in HAND_ENTERED_SOURCES:
        raise ActionInvalid(_("Choose the channel and the priority from the lists."))
    return Report(
        category_id=whole_number(values.get("category_id")),
        description=values.get("description") or "", title=values.get("title"),
        lat=number("lat"), lon=number("lon"), coord_system=values.get("coord_system") or "wgs84",
        address=values.get("address"),
        area_id=whole_number(values.get("area_id")),
        priority=priority, source=source, reporter_name=values.get("reporter_name"),
        reporter_phone=values.get("reporter_phone"), reporter_email=values.get("reporter_email"))


def custom_field_answers(category_id: int | None) -> dict[str, list[str]] | None:
    """The answers to the chosen category's custom fields (inputs named attr-<category>-<code>)."""
    category = db.session.get(Category, category_id) if category_id else None
    if category is None:
        return None
    return {d["code"]: request.form.getlist(f"attr-{category.id}-{d['code']}")
            for d in attribute_definitions(category)}


def intake_area_choices() -> list[tuple[int, str]]:
    return [(a.id, ("　" if a.level == AreaLevel.GRID else "") + a.name)
            for a in pickable_areas(current_user, [AreaLevel.GRID, AreaLevel.COMMUNITY],
                                    active_only=True)]


def export_workbook(ticket_ids: list[int]):
    """The ticked rows of the user's scope as .xlsx, written the way the full export is."""
    condition = export_condition(current_user, [], ticket_ids=ticket_ids)
    categories = export_categories()
    buffer = io.BytesIO()
    from integrations.excel.tickets import write_ticket_workbook  # openpyxl, when used

    write_ticket_workbook(buffer, current_user, row_batches(condition), categories,
                          custom_field_columns(condition, categories))
    buffer.seek(0)
    stamp = datetime.now(local_zone()).strftime("%Y%m%d-%H%M")
    return send_file(buffer, as_attachment=True, download_name=f"tickets-{stamp}.xlsx",
                     mimetype=MEDIA_TYPE)


__all__ = ["TicketActionsMixin"]
