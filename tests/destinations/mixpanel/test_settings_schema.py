"""Settings schema and validation (spec §3)."""

from __future__ import annotations

import pytest

from mappings.destinations.mixpanel.settings_schema import (
    SECRET_KEYS,
    SETTINGS,
    normalize_region,
    region_host,
    validate_settings,
)
from mappings.destinations.mixpanel.types import MixpanelSettings, SettingsError

TOKEN_MISSING = "The root value is missing the required field 'projectToken'."
REGION_INVALID = 'Data Residency must be one of: "US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳", "US", "EU", or "IN".'
STRICT_INVALID = 'Strict Mode must be one of: "1" or "0".'
MERGE_INVALID = 'ID Merge Mode must be one of: "simplified" or "original".'
PAIR_INVALID = "Service Account Username and Service Account Secret must be set together."
PROJECT_ID_INVALID = "Project ID is required (digits only) when a service account is set."


def messages(raw: dict) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        validate_settings(raw)
    return caught.value.messages


# --- the declared schema ---------------------------------------------------------------------


def test_it_declares_every_setting_in_the_table_order():
    assert [(s.key, s.label) for s in SETTINGS] == [
        ("projectToken", "Project Token"),
        ("apiSecret", "Secret Key"),
        ("serviceAccountUsername", "Service Account Username"),
        ("serviceAccountSecret", "Service Account Secret"),
        ("projectId", "Project ID"),
        ("apiRegion", "Data Residency"),
        ("sourceName", "Source Name"),
        ("strictMode", "Strict Mode"),
        ("idMergeMode", "ID Merge Mode"),
    ]


def test_only_the_project_token_is_required():
    assert [s.key for s in SETTINGS if s.required] == ["projectToken"]


def test_exactly_the_two_secrets_are_marked_secret():
    assert SECRET_KEYS == ("apiSecret", "serviceAccountSecret")
    assert tuple(s.key for s in SETTINGS if s.secret) == SECRET_KEYS
    assert {s.key for s in SETTINGS if s.type == "secret"} == set(SECRET_KEYS)


def test_the_project_token_is_not_a_secret():
    token = next(s for s in SETTINGS if s.key == "projectToken")
    assert not token.secret and token.type == "string"


def test_choices_and_defaults():
    by_key = {s.key: s for s in SETTINGS}
    assert [value for value, _ in by_key["apiRegion"].choices] == ["US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳"]
    assert [label for _, label in by_key["apiRegion"].choices] == ["US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳"]
    assert by_key["apiRegion"].default == "US 🇺🇸"
    assert [value for value, _ in by_key["strictMode"].choices] == ["1", "0"]
    assert by_key["strictMode"].default == "1"
    assert [value for value, _ in by_key["idMergeMode"].choices] == ["simplified", "original"]
    assert by_key["idMergeMode"].default == "simplified"


def test_help_text_says_where_each_value_lives_in_mixpanel():
    by_key = {s.key: s.help_text for s in SETTINGS}
    assert "Access Keys" in by_key["projectToken"]
    assert "Access Keys" in by_key["apiSecret"]
    assert "2027-03-03" in by_key["apiSecret"]
    assert "Project Settings → Overview" in by_key["projectId"]
    assert "Project Settings → Overview" in by_key["apiRegion"]
    assert "Organization Settings → Service Accounts" in by_key["serviceAccountUsername"]
    assert "Owner or Admin" in by_key["serviceAccountUsername"]
    assert "Identity Merge" in by_key["idMergeMode"]
    assert "cannot be changed" in by_key["idMergeMode"]
    assert all(help_text for help_text in by_key.values())


# --- validation: happy paths -----------------------------------------------------------------


def test_a_token_alone_is_valid_and_gets_the_defaults():
    assert validate_settings({"projectToken": "tok"}) == MixpanelSettings(
        project_token="tok",
        api_secret=None,
        service_account_username=None,
        service_account_secret=None,
        project_id=None,
        api_region="US",
        source_name=None,
        strict_mode="1",
        id_merge_mode="simplified",
    )


def test_a_full_service_account_configuration():
    settings = validate_settings(
        {
            "projectToken": "tok",
            "apiSecret": "sec",
            "serviceAccountUsername": "segmix-bot.2f41c7.mp-service-account",
            "serviceAccountSecret": "sa-secret",
            "projectId": "2218841",
            "apiRegion": "EU 🇪🇺",
            "sourceName": "Web App",
            "strictMode": "0",
            "idMergeMode": "original",
        }
    )
    assert settings.service_account_username == "segmix-bot.2f41c7.mp-service-account"
    assert settings.service_account_secret == "sa-secret"
    assert settings.project_id == "2218841"
    assert settings.api_region == "EU"
    assert settings.source_name == "Web App"
    assert settings.strict_mode == "0"
    assert settings.id_merge_mode == "original"
    assert settings.import_auth_mode == "service_account"


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("US 🇺🇸", "US"),
        ("EU 🇪🇺", "EU"),
        ("IN 🇮🇳", "IN"),
        ("US", "US"),
        ("EU", "EU"),
        ("IN", "IN"),
        (None, "US"),
        ("", "US"),
    ],
)
def test_it_normalizes_emoji_and_plain_region_values(value, region):
    assert validate_settings({"projectToken": "t", "apiRegion": value}).api_region == region


