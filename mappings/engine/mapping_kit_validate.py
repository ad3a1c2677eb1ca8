"""Segment's mapping validator, message for message (spec §3.3).

:func:`validate_processed` takes the mapping *as transform processes it* (after the object
spread and root-directive handling of §3.2) and returns every message, depth first, object keys
in JS order. Messages read ``/<path> <text>.``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mappings.engine.jsjson import js_json_stringify, js_keys
from mappings.engine.jsvalues import (
    UNDEFINED,
    js_lower,
    js_type,
    utf16_len,
)
from mappings.engine.mapping_kit_replace import MAX_PATTERN_LENGTH, MAX_REPLACEMENT_LENGTH

Path = tuple[str, ...]
Out = list[str]
Check = Callable[[Any, Path, Out], None]


def validate_processed(mapping: Any) -> list[str]:
    """Every validation message for an already-processed mapping; ``[]`` when it is valid."""
    out: Out = []
    _value(mapping, (), out)
    return out


def _message(path: Path, text: str) -> str:
    return "/" + "/".join(path) + " " + text + "."


def _article(type_name: str) -> str:
    return "an" if type_name[:1] in ("a", "e", "i", "o", "u") else "a"


def _dtype(value: Any) -> str:
    if type(value) is dict and any(type(k) is str and k.startswith("@") for k in value):
        return "directive"
    return js_type(value)


def _is_a(dtype: str) -> str:
    return f"{_article(dtype)} {dtype}"


# --------------------------------------------------------------------------- generic walk


def _value(value: Any, path: Path, out: Out) -> None:
    """``V``: directives are checked, objects walked, arrays and scalars never looked into."""
    dtype = _dtype(value)
    if dtype == "directive":
        _directive(value, path, out)
    elif dtype == "object":
        for key in js_keys(value):
            _value(value[key], (*path, key), out)


def _directive(obj: dict[str, Any], path: Path, out: Out) -> None:
    """``D``: at most one of the shape errors, else the directive's own rule."""
    keys = list(obj)
    at_keys = [k for k in keys if k.startswith("@")]
    if len(at_keys) > 1:
        out.append(
            _message(path, f"should only have one @-prefixed key but it has {len(at_keys)} keys")
        )
        return
    if any(not k.startswith("@") and k != "_metadata" for k in keys):
        out.append(
            _message(path, f"should only have one @-prefixed key but it has {len(keys)} keys")
        )
        return
    name = at_keys[0]
    if name == "@liquid":
        # Deliberately unsupported (spec §3.7): reported here, where Segment would validate it.
        out.append(_message((*path, name), "is not supported"))
        return
    rule = _RULES.get(name)
    if rule is None:
        out.append(_message(path, f"has an invalid directive: {name}"))
        return
    rule(obj[name], (*path, name), out)


# --------------------------------------------------------------------------- checks


def _str(value: Any, path: Path, out: Out) -> bool:
    dtype = _dtype(value)
    if dtype != "string":
        out.append(_message(path, f"should be a string but it is {_is_a(dtype)}"))
        return False
    return True


def _string(value: Any, path: Path, out: Out) -> None:
    _str(value, path, out)


def _str_or_directive(value: Any, path: Path, out: Out) -> None:
    dtype = _dtype(value)
    if dtype == "directive":
        _directive(value, path, out)
    elif dtype != "string":
        out.append(
            _message(path, f"should be a string or a mapping directive but it is {_is_a(dtype)}")
        )


def _object_or_directive(value: Any, path: Path, out: Out) -> None:
    dtype = _dtype(value)
    if dtype == "directive":
        _directive(value, path, out)
    elif dtype == "object":
        _value(value, path, out)
    else:
        # Segment's text says "a object".
        out.append(
            _message(path, f"should be a object or a mapping directive but it is {_is_a(dtype)}")
        )


def _raw_or_directive(value: Any, path: Path, out: Out) -> None:
    dtype = _dtype(value)
    if dtype == "directive":
        _directive(value, path, out)
    elif dtype == "undefined":
        # Unreachable from JSON; kept because Segment reports it for a literal `undefined`.
        out.append(
            _message(
                path, f"should be a mapping directive or a JSON value but it is {_is_a(dtype)}"
            )
        )


