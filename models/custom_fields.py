"""A category's custom fields: what extra facts a report of that kind carries, and their checks.

Administrators describe the fields on the category (``Category.custom_fields``, a JSON list of
``{code, label, type, required, values, hint}``); every intake channel checks the answers here
and the ticket keeps them in ``Ticket.attributes``. The shape follows GeoReport v2's attributes,
so Open311 publishes the definitions as they are.
"""
from __future__ import annotations

import math
import re

from flask_babel import gettext as _

from models.categories import Category
from models.clock import parse_iso_datetime
from models.errors import ActionInvalid

FIELD_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


class FieldDefinitionError(ValueError):
    """Custom field definitions an administrator wrote that cannot be used, and why."""

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
# Names an administrator may have used for a custom field's type, read as Open311 datatypes.
TYPE_ALIASES = {
    "str": "string", "char": "string", "int": "number", "integer": "number", "float": "number",
    "decimal": "number", "date": "datetime", "time": "datetime", "textarea": "text",
    "select": "singlevaluelist", "choice": "singlevaluelist", "radio": "singlevaluelist",
    "enum": "singlevaluelist", "bool": "singlevaluelist", "boolean": "singlevaluelist",
    "multiselect": "multivaluelist", "multichoice": "multivaluelist",
    "checkboxes": "multivaluelist",
}


def attribute_definitions(category: Category) -> list[dict]:
    """The category's custom fields, normalised (GeoReport v2's attribute shape; order from 1)."""
    definitions = []
    for item in category.custom_fields or []:
        if not isinstance(item, dict) or not str(item.get("code") or "").strip():
            continue  # a malformed field is not offered rather than breaking the service
        code = str(item["code"]).strip()
        datatype = _datatype(item.get("type"))
        definition = {
            "variable": True,
            "code": code,
            "datatype": datatype,
            "required": bool(item.get("required")),
            "datatype_description": item.get("datatype_description") or item.get("hint") or None,
            "order": len(definitions) + 1,
            "description": str(item.get("label") or item.get("description") or code),
        }
        if datatype in LIST_DATATYPES:
            definition["values"] = _values(item)
        definitions.append(definition)
    return definitions


def _datatype(kind) -> str:
    kind = str(kind or "string").strip().lower()
    return kind if kind in DATATYPES else TYPE_ALIASES.get(kind, "string")


def _values(item: dict) -> list[dict]:
    raw = item.get("values") if item.get("values") is not None else item.get("options")
    if not raw and str(item.get("type") or "").lower() in ("bool", "boolean"):
        raw = [{"key": "true", "name": _("Yes")}, {"key": "false", "name": _("No")}]
    pairs = raw.items() if isinstance(raw, dict) else []
    if isinstance(raw, list):
        pairs = []
        for value in raw:
            if isinstance(value, dict):
                key = value.get("key", value.get("value"))
                pairs.append((key, value.get("name", value.get("label", key))))
            elif isinstance(value, (list, tuple)) and len(value) == 2:
                pairs.append((value[0], value[1]))
            else:
                pairs.append((value, value))
    return [{"key": key, "name": str(name)} for key, name in pairs if key is not None]


def check_attributes(category: Category, given: dict[str, list[str]]) -> dict:
    """Answers to a category's custom fields (each as a list of texts, the way forms send them)
    checked against the definitions → what Ticket.attributes keeps. Refusals say which field."""
    definitions = {d["code"]: d for d in attribute_definitions(category)}
    unknown = sorted(set(given) - set(definitions))
    if unknown:
        raise ActionInvalid(_("Unknown attribute %(codes)s for service %(service)s.",
                                  codes=", ".join(unknown), service=category.code))
    answers: dict = {}
    for code, definition in definitions.items():
        values = [str(v).strip() for v in given.get(code, []) if v is not None and str(v).strip()]
        if not values:
            if definition["required"]:
                raise ActionInvalid(_("The attribute %(code)s (%(label)s) is required.",
                                          code=code, label=definition["description"]))
            continue
        answers[code] = _attribute_value(definition, values)
    return answers


