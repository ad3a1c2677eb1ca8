"""Configuration operations shared by the console and the management commands.

Creating destinations (with the six presets), saving mappings (with a version per save), and
config as code: :func:`export_config` / :func:`import_config` in the JSON format of the README
(Segment's setting keys, action ids and mapping JSON).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from .destinations.mixpanel.presets import PRESETS
from .destinations.mixpanel.settings_schema import SECRET_KEYS, validate_settings
from .destinations.mixpanel.types import SettingsError
from .engine import fql, mapping_kit
from .engine.jsvalues import surrogate_paths
from .models import Destination, Mapping, MappingVersion, Source

CONFIG_VERSION = 1
SECRET_MASK = "••••••"
ACTION_IDS = (
    "trackEvent",
    "identifyUser",
    "groupIdentifyUser",
    "alias",
    "trackPurchase",
    "incrementProperties",
)


class ConfigError(ValueError):
    """A config file (or form) is invalid; ``messages`` name the offending field each."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


# Destinations and mappings ---------------------------------------------------------------------


def add_presets(destination: Destination) -> list[Mapping]:
    """Create the six Mixpanel presets on ``destination``, enabled, in the spec's order."""
    return [
        save_mapping(
            Mapping(
                destination=destination,
                name=preset.name,
                trigger=preset.trigger,
                action=preset.action_id,
                mapping=preset.mapping,
                enabled=True,
                position=index,
            ),
            saved_by="presets",
        )
        for index, preset in enumerate(PRESETS)
    ]


@transaction.atomic
def create_destination(
    name: str,
    settings: dict[str, Any],
    *,
    sources: list[Source] = (),
    enabled: bool = False,
    with_presets: bool = True,
) -> Destination:
    """Validate ``settings``, create the destination and (by default) its six presets."""
    validate_settings(settings)
    destination = Destination(name=name, enabled=enabled)
    destination.set_all_settings(settings)
    destination.save()
    destination.sources.set(sources)
    if with_presets:
        add_presets(destination)
    return destination


def mapping_problems(trigger: str, action: str, mapping: Any) -> list[str]:
    """Every reason a mapping cannot be saved, each starting with the field it concerns."""
    problems = []
    try:
        fql.parse(trigger)
    except fql.FqlError as exc:
        problems.append(f"trigger: {exc}")
    if action not in ACTION_IDS:
        problems.append(
            f"action: unknown action {action!r}; expected one of {', '.join(ACTION_IDS)}"
        )
    if not isinstance(mapping, dict):
        problems.append("mapping: must be a JSON object")
    else:
        problems.extend(f"mapping: {message}" for message in mapping_kit.validate(mapping))
        batch_size = mapping.get("batch_size")
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or not 1 <= batch_size <= 2000
        ):
            problems.append("mapping: /batch_size must be a whole number from 1 to 2000.")
    return problems


def save_mapping(mapping: Mapping, *, saved_by: str = "") -> Mapping:
    """Validate and save ``mapping``; every save that changes it keeps a version."""
    problems = mapping_problems(mapping.trigger, mapping.action, mapping.mapping)
    if problems:
        raise ConfigError(problems)
    with transaction.atomic():
        if mapping.pk:
            previous = Mapping.objects.select_for_update().get(pk=mapping.pk)
            if previous.snapshot() == mapping.snapshot():
                if previous.position != mapping.position:  # reordering is not a new version
                    mapping.version = previous.version
                    mapping.save(update_fields=["position", "updated_at"])
                return mapping
            last = previous.versions.order_by("-version").values_list("version", flat=True).first()
            mapping.version = (last or previous.version) + 1
        mapping.save()
        MappingVersion.objects.create(
            mapping=mapping, version=mapping.version, snapshot=mapping.snapshot(), saved_by=saved_by
        )
    return mapping


# Export ------------------------------------------------------------------------------------------


def export_config(*, with_secrets: bool = False) -> dict[str, Any]:
    """Everything as one JSON-able dict. Secrets are masked unless ``with_secrets``."""
    sources = [
        {"name": s.name, "writeKey": s.write_key, "enabled": s.enabled}
        for s in Source.objects.order_by("id")
    ]
    destinations = []
    for d in Destination.objects.order_by("id").prefetch_related("sources", "mappings"):
        settings = dict(d.settings)
        for key, value in d.secret_values().items():
            settings[key] = value if with_secrets else SECRET_MASK
        destinations.append(
            {
                "name": d.name,
                "type": d.kind,
                "enabled": d.enabled,
                "sources": [s.name for s in sorted(d.sources.all(), key=lambda s: s.id)],
                "settings": settings,
                "mappings": [
                    {
                        "name": m.name,
                        "enabled": m.enabled,
                        "trigger": m.trigger,
                        "action": m.action,
                        "mapping": m.mapping,
                    }
                    for m in sorted(d.mappings.all(), key=lambda m: (m.position, m.id))
                ],
            }
        )
    return {"version": CONFIG_VERSION, "sources": sources, "destinations": destinations}


