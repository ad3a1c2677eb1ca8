"""Write key → source, and source → enabled destinations, cached briefly in-process (spec §3,
§5.6; docs/pipeline.md Ingest steps 1 and 5).

Write keys are public and stored in clear, so lookup is by equality on the unique column. Every
request needs the answer before its body is read, so it is cached for ``CACHE_SECONDS``: a
disabled source or a new key takes effect within that time in every web process, and at once in
the process that saved the change (``post_save``/``post_delete`` clear the cache). Unknown keys
are cached too, so guessing keys costs no query each.

A source's enabled destinations decide which delivery rows a request gets. They are cached for
only ``DESTINATIONS_CACHE_SECONDS`` (one query per second per process instead of one per
request): a stale answer means a destination enabled or disabled less than a second ago is
still seen the old way, in other processes or after a queryset ``update()`` (which sends no
signal, as the console's enable toggle does). Saves, deletes and source links clear it at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from mappings.models import Destination, Source

CACHE_SECONDS = 5.0
DESTINATIONS_CACHE_SECONDS = 1.0
MAX_ENTRIES = 10_000  # a flood of random keys must not grow the cache without bound


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What ingest needs of a source; plain data, safe to share between threads."""

    id: int
    enabled: bool
    write_key: str
    forward_secret: str
    rate_limit_requests: int | None
    rate_limit_messages: int | None


_cache: dict[str, tuple[float, SourceInfo | None]] = {}
_lock = threading.Lock()


def lookup_source(write_key: str) -> SourceInfo | None:
    """The source owning ``write_key`` (enabled or not), or ``None`` for an unknown key.

    May raise the database's errors when the cache misses (the caller maps them to ``503``).
    """
    now = time.monotonic()
    hit = _cache.get(write_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    source = Source.objects.filter(write_key=write_key).first()
    info = None
    if source is not None:
        info = SourceInfo(
            id=source.pk,
            enabled=source.enabled,
            write_key=source.write_key,
            forward_secret=source.forward_secret(),
            rate_limit_requests=source.rate_limit_requests,
            rate_limit_messages=source.rate_limit_messages,
        )
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[write_key] = (now + CACHE_SECONDS, info)
    return info


def enabled_destinations(source_id: int) -> tuple[tuple[int, str], ...]:
    """``(id, kind)`` of the source's enabled destinations, by id.

    May raise the database's errors when the cache misses.
    """
    now = time.monotonic()
    hit = _destinations.get(source_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = tuple(
        Destination.objects.filter(sources=source_id, enabled=True)
        .order_by("id")
        .values_list("id", "kind")
    )
    with _lock:
        if len(_destinations) >= MAX_ENTRIES:
            _destinations.clear()
        _destinations[source_id] = (now + DESTINATIONS_CACHE_SECONDS, found)
    return found


_destinations: dict[int, tuple[float, tuple[tuple[int, str], ...]]] = {}


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _destinations.clear()


@receiver(post_save, sender=Source, dispatch_uid="ingest_source_cache_save")
@receiver(post_delete, sender=Source, dispatch_uid="ingest_source_cache_delete")
@receiver(post_save, sender=Destination, dispatch_uid="ingest_destination_cache_save")
@receiver(post_delete, sender=Destination, dispatch_uid="ingest_destination_cache_delete")
@receiver(m2m_changed, sender=Destination.sources.through, dispatch_uid="ingest_destination_links")
def _source_changed(**_kwargs: object) -> None:
    clear_cache()
