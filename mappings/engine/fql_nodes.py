"""FQL node model (spec §2.5): immutable, hashable, structurally comparable.

Three node classes: :class:`Condition` (a leaf), :class:`Group` (n-ary ``and``/``or``) and
:class:`Not` (logical negation). Each node compiles its evaluation closure when it is created
(``_test``, excluded from ``==`` and ``hash``), so evaluating a node does no parsing.

The constructors check each node's own shape; they do not normalise. :func:`~.fql.parse` returns
normalised trees: no group directly inside a group with the same operator, no one-child groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .fql_eval import Test, compile_condition, compile_group, compile_not, split_name

__all__ = [
    "FIELD_TYPES",
    "NUMBER_OPERATORS",
    "OPERATORS",
    "ORDERING_OPERATORS",
    "PATH_FIELD_TYPES",
    "ROOT_FIELDS",
    "STRING_FIELD_TYPES",
    "VALUELESS_OPERATORS",
    "Condition",
    "Group",
    "Node",
    "Not",
]

#: Condition types whose value is a top-level string field; their node has no ``name``.
STRING_FIELD_TYPES: Final = ("event-type", "event", "name", "userId")
#: Condition types that walk a path; their node has a ``name``.
PATH_FIELD_TYPES: Final = ("event-property", "event-trait", "event-context", "field")
FIELD_TYPES: Final = STRING_FIELD_TYPES + PATH_FIELD_TYPES
#: FQL root word → condition type (anything else is a ``field`` node).
ROOT_FIELDS: Final = {
    "type": "event-type",
    "event": "event",
    "name": "name",
    "userId": "userId",
    "properties": "event-property",
    "traits": "event-trait",
    "context": "event-context",
}

ORDERING_OPERATORS: Final = frozenset({"<", "<=", ">", ">="})
NUMBER_OPERATORS: Final = frozenset({"number_equals", "number_not_equals"})
VALUELESS_OPERATORS: Final = frozenset({"exists", "not_exists", "is_true", "is_false"})
STRING_OPERATORS: Final = frozenset(
    {
        "=",
        "!=",
        "contains",
        "not_contains",
        "starts_with",
        "not_starts_with",
        "ends_with",
        "not_ends_with",
        "glob",
        "not_glob",
    }
)
OPERATORS: Final = ORDERING_OPERATORS | NUMBER_OPERATORS | VALUELESS_OPERATORS | STRING_OPERATORS


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class Condition:
    """A leaf condition, as in Segment's AST.

    * ``type``: one of :data:`FIELD_TYPES` (``event-type`` … ``event-context``, and our ``field``).
    * ``name``: the path below the root for ``event-property``/``event-trait``/``event-context``,
      the whole path for ``field``, and None for the string fields (``type``, ``event``, ``name``,
      ``userId``). Escapes are already removed: ``properties.a\\.b`` has the name ``"a.b"``.
    * ``operator``: one of :data:`OPERATORS`.
    * ``value``: None for :data:`VALUELESS_OPERATORS`; a float for ``number_*``; a float (or, on
      string fields, its text) for ordering operators; otherwise a ``str``.

    >>> Condition(type="event-type", operator="=", value="track")
    Condition(type='event-type', operator='=', value='track', name=None)
    """

    type: str
    operator: str
    value: str | float | None = None
    name: str | None = None
    _test: Test = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown condition type {self.type!r}")
        if self.operator not in OPERATORS:
            raise ValueError(f"unknown operator {self.operator!r}")
        if self.type in STRING_FIELD_TYPES:
            if self.name is not None:
                raise ValueError(f"a {self.type} condition has no name")
        elif not isinstance(self.name, str) or not split_name(self.name):
            raise ValueError(f"a {self.type} condition needs a name with at least one key")
        elif self.type == "field" and self.name in ROOT_FIELDS:
            raise ValueError(f"{self.name!r} is not a plain field; use its own condition type")
        value = self.value
        if self.operator in VALUELESS_OPERATORS:
            if value is not None:
                raise ValueError(f"{self.operator} takes no value")
        elif self.operator in NUMBER_OPERATORS or (
            self.operator in ORDERING_OPERATORS and not isinstance(value, str)
        ):
            if not _is_number(value):
                raise ValueError(f"{self.operator} needs a number, got {value!r}")
            # Numbers are floats, as in JS; 3 and 3.0 then compare and hash alike anyway.
            object.__setattr__(self, "value", float(value))  # type: ignore[arg-type]
        elif not isinstance(value, str):
            raise ValueError(f"{self.operator} needs a string, got {value!r}")
        test = compile_condition(self.type, self.name, self.operator, self.value)
        object.__setattr__(self, "_test", test)

    def __reduce__(self) -> tuple[Any, ...]:
        # Closures do not pickle; rebuild from the public fields instead.
        return (_rebuild_condition, (self.type, self.operator, self.value, self.name))


def _rebuild_condition(type_: str, operator: str, value: Any, name: str | None) -> Condition:
    return Condition(type=type_, operator=operator, value=value, name=name)


@dataclass(frozen=True)
class Group:
    """``and``/``or`` of its children, in order (``parse`` always gives two or more)."""

    operator: str
    children: tuple[Node, ...]
    _test: Test = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.operator not in ("and", "or"):
            raise ValueError(f"unknown group operator {self.operator!r}")
        children = tuple(self.children)
        if not children or not all(isinstance(c, Condition | Group | Not) for c in children):
            raise ValueError("a group needs nodes as children")
        object.__setattr__(self, "children", children)
        tests = [c._test for c in children]
        object.__setattr__(self, "_test", compile_group(self.operator, tests))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Group, (self.operator, self.children))


@dataclass(frozen=True)
class Not:
    """Logical negation of a node (``!( … )``), our extension to Segment's AST."""

    child: Node
    _test: Test = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.child, Condition | Group | Not):
            raise ValueError("Not needs a node")
        object.__setattr__(self, "_test", compile_not(self.child._test))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Not, (self.child,))


Node = Condition | Group | Not
