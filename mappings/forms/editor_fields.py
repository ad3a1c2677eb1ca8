"""The mapping editor's field mappings: one value per action field, parsed from the form.

Each field's value is shown in one *mode*: a path (``{"@path": "$.properties.plan"}``), a static
value, a template (``{"@template": "Viewed {{name}}"}``), mapping-kit JSON, or, for object fields
such as Event Properties, key/value rows whose values again take one of the first four modes.
A stored mapping opens in the simplest mode that shows its value exactly, so opening and saving
a mapping never changes it.

Posted names per field ``k``: ``f-k-mode`` (wanted), ``f-k-shown`` (the mode whose inputs were
on the page), ``f-k-value`` (path/static/template text), ``f-k-json``, and per key/value row
``i``: ``f-k-kv-i-key``, ``-mode``, ``-shown``, ``-value``, ``-json``. The ``field_action``
button posts ``add:k`` or ``remove:k:i``. Undeclared keys travel in ``extra_json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from ..destinations.mixpanel.actions import ActionDefinition
from ..destinations.mixpanel.fields import InputField
from ..engine.jsvalues import js_number_to_string
from ..ingest.decode import check_nesting, json_skeleton
from ..ingest.errors import IngestError

MODE_LABELS: Final = {
    "path": "Path",
    "static": "Static value",
    "template": "Template",
    "json": "Mapping JSON",
    "kv": "Key/value pairs",
}
ROW_MODES: Final = ("path", "static", "template", "json")
MAX_KV_ROWS: Final = 100
MAX_JSON_CHARS: Final = 100_000
_INTEGER: Final = re.compile(r"-?[0-9]+")
_NUMBER: Final = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


class _Missing:
    """No mapping for this field (the key is left out)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def parse_json_text(text: str) -> Any:
    """JSON typed by a person: ``ValueError`` with line and column when it is not JSON."""
    if len(text) > MAX_JSON_CHARS:
        raise ValueError(f"Too long: at most {MAX_JSON_CHARS:,} characters.")
    try:
        check_nesting(json_skeleton(text.encode("utf-8", "surrogatepass")))
    except IngestError:
        raise ValueError("Nested too deeply (at most 64 levels).") from None

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def modes_for(input_field: InputField) -> tuple[str, ...]:
    if input_field.hidden:
        return ("json",)  # kept as is: the editor does not show it
    if input_field.multiple:
        return ("json", "path")
    if input_field.type == "object":
        return ("path", "kv", "json")
    if input_field.type == "boolean":
        return ("static", "path", "json")
    if input_field.type in ("string", "datetime"):
        return ("path", "static", "template", "json")
    return ("path", "static", "json")


@dataclass
class ValueInput:
    """One value as the page shows it; ``error`` is set when the typed text is not usable.

    ``prefix`` is the start of its inputs' names (``f-<key>-`` or ``f-<key>-kv-<i>-``).
    """

    mode: str
    text: str = ""
    json: str = ""
    rows: list[KeyValueRow] = field(default_factory=list)
    error: str = ""
    prefix: str = ""

    def set_prefix(self, prefix: str) -> None:
        self.prefix = prefix
        for i, row in enumerate(self.rows):
            row.value.set_prefix(f"{prefix}kv-{i}-")


@dataclass
class KeyValueRow:
    key: str
    value: ValueInput
    error: str = ""


@dataclass
class FieldInput:
    """One action field in the editor."""

    field: InputField
    value: ValueInput
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.value.set_prefix(f"f-{self.field.key}-")

    @property
    def key(self) -> str:
        return self.field.key

    @property
    def modes(self) -> list[tuple[str, str]]:
        labels = dict(MODE_LABELS)
        if self.field.type == "object" and not self.field.multiple:
            labels["path"] = "Whole object (path)"
        return [(mode, labels[mode]) for mode in modes_for(self.field)]


# Values → inputs --------------------------------------------------------------------------------


