"""Write key → source, cached briefly in-process (spec §3; docs/pipeline.md Ingest step 1).

Write keys are public and stored in clear, so lookup is by equality on the unique column. Every
request needs the answer before its body is read, so it is cached for ``CACHE_SECONDS``: a
disabled source or a new key takes effect within that time in every web process, and at once in
the process that saved the change (``post_save``/``post_delete`` clear the cache). Unknown keys
are cached too, so guessing keys costs no query each.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from mappings.models import Source

CACHE_SECONDS = 5.0
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


def clear_cache() -> None:
    with _lock:
        _cache.clear()


@receiver(post_save, sender=Source, dispatch_uid="ingest_source_cache_save")
@receiver(post_delete, sender=Source, dispatch_uid="ingest_source_cache_delete")
def _source_changed(**_kwargs: object) -> None:
    clear_cache()
