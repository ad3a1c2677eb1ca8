"""Ingest rate limits (spec §6.4, §3): per-source token buckets and the 401-flood rule, in Redis.

Contracts:

- ``admit_request(source, ip)`` before the body is read, ``admit_messages(source, n)`` once the
  message count is known. Each returns ``None`` (go ahead) or the seconds to wait (1–300) for
  ``429 rate_limited``. An IP that is blocked for too many ``401``s waits too.
- ``note_unauthorized(ip)`` after a request was refused with ``401``. More than
  ``UNAUTHORIZED_LIMIT`` in a minute blocks the IP for ``BLOCK_SECONDS``. Returns the seconds left
  on a block that was already running (the caller answers ``429`` instead of ``401``), else
  ``None``.
- Redis is never required: every Redis error means "allowed" (fail **open**), is logged, and
  trips a breaker so a dead or black-holed Redis costs at most one short timeout per
  ``BREAKER_SECONDS`` instead of one per request.

Buckets hold one second of tokens (capacity = rate), refilled continuously. Timing uses the
Redis server clock so every web process agrees.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Protocol

import redis
from django.conf import settings

log = logging.getLogger(__name__)

KEY_PREFIX = "segmix:"  # tests swap it for a unique namespace
UNAUTHORIZED_LIMIT = 20
UNAUTHORIZED_WINDOW_MS = 60_000
BLOCK_SECONDS = 60
BREAKER_SECONDS = 5.0
REDIS_TIMEOUT = 0.25  # seconds; ingest must answer within 5 s whatever Redis does
MAX_RETRY_AFTER = 300

# KEYS[1] = IP block key, KEYS[2..] = buckets; ARGV = (rate, cost) per bucket.
# Returns {0, 0} when admitted (tokens taken from every bucket), {1, ms} while the IP is blocked,
# {2, ms} when a bucket is short (nothing taken).
_ADMIT = """
local blocked = redis.call('PTTL', KEYS[1])
if blocked > 0 then return {1, blocked} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, left = 0, {}
for i = 2, #KEYS do
  local rate = tonumber(ARGV[2 * i - 3])
  local cost = math.min(tonumber(ARGV[2 * i - 2]), rate)
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(state[1]) or rate
  local at = tonumber(state[2]) or now
  tokens = math.min(rate, tokens + math.max(0, now - at) * rate / 1000)
  if tokens < cost then
    wait = math.max(wait, math.ceil((cost - tokens) * 1000 / rate))
  end
  left[i] = tokens - cost
end
if wait > 0 then return {2, wait} end
for i = 2, #KEYS do
  redis.call('HSET', KEYS[i], 'tokens', tostring(left[i]), 'at', now)
  redis.call('PEXPIRE', KEYS[i], 2000)
end
return {0, 0}
"""

# KEYS[1] = the IP's 401 counter, KEYS[2] = its block key; ARGV = limit, window ms, block ms.
_UNAUTHORIZED = """
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then redis.call('SET', KEYS[2], '1', 'PX', ARGV[3]) end
return 0
"""


class Limited(Protocol):
    """What the limiter needs of a source (``sources.SourceInfo`` fits)."""

    id: int
    rate_limit_requests: int | None
    rate_limit_messages: int | None


class _Redis:
    """One client per Redis URL, its scripts, and the fail-open breaker."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        self.admit = self.client.register_script(_ADMIT)
        self.unauthorized = self.client.register_script(_UNAUTHORIZED)
        self.down_until = 0.0

    def run(self, script: redis.commands.core.Script, keys: list[str], args: list[int]) -> object:
        """The script's reply, or ``None`` when Redis can't answer (fail open)."""
        if time.monotonic() < self.down_until:
            return None
        try:
            return script(keys=keys, args=args)
        except (redis.RedisError, OSError) as exc:
            self.down_until = time.monotonic() + BREAKER_SECONDS
            log.warning("rate limits off for %.0f s, Redis unavailable: %s", BREAKER_SECONDS, exc)
            return None


_clients: dict[str, _Redis] = {}
_lock = threading.Lock()


def _redis() -> _Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.setdefault(url, _Redis(url))
    return client


def reset() -> None:
    """Forget clients and breakers (tests, or after changing ``REDIS_URL``)."""
    with _lock:
        _clients.clear()


def admit_request(source: Limited, ip: str | None) -> int | None:
    """Take one token from the source's request bucket; ``None`` or seconds to wait."""
    rate = source.rate_limit_requests or settings.SEGMIX_RATE_LIMIT_REQUESTS
    return _admit(ip, [(f"{KEY_PREFIX}rl:{source.id}:requests", rate, 1)])


def admit_messages(source: Limited, count: int) -> int | None:
    """Take ``count`` tokens from the source's message bucket; ``None`` or seconds to wait.

    A request larger than the whole bucket only needs a full bucket, so a low limit can't make
    a big batch wait forever.
    """
    if count <= 0:
        return None
    rate = source.rate_limit_messages or settings.SEGMIX_RATE_LIMIT_MESSAGES
    return _admit(None, [(f"{KEY_PREFIX}rl:{source.id}:messages", rate, count)])


def note_unauthorized(ip: str | None) -> int | None:
    """Count a ``401`` for ``ip``; seconds left if the IP was already blocked, else ``None``."""
    if not ip:
        return None
    client = _redis()
    reply = client.run(
        client.unauthorized,
        [f"{KEY_PREFIX}401:{ip}", f"{KEY_PREFIX}401block:{ip}"],
        [UNAUTHORIZED_LIMIT, UNAUTHORIZED_WINDOW_MS, BLOCK_SECONDS * 1000],
    )
    return _seconds(int(reply)) if isinstance(reply, int) and reply > 0 else None


def _admit(ip: str | None, buckets: list[tuple[str, int, int]]) -> int | None:
    block_key = f"{KEY_PREFIX}401block:{ip}" if ip else f"{KEY_PREFIX}401block:-"
    args: list[int] = []
    for _key, rate, cost in buckets:
        args += [max(int(rate), 1), cost]
    client = _redis()
    reply = client.run(client.admit, [block_key, *(key for key, _, _ in buckets)], args)
    if not isinstance(reply, list) or not reply or reply[0] == 0:
        return None
    return _seconds(int(reply[1]))


def _seconds(milliseconds: int) -> int:
    """``Retry-After`` as §6.1 wants it: whole seconds, 1–300."""
    return min(max(math.ceil(milliseconds / 1000), 1), MAX_RETRY_AFTER)