# Import ------------------------------------------------------------------------------------------


def _first(item: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in item:
            return item[name]
    return None


def _normalise_mapping(item: Any, where: str, problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be an object")
        return None
    name = item.get("name")
    trigger = _first(item, "trigger", "subscribe")
    action = _first(item, "action", "partnerAction", "actionId", "actionSlug")
    mapping = item["mapping"] if "mapping" in item else item.get("settings", {})
    enabled = item.get("enabled", True)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}.name: required (a non-empty string)")
    if not isinstance(trigger, str):
        problems.append(f"{where}.trigger: required (FQL text; Segment's name is 'subscribe')")
        trigger = ""
    if not isinstance(action, str):
        problems.append(f"{where}.action: required (an action id such as 'trackEvent')")
        action = ""
    if not isinstance(enabled, bool):
        problems.append(f"{where}.enabled: must be true or false")
    if isinstance(trigger, str) and isinstance(action, str) and trigger and action:
        problems.extend(f"{where}.{p}" for p in mapping_problems(trigger, action, mapping))
    return {
        "name": name,
        "trigger": trigger,
        "action": action,
        "mapping": mapping,
        "enabled": enabled,
    }


def _validate(config: Any) -> tuple[list[dict], list[dict], list[str]]:
    problems: list[str] = []
    if not isinstance(config, dict):
        return [], [], ["the file must contain a JSON object"]
    unpaired = [path for path, _ in surrogate_paths(config) if not _MAPPING_JSON.match(path)]
    if unpaired:  # checked first: the lookups below would fail on such text
        return [], [], [f"{where}: {UNPAIRED_SURROGATE}" for where in unpaired]
    if config.get("version", CONFIG_VERSION) != CONFIG_VERSION:
        problems.append(
            f"version: unsupported config version {config.get('version')!r} (expected 1)"
        )
    raw_sources = config.get("sources", [])
    raw_destinations = config.get("destinations", [])
    if not isinstance(raw_sources, list):
        problems.append("sources: must be a list")
        raw_sources = []
    if not isinstance(raw_destinations, list):
        problems.append("destinations: must be a list")
        raw_destinations = []

    sources, seen_names, seen_keys = [], set(), set()
    for i, item in enumerate(raw_sources):
        where = f"sources[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object")
            continue
        name, key, enabled = item.get("name"), item.get("writeKey"), item.get("enabled", True)
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.name: required (a non-empty string)")
        elif name in seen_names:
            problems.append(f"{where}.name: duplicate source name {name!r}")
        if key is not None and (not isinstance(key, str) or len(key) < 8):
            problems.append(f"{where}.writeKey: must be a string of at least 8 characters")
        elif key is not None and key in seen_keys:
            problems.append(f"{where}.writeKey: the same write key is used twice")
        if not isinstance(enabled, bool):
            problems.append(f"{where}.enabled: must be true or false")
        seen_names.add(name)
        seen_keys.add(key)
        if isinstance(key, str) and isinstance(name, str):
            clash = Source.objects.filter(write_key=key).exclude(name=name).first()
            if clash:
                problems.append(f"{where}.writeKey: already used by source {clash.name!r}")
        sources.append({"name": name, "writeKey": key, "enabled": enabled})

    known_sources = seen_names | set(Source.objects.values_list("name", flat=True))
    destinations, seen_destinations = [], set()
    for i, item in enumerate(raw_destinations):
        where = f"destinations[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.name: required (a non-empty string)")
        elif name in seen_destinations:
            problems.append(f"{where}.name: duplicate destination name {name!r}")
        seen_destinations.add(name)
        if item.get("type", Destination.KIND_MIXPANEL) != Destination.KIND_MIXPANEL:
            problems.append(f"{where}.type: only 'mixpanel' is supported")
        enabled = item.get("enabled", False)
        if not isinstance(enabled, bool):
            problems.append(f"{where}.enabled: must be true or false")
        source_names = item.get("sources", [])
        if not isinstance(source_names, list) or not all(isinstance(s, str) for s in source_names):
            problems.append(f"{where}.sources: must be a list of source names")
            source_names = []
        for s in source_names:
            if s not in known_sources:
                problems.append(f"{where}.sources: unknown source {s!r}")
        settings = item.get("settings", {})
        if not isinstance(settings, dict):
            problems.append(f"{where}.settings: must be an object")
            settings = {}
        settings = _unmask_secrets(settings, name, where, problems)
        try:
            validate_settings(settings)
        except SettingsError as exc:
            problems.extend(f"{where}.settings: {m}" for m in exc.messages)
        mappings = None
        if "mappings" in item:
            if not isinstance(item["mappings"], list):
                problems.append(f"{where}.mappings: must be a list")
            else:
                mappings, seen_mappings = [], set()
                for j, m in enumerate(item["mappings"]):
                    normalised = _normalise_mapping(m, f"{where}.mappings[{j}]", problems)
                    if normalised is None:
                        continue
                    if normalised["name"] in seen_mappings:
                        problems.append(
                            f"{where}.mappings[{j}].name: duplicate mapping name {normalised['name']!r}"
                        )
                    seen_mappings.add(normalised["name"])
                    mappings.append(normalised)
        destinations.append(
            {
                "name": name,
                "enabled": enabled,
                "sources": source_names,
                "settings": settings,
                "mappings": mappings,
            }
        )
    return sources, destinations, problems