def _static_text(value: Any, field_type: str) -> str | None:
    """The static-mode text for a literal when it reads back as the very same value."""
    if field_type in ("string", "datetime") and isinstance(value, str) and value:
        return value
    if field_type == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    if field_type in ("number", "integer") and type(value) in (int, float):
        text = str(value) if isinstance(value, int) else js_number_to_string(value)
        return text if _NUMBER.fullmatch(text) else None
    return None


def value_input(
    value: Any, modes: tuple[str, ...], field_type: str, prefer: str = ""
) -> ValueInput:
    """How ``value`` is shown: in ``prefer`` if it fits, else the first mode that fits."""
    order = (prefer, *modes) if prefer in modes else modes
    for mode in order:
        shown = _as_mode(value, mode, field_type)
        if shown is not None:
            return shown
    return ValueInput(prefer or modes[0])


def _as_mode(value: Any, mode: str, field_type: str) -> ValueInput | None:
    if value is MISSING:
        return ValueInput(mode)
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if mode == "path" and key == "@path" and isinstance(inner, str):
            return ValueInput("path", text=inner)
        if mode == "template" and key == "@template" and isinstance(inner, str):
            return ValueInput("template", text=inner)
    if mode == "static":
        text = _static_text(value, field_type)
        return None if text is None else ValueInput("static", text=text)
    if mode == "kv" and isinstance(value, dict) and not any(k.startswith("@") for k in value):
        rows = [KeyValueRow(k, value_input(v, ROW_MODES, "string")) for k, v in value.items()]
        return ValueInput("kv", rows=rows)
    if mode == "json":
        return ValueInput("json", json=pretty_json(value))
    return None


def field_inputs(action: ActionDefinition, mapping: dict[str, Any]) -> list[FieldInput]:
    return [
        FieldInput(f, value_input(mapping.get(f.key, MISSING), modes_for(f), f.type))
        for f in action.fields
    ]


def fields_data(action: ActionDefinition, mapping: dict[str, Any]) -> dict[str, str]:
    """Form data showing ``mapping`` (the inverse of :func:`parse_fields`)."""
    data: dict[str, str] = {}
    for item in field_inputs(action, mapping):
        _value_data(f"f-{item.key}-", item.value, data)
    extras = {k: v for k, v in mapping.items() if action.field(k) is None}
    data["extra_json"] = pretty_json(extras) if extras else ""
    return data


def _value_data(prefix: str, value: ValueInput, data: dict[str, str]) -> None:
    data.update({prefix + "mode": value.mode, prefix + "shown": value.mode})
    data[prefix + "value"], data[prefix + "json"] = value.text, value.json
    for i, row in enumerate(value.rows):
        data[f"{prefix}kv-{i}-key"] = row.key
        _value_data(f"{prefix}kv-{i}-", row.value, data)


# Posted data → inputs and values ----------------------------------------------------------------


def _read(
    data: Any, prefix: str, modes: tuple[str, ...], field_type: str
) -> tuple[ValueInput, Any]:
    """The input as posted (switched to the wanted mode) and its value, or MISSING on error."""
    wanted = data.get(prefix + "mode", modes[0])
    shown = data.get(prefix + "shown", wanted)
    wanted = wanted if wanted in modes else modes[0]
    shown = shown if shown in modes else wanted
    typed = ValueInput(shown, data.get(prefix + "value", ""), data.get(prefix + "json", ""))
    if shown == "kv":
        for i in range(MAX_KV_ROWS):
            row_prefix = f"{prefix}kv-{i}-"
            if row_prefix + "key" not in data:
                break
            row_input, _ = _read(data, row_prefix, ROW_MODES, "string")
            typed.rows.append(KeyValueRow(data.get(row_prefix + "key", ""), row_input))
    try:
        value = to_value(typed, field_type)
    except ValueError as exc:
        typed.error = str(exc)
        value = MISSING
    if wanted != shown:
        # A mode switch keeps the value when the new mode can show it, else starts empty.
        switched = (_as_mode(value, wanted, field_type) if not typed.error else None) or ValueInput(
            wanted
        )
        return switched, to_value(switched, field_type)
    return typed, value