def test_an_absent_region_is_us():
    assert validate_settings({"projectToken": "t"}).api_region == "US"


def test_the_emoji_values_are_code_space_and_two_regional_indicators():
    assert "EU 🇪🇺" == "EU \U0001f1ea\U0001f1fa"
    assert normalize_region("EU \U0001f1ea\U0001f1fa") == "EU"


@pytest.mark.parametrize(
    ("value", "expected"), [(1, "1"), (0, "0"), ("1", "1"), ("0", "0"), (1.0, "1")]
)
def test_strict_mode_numbers_are_coerced(value, expected):
    assert validate_settings({"projectToken": "t", "strictMode": value}).strict_mode == expected


def test_strict_mode_defaults_to_on():
    assert validate_settings({"projectToken": "t", "strictMode": None}).strict_mode == "1"


def test_a_json_number_project_id_is_stored_as_text():
    assert validate_settings({"projectToken": "t", "projectId": 2218841}).project_id == "2218841"


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_source_name_is_unset(blank):
    # M3: Segment's own setting text says the value is sent "if it's not blank".
    assert validate_settings({"projectToken": "t", "sourceName": blank}).source_name is None


def test_blank_secrets_are_unset():
    settings = validate_settings(
        {"projectToken": "t", "apiSecret": "", "serviceAccountSecret": " "}
    )
    assert settings.api_secret is None and settings.service_account_secret is None
    assert settings.import_auth_mode == "project_token"


def test_unknown_keys_are_ignored():
    assert validate_settings({"projectToken": "t", "somethingElse": 1}).project_token == "t"


# --- validation: every §3.3 message ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [{}, {"projectToken": ""}, {"projectToken": None}, {"projectToken": "  "}]
)
def test_a_missing_project_token(raw):
    assert messages(raw) == [TOKEN_MISSING]


@pytest.mark.parametrize("region", ["Mars", "us", "EU🇪🇺", "EU  🇪🇺", 1, True])
def test_an_unknown_region(region):
    assert messages({"projectToken": "t", "apiRegion": region}) == [REGION_INVALID]


@pytest.mark.parametrize("strict", [2, "yes", True, False, "true", [1]])
def test_an_invalid_strict_mode(strict):
    assert messages({"projectToken": "t", "strictMode": strict}) == [STRICT_INVALID]


@pytest.mark.parametrize("mode", ["Simplified", "legacy", 1, True])
def test_an_invalid_id_merge_mode(mode):
    assert messages({"projectToken": "t", "idMergeMode": mode}) == [MERGE_INVALID]


def test_a_service_account_username_without_its_secret():
    assert messages({"projectToken": "t", "serviceAccountUsername": "bot", "projectId": "1"}) == [
        PAIR_INVALID
    ]


def test_a_service_account_secret_without_its_username():
    assert messages({"projectToken": "t", "serviceAccountSecret": "s", "projectId": "1"}) == [
        PAIR_INVALID
    ]


@pytest.mark.parametrize("project_id", [None, "", "22-18", "abc", "١٢٣", 1.5])
def test_a_service_account_needs_a_digits_project_id(project_id):
    raw = {
        "projectToken": "t",
        "serviceAccountUsername": "bot",
        "serviceAccountSecret": "s",
        "projectId": project_id,
    }
    assert messages(raw) == [PROJECT_ID_INVALID]


def test_every_problem_is_reported_in_the_table_order():
    assert messages(
        {
            "apiRegion": "Mars",
            "strictMode": "2",
            "idMergeMode": "x",
            "serviceAccountUsername": "bot",
        }
    ) == [
        TOKEN_MISSING,
        REGION_INVALID,
        STRICT_INVALID,
        MERGE_INVALID,
        PAIR_INVALID,
        PROJECT_ID_INVALID,
    ]


def test_the_error_text_is_the_messages_one_per_line():
    with pytest.raises(SettingsError) as caught:
        validate_settings({"apiRegion": "Mars"})
    assert str(caught.value) == f"{TOKEN_MISSING}\n{REGION_INVALID}"


def test_non_text_values_for_text_settings_are_rejected():
    assert messages({"projectToken": {"a": 1}}) == [
        "Project Token must be a string but it was an object."
    ]
    assert messages({"projectToken": "t", "sourceName": ["x"]}) == [
        "Source Name must be a string but it was an array."
    ]


# --- hosts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("US", "https://api.mixpanel.com"),
        ("EU", "https://api-eu.mixpanel.com"),
        ("IN", "https://api-in.mixpanel.com"),
        ("US 🇺🇸", "https://api.mixpanel.com"),
        ("EU 🇪🇺", "https://api-eu.mixpanel.com"),
        ("IN 🇮🇳", "https://api-in.mixpanel.com"),
        (None, "https://api.mixpanel.com"),
    ],
)
def test_region_hosts(region, host):
    assert region_host(region) == host


def test_an_unknown_region_has_no_host():
    with pytest.raises(ValueError):
        region_host("Mars")
