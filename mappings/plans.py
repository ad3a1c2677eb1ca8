"""Load a destination's evaluation plan from the database, compiled once per configuration.

Workers, the console and the preview command call :func:`plan_for`; the cache key includes the
destination's and its mappings' ``updated_at``, so a saved change is picked up on the next event.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db.models import Max

from .evaluation import DestinationPlan, MappingConfig, plan_destination
from .models import Destination

_CACHE_SIZE = 256
_cache: OrderedDict[tuple, DestinationPlan] = OrderedDict()
_lock = threading.Lock()


def mapping_configs(destination: Destination) -> list[MappingConfig]:
    return [
        MappingConfig(
            id=m.id,
            name=m.name,
            trigger=m.trigger,
            action=m.action,
            mapping=m.mapping,
            enabled=m.enabled,
            version=m.version,
        )
        for m in destination.mappings.order_by("position", "id")
    ]


def plan_for(destination: Destination) -> DestinationPlan:
    """The compiled plan for ``destination`` as it is now (all mappings, disabled included)."""
    newest_mapping = destination.mappings.aggregate(newest=Max("updated_at"))["newest"]
    count = destination.mappings.count()
    key = (destination.pk, destination.updated_at, newest_mapping, count)
    with _lock:
        plan = _cache.get(key)
        if plan is not None:
            _cache.move_to_end(key)
            return plan
    plan = plan_destination(destination.all_settings(), mapping_configs(destination))
    with _lock:
        _cache[key] = plan
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return plan
