"""One running segmix stack for the whole e2e session (``stack.py``), a clean slate per test.

Timings are shortened through segmix's settings so that faults resolve in seconds:
``SEGMIX_FLUSH_LINGER=0.2``, ``SEGMIX_RELAY_INTERVAL=1``, ``SEGMIX_LEASE_SECONDS=8`` and
``SEGMIX_MIXPANEL_TIMEOUT=2``. The retry backoff (2 s × 2^(n−1) + 1–5 s of jitter, spec §15)
has no setting, so each retry in these tests costs 3–7 s.

PostgreSQL: the server of ``DATABASE_URL`` when it is PostgreSQL (CI), else the local default
server; when that is not reachable on a developer machine the e2e tests are skipped (in CI,
where ``DATABASE_URL`` is PostgreSQL, they fail instead).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .stack import Stack, Unavailable, postgres_server_url

# Module-level settings of ``segment.analytics`` that the tests change.
_ANALYTICS_SETTINGS = ("write_key", "host", "sync_mode", "on_error", "max_retries", "timeout")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("e2e"), postgres_server_url())
    try:
        try:
            stack.start()
        except Unavailable as exc:
            # `make test` makes sure PostgreSQL and Redis run: an unavailable stack is a failure.
            raise RuntimeError(f"end-to-end stack unavailable: {exc}") from exc
        yield stack
    finally:
        stack.close()


@pytest.fixture
def e2e(stack: Stack) -> Stack:
    """The stack with every process up, earlier tests' destinations disabled, Mixpanel empty."""
    stack.ensure_running()
    stack.sql("UPDATE mappings_destination SET enabled = false")
    stack.mp.reset()
    return stack


@pytest.fixture
def segment() -> Iterator[tuple]:
    """The official ``segment.analytics`` module, configured by the test, restored afterwards.

    Yields ``(analytics, errors)``; ``errors`` collects what the library reports via
    ``on_error`` (a dropped batch).
    """
    import segment.analytics as analytics

    saved = {name: getattr(analytics, name) for name in _ANALYTICS_SETTINGS}
    errors: list[tuple[Exception, list]] = []
    analytics.on_error = lambda error, batch: errors.append((error, batch))
    analytics.default_client = None
    try:
        yield analytics, errors
    finally:
        client = analytics.default_client
        for consumer in (client.consumers or []) if client else []:
            consumer.pause()  # stops promptly, even mid-backoff
            consumer.join(timeout=5)
        analytics.default_client = None
        for name, value in saved.items():
            setattr(analytics, name, value)
