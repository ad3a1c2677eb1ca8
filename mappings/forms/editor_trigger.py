"""The mapping editor's trigger: builder rows or raw FQL, parsed from what the browser posts.

Posted names: ``trigger_mode`` (``builder``/``raw``), ``trigger_raw``, and per builder row ``i``
``t-<i>-kind`` (``group``/``condition``), ``t-<i>-depth``, ``t-<i>-match`` (groups) and
``t-<i>-field``, ``-path``, ``-op``, ``-value``, ``-vtype`` (conditions). Buttons post
``builder`` (``add-condition:<i>``, ``add-group:<i>``, ``remove:<i>``) and ``trigger_tab``
(``builder``/``raw``). The same form serves saving, the builder's re-renders and the
validate-as-you-type check, so all three read the trigger the same way.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..engine import fql
from ..views import trigger_builder as tb

MODES = (("builder", "Builder"), ("raw", "Raw FQL"))


def trigger_data(trigger: str) -> dict[str, str]:
    """Form data showing a stored trigger: the builder when it can show it, else raw FQL."""
    data = {"trigger_raw": trigger, "trigger_mode": "raw"}
    try:
        rows = tb.rows_from_node(fql.parse(trigger))
    except (fql.FqlError, tb.NotExpressible):
        return data
    data["trigger_mode"] = "builder"
    data.update(rows_data(rows))
    return data


def rows_data(rows: list[tb.Row]) -> dict[str, str]:
    data: dict[str, str] = {}
    for i, row in enumerate(rows):
        prefix = f"t-{i}-"
        data[prefix + "depth"] = str(row.depth)
        if isinstance(row, tb.GroupRow):
            data.update({prefix + "kind": "group", prefix + "match": row.match})
        else:
            data.update(
                {
                    prefix + "kind": "condition",
                    prefix + "field": row.field,
                    prefix + "path": row.path,
                    prefix + "op": row.operator,
                    prefix + "value": row.value,
                    prefix + "vtype": row.value_type,
                }
            )
    return data


def parse_rows(data: Any) -> list[tb.Row]:
    """Builder rows from posted data; unknown choices fall back to the first valid one."""
    rows: list[tb.Row] = []
    for i in range(tb.MAX_ROWS):
        prefix = f"t-{i}-"
        kind = data.get(prefix + "kind")
        if kind is None:
            break
        try:
            depth = min(max(int(data.get(prefix + "depth", "1")), 0), 50)
        except ValueError:
            depth = 1
        if i == 0 or kind == "group":
            match = data.get(prefix + "match", "and")
            rows.append(
                tb.GroupRow(0 if i == 0 else max(depth, 1), match if match == "or" else "and")
            )
            continue
        field = data.get(prefix + "field", "event")
        operator = data.get(prefix + "op", "eq")
        row = tb.ConditionRow(
            max(depth, 1),
            field if field in tb.FIELDS else "event",
            data.get(prefix + "path", "")[:500],
            operator if operator in tb.OPERATORS else "eq",
            data.get(prefix + "value", "")[:2000],
            "number" if data.get(prefix + "vtype") == "number" else "string",
        )
        rows.append(tb.fix_operator(row))
    return rows or [tb.GroupRow(0, "and"), tb.ConditionRow(1)]


def apply_builder_action(rows: list[tb.Row], action: str) -> list[tb.Row]:
    name, _, index_text = action.partition(":")
    try:
        index = int(index_text)
    except ValueError:
        return rows
    if name == "add-condition":
        return tb.add_condition(rows, index)
    if name == "add-group":
        return tb.add_group(rows, index)
    if name == "remove":
        return tb.remove_row(rows, index)
    return rows


class TriggerForm(forms.Form):
    """The trigger as typed. After ``is_valid()``: ``fql`` is the canonical text to save.

    Also available whether valid or not: ``mode``, ``rows``, ``row_errors`` (row index →
    message), ``raw``, ``canonical`` (``to_fql(parse(raw))``), ``lint`` warnings and ``note``
    (why a tab switch did not happen, or why the builder is not shown).
    ``actions=True`` applies the posted builder and tab buttons (the builder endpoint).
    """

    trigger_mode = forms.ChoiceField(choices=MODES, required=False)
    trigger_raw = forms.CharField(
        label="Trigger (FQL)",
        required=False,
        strip=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, actions: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actions = actions
        self.mode = "builder"
        self.rows: list[tb.Row] = []
        self.row_errors: dict[int, str] = {}
        self.raw = ""
        self.canonical = ""
        self.fql = ""
        self.lint: list[str] = []
        self.note = ""
        self.focus_row: int | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.mode = "raw" if cleaned.get("trigger_mode") == "raw" else "builder"
        self.raw = cleaned.get("trigger_raw") or ""
        if self.mode == "builder":
            self.rows = parse_rows(self.data)
            action = self.data.get("builder", "") if self.actions else ""
            if action:
                before = len(self.rows)
                target = action.partition(":")[2]
                insert_at = tb.insertion_index(self.rows, int(target) if target.isdigit() else 0)
                self.rows = apply_builder_action(self.rows, action)
                if len(self.rows) > before:
                    self.focus_row = insert_at  # keyboard users land on what they added
        if self.actions and self.data.get("trigger_tab") in ("builder", "raw"):
            self._switch(self.data["trigger_tab"])
        if self.mode == "builder":
            self._clean_builder()
        else:
            self._clean_raw()
        return cleaned

    def _switch(self, tab: str) -> None:
        if tab == self.mode:
            return
        if tab == "raw":
            node, errors = tb.node_from_rows(self.rows)
            if node is not None and not errors:
                self.raw, self.mode = fql.to_fql(node), "raw"
            else:
                self.note = "Finish or remove the rows marked below before switching to raw FQL."
            return
        if not self.raw.strip():
            self.mode, self.rows = "builder", [tb.GroupRow(0, "and"), tb.ConditionRow(1)]
            return
        try:
            self.rows, self.mode = tb.rows_from_node(fql.parse(self.raw)), "builder"
        except fql.FqlError as exc:
            self.note = f"Fix the FQL before switching to the builder: {exc}"
        except tb.NotExpressible as exc:
            self.note = f"The builder cannot show this trigger ({exc}). Keep editing it here."

    def _clean_builder(self) -> None:
        node, self.row_errors = tb.node_from_rows(self.rows)
        if node is None or self.row_errors:
            self.add_error(None, "Finish or remove the trigger conditions marked below.")
            return
        self.fql = self.canonical = fql.to_fql(node)
        self.raw = self.fql
        self.lint = fql.lint(self.fql)

    def _clean_raw(self) -> None:
        if self.raw.strip():
            self.lint = fql.lint(self.raw)
        try:
            node = fql.parse(self.raw)
        except fql.FqlError as exc:
            self.add_error("trigger_raw", f"{exc.message} (at position {exc.position}).")
            return
        # Saved canonical: it means the same to us and is the form Segment reads back the same.
        self.fql = self.canonical = fql.to_fql(node)
        if not self.note:
            try:
                tb.rows_from_node(node)
            except tb.NotExpressible as exc:
                self.note = f"The builder cannot show this trigger: {exc}."
