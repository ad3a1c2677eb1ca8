from __future__ import annotations

import pytest

from mappings.engine.integrations import MIXPANEL_KEYS, integrations_decision


@pytest.mark.parametrize(
    ("integrations", "expected"),
    [
        ({}, (True, None)),
        (None, (True, None)),
        ({"Mixpanel": False}, (False, "Mixpanel")),
        ({"Actions Mixpanel": False}, (False, "Actions Mixpanel")),
        ({"Mixpanel (Actions)": False}, (False, "Mixpanel (Actions)")),
        ({"mixpanel": False}, (True, None)),
        ({"All": False}, (False, "All")),
        ({"All": False, "Mixpanel": True}, (True, "Mixpanel")),
        ({"All": False, "Mixpanel": {}}, (False, "All")),
        ({"All": False, "Mixpanel": "yes"}, (False, "All")),
        ({"All": True, "Mixpanel": False}, (False, "Mixpanel")),
        ({"All": None}, (True, None)),
        ({"Amplitude": False}, (True, None)),
    ],
)
def test_it_follows_segments_opt_out_rule(integrations, expected):
    assert integrations_decision(integrations, MIXPANEL_KEYS) == expected
