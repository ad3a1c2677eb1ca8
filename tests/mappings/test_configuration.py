"""Config as code: export, import (all-or-nothing, idempotent by name), presets, versions."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.core.management import CommandError, call_command

from mappings import crypto
from mappings.configuration import (
    SECRET_MASK,
    ConfigError,
    create_destination,
    export_config,
    import_config,
    save_mapping,
)
from mappings.models import Destination, Mapping, MappingVersion, Source

pytestmark = pytest.mark.django_db

TRACK_TRIGGER = 'type = "track" and event != "Order Completed"'


def a_config() -> dict:
    return {
        "version": 1,
        "sources": [
            {"name": "web", "writeKey": "wk_web_0123456789abcdef", "enabled": True},
            {"name": "ios", "writeKey": "wk_ios_0123456789abcdef", "enabled": False},
        ],
        "destinations": [
            {
                "name": "Mixpanel prod",
                "type": "mixpanel",
                "enabled": True,
                "sources": ["web", "ios"],
                "settings": {
                    "projectToken": "tok-prod",
                    "apiSecret": "s3cr3t-prod",
                    "apiRegion": "EU 🇪🇺",
                    "sourceName": "Web App",
                },
                "mappings": [
                    {
                        "name": "Track Calls",
                        "enabled": True,
                        "trigger": TRACK_TRIGGER,
                        "action": "trackEvent",
                        "mapping": {"event": {"@path": "$.event"}, "distinct_id": {"@path": "$.userId"}},
                    },
                    {
                        "name": "Android taps",
                        "enabled": False,
                        "trigger": 'type = "track" and properties.platform = "android"',
                        "action": "trackEvent",
                        "mapping": {"event": {"@path": "$.event"}},
                    },
                ],
            }
        ],
    }


def test_creating_a_destination_adds_the_six_presets_enabled_in_order():
    destination = create_destination("Mixpanel", {"projectToken": "tok"})
    rows = list(destination.mappings.values_list("name", "trigger", "action", "enabled"))
    assert rows == [
        ("Track Calls", 'type = "track" and event != "Order Completed"', "trackEvent", True),
        ("Order Completed Calls", 'type = "track" and event = "Order Completed"', "trackPurchase", True),
        ("Page Calls", 'type = "page"', "trackEvent", True),
        ("Screen Calls", 'type = "screen"', "trackEvent", True),
        ("Identify Calls", 'type = "identify"', "identifyUser", True),
        ("Group Calls", 'type = "group"', "groupIdentifyUser", True),
    ]
    page = destination.mappings.get(name="Page Calls")
    assert page.mapping["event"] == {"@template": "Viewed {{name}}"}


def test_import_then_export_round_trips_exactly_with_secrets():
    config = a_config()
    import_config(copy.deepcopy(config))
    assert export_config(with_secrets=True) == config


def test_export_masks_secrets_unless_asked():
    import_config(a_config())
    exported = export_config()
    assert exported["destinations"][0]["settings"]["apiSecret"] == SECRET_MASK
    assert "s3cr3t-prod" not in json.dumps(exported)


def test_secrets_are_encrypted_at_rest():
    import_config(a_config())
    destination = Destination.objects.get(name="Mixpanel prod")
    assert "apiSecret" not in destination.settings
    assert "s3cr3t-prod" not in destination.encrypted_secrets
    assert json.loads(crypto.decrypt(destination.encrypted_secrets)) == {"apiSecret": "s3cr3t-prod"}


def test_reimporting_a_masked_export_keeps_the_stored_secret():
    import_config(a_config())
    masked = export_config()
    counts = import_config(masked)
    assert counts == {"sources": 0, "destinations": 0, "mappings": 0, "mappings_deleted": 0}
    assert Destination.objects.get().secret_values() == {"apiSecret": "s3cr3t-prod"}


def test_import_is_idempotent():
    import_config(a_config())
    versions = MappingVersion.objects.count()
    assert import_config(a_config()) == {
        "sources": 0,
        "destinations": 0,
        "mappings": 0,
        "mappings_deleted": 0,
    }
    assert MappingVersion.objects.count() == versions
    assert Mapping.objects.count() == 2


def test_a_destination_without_mappings_gets_the_presets():
    config = a_config()
    del config["destinations"][0]["mappings"]
    import_config(config)
    assert Mapping.objects.count() == 6


def test_a_mappings_list_replaces_the_destinations_mappings_in_file_order():
    import_config(a_config())
    config = a_config()
    mappings = config["destinations"][0]["mappings"]
    mappings.reverse()
    mappings.pop()  # drop "Track Calls"
    counts = import_config(config)
    assert counts["mappings_deleted"] == 1
    assert list(Mapping.objects.values_list("name", flat=True)) == ["Android taps"]


def test_segment_subscription_names_are_accepted():
    config = a_config()
    config["destinations"][0]["mappings"] = [
        {
            "name": "Pasted from Segment",
            "enabled": True,
            "subscribe": 'type = "identify"',
            "partnerAction": "identifyUser",
            "mapping": {"user_id": {"@path": "$.userId"}},
        }
    ]
    import_config(config)
    mapping = Mapping.objects.get()
    assert (mapping.trigger, mapping.action) == ('type = "identify"', "identifyUser")


def test_a_bad_config_changes_nothing_and_names_every_field():
    config = a_config()
    destination = config["destinations"][0]
    destination["settings"]["apiRegion"] = "Mars"
    destination["mappings"][0]["trigger"] = 'type == "track"'
    destination["mappings"][1]["action"] = "sendCarrierPigeon"
    destination["mappings"][1]["mapping"] = {"event": {"@path": 7}}
    destination["sources"].append("android")
    with pytest.raises(ConfigError) as caught:
        import_config(config)
    messages = caught.value.messages
    assert "destinations[0].sources: unknown source 'android'" in messages
    assert (
        'destinations[0].settings: Data Residency must be one of: "US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳", '
        '"US", "EU", or "IN".'
    ) in messages
    assert any(m.startswith("destinations[0].mappings[0].trigger: ") for m in messages)
    assert any(
        m.startswith("destinations[0].mappings[1].action: unknown action 'sendCarrierPigeon'")
        for m in messages
    )
    assert (
        "destinations[0].mappings[1].mapping: /event/@path should be a string or a mapping "
        "directive but it is a number."
    ) in messages
    assert Source.objects.count() == Destination.objects.count() == Mapping.objects.count() == 0


def test_a_masked_secret_for_a_new_destination_is_an_error():
    config = a_config()
    config["destinations"][0]["settings"]["apiSecret"] = SECRET_MASK
    with pytest.raises(ConfigError) as caught:
        import_config(config)
    assert caught.value.messages[0].startswith("destinations[0].settings.apiSecret: the value is masked")


def test_every_change_to_a_mapping_keeps_a_version_and_reordering_does_not():
    destination = create_destination("Mixpanel", {"projectToken": "tok"})
    mapping = destination.mappings.get(name="Track Calls")
    assert list(mapping.versions.values_list("version", flat=True)) == [1]
    mapping.trigger = 'type = "track"'
    save_mapping(mapping, saved_by="ada")
    mapping.position = 9
    save_mapping(mapping, saved_by="ada")
    mapping.refresh_from_db()
    assert mapping.version == 2
    assert list(mapping.versions.values_list("version", "saved_by")) == [(2, "ada"), (1, "presets")]
    assert mapping.versions.get(version=1).snapshot["trigger"] == TRACK_TRIGGER


def test_save_mapping_rejects_an_invalid_batch_size():
    destination = create_destination("Mixpanel", {"projectToken": "tok"})
    mapping = destination.mappings.get(name="Track Calls")
    mapping.mapping = {**mapping.mapping, "batch_size": 2001}
    with pytest.raises(ConfigError) as caught:
        save_mapping(mapping)
    assert caught.value.messages == ["mapping: /batch_size must be a whole number from 1 to 2000."]


def test_commands_export_and_import_through_files(tmp_path, capsys):
    path = tmp_path / "segmix.json"
    path.write_text(json.dumps(a_config()))
    call_command("import_config", str(path))
    assert "Imported" in capsys.readouterr().out
    call_command("export_config", "--with-secrets")
    assert json.loads(capsys.readouterr().out) == a_config()


def test_import_command_reports_errors_and_fails(tmp_path):
    path = tmp_path / "segmix.json"
    config = a_config()
    config["destinations"][0]["settings"] = {}
    path.write_text(json.dumps(config))
    with pytest.raises(CommandError) as caught:
        call_command("import_config", str(path))
    assert "nothing changed" in str(caught.value)
    assert (
        "destinations[0].settings: The root value is missing the required field 'projectToken'."
        in str(caught.value)
    )


def test_import_command_rejects_invalid_json(tmp_path):
    path = tmp_path / "segmix.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="is not valid JSON"):
        call_command("import_config", str(path))


def test_text_with_an_unpaired_surrogate_is_refused_by_name_and_a_mapping_may_hold_one(tmp_path):
    # JSON can carry a lone "\\ud83d" escape (JavaScript strings hold one); the database's text
    # columns cannot. A mapping is stored as escaped JSON text, so there it is kept.
    config = a_config()
    config["sources"][1]["name"] = "ios \ud83d"
    first = config["destinations"][0]["mappings"][0]
    first["trigger"] = 'properties.\\\ud83d\\\udc4d = "x"'  # Segment's text for a key 👍
    first["mapping"]["label"] = "\udc4d"
    config["destinations"][0]["settings"]["sourceName"] = "Web \ud800"
    path = tmp_path / "segmix.json"
    path.write_text(json.dumps(config))  # escaped: the file itself is ASCII

    with pytest.raises(CommandError) as caught:
        call_command("import_config", str(path))

    problem = "holds an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape)"
    assert str(caught.value).splitlines()[1:] == [
        f"  - sources[1].name: {problem}, which is not text and cannot be stored",
        f"  - destinations[0].settings.sourceName: {problem}, which is not text and cannot be stored",
        f"  - destinations[0].mappings[0].trigger: {problem}, which is not text and cannot be stored",
    ]
    assert Source.objects.count() == 0

    config = a_config()
    config["destinations"][0]["mappings"][0]["mapping"]["label"] = {"@literal": "\udc4d"}
    import_config(config)
    stored = Mapping.objects.get(name="Track Calls").mapping
    assert stored["label"] == {"@literal": "\udc4d"}
    assert export_config(with_secrets=True) == config
    out = io.StringIO()
    call_command("export_config", "--with-secrets", stdout=out)  # printable: kept an escape
    assert '"@literal": "\\udc4d"' in out.getvalue()
    assert json.loads(out.getvalue()) == config


def test_rotate_secrets_reencrypts_with_the_newest_key(settings):
    from cryptography.fernet import Fernet

    import_config(a_config())
    old_key = settings.SEGMIX_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.SEGMIX_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_secrets")
    settings.SEGMIX_ENCRYPTION_KEYS = [new_key]
    assert Destination.objects.get().secret_values() == {"apiSecret": "s3cr3t-prod"}


def test_a_mapping_keeps_its_key_order_through_the_database():
    destination = create_destination("Mixpanel", {"projectToken": "tok"}, with_presets=False)
    mapping = {"zeta": {"@path": "$.z"}, "alpha": {"@path": "$.a"}, "event": {"@path": "$.event"}}
    saved = save_mapping(
        Mapping(destination=destination, name="Ordered", trigger='type = "track"',
                action="trackEvent", mapping=mapping)
    )  # fmt: skip
    assert list(Mapping.objects.get(pk=saved.pk).mapping) == ["zeta", "alpha", "event"]
    assert list(saved.versions.get().snapshot["mapping"]) == ["zeta", "alpha", "event"]