UNPAIRED_SURROGATE = (
    "holds an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape), which is not text "
    "and cannot be stored"
)
# Mapping JSON is exempt from the surrogate check: it is stored as JSON text (escaped), and the
# console accepts it, so an export of such a mapping imports again.
_MAPPING_JSON = re.compile(r"destinations\[\d+\]\.mappings\[\d+\]\.(mapping|settings)(?![^.\[])")


def _unmask_secrets(
    settings: dict[str, Any], name: Any, where: str, problems: list[str]
) -> dict[str, Any]:
    """A masked secret in a file means "keep the stored one" (exports are masked by default)."""
    settings = dict(settings)
    masked = [k for k in SECRET_KEYS if settings.get(k) == SECRET_MASK]
    if not masked:
        return settings
    existing = Destination.objects.filter(name=name).first() if isinstance(name, str) else None
    stored = existing.secret_values() if existing else {}
    for key in masked:
        if key in stored:
            settings[key] = stored[key]
        else:
            problems.append(
                f"{where}.settings.{key}: the value is masked ({SECRET_MASK}) and no stored secret "
                "exists to keep; export with --with-secrets or put the real secret in the file"
            )
            del settings[key]
    return settings


def import_config(config: Any, *, saved_by: str = "import_config") -> dict[str, int]:
    """Apply ``config``: all-or-nothing, idempotent by name. Raises :class:`ConfigError`.

    Sources and destinations are created or updated by name; those absent from the file are left
    alone. A destination's ``mappings`` list replaces its mappings (matched by name, in file
    order); a destination without ``mappings`` keeps its mappings, or gets the six presets when
    it is new. Returns counts of what changed.
    """
    sources, destinations, problems = _validate(config)
    if problems:
        raise ConfigError(problems)
    counts = {"sources": 0, "destinations": 0, "mappings": 0, "mappings_deleted": 0}
    with transaction.atomic():
        by_name: dict[str, Source] = {}
        for item in sources:
            source = Source.objects.filter(name=item["name"]).first() or Source(name=item["name"])
            before = (source.pk, source.write_key, source.enabled)
            if item["writeKey"]:
                source.write_key = item["writeKey"]
            source.enabled = item["enabled"]
            if before != (source.pk, source.write_key, source.enabled):
                source.save()
                counts["sources"] += 1
            by_name[source.name] = source
        for item in destinations:
            counts_delta = _apply_destination(item, by_name, saved_by)
            for key, value in counts_delta.items():
                counts[key] += value
    return counts


def _apply_destination(item: dict, sources_by_name: dict[str, Source], saved_by: str) -> dict:
    counts = {"destinations": 0, "mappings": 0, "mappings_deleted": 0}
    destination = Destination.objects.filter(name=item["name"]).first()
    is_new = destination is None
    if is_new:
        destination = Destination(name=item["name"])
    before = (destination.enabled, destination.all_settings() if not is_new else None)
    destination.enabled = item["enabled"]
    if before != (item["enabled"], item["settings"]):
        destination.set_all_settings(item["settings"])
        if destination.paused_at and not is_new:  # new credentials: try again (spec §15)
            destination.paused_at, destination.pause_reason = None, ""
        destination.save()
        counts["destinations"] += 1
    wanted_sources = [sources_by_name.get(n) or Source.objects.get(name=n) for n in item["sources"]]
    if {s.pk for s in destination.sources.all()} != {s.pk for s in wanted_sources}:
        destination.sources.set(wanted_sources)
        counts["destinations"] += 0 if is_new else 1
    if item["mappings"] is None:
        if is_new:
            counts["mappings"] += len(add_presets(destination))
        return counts
    existing = {m.name: m for m in destination.mappings.all()}
    for position, m in enumerate(item["mappings"]):
        mapping = existing.pop(m["name"], None) or Mapping(destination=destination, name=m["name"])
        old_version = mapping.version if mapping.pk else None
        mapping.trigger, mapping.action = m["trigger"], m["action"]
        mapping.mapping, mapping.enabled, mapping.position = m["mapping"], m["enabled"], position
        saved = save_mapping(mapping, saved_by=saved_by)
        if old_version is None or saved.version != old_version:
            counts["mappings"] += 1
    for leftover in existing.values():
        leftover.delete()
        counts["mappings_deleted"] += 1
    return counts
