"""Compiled mappings: the §3.2 pipeline and resolve/clean (spec §3.2, §3.4).

A processed mapping is compiled once into a tree of small node functions ``node(payload)``.
Everything that depends only on the mapping (raw option checks, defaults, path splits, template
tokens) is decided at compile time; everything Segment raises at runtime is raised by the node
when it is evaluated, in Segment's order, so errors stay lazy (§3.4).

Nodes may return values shared with the payload or the compiled mapping. They never mutate
what they receive, and the final clean copies every container, so callers get fresh data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Literal

from mappings.engine.jsvalues import UNDEFINED, js_keys, js_type, utf16_units
from mappings.engine.mapping_kit_paths import Keys, PathTree, split_path, strip_dollar
from mappings.engine.mapping_kit_validate import validate_processed

Phase = Literal["validate", "runtime"]
Node = Callable[[Any], Any]

ROOT_KEY: Final = "__segment_internal_directive"
STACK_OVERFLOW: Final = "Maximum call stack size exceeded"


class MappingError(ValueError):
    """A mapping that cannot be applied.

    ``phase`` is ``"validate"`` when Segment's validator rejected the mapping (``messages`` holds
    every message) and ``"runtime"`` when evaluation failed (usually one message, the text Segment
    throws). ``str(error)`` joins the messages with newlines.
    """

    def __init__(self, messages: str | Iterable[str], phase: Phase = "runtime") -> None:
        listed = [messages] if isinstance(messages, str) else list(messages)
        if not listed:
            raise ValueError("MappingError needs at least one message")
        if phase not in ("validate", "runtime"):
            raise ValueError(f"unknown phase: {phase!r}")
        super().__init__("\n".join(listed))
        self.messages: list[str] = listed
        self.phase: Phase = phase

    def __str__(self) -> str:
        return "\n".join(self.messages)

    def __repr__(self) -> str:
        return f"MappingError({self.messages!r}, phase={self.phase!r})"

    def __reduce__(self) -> tuple[type[MappingError], tuple[list[str], Phase]]:
        return (type(self), (self.messages, self.phase))


def fail(message: str) -> Any:
    """Raise Segment's runtime error ``message``."""
    raise MappingError([message], "runtime")