def _attribute_value(definition: dict, values: list[str]):
    code, datatype = definition["code"], definition["datatype"]
    if datatype in LIST_DATATYPES:
        keys = {str(v["key"]): v["key"] for v in definition.get("values", [])}
        wrong = [v for v in values if v not in keys]
        if wrong:
            raise ActionInvalid(_("%(values)s is not an option of attribute %(code)s.",
                                      values=", ".join(wrong), code=code))
        if datatype == "multivaluelist":
            return [keys[v] for v in dict.fromkeys(values)]
    if len(values) > 1:
        raise ActionInvalid(_("Give one value for attribute %(code)s.", code=code))
    value = values[0]
    if datatype == "singlevaluelist":
        return {str(v["key"]): v["key"] for v in definition.get("values", [])}[value]
    if datatype == "number":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ActionInvalid(_("“%(label)s” (attribute %(code)s) must be a number.",
                                  label=definition["description"], code=code))
        # A whole number stays one while a double holds it exactly (and JSON readers too):
        # 2 ** 70 written out is kept as 1.2e21, not as an integer no JSON encoder takes.
        return int(number) if number.is_integer() and "." not in value \
            and abs(number) <= 2 ** 53 else number
    if datatype == "datetime":
        try:
            return parse_iso_datetime(value).isoformat()
        except ValueError:
            raise ActionInvalid(_("“%(label)s” (attribute %(code)s) must be a date and time in "
                                  "ISO 8601, e.g. 2026-01-01T09:30:00+08:00.",
                                  label=definition["description"], code=code)) from None
    return value


def field_answers(category: Category | None, attributes: dict | None) -> list[tuple[str, str, object]]:
    """A ticket's answers to its category's custom fields as people read them: (code, label,
    value) in the fields' order; list answers by their names, joined with 、."""
    if category is None or not attributes:
        return []
    rows = []
    for definition in attribute_definitions(category):
        code = definition["code"]
        if code not in attributes or attributes[code] in (None, "", []):
            continue
        value = attributes[code]
        names = {str(v["key"]): v["name"] for v in definition.get("values", [])}
        if isinstance(value, list):
            value = "、".join(names.get(str(item), str(item)) for item in value)
        elif names:
            value = names.get(str(value), str(value))
        rows.append((code, definition["description"], value))
    return rows


def answers_from_json(value) -> dict[str, list[str]]:
    """A JSON object of answers ({"bins": 3, "smell": ["bin"]}) in the form-shaped input
    (no object: no answers, which the check still holds against required fields)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ActionInvalid(_("attributes must be an object of field code → value."))
    answers = {}
    for code, given in value.items():
        items = given if isinstance(given, list) else [given]
        if any(isinstance(item, (dict, list)) for item in items):
            raise ActionInvalid(_("Give the attribute %(code)s as a value or a list of values.",
                                  code=code))
        answers[str(code)] = ["true" if item is True else "false" if item is False else
                              "" if item is None else str(item) for item in items]
    return answers


def check_field_definitions(raw) -> list[dict] | None:
    """An administrator's custom fields (parsed JSON) checked before they are saved: a list of
    {code, label, type, required, values, hint}; returns it, or None for no fields."""
    if raw in (None, "", []):
        return None
    if not isinstance(raw, list):
        raise FieldDefinitionError(_("Custom fields must be a JSON list of fields."))
    seen = set()
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise FieldDefinitionError(_("Field %(n)s is not an object.", n=number))
        code = str(item.get("code") or "").strip()
        if not FIELD_CODE.match(code):
            raise FieldDefinitionError(_(
                "Field %(n)s: the code must start with a letter and use only letters, digits "
                "and _ (at most 32).", n=number))
        if code in seen:
            raise FieldDefinitionError(_("The code %(code)s is used twice.", code=code))
        seen.add(code)
        if not str(item.get("label") or "").strip():
            raise FieldDefinitionError(_("Field %(code)s needs a label.", code=code))
        kind = str(item.get("type") or "string").strip().lower()
        if kind not in DATATYPES and kind not in TYPE_ALIASES:
            raise FieldDefinitionError(_("Field %(code)s: unknown type %(type)s (use one of "
                                         "%(types)s).", code=code, type=kind,
                                         types=", ".join(DATATYPES)))
        if "required" in item and not isinstance(item["required"], bool):
            raise FieldDefinitionError(_("Field %(code)s: required is true or false.", code=code))
        if _datatype(kind) in LIST_DATATYPES and not _values(item):
            raise FieldDefinitionError(_("Field %(code)s is a list: give its values, e.g. "
                                         '[{"key": "a", "name": "甲"}].', code=code))
    return raw