def to_value(typed: ValueInput, field_type: str) -> Any:
    """The mapping-kit value of an input (MISSING when left empty); ``ValueError`` if unusable."""
    mode, text = typed.mode, typed.text
    if mode == "kv":
        return _kv_value(typed)
    if mode == "json":
        return MISSING if not typed.json.strip() else parse_json_text(typed.json)
    if text == "":
        return MISSING
    if mode == "path":
        return {"@path": text.strip()}
    if mode == "template":
        return {"@template": text}
    if field_type == "boolean":
        if text not in ("true", "false"):
            raise ValueError("Choose true or false.")
        return text == "true"
    if field_type in ("number", "integer"):
        number = text.strip()
        if not _NUMBER.fullmatch(number):
            raise ValueError("Enter a number, such as 1000 (or choose Path to read one).")
        if _INTEGER.fullmatch(number):
            return int(number)
        if field_type == "integer":
            raise ValueError("Enter a whole number.")
        return float(number)
    return text


def _kv_value(typed: ValueInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems = False
    for row in typed.rows:
        key = row.key.strip()
        if row.value.error:
            problems = True
            continue
        value = to_value(row.value, "string")
        if not key and value is MISSING:
            continue  # a blank row: ignored
        if not key:
            row.error, problems = "Enter a key for this value.", True
        elif key in out:
            row.error, problems = f"“{key}” is used twice.", True
        elif value is MISSING:
            row.error, problems = f"Enter a value for “{key}”.", True
        else:
            out[key] = value
    if problems:
        raise ValueError("Fix the rows marked below.")
    return out


def apply_field_action(data: Any, action: str) -> tuple[str, dict[str, str]]:
    """Posted data with a key/value row added or removed; returns the field key and the data."""
    name, _, rest = action.partition(":")
    key, _, index = rest.partition(":")
    out = {k: data.get(k) for k in data}
    prefix = f"f-{key}-"
    out[prefix + "mode"] = out[prefix + "shown"] = "kv"
    count = 0
    while f"{prefix}kv-{count}-key" in out:
        count += 1
    if name == "add" and count < MAX_KV_ROWS:
        out.update({f"{prefix}kv-{count}-key": "", f"{prefix}kv-{count}-mode": "path"})
        out[f"{prefix}kv-{count}-shown"] = "path"
    elif name == "remove" and index.isdigit() and int(index) < count:
        row_keys = [k for k in out if k.startswith(f"{prefix}kv-")]
        rows = [
            {s: out.get(f"{prefix}kv-{i}-{s}", "") for s in _ROW_SUFFIXES} for i in range(count)
        ]
        del rows[int(index)]
        for k in row_keys:
            del out[k]
        for i, row in enumerate(rows):
            out.update({f"{prefix}kv-{i}-{s}": v for s, v in row.items()})
    return key, out


_ROW_SUFFIXES: Final = ("key", "mode", "shown", "value", "json")


def parse_fields(
    data: Any, action: ActionDefinition
) -> tuple[list[FieldInput], dict[str, Any], list[str]]:
    """Inputs per field, the mapping they make, and problems with ``extra_json``.

    A field whose input is unusable has ``value.error`` set and is left out of the mapping.
    """
    inputs, mapping = [], {}
    for f in action.fields:
        shown, value = _read(data, f"f-{f.key}-", modes_for(f), f.type)
        inputs.append(FieldInput(f, shown))
        if value is not MISSING and not shown.error:
            mapping[f.key] = value
    problems: list[str] = []
    extra_text = (data.get("extra_json") or "").strip()
    if extra_text:
        try:
            extras = parse_json_text(extra_text)
        except ValueError as exc:
            return inputs, mapping, [str(exc)]
        if not isinstance(extras, dict):
            return inputs, mapping, ["Other mapping keys must be a JSON object."]
        for key, value in extras.items():
            if action.field(key) is not None:
                problems.append(f"“{key}” is a field of this action: edit it above.")
            else:
                mapping[key] = value
    return inputs, mapping, problems
