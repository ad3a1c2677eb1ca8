"""Request body bytes → JSON value (spec §4.2 transport encodings, §4.3 text, §4.4 structure).

Pure: no Django, no I/O. Entry points, in the order the HTTP layer calls them (§4.1 steps 5–6):

- ``decompress(raw, content_encoding, max_decompressed=…) -> bytes``
- ``parse_json(data) -> ParsedBody``
- ``decode_body(raw, content_encoding, max_decompressed=…) -> ParsedBody`` does both.

Every failure is an ``IngestError`` (400) for the whole request. Repairs that keep the request
alive (U+FFFD for escaped lone surrogates and NUL, ``null`` for non-finite numbers) are reported
as ``Note``s with the JSON path where they happened, so normalisation can pin each warning on the
message it belongs to.

Parsing has two paths. ``orjson`` is strict and fast, and handles almost every real body. Only
when it refuses (or would silently lose information, see ``parse_json_fast``) does the stdlib
parser run, with hooks that tell a recoverable body from an invalid one. Both paths give the same
value for every body both accept. Nesting is checked on the bytes before either runs.
"""

from __future__ import annotations

import json
import math
import operator
import re
import zlib
from dataclasses import dataclass
from itertools import accumulate, count
from typing import Any

import orjson

from mappings.engine.jsvalues import SURROGATE
from mappings.ingest.errors import IngestError
from mappings.jsoncodec import may_hold_a_long_integer

MAX_DEPTH = 64
MAX_INT_DIGITS = 4300  # CPython's default int-from-str limit; enforced here whatever the setting

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Note:
    """A repair made at ``path`` (keys and list indexes from the body root).

    ``code`` is a warning code (``replaced_lone_surrogate``, ``replaced_nul``,
    ``non_finite_number``) or ``key_collision``: two different keys of one object became equal
    after replacement, so the message holding that object must be rejected (§4.3).
    """

    path: Path
    code: str


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """The parsed body, the repairs made while parsing, and the decoded size in bytes."""

    value: Any
    notes: tuple[Note, ...] = ()
    decoded_size: int = 0


def decode_body(raw: bytes, content_encoding: str | None, *, max_decompressed: int) -> ParsedBody:
    """Decompress and parse a request body; raise ``IngestError`` (400) if it can't be used."""
    return parse_json(decompress(raw, content_encoding, max_decompressed=max_decompressed))


# --- §4.2 transport encodings ------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS


def decompress(raw: bytes, content_encoding: str | None, *, max_decompressed: int) -> bytes:
    """The body after ``Content-Encoding``, at most ``max_decompressed`` bytes.

    gzip/x-gzip (concatenated members allowed), deflate (zlib, else raw deflate), identity or no
    header. A body starting with the gzip magic is gunzipped even without the header: JSON never
    starts with those bytes. Output is produced incrementally and never exceeds the cap + 1 byte,
    so a bomb costs at most the cap in memory.

    Raises ``unsupported_encoding`` (other codings, lists), ``invalid_encoding`` (corrupt,
    truncated, trailing bytes, or a plain body declared as gzip) and ``payload_too_large``.
    """
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        if not raw.startswith(_GZIP_MAGIC):
            if len(raw) > max_decompressed:
                raise _too_large(max_decompressed)
            return bytes(raw)
        coding = "gzip"
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise IngestError(
            400, "unsupported_encoding", f"Content-Encoding {coding[:40]!r} is not supported"
        )
    if not raw:
        return b""  # nothing to inflate; parsing reports the empty body as invalid_json
    if coding == "deflate":
        try:
            return _inflate(raw, _ZLIB_WBITS, max_decompressed, members=False)
        except IngestError as exc:
            if exc.code != "invalid_encoding":
                raise
        return _inflate(raw, _RAW_DEFLATE_WBITS, max_decompressed, members=False)
    return _inflate(raw, _GZIP_WBITS, max_decompressed, members=True)


def _inflate(raw: bytes, wbits: int, cap: int, *, members: bool) -> bytes:
    out: list[bytes] = []
    total = 0
    data = bytes(raw)
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            # The output limit is what keeps a bomb cheap; it is never 0 (= unlimited) because
            # total <= cap here.
            chunk = inflater.decompress(data, cap + 1 - total)
        except zlib.error as exc:
            raise _invalid_encoding() from exc
        total += len(chunk)
        if total > cap:
            raise _too_large(cap)
        out.append(chunk)
        if not inflater.eof:
            # All input consumed (the output limit was not hit) yet the stream is not finished.
            raise _invalid_encoding()
        data = inflater.unused_data
        if not data:
            return b"".join(out)
        if not members:
            raise _invalid_encoding()


