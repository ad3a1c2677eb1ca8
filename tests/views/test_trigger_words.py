"""describe_trigger: FQL triggers as sentences (pure, no database)."""

from __future__ import annotations

import pytest

from mappings.engine import fql
from mappings.views.trigger_words import describe_trigger


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            'type = "track" and event != "Order Completed"',
            'Event type is "track" and event name is not "Order Completed"',
        ),
        ('type = "page"', 'Event type is "page"'),
        (
            'type = "track" and properties.platform = "android"',
            'Event type is "track" and event property platform is "android"',
        ),
        ('contains(event, "Signed")', 'Event name contains "Signed"'),
        ('!contains(event, "Test")', 'Event name does not contain "Test"'),
        ('match(event, "Order*")', 'Event name starts with "Order"'),
        ('match(event, "*Viewed")', 'Event name ends with "Viewed"'),
        ('match(event, "Plan*Won")', 'Event name matches the pattern "Plan*Won"'),
        ("properties.seats > 3", "Event property seats is greater than 3"),
        ("properties.seats <= 2.5", "Event property seats is at most 2.5"),
        ("properties.total = 10", "Event property total equals 10"),
        ("properties.total != 10", "Event property total does not equal 10"),
        ("traits.vip = true", "Trait vip is true"),
        ("traits.vip = false", "Trait vip is false"),
        ("userId != null", "User ID exists"),
        ("context.ip = null", "Context field ip does not exist"),
        ("anonymousId != null", "Field anonymousId exists"),
        ('name = "Home"', 'Page or screen name is "Home"'),
        (
            'type = "identify" or (type = "track" and event = "Signed Up")',
            'Event type is "identify" or (event type is "track" and event name is "Signed Up")',
        ),
        (
            '!(type = "track" or type = "page")',
            'Not (event type is "track" or event type is "page")',
        ),
        ('event = "say \\"hi\\""', 'Event name is "say \\"hi\\""'),
        ('event = "Café ☕"', 'Event name is "Café ☕"'),
    ],
)
def test_triggers_read_as_sentences(text, words):
    assert describe_trigger(fql.parse(text)) == words


def test_the_seed_example_reads_like_the_seed():
    node = fql.parse('type = "track" and properties.platform = "android"')
    assert 'event property platform is "android"' in describe_trigger(node)