class Const:
    """A compile-time constant node. Containers made only of constants fold into one."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


CompiledNode = Node | Const

# Directive name -> compiler of its raw argument; filled by mapping_kit_directives on import.
DIRECTIVES: dict[str, Callable[[Any], CompiledNode]] = {}


def as_node(compiled: CompiledNode) -> Node:
    """A callable for a compiled node (constants become closures)."""
    if isinstance(compiled, Const):
        value = compiled.value
        return lambda payload: value
    return compiled


def raiser(message: str) -> Node:
    """A node that raises ``message`` when, and only when, it is evaluated."""

    def node(payload: Any) -> Any:
        return fail(message)

    return node


# --------------------------------------------------------------------------- compile


def directive_name(obj: dict[str, Any]) -> str | None:
    """The runtime directive of a dict: its first ``@`` key, if all other keys are ``_metadata``."""
    name = None
    for key in obj:
        if key.startswith("@"):
            if name is None:
                name = key
        elif key != "_metadata":
            return None
    return name


def compile_node(value: Any) -> CompiledNode:
    """Compile one mapping value (Segment's ``resolve``) into a node."""
    t = type(value)
    if t is dict:
        name = directive_name(value)
        if name is not None:
            compiler = DIRECTIVES.get(name)
            if compiler is None:
                return raiser(f"{name} is not a valid directive, got undefined")
            return compiler(value[name])
        keys = js_keys(value)
        members = [compile_node(value[k]) for k in keys]
        constants = [m.value for m in members if isinstance(m, Const)]
        if len(constants) == len(members):
            # Fold from the members: a member directive may itself have folded to a constant.
            return Const(dict(zip(keys, constants, strict=True)))
        return _object_node(keys, [value[k] for k in keys], members)
    if t is list:
        elements = [compile_node(v) for v in value]
        constants = [e.value for e in elements if isinstance(e, Const)]
        if len(constants) == len(elements):
            return Const(constants)
        nodes = tuple(map(as_node, elements))
        return lambda payload: [node(payload) for node in nodes]
    return Const(value)


def static_path(value: Any) -> Keys | None:
    """The keys of a ``{"@path": "<text>"}`` mapping value, or ``None`` for anything else."""
    if type(value) is dict and directive_name(value) == "@path":
        path = value["@path"]
        if type(path) is str:
            return split_path(strip_dollar(path))
    return None


def _object_node(keys: list[str], raw: list[Any], members: list[CompiledNode]) -> Node:
    """An object mapping's node: every member, in JS key order, ``UNDEFINED`` ones included.

    Members that are static ``@path`` lookups go through one :class:`PathTree`: they cannot
    raise or have effects, so only the other members' order matters, and it is kept (the first
    error raised is Segment's first error).
    """
    paths = []
    others = []
    for index, (raw_member, member) in enumerate(zip(raw, members, strict=True)):
        path = static_path(raw_member)
        if path:
            paths.append((index, path))
        else:
            others.append((index, as_node(member)))
    if len(paths) < 2:
        items = tuple(zip(keys, map(as_node, members), strict=True))
        return lambda payload: {key: node(payload) for key, node in items}
    tree = PathTree(paths)
    names = tuple(keys)
    size = len(names)
    rest = tuple(others)

    def resolve_object(payload: Any) -> dict[str, Any]:
        values = [UNDEFINED] * size
        tree.fill(payload, values)
        for index, node in rest:
            values[index] = node(payload)
        return dict(zip(names, values, strict=True))

    return resolve_object


# --------------------------------------------------------------------------- clean


def clean_inner(value: Any) -> Any:
    """Drop ``UNDEFINED`` dict members recursively; ``UNDEFINED`` list elements stay.

    Returns fresh containers, so the result shares nothing with the payload or the mapping.
    Dict order is insertion order: nodes already build dicts in JS order, and output order is
    not part of the contract (spec §3.9); order-sensitive text (``@json``) uses ``js_keys``.
    """
    t = type(value)
    if t is dict:
        return {
            k: clean_inner(v) if type(v) in _CONTAINERS else v
            for k, v in value.items()
            if v is not UNDEFINED
        }
    if t is list:
        return [clean_inner(v) if type(v) in _CONTAINERS else v for v in value]
    return value


def clean_public(value: Any) -> Any:
    """:func:`clean_inner`, then ``UNDEFINED`` list elements and an ``UNDEFINED`` root become
    ``None`` (what JSON carries)."""
    t = type(value)
    if t is dict:
        # Most objects of a payload hold only JSON scalars: then a plain copy is the clean copy,
        # and the type test and the copy both run in C.
        if _SCALARS.issuperset(map(type, value.values())):
            return value.copy()
        return {
            k: clean_public(v) if type(v) in _CONTAINERS else v
            for k, v in value.items()
            if v is not UNDEFINED
        }
    if t is list:
        if _SCALARS.issuperset(map(type, value)):
            return value.copy()
        return [
            clean_public(v) if type(v) in _CONTAINERS else (None if v is UNDEFINED else v)
            for v in value
        ]
    if value is UNDEFINED:
        return None
    return value


_CONTAINERS: Final = frozenset((dict, list))
_SCALARS: Final = frozenset((str, int, float, bool, type(None)))


# --------------------------------------------------------------------------- pipeline


def prepare(mapping: Any) -> Any:
    """Steps 2–3 of §3.2: the object spread and root-directive handling.

    Returns the mapping to process; raises a runtime :class:`MappingError` where Segment throws.
    The argument is never mutated.
    """
    if mapping is None or mapping is UNDEFINED:
        fail("Cannot convert undefined or null to object")
    t = type(mapping)
    if t is dict:
        if ROOT_KEY in mapping:
            return _root_mapping(mapping)
        return dict(mapping)
    if t is str:
        return {str(i): unit for i, unit in enumerate(utf16_units(mapping))}
    if t is list:
        return {str(i): item for i, item in enumerate(mapping)}
    return {}


def _root_mapping(mapping: dict[str, Any]) -> Any:
    customer = {k: v for k, v in mapping.items() if k != ROOT_KEY}
    root = mapping[ROOT_KEY]
    if root is None or root is UNDEFINED:
        fail("Cannot convert undefined or null to object")
    t = type(root)
    if t is dict:
        keys: list[Any] = list(root)
    elif t is list:
        keys = list(range(len(root)))
    elif t is str:
        units = utf16_units(root)
        keys = list(range(len(units)))
    else:
        keys = []
    if len(keys) > 1:
        fail("The root mapping must only have a single directive object")
    if not keys:
        inner = UNDEFINED
    elif t is str:
        inner = units[0]
    else:
        inner = root[keys[0]]
    if type(inner) is list:
        # Segment sets `mapping` on the array as a non-index property; nothing ever reads it.
        return root
    if type(inner) is not dict:
        fail("The root directive must be an object")
    replaced = dict(inner)
    replaced["mapping"] = customer
    if t is dict:
        return {keys[0]: replaced}
    return [replaced]


class CompiledMapping:
    """A validated, pre-processed, immutable mapping (spec §5). Safe to share across threads.

    ``errors`` holds what :func:`mappings.engine.mapping_kit.validate` reports; when it is not
    empty, :meth:`transform` raises them (after the payload check, as Segment does).
    """

    __slots__ = ("_error_phase", "_node", "errors")

    errors: tuple[str, ...]
    _error_phase: Phase
    _node: Node | None

    def __init__(self, errors: tuple[str, ...], error_phase: Phase, node: Node | None) -> None:
        object.__setattr__(self, "errors", errors)
        object.__setattr__(self, "_error_phase", error_phase)
        object.__setattr__(self, "_node", node)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CompiledMapping is immutable")

    @classmethod
    def build(cls, mapping: Any) -> CompiledMapping:
        """Compile ``mapping``; never raises for a mapping problem (errors stay lazy)."""
        try:
            processed = prepare(mapping)
        except MappingError as exc:
            return cls(tuple(exc.messages), "runtime", None)
        except RecursionError:
            return cls((STACK_OVERFLOW,), "runtime", None)
        try:
            errors = validate_processed(processed)
            if errors:
                return cls(tuple(errors), "validate", None)
            return cls((), "validate", as_node(compile_node(processed)))
        except RecursionError:
            return cls((STACK_OVERFLOW,), "runtime", None)

    def transform(self, payload: Any = UNDEFINED) -> Any:
        """Apply the mapping to ``payload`` (spec §3.2). Raises only :class:`MappingError`.

        Object mappings give a ``dict``; a root directive may give any JSON value. The result
        contains no ``UNDEFINED`` and shares nothing with the payload or the mapping.
        """
        try:
            return clean_public(self._resolve(payload, self._error_phase))
        except RecursionError:
            raise MappingError([STACK_OVERFLOW], "runtime") from None

    def transform_internal(self, payload: Any) -> Any:
        """Segment's nested ``transform`` (``@transform``): validate failures count as runtime
        failures of the outer mapping, and ``UNDEFINED`` stays in lists for later lookups."""
        return clean_inner(self._resolve(payload, "runtime"))

    def _resolve(self, payload: Any, error_phase: Phase) -> Any:
        if payload is UNDEFINED:
            payload = {}
        elif type(payload) is not dict:
            if not isinstance(payload, dict):
                fail(f"data must be an object, got {js_type(payload)}")
            # Lookups test `type(x) is dict`; a top-level dict subclass is read as a plain dict.
            payload = dict(payload)
        if self.errors:
            raise MappingError(list(self.errors), error_phase)
        assert self._node is not None
        return self._node(payload)

    def __repr__(self) -> str:
        state = f"errors={list(self.errors)!r}" if self.errors else "valid"
        return f"<CompiledMapping {state}>"


# Registers the directives. At the bottom because that module builds on the names above.
from mappings.engine import mapping_kit_directives  # noqa: E402, F401
