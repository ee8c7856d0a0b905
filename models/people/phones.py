"""Reporters' phone numbers: one cleaner for every channel (forms, API, Open311, ledgers), one mask.

A number is stored the way a Chinese caller dials it, digits only, so that the same caller is
found by one exact match whatever the channel wrote:
- a mobile: ``13812345678`` (also from ``+86 138 1234 5678``, ``0086…``, ``138-1234-5678``);
- a landline with its area code: ``057187654321`` (from ``0571-87654321``, ``(0571)87654321``);
- a local landline without area code (7–8 digits, as callers give it): ``87654321``;
- a service or hotline short number: ``12345``, ``110``, ``95598``;
- a number abroad: E.164, ``+85291234567``.
Anything else is refused with a message; numbers come from the ``phonenumbers`` library, so a
mobile with a digit too few or in an unassigned range is refused too.
"""
from __future__ import annotations

import re
import unicodedata

import phonenumbers
from flask_babel import gettext as _
from phonenumbers import PhoneMetadata, PhoneNumberFormat, shortnumberinfo

from models.errors import ActionInvalid

REGION = "CN"
CHINA = 86
SEPARATORS = re.compile(r"[\s\-‐–—()（）.]")
LOCAL_LANDLINE = re.compile(r"[2-9]\d{6,7}")
# Most numbers reported are Chinese mobiles: matched against phonenumbers' own pattern for them,
# which is what its validation comes to for such a number, in 1 µs instead of 42 (tests/
# test_phones.py compares the two over every prefix).
CHINESE_MOBILE = re.compile(
    PhoneMetadata.metadata_for_region(REGION).mobile.national_number_pattern)
# Runs of digits (with separators) inside a longer text, e.g. "13900001111 / 13800002222".
RUN = re.compile(r"(?<![0-9A-Za-z+])\+?\d[\d\s\-()]{5,}\d(?![0-9A-Za-z])")


class PhoneError(ActionInvalid):
    """Not a phone number GridDesk can call back."""


def clean_phone(value: str | int | float | None) -> str | None:
    """The stored form of a phone number (see the module doc); None when empty; PhoneError
    when it is not a number."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():  # a spreadsheet's number cell
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()  # full-width digits too
    if not text:
        return None
    compact = SEPARATORS.sub("", text)
    if not re.fullmatch(r"\+?\d+", compact):
        raise PhoneError(_("The phone number may contain digits only."))
    cleaned = _canonical(compact)
    if cleaned is None:
        raise PhoneError(_("“%(value)s” is not a phone number we can call back (for example "
                           "13812345678, 0571-87654321 or 12345).", value=text))
    return cleaned


def _canonical(compact: str) -> str | None:
    if len(compact) == 11 and CHINESE_MOBILE.fullmatch(compact):
        return compact
    return _canonical_by_phonenumbers(compact)


def _canonical_by_phonenumbers(compact: str) -> str | None:
    try:
        number = phonenumbers.parse(compact, REGION)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        if number.country_code == CHINA:
            return re.sub(r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if compact.startswith("+"):
        return None
    if LOCAL_LANDLINE.fullmatch(compact) \
            or shortnumberinfo.is_valid_short_number_for_region(number, REGION):
        return compact
    return None


def phones_in_text(text: str) -> list[str]:
    """The phone numbers written inside a longer text (a ledger cell, a note), cleaned, in order."""
    found = []
    for run in RUN.findall(unicodedata.normalize("NFKC", text)):
        try:
            found.append(clean_phone(run))
        except PhoneError:
            continue
    return found


def phone_search_key(text: str) -> str:
    """What a number typed into a search box matches among stored numbers: its cleaned form, or
    its digits when it is not a whole number (so a search never fails on it)."""
    try:
        return clean_phone(text) or ""
    except PhoneError:
        return SEPARATORS.sub("", text)


def mask_phone(phone: str | None) -> str:
    """138****5678: enough to recognise a caller, not to call them."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) >= 11 else 1
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]
