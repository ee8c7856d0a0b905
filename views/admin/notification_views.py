"""Notifications in the admin panel: my in-app messages (the bell), and for administrators the
outbox, the message templates and the channel settings."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import (BooleanField, IntegerField, PasswordField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from integrations.delivery.channels import (CHANNEL_FIELDS, EXTERNAL_CHANNELS, SECRET_FIELDS,
                                             SettingsError, channel_configs, masked,
                                             merged_settings, save_channel_settings)
from integrations.delivery.runner import DeliveryError, retry_failed, send_test
from models import Channel, Notification, NotificationState, NotificationTemplate, Ticket, db
from models.notify.inbox import displayed_text, inbox_page, mark_read, unread_count
from models.notify.messages import (EVENT_KINDS, KINDS, VARIABLES, TemplateProblem, audience_label,
                                    default_template, find_override, kind_choices, kind_label,
                                    preview, render_source, sample_context)
from models.people.roles import ALL_ROLES, CONFIGURING_ROLES

from views.inputs import BIGINT_MAX, whole_number
from views.mobile.shell import ticket_page_url

from .audit_views import AuditedView
from .base import AdminForm, GridDeskModelView, GridDeskView
from .config_views import NotificationView, enum_field
from .formatting import TYPE_FORMATTERS

# --- my notifications (every signed-in user) ------------------------------------------------

class InboxView(GridDeskView):
    """The messages of the signed-in user: the bell in the navbar links here."""

    allowed_roles = ALL_ROLES
    per_page = 20

    def is_visible(self) -> bool:
        return False  # reached through the bell

    @expose("/")
    def index(self):
        page = whole_number(request.args.get("page")) or 1
        unread_only = request.args.get("unread") == "1"
        rows, has_more = inbox_page(current_user.id, page, self.per_page, unread_only)
        items = [(row, displayed_text(row)) for row in rows]
        return self.render("admin/notify_inbox.html", items=items, page=page, has_more=has_more,
                           unread_only=unread_only, unread=unread_count(current_user.id))

    @expose("/read/<int:notification_id>", methods=["POST"])
    def read(self, notification_id: int):
        mark_read(current_user.id, [notification_id])
        db.session.commit()
        ticket_id = whole_number(request.form.get("ticket_id"), BIGINT_MAX)
        if request.form.get("open") and ticket_id is not None:
            return redirect(ticket_page_url(current_user, ticket_id))
        return redirect(self._back())

    @expose("/read-all", methods=["POST"])
    def read_all(self):
        count = mark_read(current_user.id)
        db.session.commit()
        flash(_("%(count)s notifications marked as read.", count=count), "success")
        return redirect(self._back())

    def _back(self) -> str:
        page = whole_number(request.form.get("page"))
        args = {"page": page} if page is not None and page > 1 else {}
        if request.form.get("unread") == "1":
            args["unread"] = "1"
        return url_for(".index", **args)


def unread_for_current_user() -> int:
    """The bell's number (a capped count of one user's unread in-app messages)."""
    if not current_user.is_authenticated:
        return 0
    try:
        return unread_count(current_user.id)
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return 0


# --- the outbox (administrators) ---------------------------------------------------------------

def _state_badge(view, context, model, name):
    colours = {NotificationState.PENDING: "secondary", NotificationState.SENDING: "info",
               NotificationState.SENT: "success", NotificationState.FAILED: "danger",
               NotificationState.READ: "light"}
    return Markup('<span class="badge badge-{}">{}</span>').format(
        colours.get(model.state, "light"), model.state.label)


def _ticket_link(view, context, model, name):
    number = (model.payload or {}).get("number")
    if model.ticket_id is None:
        return number or ""
    return Markup('<a href="{}">{}</a>').format(
        url_for("ticket.details_view", id=model.ticket_id), number or model.ticket_id)


def _short_error(view, context, model, name):
    if not model.last_error:
        return ""
    text = model.last_error if len(model.last_error) <= 80 else model.last_error[:80] + "…"
    # On a delivered row the error is history (what went wrong before it got through).
    colour = "text-muted" if model.state in (NotificationState.SENT, NotificationState.READ) \
        else "text-danger"
    return Markup('<span class="small {}" title="{}">{}</span>').format(
        colour, model.last_error, text)


def _recipient(view, context, model, name):
    if model.recipient is not None:
        return model.recipient.display_name
    if model.recipient_address == model.channel.value:  # a group robot: the group itself
        return _("The group")
    return model.recipient_address or ""


def _payload(view, context, model, name):
    return Markup("<pre class='gd-note mb-0'>{}</pre>").format(
        json.dumps(model.payload or {}, ensure_ascii=False, indent=2))


class OutboxView(NotificationView):
    """Every outbox row, its delivery state and error; failed rows can be sent again."""

    column_list = ("id", "created_at", "ticket", "channel", "template", "recipient", "state",
                   "attempts", "next_attempt_at", "sent_at", "last_error")
    column_details_list = ("id", "created_at", "ticket", "channel", "template", "recipient",
                           "recipient_address", "state", "attempts", "next_attempt_at",
                           "sent_at", "read_at", "last_error", "dedupe_key", "payload")
    column_labels = {**NotificationView.column_labels, "id": _l("No."), "ticket": _l("Ticket"),
                     "next_attempt_at": _l("Next attempt"), "last_error": _l("Last error"),
                     "read_at": _l("Read at"), "dedupe_key": _l("Idempotency key"),
                     "payload": _l("Payload")}
    column_formatters = {"state": _state_badge, "ticket": _ticket_link, "recipient": _recipient,
                         "template": lambda v, c, m, n: kind_label(m.template),
                         "last_error": _short_error}
    column_formatters_detail = {"state": _state_badge, "ticket": _ticket_link,
                                "template": lambda v, c, m, n: kind_label(m.template),
                                "payload": _payload}
    column_default_sort = ("id", True)  # the primary key: no sort over millions of rows
    column_sortable_list = ("id",)
    column_filters = (
        FilterEqual(Notification.state, _l("State"),
                    options=NotificationState.choices),
        FilterEqual(Notification.channel, _l("Channel"),
                    options=Channel.choices),
        FilterEqual(Notification.template, _l("Template"),
                    options=lambda: [(k, kind_label(k)) for k in EVENT_KINDS]),
    )
    list_template = "admin/notify_outbox_list.html"
    action_disallowed_list = ["delete"]

    def is_action_allowed(self, name):
        return name == "retry" and current_user.is_authenticated and \
            current_user.role in CONFIGURING_ROLES

    @action("retry", _l("Send again"), _l("Send the selected failed notifications again?"))
    def action_retry(self, ids):
        count = retry_failed(ids)
        db.session.commit()
        if count:
            flash(_("%(count)s failed notifications will be sent again.", count=count),
                  "success")
        else:
            flash(_("Only failed notifications can be sent again."), "warning")

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["failed_count"] = db.session.execute(
                sa.select(sa.func.count()).select_from(
                    sa.select(Notification.id).where(
                        Notification.state == NotificationState.FAILED)
                    .limit(1000).subquery())).scalar_one()
        return super().render(template, **kwargs)


# --- message templates (administrators) --------------------------------------------------------

def jinja_source(form, field):
    """Refuse a template that does not compile or does not render with the sample ticket."""
    try:
        render_source(field.data or "", sample_context())
    except TemplateProblem as exc:
        raise ValidationError(str(exc)) from None


class TemplateView(AuditedView, GridDeskModelView):
    """Message texts per event kind and channel. A saved template replaces the built-in default;
    deleting it goes back to the default."""

    column_type_formatters = TYPE_FORMATTERS
    can_view_details = False
    list_template = "admin/notify_template_list.html"
    create_template = "admin/notify_template_create.html"
    edit_template = "admin/notify_template_edit.html"
    column_list = ("event_kind", "channel", "subject", "active")
    column_labels = {"event_kind": _l("Event"), "channel": _l("Channel"),
                     "subject": _l("Subject / title"), "body": _l("Text"),
                     "active": _l("Active")}
    column_formatters = {"event_kind": lambda v, c, m, n: kind_label(m.event_kind)}
    column_default_sort = [("event_kind", False), ("channel", False)]
    column_filters = (FilterEqual(NotificationTemplate.channel, _l("Channel"),
                                  options=Channel.choices),)
    form_columns = ("event_kind", "channel", "subject", "body", "active")
    form_overrides = {"event_kind": SelectField, "channel": SelectField, "body": TextAreaField}
    form_args = {
        "event_kind": {"label": _l("Event"), "choices": kind_choices()},
        "channel": enum_field(Channel, _l("Channel")),
        "subject": {"label": _l("Subject / title"), "validators": [Optional(), Length(max=200),
                                                                   jinja_source],
                    "description": _l("E-mail subject, DingTalk title, in-app headline.")},
        "body": {"label": _l("Text"), "validators": [DataRequired(), jinja_source]},
    }
    form_widget_args = {"body": {"rows": 14, "class": "form-control text-monospace"},
                        "subject": {"class": "form-control text-monospace"}}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            kind = request.args.get("event_kind")
            channel = request.args.get("channel")
            if kind in KINDS:
                form.event_kind.data = kind
            if channel in {c.value for c in Channel}:
                form.channel.data = Channel(channel)
            if kind in KINDS and channel in {c.value for c in Channel}:
                form.subject.data, form.body.data = default_template(kind, channel)
        return form

    def on_model_change(self, form, model, is_created):
        query = sa.select(NotificationTemplate.id).where(
            NotificationTemplate.event_kind == model.event_kind,
            NotificationTemplate.channel == model.channel)
        if model.id is not None:
            query = query.where(NotificationTemplate.id != model.id)
        with db.session.no_autoflush:  # the new row is already in the session
            clash = db.session.execute(query).first()
        if clash:
            raise ValidationError(_("There is already a template for this event and channel: "
                                    "edit that one."))
        model.subject = model.subject or ""

    def render(self, template, **kwargs):
        if template == self.list_template:
            saved = {(t.event_kind, t.channel): t for t in db.session.execute(
                sa.select(NotificationTemplate)).scalars()}
            kwargs["overview"] = [(kind, kind_label(kind), audience_label(kind),
                                   [(channel, saved.get((kind, channel))) for channel in Channel])
                                  for kind in EVENT_KINDS]
            kwargs["channels"] = list(Channel)
        if template in (self.create_template, self.edit_template):
            kwargs["variables"] = VARIABLES
        return super().render(template, **kwargs)

    @expose("/preview/", methods=["GET", "POST"])
    def preview_view(self):
        """A template rendered with the sample ticket (or a real one by number), unsaved edits
        included when the edit form posts here."""
        values = request.values
        saved = None
        if whole_number(values.get("id")) is not None:
            saved = db.session.get(NotificationTemplate, whole_number(values["id"]))
        kind = values.get("event_kind") or (saved.event_kind if saved else "dispatch")
        if kind not in KINDS:
            kind = "dispatch"
        try:
            channel = Channel(values.get("channel") or (saved.channel if saved else "in_app"))
        except ValueError:
            channel = Channel.IN_APP
        if request.method == "POST" and "body" in request.form:
            subject, body = request.form.get("subject", ""), request.form.get("body", "")
        elif saved is not None:
            subject, body = saved.subject, saved.body
        else:
            subject = body = None  # the active template, else the default
        ticket = None
        number = (values.get("ticket") or "").strip()
        if number:
            ticket = db.session.execute(sa.select(Ticket).where(Ticket.number == number)) \
                .scalar_one_or_none()
            if ticket is None:
                flash(_("No ticket has the number %(number)s; the sample ticket is used.",
                        number=number), "warning")
        message = preview(kind, channel, subject=subject, body=body, ticket=ticket)
        if body is None:  # show the source that was used: the active template or the default
            subject, body = find_override(kind, channel) or default_template(kind, channel)
        return self.render("admin/notify_template_preview.html", message=message, kind=kind,
                           kind_name=kind_label(kind), channel=channel, subject=subject,
                           body=body, saved=saved, ticket=ticket, number=number)


# --- channel settings (administrators) ---------------------------------------------------------

class ChannelSettingsForm(AdminForm):
    webhook_enabled = BooleanField(_l("Send through the webhook"))
    webhook_url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=500)])
    webhook_secret = PasswordField(_l("Signing secret"), validators=[Optional(), Length(max=200)])
    webhook_clear_secret = BooleanField(_l("Remove the saved secret"))
    wecom_enabled = BooleanField(_l("Send to the WeCom group robot"))
    wecom_url = PasswordField(_l("WeCom robot webhook URL"),
                              validators=[Optional(), Length(max=500)])
    wecom_clear_url = BooleanField(_l("Remove the saved URL"))
    dingtalk_enabled = BooleanField(_l("Send to the DingTalk group robot"))
    dingtalk_url = PasswordField(_l("DingTalk robot webhook URL"),
                                 validators=[Optional(), Length(max=500)])
    dingtalk_clear_url = BooleanField(_l("Remove the saved URL"))
    dingtalk_secret = PasswordField(_l("Signing secret (加签)"),
                                    validators=[Optional(), Length(max=200)])
    dingtalk_clear_secret = BooleanField(_l("Remove the saved secret"))
    email_enabled = BooleanField(_l("Send e-mail"))
    email_host = StringField(_l("SMTP server"), validators=[Optional(), Length(max=200)])
    email_port = IntegerField(_l("Port"), validators=[Optional(), NumberRange(min=1, max=65535)])
    email_security = SelectField(_l("Connection security"), choices=[
        ("none", _l("None")), ("starttls", _l("STARTTLS")), ("ssl", _l("SSL/TLS"))],
        default="none")
    email_username = StringField(_l("User name"), validators=[Optional(), Length(max=200)])
    email_password = PasswordField(_l("Password"), validators=[Optional(), Length(max=200)])
    email_clear_password = BooleanField(_l("Remove the saved password"))
    email_from_addr = StringField(_l("Sender address"), validators=[Optional(), Length(max=200)])
    test_address = StringField(_l("Test e-mail to"), validators=[Optional(), Length(max=200)])


def _form_values(form: ChannelSettingsForm, channel: Channel) -> tuple[bool, dict, set[str]]:
    prefix = channel.value
    values = {field: form[f"{prefix}_{field}"].data for field in CHANNEL_FIELDS[channel]}
    clear = {field for field in SECRET_FIELDS[channel]
             if f"{prefix}_clear_{field}" in form and form[f"{prefix}_clear_{field}"].data}
    return bool(form[f"{prefix}_enabled"].data), values, clear


class ChannelSettingsView(GridDeskView):
    """Where each channel delivers. Secrets are write-only: the page shows their last characters."""

    @expose("/", methods=["GET"])
    def index(self):
        configs = channel_configs()
        initial = {}
        for channel in EXTERNAL_CHANNELS:
            config = configs[channel]
            initial[f"{channel.value}_enabled"] = config.enabled
            for field in CHANNEL_FIELDS[channel]:
                if field not in SECRET_FIELDS[channel]:
                    initial[f"{channel.value}_{field}"] = config.values.get(field)
        initial.setdefault("email_security", "none")
        return self._page(ChannelSettingsForm(data=initial), configs)

    def _page(self, form, configs):
        saved_secrets = {f"{channel.value}_{field}": masked(channel, field,
                                                             configs[channel].values.get(field))
                         for channel in EXTERNAL_CHANNELS for field in SECRET_FIELDS[channel]
                         if configs[channel].values.get(field)}
        return self.render("admin/notify_channels.html", form=form, configs=configs,
                           saved_secrets=saved_secrets, channels=EXTERNAL_CHANNELS)

    @expose("/save", methods=["POST"])
    def save(self):
        form = ChannelSettingsForm()
        if not form.validate_on_submit():
            for field, errors in form.errors.items():
                flash(f"{form[field].label.text}: {'; '.join(map(str, errors))}", "danger")
            db.session.rollback()
            return self._page(form, channel_configs())
        try:
            for channel in EXTERNAL_CHANNELS:
                enabled, values, clear = _form_values(form, channel)
                try:
                    save_channel_settings(channel, enabled, values, clear)
                except SettingsError as exc:
                    raise SettingsError(f"{channel.label}: {exc}") from None
            db.session.commit()
        except SettingsError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return self._page(form, channel_configs())
        flash(_("The channel settings were saved."), "success")
        return redirect(url_for(".index"))

    @expose("/test/<channel>", methods=["POST"])
    def test(self, channel: str):
        """Send a sample message with the settings on the form (saved secrets where left empty);
        nothing is saved."""
        try:
            chosen = Channel(channel)
        except ValueError:
            abort(404)
        if chosen not in EXTERNAL_CHANNELS:
            abort(404)
        form = ChannelSettingsForm()
        configs = channel_configs()
        if not form.validate_on_submit():
            flash(_("Correct the form first."), "danger")
            return self._page(form, configs)
        _enabled, values, clear = _form_values(form, chosen)
        merged = merged_settings(chosen, configs[chosen].values, values, clear)
        address = (form.test_address.data or "").strip() or None
        if chosen == Channel.EMAIL and not address:
            flash(_("Give an address for the test e-mail."), "danger")
            return self._page(form, configs)
        try:
            send_test(chosen, address=address, values=merged)
        except DeliveryError as exc:
            flash(_("The test message through %(channel)s failed: %(error)s",
                    channel=chosen.label, error=str(exc)), "danger")
        else:
            flash(_("The test message through %(channel)s was accepted. The settings on the "
                    "form are not saved yet.", channel=chosen.label), "success")
        return self._page(form, configs)
