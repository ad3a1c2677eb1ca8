"""The "Connect your app" snippets (pure, no database)."""

from __future__ import annotations

import json

from mappings.views import snippets

ENDPOINT = snippets.Endpoint(scheme="https", host="segmix.example.com")


def test_analytics_js_sends_settings_and_events_to_segmix():
    text = snippets.analytics_js("wk_1", ENDPOINT)
    assert "AnalyticsBrowser.load(" in text
    assert 'writeKey: "wk_1"' in text
    assert 'cdnURL: "https://segmix.example.com"' in text
    assert 'apiHost: "segmix.example.com/v1", protocol: "https"' in text
    assert "cdn.segment.com" not in text


def test_python_and_node_point_at_the_host_root():
    python = snippets.analytics_python("wk_1", ENDPOINT.base_url)
    assert 'analytics.write_key = "wk_1"' in python
    assert 'analytics.host = "https://segmix.example.com"' in python
    node = snippets.analytics_node("wk_1", ENDPOINT.base_url)
    assert 'new Analytics({ writeKey: "wk_1", host: "https://segmix.example.com" })' in node


def test_values_are_literals_that_cannot_end_a_script_element():
    nasty = 'a"b</script>'
    literal = snippets.literal(nasty)
    assert "</script>" not in literal
    assert json.loads(literal) == nasty  # still the same string once parsed


def test_autocapture_keeps_both_merge_options_with_the_unused_one_commented_out():
    simplified = snippets.autocapture(None, "simplified")
    assert 'mixpanel.init("YOUR_MIXPANEL_PROJECT_TOKEN"' in simplified
    assert (
        '\n    mixpanel.register({ $device_id: anonymousId, distinct_id: "$device:"' in simplified
    )
    assert "\n    // mixpanel.register({ $device_id: anonymousId, distinct_id: anonymousId });" in (
        simplified
    )
    original = snippets.autocapture("tok", "original")
    assert 'mixpanel.init("tok"' in original
    assert (
        '\n    // mixpanel.register({ $device_id: anonymousId, distinct_id: "$device:"' in original
    )
    assert (
        "\n    mixpanel.register({ $device_id: anonymousId, distinct_id: anonymousId });"
        in original
    )
    for text in (simplified, original):
        assert "autocapture: true" in text
        assert 'analytics.track("app loaded")' in text
        assert "analytics.addSourceMiddleware" in text
        assert "mixpanel.identify(userId)" in text
