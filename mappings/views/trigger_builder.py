"""The trigger builder's rows ⇄ FQL nodes. Pure: no Django, no I/O.

The builder edits a trigger as a flat list of rows in document order: a :class:`GroupRow` ("ALL"
or "ANY" of what follows, one level deeper) or a :class:`ConditionRow`. ``depth`` places each row
in the tree; row 0 is always the top group. A flat list keeps the HTML form simple (``t-<i>-…``
inputs) while groups still nest to any depth.

The builder never prints FQL itself: :func:`node_from_rows` builds engine nodes and the caller
prints them with :func:`~mappings.engine.fql.to_fql`, so what the builder writes is canonical FQL.
Every condition is checked to read back as itself (``parse(to_fql(c)) == c``), which is what makes
rows → FQL → rows a round trip.

>>> from mappings.engine import fql
>>> rows = rows_from_node(fql.parse('type = "track"'))
>>> rows = add_condition(rows, 0)
>>> rows[-1] = ConditionRow(1, "properties", "platform", "eq", "android")
>>> node, errors = node_from_rows(rows)
>>> fql.to_fql(node), errors
('type = "track" and properties.platform = "android"', {})
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from ..engine.fql import Condition, FqlError, Group, Node, Not, format_number, parse, to_fql

__all__ = [
    "FIELDS",
    "OPERATORS",
    "ConditionRow",
    "GroupRow",
    "NotExpressible",
    "Row",
    "add_condition",
    "add_group",
    "display_tree",
    "insertion_index",
    "node_from_rows",
    "operators_for",
    "remove_row",
    "rows_from_node",
]

MAX_ROWS: Final = 200


@dataclass(frozen=True)
class FieldKind:
    """One choice of the row's "field" select."""

    key: str
    label: str
    condition_type: str
    has_path: bool
    operators: tuple[str, ...]


@dataclass(frozen=True)
class OperatorKind:
    """One choice of the row's "operator" select; ``value`` says what the value input takes."""

    key: str
    label: str
    value: str  # "text", "number", "either" (text or number, by the value-type select), "none"


OPERATORS: Final = {
    op.key: op
    for op in (
        OperatorKind("eq", "is / equals", "either"),
        OperatorKind("ne", "is not / does not equal", "either"),
        OperatorKind("lt", "is less than", "number"),
        OperatorKind("le", "is at most", "number"),
        OperatorKind("gt", "is greater than", "number"),
        OperatorKind("ge", "is at least", "number"),
        OperatorKind("contains", "contains", "text"),
        OperatorKind("not_contains", "does not contain", "text"),
        OperatorKind("starts_with", "starts with", "text"),
        OperatorKind("not_starts_with", "does not start with", "text"),
        OperatorKind("ends_with", "ends with", "text"),
        OperatorKind("not_ends_with", "does not end with", "text"),
        OperatorKind("exists", "exists", "none"),
        OperatorKind("not_exists", "does not exist", "none"),
        OperatorKind("is_true", "is true", "none"),
        OperatorKind("is_false", "is false", "none"),
    )
}
_TEXT_OPS: Final = tuple(
    "eq ne contains not_contains starts_with not_starts_with ends_with not_ends_with".split()
)
_PATH_OPS: Final = tuple(OPERATORS)

# Only what reads back as itself is offered: ``type``/``event`` have no existence test in FQL
# (``event = null`` compares with the text "null"), and functions on ``type`` are not Segment's.
FIELDS: Final = {
    f.key: f
    for f in (
        FieldKind("type", "Event type", "event-type", False, ("eq", "ne")),
        FieldKind("event", "Event name", "event", False, _TEXT_OPS),
        FieldKind(
            "name", "Page or screen name", "name", False, (*_TEXT_OPS, "exists", "not_exists")
        ),
        FieldKind("userId", "User ID", "userId", False, (*_TEXT_OPS, "exists", "not_exists")),
        FieldKind("properties", "Event property", "event-property", True, _PATH_OPS),
        FieldKind("traits", "Trait (identify, group)", "event-trait", True, _PATH_OPS),
        FieldKind("context", "Context field", "event-context", True, _PATH_OPS),
        FieldKind("field", "Other top-level field", "field", True, _PATH_OPS),
    )
}
_FIELD_BY_TYPE: Final = {f.condition_type: f for f in FIELDS.values()}
_ROOT_WORDS: Final = {"type", "event", "name", "userId", "properties", "traits", "context"}

# Row operator → engine operator, for text values and for numbers; and back.
_TEXT_OPERATOR: Final = {"eq": "=", "ne": "!=", **{k: k for k in _TEXT_OPS[2:]}}
_NUMBER_OPERATOR: Final = {
    "eq": "number_equals",
    "ne": "number_not_equals",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
}
_ROW_OPERATOR: Final = {
    **{engine: (row, "string") for row, engine in _TEXT_OPERATOR.items()},
    **{engine: (row, "number") for row, engine in _NUMBER_OPERATOR.items()},
    **{k: (k, "string") for k in ("exists", "not_exists", "is_true", "is_false")},
}
_NUMBER_TEXT: Final = re.compile(r"\s*-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*")


