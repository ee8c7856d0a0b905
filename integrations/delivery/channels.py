"""The channels' settings as the administrator saves them: which are on, where they deliver.

Each sender names its fields and which of them are secrets; secrets are write-only (an empty
form field keeps the saved value, and pages show only a masked hint)."""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import sqlalchemy as sa

from models.audit import UPDATE, record_change
from models.base import db
from models.notify.outbox import ChannelSetting
from models.vocabulary import Channel

from .senders import SENDERS, sender_for

CHANNEL_FIELDS = {channel: sender.fields for channel, sender in SENDERS.items() if sender.fields}
SECRET_FIELDS = {channel: sender.secret_fields for channel, sender in SENDERS.items()
                 if sender.fields}
EXTERNAL_CHANNELS = tuple(CHANNEL_FIELDS)  # the channels that leave the system, in page order


@dataclass
class ChannelConfig:
    enabled: bool
    values: dict


def channel_configs() -> dict[Channel, ChannelConfig]:
    rows = {row.channel: row for row in db.session.execute(sa.select(ChannelSetting)).scalars()}
    configs = {}
    for channel in Channel:
        row = rows.get(channel)
        enabled = True if channel == Channel.IN_APP and row is None else bool(row and row.enabled)
        configs[channel] = ChannelConfig(enabled, dict(row.settings or {}) if row else {})
    return configs


def mask_secret(value: str | None) -> str:
    """'••••1234' — enough to recognise a saved secret, never the secret itself."""
    if not value:
        return ""
    return "••••" + (value[-4:] if len(value) >= 12 else "")


def mask_url(value: str | None) -> str:
    """A robot URL with its token hidden: the host and path stay readable."""
    if not value:
        return ""
    parts = urllib.parse.urlsplit(value)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else ""
    return (shown + "?" if parts.query else shown + "/") + mask_secret(parts.query or parts.path)


def masked(channel: Channel, field: str, value) -> str:
    if field == "url" and field in SECRET_FIELDS.get(channel, ()):
        return mask_url(value)
    return mask_secret(value)


class SettingsError(ValueError):
    pass


def merged_settings(channel: Channel, stored: dict, values: dict,
                    clear=frozenset()) -> dict:
    """Stored settings updated by a form: an empty secret keeps the saved one, ``clear``
    removes it; other empty fields are removed."""
    channel = Channel(channel)
    merged = dict(stored or {})
    for field in CHANNEL_FIELDS.get(channel, ()):
        value = values.get(field)
        if isinstance(value, str):
            value = value.strip()
        if field in SECRET_FIELDS.get(channel, ()):
            if field in clear:
                merged.pop(field, None)
            elif value:
                merged[field] = value
        elif value in (None, ""):
            merged.pop(field, None)
        else:
            merged[field] = value
    if channel == Channel.EMAIL:
        merged["starttls"] = merged.get("security") == "starttls"
    return merged


def save_channel_settings(channel: Channel, enabled: bool, values: dict,
                          clear=frozenset()) -> ChannelSetting:
    """Store a channel's settings (not committed); SettingsError when it cannot be switched on."""
    channel = Channel(channel)
    row = db.session.get(ChannelSetting, channel)
    if row is None:
        row = ChannelSetting(channel=channel, enabled=False, settings={})
        db.session.add(row)
    stored = merged_settings(channel, row.settings, values, clear)
    if enabled:
        problem = settings_problem(channel, stored)
        if problem:
            raise SettingsError(problem)
    record_change(None, "channel", channel.value, str(channel.label), UPDATE,
                  {"enabled": (row.enabled, bool(enabled)),
                   **{field: ((row.settings or {}).get(field), stored.get(field))
                      for field in CHANNEL_FIELDS[channel]}},
                  secret=SECRET_FIELDS[channel])
    row.enabled = bool(enabled)
    row.settings = stored
    return row


def settings_problem(channel: Channel, values: dict) -> str | None:
    return sender_for(channel).problem(values)
