"""The mapping-kit directives at runtime (spec §3.7).

Each compiler receives the directive's raw argument and returns a node. Checks on the raw
option values ("truthy" means ``js_truthy`` of the unresolved option) are decided here, once;
the error they lead to is raised only when the node runs, after whatever Segment resolves first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mappings.engine.jsjson import js_json_parse, js_json_stringify, js_keys
from mappings.engine.jsvalues import (
    UNDEFINED,
    js_loose_ne_empty,
    js_lower,
    js_to_string,
    js_truthy,
    js_type,
    js_upper,
    utf16_units,
)
from mappings.engine.mapping_kit_paths import (
    Template,
    get_path,
    make_getter,
    split_path,
    strip_dollar,
    template_for,
)
from mappings.engine.mapping_kit_replace import length_error, literal_replacer
from mappings.engine.mapping_kit_runtime import (
    DIRECTIVES,
    CompiledMapping,
    CompiledNode,
    Const,
    Node,
    as_node,
    compile_node,
    fail,
    raiser,
)


def _option(opts: dict[str, Any], name: str) -> Any:
    return opts.get(name, UNDEFINED)


def _or_default(value: Any, default: Any) -> Any:
    # JS `opts.x == null`: both null and undefined take the default.
    return default if value is None or value is UNDEFINED else value


# --------------------------------------------------------------------------- @path @template


def _compile_path(arg: Any) -> CompiledNode:
    if type(arg) is str:
        return make_getter(split_path(strip_dollar(arg)))
    dynamic = as_node(compile_node(arg))

    def node(payload: Any) -> Any:
        path = dynamic(payload)
        if type(path) is not str:
            fail(f"@path: expected string, got {js_type(path)}")
        return get_path(payload, split_path(strip_dollar(path)))

    return node


def _compile_template(arg: Any) -> CompiledNode:
    if type(arg) is str:
        template = Template(arg)
        text = template.static_text
        return Const(text) if text is not None else template.render
    dynamic = as_node(compile_node(arg))

    def node(payload: Any) -> Any:
        text = dynamic(payload)
        if type(text) is not str:
            fail(f"@template: expected string, got {js_type(text)}")
        return template_for(text).render(payload)

    return node


def _compile_literal(arg: Any) -> CompiledNode:
    # Segment resolves the argument, so directives inside a literal still run.
    return compile_node(arg)


# --------------------------------------------------------------------------- @if @case


def _compile_if(opts: Any) -> CompiledNode:
    if type(opts) is not dict:
        return raiser('@if requires an object with an "exists" key')
    exists = _option(opts, "exists")
    blank = _option(opts, "blank")
    if not js_truthy(exists) and not js_truthy(blank):
        return raiser('@if requires an "exists" key or a "blank" key')
    then = _option(opts, "then")
    other = _option(opts, "else")
    then_node = as_node(compile_node(then)) if then is not UNDEFINED else None
    # Only a truthy `else` is used: "else": false, 0, "" or null leave the result absent.
    else_node = as_node(compile_node(other)) if js_truthy(other) else None
    by_blank = exists is UNDEFINED
    test = as_node(compile_node(blank if by_blank else exists))

    def node(payload: Any) -> Any:
        value = test(payload)
        condition = value is not None and value is not UNDEFINED
        if condition and by_blank:
            condition = js_loose_ne_empty(value)
        if condition:
            return then_node(payload) if then_node is not None else UNDEFINED
        return else_node(payload) if else_node is not None else UNDEFINED

    return node


def _compile_case(opts: Any) -> CompiledNode:
    if type(opts) is not dict:
        return raiser('@case requires an object with a "operator" key')
    operator = _option(opts, "operator")
    if not js_truthy(operator):
        return raiser('@case requires a "operator" key')
    value = _option(opts, "value")
    if not js_truthy(value):
        return Const(UNDEFINED)
    inner = as_node(compile_node(value))
    convert: Callable[[str], str] | None = None
    if type(operator) is str and operator == "lower":
        convert = js_lower
    elif type(operator) is str and operator == "upper":
        convert = js_upper

    def node(payload: Any) -> Any:
        resolved = inner(payload)
        if type(resolved) is not str:
            return resolved
        if convert is None:
            fail('operator key should have a value of "lower" or "upper"')
        return convert(resolved)

    return node


# --------------------------------------------------------------------------- @replace


def _replace_step(
    pattern: str, replacement: str, ignorecase: bool, is_global: bool
) -> Callable[[str], str]:
    # Over-long patterns fail only when a value actually reaches the replacement.
    error = length_error(pattern, replacement)
    if error is not None:
        return raiser(error)
    return literal_replacer(pattern, replacement, ignorecase, is_global)


def _compile_replace(opts: Any) -> CompiledNode:
    if type(opts) is not dict:
        return raiser('@replace requires an object with a "pattern" key')
    pattern = _option(opts, "pattern")
    if not js_truthy(pattern):
        return raiser('@replace requires a "pattern" key')
    replacement = _or_default(_option(opts, "replacement"), "")
    pattern2 = _option(opts, "pattern2")
    replacement2 = _option(opts, "replacement2")
    if js_truthy(pattern2):
        replacement2 = _or_default(replacement2, "")
    ignorecase = _or_default(_option(opts, "ignorecase"), False)
    is_global = _or_default(_option(opts, "global"), True)
    value = _option(opts, "value")
    if not js_truthy(value):
        return Const(UNDEFINED)
    inner = as_node(compile_node(value))
    usable = (
        type(pattern) is str
        and type(replacement) is str
        and type(ignorecase) is bool
        and type(is_global) is bool
    )
    if not usable:

        def unusable(payload: Any) -> Any:
            inner(payload)
            return ""

        return unusable
    first = _replace_step(pattern, replacement, ignorecase, is_global)
    second = None
    if js_truthy(pattern2) and type(pattern2) is str and type(replacement2) is str:
        second = _replace_step(pattern2, replacement2, ignorecase, is_global)

    def node(payload: Any) -> Any:
        resolved = inner(payload)
        t = type(resolved)
        if t is bool or t is int or t is float:
            resolved = js_to_string(resolved)
        elif t is not str:
            # A missing, null, object or array value gives "", not absent.
            return ""
        result = first(resolved)
        return second(result) if second is not None else result

    return node


# --------------------------------------------------------------------------- @arrayPath


def _compile_array_path(arg: Any) -> CompiledNode:
    if type(arg) is not list:
        return raiser(f"@arrayPath expected array, got {js_type(arg)}")
    path = arg[0] if arg else UNDEFINED
    shape = arg[1] if len(arg) > 1 else UNDEFINED
    if type(path) is str:
        root_node: Node = make_getter(split_path(strip_dollar(path)))
    else:
        root_node = as_node(compile_node(path))
    if type(shape) is not dict or not shape:
        return root_node
    item_node = as_node(compile_node(shape))

    def node(payload: Any) -> Any:
        root = root_node(payload)
        t = type(root)
        if t is list:
            # Each item is the payload inside the shape; the root payload is not visible.
            return [item_node(item) for item in root]
        if t is dict:
            return [item_node(root)]
        return root

    return node


# --------------------------------------------------------------------------- @json


def _compile_json(opts: Any) -> CompiledNode:
    if type(opts) is not dict:
        return raiser('@json requires an object with a "value" key')
    mode = _option(opts, "mode")
    if not js_truthy(mode):
        return raiser('@json requires a "mode" key')
    value = _option(opts, "value")
    if not js_truthy(value):
        # Validate accepts a falsy literal (null included); the runtime does not.
        return raiser('@json requires a "value" key')
    inner = as_node(compile_node(value))
    if type(mode) is str and mode == "encode":
        return lambda payload: js_json_stringify(inner(payload))
    if type(mode) is str and mode == "decode":

        def decode(payload: Any) -> Any:
            resolved = inner(payload)
            if type(resolved) is not str:
                return resolved
            try:
                return js_json_parse(resolved)
            except ValueError:
                return resolved

        return decode

    def other_mode(payload: Any) -> Any:
        # Validate lower-cases the mode; the runtime compares exactly, so "Encode" is absent.
        inner(payload)
        return UNDEFINED

    return other_mode


# --------------------------------------------------------------------------- @flatten


def _flatten(
    value: Any, prefix: str, separator: str, omit_arrays: bool, out: dict[str, Any]
) -> None:
    t = type(value)
    if t is dict:
        entries = [(key, value[key]) for key in js_keys(value)]
    elif t is list and not omit_arrays:
        entries = [(str(i), item) for i, item in enumerate(value)]
    else:
        out[prefix] = value
        return
    for key, child in entries:
        _flatten(child, prefix + separator + key if prefix else key, separator, omit_arrays, out)


def _compile_flatten(opts: Any) -> CompiledNode:
    if type(opts) is not dict:
        return raiser('@flatten requires an object with a "separator" key')
    separator = _option(opts, "separator")
    if not js_truthy(separator):
        return raiser('@flatten requires a "separator" key')
    separator_node = as_node(compile_node(separator))
    value_node = as_node(compile_node(_option(opts, "value")))
    # JS Boolean(): "no" counts as true.
    omit_arrays = js_truthy(_option(opts, "omitArrays"))

    def node(payload: Any) -> Any:
        resolved_separator = separator_node(payload)
        if type(resolved_separator) is not str:
            fail("@flatten requires a string separator")
        out: dict[str, Any] = {}
        _flatten(value_node(payload), "", resolved_separator, omit_arrays, out)
        return out

    return node


# --------------------------------------------------------------------------- @merge


def _assign(target: dict[str, Any], source: Any) -> None:
    """One source of JS ``Object.assign``: own enumerable properties, ``UNDEFINED`` included."""
    t = type(source)
    if t is dict:
        for key in js_keys(source):
            target[key] = source[key]
    elif t is list:
        for i, item in enumerate(source):
            target[str(i)] = item
    elif t is str:
        for i, unit in enumerate(utf16_units(source)):
            target[str(i)] = unit
    # null, undefined, numbers and booleans add nothing.


_TYPEOF: Final = {str: "string", int: "number", float: "number", bool: "boolean"}


def _compile_merge(opts: Any) -> CompiledNode:
    if type(opts) is not dict:
        return raiser('@merge requires an object with an "objects" key and a "direction" key')
    direction = _option(opts, "direction")
    if not js_truthy(direction):
        return raiser('@merge requires a "direction" key')
    direction_node = as_node(compile_node(direction))
    objects = _option(opts, "objects")
    problem = None
    if not js_truthy(objects):
        problem = '@merge requires a "objects" key'
    elif type(objects) is not list:
        problem = f"@merge: expected opts.array, got {_TYPEOF.get(type(objects), 'object')}"
    if problem is not None:
        message = problem

        def broken(payload: Any) -> Any:
            direction_node(payload)
            return fail(message)

        return broken
    object_nodes = tuple(as_node(compile_node(o)) for o in objects)

    def node(payload: Any) -> Any:
        resolved_direction = direction_node(payload)
        resolved = [n(payload) for n in object_nodes]
        if type(resolved_direction) is str and resolved_direction == "left":
            # The leftmost object wins.
            resolved.reverse()
        out: dict[str, Any] = {}
        for source in resolved:
            _assign(out, source)
        return out

    return node


# --------------------------------------------------------------------------- @transform


def _compile_transform(opts: Any) -> CompiledNode:
    if type(opts) is not dict:
        return raiser('@transform requires an object with an "apply" key and a "mapping" key')
    mapping = _option(opts, "mapping")
    if not js_truthy(mapping):
        return raiser('@transform requires a "mapping" key')
    apply = _option(opts, "apply")
    if not js_truthy(apply):
        return raiser('@transform requires a "apply" key')
    if type(apply) is not dict:
        return raiser('@transform "apply" key should be an object')
    inner = CompiledMapping.build(apply)
    mapping_node = as_node(compile_node(mapping))
    return lambda payload: mapping_node(inner.transform_internal(payload))


# --------------------------------------------------------------------------- @excludeWhenNull


def _clean_nulls(value: Any) -> Any:
    if type(value) is not dict:
        # Lists, and dicts inside lists, are left alone.
        return value
    out = dict(value)
    for key, member in value.items():
        if member is None:
            out[key] = UNDEFINED
        elif type(member) is dict:
            out[key] = _clean_nulls(member)
    return out


def _compile_exclude_when_null(arg: Any) -> CompiledNode:
    inner = as_node(compile_node(arg))

    def node(payload: Any) -> Any:
        resolved = inner(payload)
        return UNDEFINED if resolved is None else _clean_nulls(resolved)

    return node


def _compile_liquid(arg: Any) -> CompiledNode:
    # Deliberately unsupported (spec §3.7, §3.10); validation reports it outside arrays.
    return raiser("@liquid is not supported")


DIRECTIVES.update(
    {
        "@path": _compile_path,
        "@template": _compile_template,
        "@literal": _compile_literal,
        "@if": _compile_if,
        "@case": _compile_case,
        "@replace": _compile_replace,
        "@arrayPath": _compile_array_path,
        "@json": _compile_json,
        "@flatten": _compile_flatten,
        "@merge": _compile_merge,
        "@transform": _compile_transform,
        "@excludeWhenNull": _compile_exclude_when_null,
        "@liquid": _compile_liquid,
    }
)