@dataclass(frozen=True)
class GroupRow:
    """``match`` is ``and`` (ALL of the rows below it) or ``or`` (ANY of them)."""

    depth: int
    match: str = "and"

    is_group = True


@dataclass(frozen=True)
class ConditionRow:
    """One condition as typed: ``value_type`` (``string``/``number``) only matters for =/!=."""

    depth: int
    field: str = "event"
    path: str = ""
    operator: str = "eq"
    value: str = ""
    value_type: str = "string"

    is_group = False

    @property
    def kind(self) -> FieldKind:
        return FIELDS.get(self.field, FIELDS["event"])

    @property
    def takes_value(self) -> bool:
        return OPERATORS[self.operator].value != "none"

    @property
    def offers_value_type(self) -> bool:
        return self.kind.has_path and OPERATORS[self.operator].value == "either"


Row = GroupRow | ConditionRow


class NotExpressible(ValueError):
    """The trigger is valid FQL the builder cannot show (``str(exc)`` says what); use raw FQL."""


def operators_for(field: str) -> list[OperatorKind]:
    """The operators the builder offers for a field choice."""
    return [OPERATORS[key] for key in FIELDS.get(field, FIELDS["event"]).operators]


def fix_operator(row: ConditionRow) -> ConditionRow:
    """``row`` with an operator its field offers (changing the field may invalidate it)."""
    if row.operator in row.kind.operators:
        return row
    return replace(row, operator=row.kind.operators[0])


# Node → rows ------------------------------------------------------------------------------------


def rows_from_node(node: Node) -> list[Row]:
    """The rows showing ``node``; raises :class:`NotExpressible` when the builder cannot."""
    if isinstance(node, Group):
        rows: list[Row] = [GroupRow(0, node.operator)]
        for child in node.children:
            rows.extend(_rows(child, 1))
        return rows
    return [GroupRow(0, "and"), *_rows(node, 1)]


def _rows(node: Node, depth: int) -> list[Row]:
    if isinstance(node, Not):
        raise NotExpressible(f"the builder has no negated groups: {to_fql(node)}")
    if isinstance(node, Group):
        rows: list[Row] = [GroupRow(depth, node.operator)]
        for child in node.children:
            rows.extend(_rows(child, depth + 1))
        return rows
    return [_condition_row(node, depth)]


def _condition_row(node: Condition, depth: int) -> ConditionRow:
    kind = _FIELD_BY_TYPE[node.type]
    operator, value_type = _ROW_OPERATOR.get(node.operator, (None, "string"))
    if operator is None or operator not in kind.operators:
        raise NotExpressible(f"the builder cannot show {to_fql(node)}")
    if node.value is None:
        value = ""
    elif isinstance(node.value, str):
        value = node.value
    else:
        value = format_number(node.value)
    if value == "" and OPERATORS[operator].value != "none":
        raise NotExpressible(f"the builder has no empty values: {to_fql(node)}")
    row = ConditionRow(depth, kind.key, node.name or "", operator, value, value_type)
    # Only rows that build back to the very same node are shown (a round trip, always).
    if _condition(row) != node:
        raise NotExpressible(f"the builder cannot show {to_fql(node)}")
    return row


# Rows → node ------------------------------------------------------------------------------------


def node_from_rows(rows: list[Row]) -> tuple[Node | None, dict[int, str]]:
    """The normalised node the rows describe (``None`` when no row is complete) and the
    problems per row index. Any problem means the node must not be used."""
    errors: dict[int, str] = {}
    if not rows or not isinstance(rows[0], GroupRow):
        return None, {0: "The trigger needs a top group."}
    tree = _tree(rows)
    node = _build(tree, rows, errors)
    if node is not None and not errors:
        try:
            if parse(to_fql(node)) != node:
                errors[0] = "This trigger cannot be written as FQL exactly; use the raw FQL tab."
        except FqlError as exc:
            errors[0] = f"This trigger cannot be written as FQL: {exc.message}."
    if node is None and not errors:
        errors[0] = "Add at least one condition."
    return node, errors


@dataclass
class _Branch:
    index: int
    children: list[_Branch]


def _tree(rows: list[Row]) -> _Branch:
    """Rows into a tree by depth. A depth jump is clamped to one level below its group."""
    root = _Branch(0, [])
    stack: list[tuple[int, _Branch]] = [(0, root)]
    for index in range(1, len(rows)):
        depth = max(rows[index].depth, 1)
        while len(stack) > 1 and stack[-1][0] >= depth:
            stack.pop()
        parent_depth, parent = stack[-1]
        branch = _Branch(index, [])
        parent.children.append(branch)
        if isinstance(rows[index], GroupRow):
            stack.append((parent_depth + 1, branch))
    return root


