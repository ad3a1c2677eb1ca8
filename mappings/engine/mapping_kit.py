"""Segment mapping-kit (``@segment/actions-core`` 3.170.0) in Python: validate and transform.

This is the public import point (spec §1.2)::

    from mappings.engine.mapping_kit import MappingError, UNDEFINED, compile_mapping, transform

The behaviour, messages included, is Segment's, with the deviations listed in spec §3.10:
prototype members are not reachable, ``undefined`` in output lists becomes ``None``, payload
integers keep full precision, and ``@liquid`` is unsupported.

Implementation map: :mod:`.mapping_kit_validate` (messages), :mod:`.mapping_kit_runtime`
(pipeline, compile, clean), :mod:`.mapping_kit_directives` (directives),
:mod:`.mapping_kit_replace` (``@replace``'s literal replacement), :mod:`.mapping_kit_paths`
(paths and templates), :mod:`.jsvalues` (JS semantics).

>>> transform({"plan": {"@path": "$.traits.plan"}, "n": 1}, {"traits": {"plan": "pro"}})
{'plan': 'pro', 'n': 1}
>>> validate({"slug": {"@replace": {"value": 7}}})  # doctest: +NORMALIZE_WHITESPACE
['/slug/@replace should have field "pattern" but it doesn\\'t.',
 '/slug/@replace/value should be a string or a mapping directive but it is a number.']
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Final

from mappings.engine.jsvalues import UNDEFINED
from mappings.engine.mapping_kit_runtime import STACK_OVERFLOW, CompiledMapping, MappingError

__all__ = [
    "UNDEFINED",
    "CompiledMapping",
    "MappingError",
    "compile_mapping",
    "transform",
    "validate",
]

_CACHE_SIZE: Final = 512


def compile_mapping(mapping: Any) -> CompiledMapping:
    """Validate and pre-process ``mapping`` once (spec §5).

    The result is immutable and thread-safe; ``.errors`` holds :func:`validate`'s messages and
    ``.transform(payload)`` applies it. Runtime problems are never reported here: they are
    raised when evaluation reaches them. The caller's mapping is never mutated, and later
    changes to it do not affect the compiled result.

    Compiled mappings are memoised by the mapping's compact JSON text (insertion order kept,
    because it affects message order) in a bounded LRU cache.
    """
    if isinstance(mapping, CompiledMapping):
        return mapping
    try:
        text = json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        # Not plain JSON (e.g. holds UNDEFINED or a cycle): compile a private copy, uncached.
        try:
            return CompiledMapping.build(_json_copy(mapping))
        except RecursionError:
            return CompiledMapping((STACK_OVERFLOW,), "runtime", None)
    return _compile_text(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _compile_text(text: str) -> CompiledMapping:
    # Compiling from the text gives a private deep copy with the key normalisation json.dumps
    # applied, so equal texts always mean equal behaviour.
    return CompiledMapping.build(json.loads(text))


def _json_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k if isinstance(k, str) else json.dumps(k): _json_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_copy(v) for v in value]
    return value


def validate(mapping: Any) -> list[str]:
    """Every message Segment's validator gives for ``mapping`` as :func:`transform` processes it.

    ``[]`` means valid. The object spread and root-directive handling come first (spec §3.2);
    if they fail, the result is that one message.
    """
    return list(compile_mapping(mapping).errors)


def transform(mapping: Any, payload: Any = UNDEFINED) -> Any:
    """Apply ``mapping`` to ``payload`` (spec §3.2); a cached wrapper around
    :func:`compile_mapping`.

    Raises :class:`MappingError` and nothing else for mapping or payload problems: phase
    ``"validate"`` with every validation message, or phase ``"runtime"`` with the message Segment
    throws. Returns a ``dict`` for object mappings (a root directive may return any JSON value),
    with no ``UNDEFINED`` anywhere.
    """
    return compile_mapping(mapping).transform(payload)
