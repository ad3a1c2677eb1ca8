"""The console's display transforms for payload data (spec §7.1 "Safety")."""

from __future__ import annotations

import doctest
import json

from mappings.views import display


def test_the_docstring_examples_hold():
    assert doctest.testmod(display).failed == 0


def test_bidi_overrides_and_isolates_are_shown_as_escapes():
    assert display.visible("invoice\u202efdp.exe") == "invoice\\u202efdp.exe"
    assert display.visible("\u2066x\u2069") == "\\u2066x\\u2069"
    assert display.visible("a\u200bb\ufeffc") == "a\\u200bb\\ufeffc"


def test_control_characters_become_control_pictures():
    assert display.visible("a\x00b\x07c\x7f") == "a␀b␇c␡"
    assert display.visible("line\r\nnext\ttab") == "line␍␊next␉tab"


def test_c1_controls_and_lone_surrogates_are_escaped_not_dropped():
    assert display.visible("x\x85y\x9bz") == "x\\u0085y\\u009bz"
    assert display.visible("bad\ud800") == "bad\\ud800"


def test_ordinary_text_is_left_alone():
    text = "Grüße, 東京, emoji 🎉, quotes \"'<>&"
    assert display.visible(text) == text


def test_long_strings_are_clipped_at_1000_characters_with_the_whole_value_kept():
    clipped = display.clip("é" * 1001)
    assert clipped.truncated and clipped.length == 1001
    assert clipped.text == "é" * 1000 + "…"
    assert clipped.full == "é" * 1001
    assert not display.clip("é" * 1000).truncated


def test_clipping_counts_characters_before_making_them_visible():
    clipped = display.clip("\u202e" * 5, limit=3)
    assert clipped.text == "\\u202e" * 3 + "…"


def test_pretty_json_is_two_space_indented_and_still_parses_to_the_same_value():
    value = {"name": "a\u202eb", "nul": "x\x00", "del": "\x7f", "nested": {"list": [1, True, None]}}
    text = display.pretty_json(value)
    assert text.startswith('{\n  "name": "a\\u202eb"')
    assert "\u202e" not in text and "\x7f" not in text
    assert json.loads(text) == value


def test_pretty_json_text_falls_back_to_visible_text_when_it_is_not_json():
    assert display.pretty_json_text('{"a":1}') == '{\n  "a": 1\n}'
    assert display.pretty_json_text("not json\x00") == "not json␀"


def test_flatten_gives_paths_kinds_and_empty_containers():
    rows, more = display.flatten(
        {"plan": "pro", "seats": 3, "ok": True, "none": None, "tags": [], "meta": {},
         "items": [{"sku": "a"}, {"sku": "b"}]}
    )  # fmt: skip
    assert not more
    assert [(r.path, r.value.text, r.kind) for r in rows] == [
        ("plan", "pro", "string"),
        ("seats", "3", "number"),
        ("ok", "true", "boolean"),
        ("none", "null", "null"),
        ("tags", "[]", "array"),
        ("meta", "{}", "object"),
        ("items[0].sku", "a", "string"),
        ("items[1].sku", "b", "string"),
    ]


def test_flatten_makes_keys_visible_too_and_stops_at_the_row_cap():
    rows, _ = display.flatten({"k\u202eey": 1})
    assert rows[0].path == "k\\u202eey"
    rows, more = display.flatten({str(i): i for i in range(display.MAX_ROWS + 5)})
    assert more and len(rows) == display.MAX_ROWS


def test_flatten_shows_very_deep_values_as_json_on_one_row():
    deep: dict = {"v": 1}
    for _ in range(display.MAX_DEPTH + 2):
        deep = {"d": deep}
    rows, _ = display.flatten(deep)
    assert len(rows) == 1 and rows[0].kind == "object" and '"v": 1' in rows[0].value.text


def test_summaries_per_message_type():
    assert display.summary({"type": "track", "event": "Signed Up"}) == "Signed Up"
    assert display.summary({"type": "track"}) == "(no event name)"
    assert display.summary({"type": "page", "name": "Home"}) == "Home"
    assert display.summary({"type": "screen"}) == "(unnamed)"
    assert (
        display.summary({"type": "identify", "userId": "u1", "traits": {"a": 1}}) == "u1 · 1 trait"
    )
    assert display.summary({"type": "identify", "anonymousId": "a1"}) == "a1 · 0 traits"
    assert display.summary({"type": "group", "groupId": "g1"}) == "g1"
    assert display.summary({"type": "alias", "previousId": "a", "userId": "u"}) == "a → u"


def test_summaries_are_visible_and_clipped_for_the_list():
    text = display.summary({"type": "track", "event": "x\u202e" + "y" * 500})
    assert text.startswith("x\\u202e") and text.endswith("…")
    assert len(text) <= display.LIST_LIMIT + 10


def test_library_is_name_and_version():
    message = {"context": {"library": {"name": "analytics.js", "version": "next-1.70.0"}}}
    assert display.library(message) == "analytics.js next-1.70.0"
    assert display.library({"context": "not an object"}) == ""


def test_timing_says_when_the_time_was_clamped_or_not_corrected():
    clamped = display.timing({"timestamp": "x"}, ["timestamp_out_of_range"])
    assert clamped.correction.startswith("clamped")
    no_sent_at = display.timing({"originalTimestamp": "2026-03-10T11:58:00Z"}, [])
    assert no_sent_at.correction.startswith("not corrected") and no_sent_at.skew == ""
    ahead = display.timing(
        {"sentAt": "2026-03-10T12:00:10Z", "receivedAt": "2026-03-10T12:00:05Z"}, []
    )
    assert ahead.skew.startswith("the client's clock was 5.000 s ahead")