def _build(branch: _Branch, rows: list[Row], errors: dict[int, str]) -> Node | None:
    row = rows[branch.index]
    if isinstance(row, ConditionRow):
        try:
            return _condition(row)
        except ValueError as exc:
            errors[branch.index] = str(exc)
            return None
    operator = row.match if row.match in ("and", "or") else "and"
    children: list[Node] = []
    for child in branch.children:
        node = _build(child, rows, errors)
        if isinstance(node, Group) and node.operator == operator:
            children.extend(node.children)  # as the parser normalises "a and (b and c)"
        elif node is not None:
            children.append(node)
    if not children:
        return None  # an empty group is ignored, like an unfinished row
    return children[0] if len(children) == 1 else Group(operator, tuple(children))


def _condition(row: ConditionRow) -> Condition:
    """The node for one row; ``ValueError`` with a message for the person typing."""
    kind = FIELDS.get(row.field)
    if kind is None:
        raise ValueError("Choose what to compare.")
    if row.operator not in kind.operators:
        raise ValueError(f"Choose a comparison that {kind.label} offers.")
    path = row.path.strip()
    if kind.has_path:
        if not path or any(not part for part in path.split(".")):
            raise ValueError("Enter a path, such as plan or device.type (no empty parts).")
        if kind.key == "field" and path.split(".")[0] in _ROOT_WORDS:
            raise ValueError(f"Choose “{path.split('.')[0]}” in the field list instead.")
    op = OPERATORS[row.operator]
    value: str | float | None = None
    if op.value == "none":
        operator = row.operator
    elif op.value == "number" or (row.offers_value_type and row.value_type == "number"):
        # Only path fields offer number comparisons: type/event/name/userId compare text.
        operator, value = _NUMBER_OPERATOR[row.operator], _number(row.value)
    else:
        if row.value == "":
            raise ValueError("Enter a value.")
        operator, value = _TEXT_OPERATOR[row.operator], row.value
    node = Condition(
        type=kind.condition_type,
        operator=operator,
        value=value,
        name=path if kind.has_path else None,
    )
    if parse(to_fql(node)) != node:
        # e.g. starts with "a*b": FQL's match() would read the * as a wildcard.
        raise ValueError("This value cannot be written exactly in FQL (a * in a pattern?).")
    return node


def _number(text: str) -> float:
    if not _NUMBER_TEXT.fullmatch(text or ""):
        raise ValueError("Enter a number, such as 3 or 2.5.")
    return float(text)


# Editing ----------------------------------------------------------------------------------------


def _subtree_end(rows: list[Row], index: int) -> int:
    """The index just after row ``index`` and everything nested under it."""
    depth = rows[index].depth
    end = index + 1
    if isinstance(rows[index], GroupRow):
        while end < len(rows) and rows[end].depth > depth:
            end += 1
    return end


def _group_index(rows: list[Row], index: int) -> int:
    return index if 0 <= index < len(rows) and isinstance(rows[index], GroupRow) else 0


def insertion_index(rows: list[Row], group: int) -> int:
    """Where :func:`add_condition` / :func:`add_group` insert into group ``group``."""
    return _subtree_end(rows, _group_index(rows, group))


def add_condition(rows: list[Row], group: int) -> list[Row]:
    """A new, empty condition at the end of group ``group`` (row index)."""
    if len(rows) >= MAX_ROWS:
        return rows
    group = _group_index(rows, group)
    end = _subtree_end(rows, group)
    return [*rows[:end], ConditionRow(rows[group].depth + 1), *rows[end:]]


def add_group(rows: list[Row], group: int) -> list[Row]:
    """A nested group (the other of ALL/ANY) with one empty condition, at the end of ``group``."""
    if len(rows) + 2 > MAX_ROWS:
        return rows
    group = _group_index(rows, group)
    parent = rows[group]
    assert isinstance(parent, GroupRow)
    end = _subtree_end(rows, group)
    new = [
        GroupRow(parent.depth + 1, "or" if parent.match == "and" else "and"),
        ConditionRow(parent.depth + 2),
    ]
    return [*rows[:end], *new, *rows[end:]]


def remove_row(rows: list[Row], index: int) -> list[Row]:
    """Without row ``index`` and what is nested under it (the top group stays)."""
    if not 0 < index < len(rows):
        return rows
    return [*rows[:index], *rows[_subtree_end(rows, index) :]]


# Display ----------------------------------------------------------------------------------------


@dataclass
class DisplayItem:
    """A row with its position (``index``: the ``t-<i>-`` of its inputs) and nested rows."""

    index: int
    row: Row
    error: str
    children: list[DisplayItem]
    focus: bool = False

    @property
    def operators(self) -> list[OperatorKind]:
        return operators_for(self.row.field) if isinstance(self.row, ConditionRow) else []


def display_tree(rows: list[Row], errors: dict[int, str], focus: int | None = None) -> DisplayItem:
    """The rows as the nested tree the template draws (groups as fieldsets)."""

    def item(branch: _Branch) -> DisplayItem:
        return DisplayItem(
            branch.index,
            rows[branch.index],
            errors.get(branch.index, ""),
            [item(child) for child in branch.children],
            branch.index == focus,
        )

    return item(_tree(rows))
