"""Engine throughput: the six Mixpanel preset triggers plus the matching preset mappings.

One process, one core: for every event of a realistic mixed stream, evaluate all six triggers
(FQL) and run the mapping-kit transform of each preset that matched. A second figure adds the
Mixpanel action stage (coercion and record building), i.e. everything but HTTP.
"""

from __future__ import annotations

import time

from mappings.destinations.mixpanel.presets import PRESETS
from mappings.engine import fql, mapping_kit

from .events import make_events


def _best_rate(run, events: list[dict], repeats: int) -> float:
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        run(events)
        elapsed = time.perf_counter() - started
        best = max(best, len(events) / elapsed)
    return best


def engine_rates(count: int = 50_000, repeats: int = 3) -> dict[str, float]:
    from mappings.evaluation import MappingConfig, evaluate_event, plan_destination

    events = make_events(count)
    compiled = [(fql.parse(p.trigger), mapping_kit.compile_mapping(p.mapping)) for p in PRESETS]

    def triggers_and_mappings(stream: list[dict]) -> int:
        matched = 0
        for event in stream:
            for trigger, mapping in compiled:
                if fql.matches(trigger, event):
                    mapping.transform(event)
                    matched += 1
        return matched

    plan = plan_destination(
        {"projectToken": "tok", "apiSecret": "sec", "apiRegion": "US 🇺🇸"},
        [MappingConfig(p.name, p.trigger, p.action_id, p.mapping) for p in PRESETS],
    )

    def full_evaluation(stream: list[dict]) -> None:
        for n, event in enumerate(stream):
            evaluate_event(event, plan, stored_event_id=str(n), received_at_ms=1764331200000,
                           now_ms=1764331200000)

    return {
        "triggers + mappings (events/s)": _best_rate(triggers_and_mappings, events, repeats),
        "triggers + mappings + Mixpanel action + pre-flight (events/s)": _best_rate(
            full_evaluation, events[: count // 2], repeats
        ),
    }