def _too_large(cap: int) -> IngestError:
    return IngestError(400, "payload_too_large", f"decoded body is larger than {cap} bytes")


def _invalid_encoding() -> IngestError:
    return IngestError(400, "invalid_encoding", "body does not match its Content-Encoding")


# --- §4.4 nesting pre-scan -----------------------------------------------------------------------

# Brackets become parens, quotes stay, everything else goes: a few bytes per string, at C speed.
_SKELETON_TABLE = bytes.maketrans(b"[{]}", b"(())")
_SKELETON_DELETE = bytes(b for b in range(256) if b not in b'[]{}"')


def json_skeleton(data: bytes) -> bytes:
    """The brackets of ``data`` that lie outside string literals, as ``(`` and ``)``.

    Escape-aware without a byte loop: escaped backslashes go first (JSON pairs them left to
    right), then escaped quotes, so every remaining quote delimits a string. An unterminated
    string runs to the end. Outside strings a backslash is invalid JSON anyway; the parser will
    say so.
    """
    # Searching for the two escapes costs more than the rest; most bodies have no backslash.
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in data else data
    quoted = unescaped.translate(_SKELETON_TABLE, _SKELETON_DELETE).replace(b'""', b"")
    if b'"' not in quoted:
        return quoted
    return b"".join(quoted.split(b'"')[::2])  # even pieces are outside strings


def check_nesting(skeleton: bytes, limit: int = MAX_DEPTH) -> None:
    """Raise ``nesting_too_deep`` if the parens of ``json_skeleton`` nest deeper than ``limit``.

    Runs before any parser sees the body and never recurses. Real bodies settle in a few passes
    that each delete the innermost ``()`` pairs; 65 openers in a row (any deep ``[[[…``) are
    refused by one substring search; anything else gets the exact running depth, computed with
    C iterators in linear time.
    """
    if skeleton.count(b"(") <= limit:
        return
    if b"(" * (limit + 1) in skeleton:
        raise _nesting_too_deep(limit)
    parens = skeleton
    for _ in range(min(_QUICK_PASSES, limit)):  # emptied within `limit` passes = shallow enough
        parens = parens.replace(b"()", b"")
        if not parens:
            return
    # Depth after byte k is 2 * openers so far - (k + 1).
    running = map(operator.sub, accumulate(skeleton.translate(_PAREN_WEIGHTS)), count(1))
    if max(running) > limit:
        raise _nesting_too_deep(limit)


_QUICK_PASSES = 16
_PAREN_WEIGHTS = bytes.maketrans(b"()", b"\x02\x00")


def _nesting_too_deep(limit: int) -> IngestError:
    return IngestError(400, "nesting_too_deep", f"body nests deeper than {limit} levels")


# --- §4.3, §4.4 parsing ----------------------------------------------------------------------------

_ESCAPED_NUL = b"\\u0000"


def parse_json(data: bytes) -> ParsedBody:
    """Strict UTF-8 JSON with the §4.3/§4.4 repairs; raise ``IngestError`` 400 otherwise.

    Nesting is checked on the bytes first. Integers stay exact, duplicate keys keep the last
    value, ``NaN``/``Infinity``/``-Infinity``/overflowing literals become ``None`` and escaped
    NUL or lone surrogates U+FFFD, each with a ``Note``.
    """
    check_nesting(json_skeleton(data))
    fast = parse_json_fast(data)
    return fast if fast is not None else parse_json_slow(data)


def parse_json_fast(data: bytes) -> ParsedBody | None:
    """orjson's answer when it is certainly ours, else ``None`` (the slow path decides).

    orjson refuses what needs repair (NaN, lone surrogates, 1e999) and what is invalid, but it
    silently turns integers beyond 64 bits into floats and keeps escaped NUL: bodies with a run
    of 20+ digits (19 after a minus) anywhere, or a ``\\u0000``, are left to the slow path too.
    """
    if (b"\\" in data and _ESCAPED_NUL in data) or may_hold_a_long_integer(data):
        return None
    try:
        return ParsedBody(orjson.loads(data), (), len(data))
    except orjson.JSONDecodeError:
        return None


class _Pairs(list):  # type: ignore[type-arg]
    """An object's (key, value) pairs as parsed, so replacement collisions can be seen."""


class _NonFinite:
    """Marks a non-finite number until the repair walk knows its path."""