def _bool(value: Any, path: Path, out: Out) -> None:
    dtype = _dtype(value)
    if dtype != "boolean":
        out.append(_message(path, f"should be a boolean but it is {_is_a(dtype)}"))


def _array(value: Any, path: Path, out: Out) -> bool:
    # Not directive-aware: a directive reads as "an object".
    type_name = js_type(value)
    if type_name != "array":
        out.append(_message(path, f"should be an array but it is {_is_a(type_name)}"))
        return False
    return True


def _str_len(low: int, high: int) -> Check:
    def check(value: Any, path: Path, out: Out) -> None:
        if not _str(value, path, out):
            return
        length = utf16_len(value)
        if length < low:
            out.append(_message(path, f"should be a string of length {low} or greater"))
        elif length > high:
            out.append(_message(path, f"should be a string of length {high} or less"))

    return check


def _one_of(*allowed: str) -> Check:
    def check(value: Any, path: Path, out: Out) -> None:
        if not _str(value, path, out):
            return
        if js_lower(value) not in allowed:
            text = f"should be one of {', '.join(allowed)} but it is {js_json_stringify(value)}"
            out.append(_message(path, text))

    return check


# (field, required, check) in Segment's order.
Fields = tuple[tuple[str, bool, Check], ...]


def _options(opts: Any, path: Path, out: Out, fields: Fields) -> bool:
    """An options object: its type, then every member, then the listed fields.

    Returns ``True`` when nothing was reported.
    """
    dtype = _dtype(opts)
    if dtype != "object":
        out.append(_message(path, f"should be an object but it is {_is_a(dtype)}"))
        return False
    members: Out = []
    for key in js_keys(opts):
        _value(opts[key], (*path, key), members)
    if members:
        out.extend(members)
        return False
    before = len(out)
    for field, required, check in fields:
        value = opts.get(field, UNDEFINED)
        if value is UNDEFINED:
            if required:
                out.append(_message(path, f'should have field "{field}" but it doesn\'t'))
            continue
        check(value, (*path, field), out)
    return len(out) == before


def _with_options(fields: Fields) -> Check:
    def rule(opts: Any, path: Path, out: Out) -> None:
        _options(opts, path, out, fields)

    return rule


def _merge(opts: Any, path: Path, out: Out) -> None:
    fields: Fields = (("direction", False, _one_of("left", "right")), ("objects", True, _array))
    if not _options(opts, path, out, fields):
        return
    # Segment checks the elements without passing the path, and stops at the first that fails.
    for element in opts["objects"]:
        element_out: Out = []
        _object_or_directive(element, (), element_out)
        if element_out:
            out.extend(element_out)
            return


def _array_path(arg: Any, path: Path, out: Out) -> None:
    if not _array(arg, path, out):
        return
    first: Out = []
    _str_or_directive(arg[0] if arg else UNDEFINED, path, first)
    if first:
        out.extend(first)
        return
    # The item shape is reported at the directive's own path, not at ".../1".
    _value(arg[1] if len(arg) > 1 else UNDEFINED, path, out)


_RULES: Final[dict[str, Check]] = {
    "@path": _str_or_directive,
    "@template": _str_or_directive,
    "@literal": _raw_or_directive,
    "@excludeWhenNull": _raw_or_directive,
    "@if": _with_options(
        (
            ("exists", False, _raw_or_directive),
            ("then", False, _raw_or_directive),
            ("else", False, _raw_or_directive),
        )
    ),
    "@case": _with_options((("operator", False, _string), ("value", False, _str_or_directive))),
    "@replace": _with_options(
        (
            ("pattern", True, _str_len(1, MAX_PATTERN_LENGTH)),
            ("replacement", False, _str_len(0, MAX_REPLACEMENT_LENGTH)),
            ("value", True, _str_or_directive),
            ("ignorecase", False, _bool),
            ("global", False, _bool),
        )
    ),
    "@json": _with_options(
        (("value", True, _raw_or_directive), ("mode", True, _one_of("encode", "decode")))
    ),
    "@flatten": _with_options((("separator", False, _string), ("value", True, _raw_or_directive))),
    "@merge": _merge,
    "@transform": _with_options(
        (("apply", True, _object_or_directive), ("mapping", True, _object_or_directive))
    ),
    "@arrayPath": _array_path,
}
