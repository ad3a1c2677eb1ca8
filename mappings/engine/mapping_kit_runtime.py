"""Compiled mappings: the §3.2 pipeline and resolve/clean (spec §3.2, §3.4).

A processed mapping is compiled once into a tree of small node functions ``node(payload)``; an
object mapping, with the object mappings nested in it, is one :class:`ObjectNode` laid out flat
(one slot per member) that resolves and cleans in a single pass.
Everything that depends only on the mapping (raw option checks, defaults, path splits, template
tokens) is decided at compile time; everything Segment raises at runtime is raised by the node
when it is evaluated, in Segment's order, so errors stay lazy (§3.4).

Nodes may return values shared with the payload or the compiled mapping. They never mutate
what they receive, and the final clean copies every container, so callers get fresh data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import compress, count, repeat
from operator import is_not
from typing import Any, Final, Literal, Union

from mappings.engine.jsjson import js_keys
from mappings.engine.jsvalues import UNDEFINED, js_type, utf16_units
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


CompiledNode = Union[Node, Const, "ObjectNode"]

# Directive name -> compiler of its raw argument; filled by mapping_kit_directives on import.
DIRECTIVES: dict[str, Callable[[Any], CompiledNode]] = {}


def as_node(compiled: CompiledNode) -> Node:
    """A callable for a compiled node (constants become closures)."""
    if isinstance(compiled, Const):
        value = compiled.value
        return lambda payload: value
    if isinstance(compiled, ObjectNode):
        return compiled.resolve
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
        return ObjectNode(list(zip(keys, [value[k] for k in keys], members, strict=True)))
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


Member = tuple[str, Any, CompiledNode]  # key, raw mapping value, compiled


class ObjectNode:
    """An object mapping (Segment's ``resolve`` of an object): every member, in JS key order.

    Compiled flat: the members of this object and of the object mappings nested in it get one
    slot each in a list of values. Constants are filled in beforehand; every static ``@path``
    member, at any depth, is walked by one :class:`PathTree`, so shared prefixes such as
    ``$.context`` are looked up once; the other members are evaluated in Segment's order (depth
    first, JS key order), which is the only order that can show, paths being side-effect free.
    The dicts are then assembled from the slots, innermost first.
    """

    __slots__ = ("_members", "_names", "_objects", "_others", "_template", "_tree")

    def __init__(self, members: list[Member]) -> None:
        self._members = members  # for enclosing object mappings, which absorb this one
        template: list[Any] = []
        paths: list[tuple[int, Keys]] = []
        others: list[tuple[int, Node]] = []
        objects: list[tuple[int, int, tuple[str, ...]]] = []
        _lay_out(members, template, paths, others, objects)
        self._names = tuple(key for key, _, _ in members)  # the root's slots come first
        self._template = template
        self._tree = PathTree(paths) if paths else None
        self._others = tuple(others)
        self._objects = tuple(objects)

    def _values(self, payload: Any) -> list[Any]:
        values = self._template.copy()
        if self._tree is not None:
            self._tree.fill(payload, values)
        for slot, node in self._others:
            values[slot] = node(payload)
        return values

    def resolve(self, payload: Any) -> dict[str, Any]:
        """The object, ``UNDEFINED`` members included."""
        values = self._values(payload)
        for slot, start, names in self._objects:
            values[slot] = dict(zip(names, values[start : start + len(names)], strict=True))
        return dict(zip(self._names, values[: len(self._names)], strict=True))

    def resolve_public(self, payload: Any) -> dict[str, Any]:
        """``clean_public(self.resolve(payload))``, with the assembly and the clean done at once.

        As in resolve-then-clean, every member is resolved before anything is cleaned.
        """
        values = self._values(payload)
        # The slots holding a dict or a list, found without a Python-level loop (the hot path).
        is_container = map(_CONTAINERS.__contains__, map(type, values))
        for slot in list(compress(count(), is_container)):
            values[slot] = clean_public(values[slot])
        for slot, start, names in self._objects:
            values[slot] = _defined(names, values[start : start + len(names)])
        return _defined(self._names, values[: len(self._names)])


def _lay_out(
    members: list[Member],
    template: list[Any],
    paths: list[tuple[int, Keys]],
    others: list[tuple[int, Node]],
    objects: list[tuple[int, int, tuple[str, ...]]],
) -> int:
    """Give ``members`` consecutive slots (nested objects after them); returns the first."""
    start = len(template)
    template.extend([UNDEFINED] * len(members))
    for slot, (_, raw, member) in enumerate(members, start):
        path = static_path(raw)
        if path:
            paths.append((slot, path))
        elif isinstance(member, Const):
            template[slot] = member.value
        elif isinstance(member, ObjectNode) and directive_name(raw) is None:
            inner_start = _lay_out(member._members, template, paths, others, objects)
            # Appended after its own nested objects: assembled innermost first.
            objects.append((slot, inner_start, member._names))
        else:
            others.append((slot, as_node(member)))
    return start


def _defined(names: tuple[str, ...], values: list[Any]) -> dict[str, Any]:
    """The members that are not ``UNDEFINED`` (a dict built in C, in ``names`` order)."""
    return dict(compress(zip(names, values, strict=True), map(is_not, values, repeat(UNDEFINED))))


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

    __slots__ = ("_error_phase", "_node", "_public", "errors")

    errors: tuple[str, ...]
    _error_phase: Phase
    _node: Node | None
    _public: Node | None

    def __init__(
        self,
        errors: tuple[str, ...],
        error_phase: Phase,
        node: Node | None,
        public: Node | None = None,
    ) -> None:
        object.__setattr__(self, "errors", errors)
        object.__setattr__(self, "_error_phase", error_phase)
        object.__setattr__(self, "_node", node)
        # ``clean_public`` of ``node``'s result in one step, when the root is an object mapping.
        object.__setattr__(self, "_public", public)

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
            compiled = compile_node(processed)
            public = compiled.resolve_public if isinstance(compiled, ObjectNode) else None
            return cls((), "validate", as_node(compiled), public)
        except RecursionError:
            return cls((STACK_OVERFLOW,), "runtime", None)

    def transform(self, payload: Any = UNDEFINED) -> Any:
        """Apply the mapping to ``payload`` (spec §3.2). Raises only :class:`MappingError`.

        Object mappings give a ``dict``; a root directive may give any JSON value. The result
        contains no ``UNDEFINED`` and shares nothing with the payload or the mapping.
        """
        try:
            if self._public is not None:
                return self._public(self._payload(payload, self._error_phase))
            return clean_public(self._resolve(payload, self._error_phase))
        except RecursionError:
            raise MappingError([STACK_OVERFLOW], "runtime") from None

    def transform_internal(self, payload: Any) -> Any:
        """Segment's nested ``transform`` (``@transform``, spec §3.7): the whole §3.2 pipeline, so
        an invalid ``apply`` raises its errors with the phase :meth:`transform` gives them
        (``"validate"`` with all the messages, root handling ``"runtime"``), as Segment throws
        them from inside the outer transform. ``UNDEFINED`` stays in lists for later lookups."""
        return clean_inner(self._resolve(payload, self._error_phase))

    def _resolve(self, payload: Any, error_phase: Phase) -> Any:
        payload = self._payload(payload, error_phase)
        assert self._node is not None
        return self._node(payload)

    def _payload(self, payload: Any, error_phase: Phase) -> dict[str, Any]:
        """The payload as evaluation reads it; raises the payload and validation errors."""
        if payload is UNDEFINED:
            payload = {}
        elif type(payload) is not dict:
            if not isinstance(payload, dict):
                fail(f"data must be an object, got {js_type(payload)}")
            # Lookups test `type(x) is dict`; a top-level dict subclass is read as a plain dict.
            payload = dict(payload)
        if self.errors:
            raise MappingError(list(self.errors), error_phase)
        return payload

    def __repr__(self) -> str:
        state = f"errors={list(self.errors)!r}" if self.errors else "valid"
        return f"<CompiledMapping {state}>"


# Registers the directives. At the bottom because that module builds on the names above.
from mappings.engine import mapping_kit_directives  # noqa: E402, F401