_NON_FINITE = _NonFinite()
# Only an escape can put NUL or a surrogate into a parsed string (raw ones are refused), so
# without these in the text there is nothing to scrub. False positives only cost time.
_SCRUB_NEEDED = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class _Hooks:
    """stdlib-parser hooks that turn non-finite numbers into a marker and bound integers."""

    def __init__(self) -> None:
        self.non_finite = False

    def parse_constant(self, _token: str) -> _NonFinite:
        self.non_finite = True
        return _NON_FINITE

    def parse_float(self, text: str) -> Any:
        number = float(text)
        if math.isinf(number):
            self.non_finite = True
            return _NON_FINITE
        return number

    @staticmethod
    def parse_int(text: str) -> int:
        # Independent of sys.set_int_max_str_digits: longer literals are refused, not slow.
        if len(text) - text.startswith("-") > MAX_INT_DIGITS:
            raise ValueError("integer literal too long")
        return int(text)


def parse_json_slow(data: bytes) -> ParsedBody:
    """The stdlib path: decides between repair and ``invalid_json`` where orjson refused.

    Public for tests, which run every case through both paths. Callers must have run
    ``check_nesting`` first (the repair walk recurses once per level).
    """
    hooks = _Hooks()
    try:
        text = data.decode("utf-8")  # strict: overlongs, encoded surrogates, truncation fail
        scrub = _SCRUB_NEEDED.search(text) is not None
        tree = json.loads(
            text,
            object_pairs_hook=_Pairs if scrub else None,
            parse_constant=hooks.parse_constant,
            parse_float=hooks.parse_float,
            parse_int=hooks.parse_int,
        )
    except UnicodeDecodeError as exc:
        raise IngestError(
            400, "invalid_json", f"body is not valid UTF-8 (byte {exc.start})"
        ) from exc
    except json.JSONDecodeError as exc:
        raise IngestError(
            400, "invalid_json", f"body is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except (ValueError, RecursionError) as exc:  # RecursionError is not a ValueError
        raise IngestError(400, "invalid_json", "body is not valid JSON") from exc
    if not scrub and not hooks.non_finite:
        return ParsedBody(tree, (), len(data))
    repair = _Repair(scrub)
    value = repair.value(tree, ())
    return ParsedBody(value, tuple(repair.notes), len(data))


class _Repair:
    """One walk over a freshly parsed (so privately owned) stdlib tree, fixing it in place.

    ``_Pairs`` become dicts (last value wins, first position kept, as in a dict) with a
    ``key_collision`` note when two keys became equal; with ``scrub``, NUL and lone surrogates
    become U+FFFD; non-finite markers become ``None``. Each repair leaves a ``Note`` at its path.
    Leaves are handled inline: this runs on whole batches.
    """

    def __init__(self, scrub: bool) -> None:
        self.scrub = scrub
        self.notes: list[Note] = []

    def value(self, node: Any, path: Path) -> Any:
        kind = type(node)
        if kind is _Pairs:
            return self.pairs(node, path)
        if kind is dict:
            self.children(node, node.items(), path)
            return node
        if kind is list:
            self.children(node, enumerate(node), path)
            return node
        if kind is str and self.scrub:
            return self.text(node, path)
        if node is _NON_FINITE:
            self.notes.append(Note(path, "non_finite_number"))
            return None
        return node

    def pairs(self, pairs: _Pairs, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for key, item in pairs:
            fixed = self.text(key, path, is_key=True)
            if origin.setdefault(fixed, key) != key:
                self.notes.append(Note((*path, fixed), "key_collision"))
                origin[fixed] = key
            out[fixed] = item
        self.children(out, out.items(), path)
        return out

    def children(self, container: Any, items: Any, path: Path) -> None:
        # Replacing the value of an existing key does not disturb a running dict iterator.
        for slot, item in items:
            kind = type(item)
            if kind is _Pairs or kind is dict or kind is list:
                container[slot] = self.value(item, (*path, slot))
            elif kind is str:
                if self.scrub and ("\x00" in item or not item.isascii()):
                    container[slot] = self.text(item, (*path, slot))
            elif item is _NON_FINITE:
                container[slot] = None
                self.notes.append(Note((*path, slot), "non_finite_number"))

    def text(self, text: str, path: Path, *, is_key: bool = False) -> str:
        """``text`` with NUL and lone surrogates (only escapes produce them) as U+FFFD."""
        codes = []
        if "\x00" in text:
            text = text.replace("\x00", "\ufffd")
            codes.append("replaced_nul")
        if not text.isascii() and SURROGATE.search(text):
            text = SURROGATE.sub("\ufffd", text)
            codes.append("replaced_lone_surrogate")
        if codes:
            where = (*path, text) if is_key else path
            self.notes.extend(Note(where, code) for code in codes)
        return text
